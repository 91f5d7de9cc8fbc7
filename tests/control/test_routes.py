"""The control plane's keys endpoint: the headers a client of a remote sandbox should send."""

from __future__ import annotations

from starlette.testclient import TestClient

from sandbox.dialect.vendor import VendorSandbox


def test_keys_are_the_default_tenants_headers_per_vendor(
    client: TestClient, state: VendorSandbox
) -> None:
    response = client.get("/_sandbox/keys")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {name: state.credentials(name) for name in state.vendors}
    assert list(response.json()) == list(state.vendors)


def test_keys_of_another_tenant(client: TestClient, state: VendorSandbox) -> None:
    response = client.get("/_sandbox/keys", params={"tenant": "globex"})
    assert response.status_code == 200
    globex = state.fixtures.tenants["globex"]
    expected = {n: state.credentials(n, "globex") for n in state.vendors if n in globex.keys}
    assert response.json() == expected
    assert response.json() != client.get("/_sandbox/keys").json()


def test_keys_of_an_unknown_tenant_say_which_exist(client: TestClient) -> None:
    response = client.get("/_sandbox/keys", params={"tenant": "initech"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "message": "no tenant 'initech'; ask for one of acme, globex, or omit ?tenant= for the "
        "default",
    }


def test_keys_answer_get_only(client: TestClient) -> None:
    assert client.post("/_sandbox/keys").status_code == 405


def test_a_body_the_plane_cannot_keep_is_refused_in_its_own_shape(
    client: TestClient, state: VendorSandbox
) -> None:
    """The control plane reads bodies as the vendors' mounts do: not past the body limit,
    not deeper than the parser's depth, and only text that is Unicode (issue 13)."""
    limit = state.settings.max_body_bytes
    sent = [
        (b'{"type":"status","status":503,"vendor":"\\ud800"}', "body.vendor: holds a lone"),
        (b'{"type":"status","status":503,"when":' + b"[" * 5_000 + b"}", "the request body nests"),
        (b'{"type":"' + b"x" * limit + b'"}', f"the body is over {limit} bytes"),
    ]
    for body, start in sent:
        answer = client.post(
            "/_sandbox/faults", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400
        assert answer.json()["error"] == "bad_request"
        assert answer.json()["message"].startswith(start), answer.json()
        state.schemas.check("sandbox/error.json", answer.json())
    assert client.get("/_sandbox/faults").json() == {"faults": []}
