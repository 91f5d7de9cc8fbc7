"""A key this vendor does not know: the vendor's own 401, and a hint that says which mix-up
happened when the sandbox knows the key (another vendor's, half of another tenant's pair)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sandbox.dialect.vendor import VendorSandbox


def _hint(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, str]:
    answer = client.get(path, headers=headers)
    return answer.status_code, answer.headers["x-sandbox-hint"]


def test_another_vendors_key_is_named(client: TestClient, state: VendorSandbox) -> None:
    contactship = state.credentials("contactship")["x-api-key"]
    retell = state.credentials("retell")["Authorization"]
    zudu_secret = state.credentials("zudu", "globex")["X-API-SECRET"]
    assert _hint(client, "/retell/v2/get-call/x", {"Authorization": f"Bearer {contactship}"}) == (
        401,
        "this is the sandbox's ContactShip key (tenant acme); "
        "Retell AI wants `Authorization: Bearer key_...`",
    )
    assert _hint(client, "/callab/v1/calls/x", {"Authorization": retell}) == (
        401,
        "this is the sandbox's Retell AI key (tenant acme); "
        "Callab wants `Authorization: Bearer cb_...`",
    )
    assert _hint(client, "/contactship/v1/calls/x", {"x-api-key": zudu_secret}) == (
        401,
        "this is the sandbox's Zudu key (tenant globex); ContactShip wants `x-api-key: cs_...`",
    )


@pytest.mark.parametrize(
    ("key_of", "secret_of", "hint"),
    [
        (
            "acme",
            "globex",
            "X-API-KEY is tenant acme's; X-API-SECRET is tenant globex's: "
            "send both of one tenant's (run `call-sandbox keys`)",
        ),
        (
            "acme",
            None,
            "X-API-KEY is tenant acme's, but X-API-SECRET is not: "
            "send tenant acme's own (run `call-sandbox keys`)",
        ),
        (
            None,
            "globex",
            "X-API-SECRET is tenant globex's, but X-API-KEY is not: "
            "send tenant globex's own (run `call-sandbox keys`)",
        ),
        (None, None, "the key is not one of this sandbox's keys: run `call-sandbox keys`"),
    ],
)
def test_zudu_says_which_half_of_the_pair_is_wrong(
    client: TestClient, state: VendorSandbox, key_of: str | None, secret_of: str | None, hint: str
) -> None:
    headers = {
        "X-API-KEY": state.credentials("zudu", key_of)["X-API-KEY"] if key_of else "sk_" + "k" * 32,
        "X-API-SECRET": (
            state.credentials("zudu", secret_of)["X-API-SECRET"]
            if secret_of
            else "s3cr3t_" + "s" * 40
        ),
    }
    answer = client.get("/zudu/api/calls/call-456", headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {
        "message": "Unauthorized",
        "status": "error",
        "error": "Invalid API key or secret",
    }
    assert answer.headers["x-sandbox-hint"] == hint
