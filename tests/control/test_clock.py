"""The clock's control endpoints and the plugin handle's `clock`, in-process and over HTTP."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox.dialect.vendor import VendorSandbox
from sandbox.testing.handles import InProcessSandbox
from sandbox.vendors.retell.render import call_id


def test_read_and_advance(client: TestClient, state: VendorSandbox) -> None:
    reference = state.fixtures.reference_ms
    assert client.get("/_sandbox/clock").json() == {
        "now_ms": reference,
        "now": "2026-03-20T12:00:00.000Z",
        "reference_ms": reference,
        "elapsed_ms": 0,
        "time_scale": 0.0,
    }
    ongoing = state.generator.plan("acme", 0)
    assert ongoing.end_ms is not None
    moved = client.post("/_sandbox/clock/advance", json={"seconds": 600})
    assert moved.status_code == 200
    body = moved.json()
    assert body["now_ms"] == reference + 600_000
    assert body["elapsed_ms"] == 600_000
    mine = [(e["event"], e["at_ms"]) for e in body["events"] if e["call_id"] == ongoing.id]
    assert mine == [("call_ended", ongoing.end_ms), ("call_analyzed", ongoing.end_ms + 10_000)]
    assert [e["at_ms"] for e in body["events"]] == sorted(e["at_ms"] for e in body["events"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, '"seconds" is a required property'),
        ({"seconds": -5}, "body.seconds: -5 is less than or equal to the minimum of 0"),
        ({"seconds": "ten"}, 'body.seconds: "ten" is not of type "number"'),
        ({"seconds": 1, "when": "now"}, "additional properties are not allowed"),
    ],
)
def test_bad_advances_are_refused(
    client: TestClient, state: VendorSandbox, body: object, message: str
) -> None:
    response = client.post("/_sandbox/clock/advance", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert message in response.json()["message"]
    assert state.clock.now_ms() == state.fixtures.reference_ms


def test_the_handle_moves_calls_on(app: Starlette, state: VendorSandbox) -> None:
    handle = InProcessSandbox(app)
    url = handle.mount_url("retell") + "/v2/get-call/" + call_id(state.generator.call("acme", 0))
    with httpx.Client(transport=handle.transport()) as client:
        assert client.get(url, headers=handle.keys("retell")).json()["call_status"] == "ongoing"
        events = handle.clock.advance(seconds=3600)
        assert events
        assert client.get(url, headers=handle.keys("retell")).json()["call_status"] == "ended"
    assert handle.clock.now()["elapsed_ms"] == 3_600_000
    handle.reset()
    assert handle.clock.now()["elapsed_ms"] == 0
