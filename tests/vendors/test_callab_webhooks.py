"""Callab's webhooks (inferred): the lifecycle events in Callab's envelope, the event as its
message, the call as GET /calls/{id} answers it at that instant."""

from __future__ import annotations

from starlette.testclient import TestClient

from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS
from sandbox.dialect.vendor import VendorSandbox
from sandbox.testing.handles import InProcessSandbox


def test_each_event_is_the_call_as_a_get_shows_it_then(
    client: TestClient, state: VendorSandbox
) -> None:
    hooks = InProcessSandbox(client.app).webhooks  # type: ignore[arg-type]
    hooks.subscribe("callab")
    headers = state.credentials("callab")
    created = client.post(
        "/callab/v1/calls",
        headers=headers,
        json={"call_from": "+14155550142", "call_to": "+12125550123"},
    ).json()["data"]
    plan = state.store.plan("acme", created["id"])
    assert plan is not None
    assert plan.start_ms is not None
    assert plan.end_ms is not None
    shown = {}
    for event, at in (
        ("call_started", plan.start_ms),
        ("call_ended", plan.end_ms),
        ("call_analyzed", plan.end_ms + ANALYSIS_DELAY_MS),
    ):
        state.advance(at - state.clock.now_ms())
        shown[event] = client.get(f"/callab/v1/calls/{created['id']}", headers=headers).json()[
            "data"
        ]
    got = hooks.wait(3, call_id=created["id"])
    assert [d.json for d in got] == [
        {"status": "ok", "message": event, "data": call} for event, call in shown.items()
    ]
    assert shown["call_started"]["call_status"] == "in-progress"
    assert shown["call_ended"]["call_status"] == "completed"
    assert all(d.header("content-type") == "application/json" for d in got)
