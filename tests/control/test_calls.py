"""POST /_sandbox/calls/{vendor}/{call_id}/join: a web client joins a registered call."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.calls.live import JOIN_WINDOW_MS
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.retell.render import call_id

AGENT = "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"


def _web_call(client: TestClient, state: VendorSandbox) -> str:
    made = client.post(
        "/retell/v3/create-web-call", headers=state.credentials("retell"), json={"agent_id": AGENT}
    )
    assert made.status_code == 201, made.text
    external: str = made.json()["call_id"]
    return external


def test_join_starts_the_conversation_now(client: TestClient, state: VendorSandbox) -> None:
    external = _web_call(client, state)
    state.advance(2_000)
    joined = client.post(
        f"/_sandbox/calls/retell/{external}/join?tenant=acme", json={"scenario": "transferred"}
    )
    assert joined.status_code == 200, joined.text
    body = joined.json()
    now = state.clock.now_ms()
    assert body == {
        "tenant": "acme",
        "vendor": "retell",
        "call_id": external,
        "joined_ms": now,
        "scenario": "transferred",
        "end_ms": body["end_ms"],
    }
    assert body["end_ms"] > now
    seen = client.get(f"/retell/v2/get-call/{external}", headers=state.credentials("retell"))
    assert seen.json()["call_status"] == "ongoing"
    # The same call through another vendor is under way too.
    zudu = state.vendors["zudu"]
    plan = state.store.plan("acme", state.vendors["retell"].canonical_id(external) or "")
    assert plan is not None
    path = zudu.lookup_path(zudu.external_id(plan))
    other = client.get(f"/zudu{path}", headers=state.credentials("zudu"))
    assert other.json()["data"]["call_status"] == "ONGOING"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/calls/nobody/call_x/join", {}, 404, "no vendor 'nobody'; use one of "),
        ("/calls/retell/call_x/join", {}, 404, "no retell call 'call_x'; use the call_id"),
        (
            "/calls/retell/call_x/join?tenant=nobody",
            {},
            400,
            "no tenant 'nobody'; use one of ",
        ),
        ("/calls/retell/{web}/join", {"scenario": "busy"}, 400, "body.scenario: "),
        ("/calls/retell/{ended}/join", {}, 400, "cannot be joined: it is not a registered call"),
    ],
)
def test_refusals_say_what_to_fix(
    client: TestClient,
    state: VendorSandbox,
    path: str,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    ended = next(
        state.generator.call("acme", i)
        for i in range(3, 20)
        if state.generator.call("acme", i).scenario.connected
    )
    path = path.replace("{web}", _web_call(client, state)).replace("{ended}", call_id(ended))
    refused = client.post(f"/_sandbox{path}", json=body)
    assert refused.status_code == status, refused.text
    assert refused.json()["error"] == ("not_found" if status == 404 else "bad_request")
    assert message in refused.json()["message"]


def test_a_call_past_its_window_cannot_be_joined(client: TestClient, state: VendorSandbox) -> None:
    external = _web_call(client, state)
    state.advance(JOIN_WINDOW_MS)
    late = client.post(f"/_sandbox/calls/retell/{external}/join", json={})
    assert late.status_code == 400
    assert "its join window is over (it is failed)" in late.json()["message"]
