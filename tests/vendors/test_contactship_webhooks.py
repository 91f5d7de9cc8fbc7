"""ContactShip's per-call `webhook_url`: each event of that call, as the call object a GET
answers at that instant; nothing for calls created without one."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS
from sandbox.dialect.vendor import VendorSandbox
from tests.receivers import receiving

AGENT = "f1e2d3c4-b5a6-7890-1234-567890abcdef"


def _create(client: TestClient, state: VendorSandbox, **extra: Any) -> str:
    answer = client.post(
        "/contactship/v1/calls/single-phone-call",
        headers=state.credentials("contactship"),
        json={
            "from_number": "+12137771235",
            "to_number": "+14155550123",
            "full_name": "Ada Lovelace",
            "agent_id": AGENT,
            **extra,
        },
    )
    assert answer.status_code == 201, answer.text
    call_id: str = answer.json()["call_id"]
    return call_id


def _get(client: TestClient, state: VendorSandbox, call_id: str) -> dict[str, Any]:
    answer = client.get(
        f"/contactship/v1/calls/{call_id}", headers=state.credentials("contactship")
    )
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_the_webhook_url_gets_every_event_of_its_call(
    client: TestClient, state: VendorSandbox
) -> None:
    with receiving() as receiver:
        ours = _create(client, state, webhook_url=receiver.url)
        other = _create(client, state)  # no webhook_url: its events go nowhere
        plan = state.store.plan("acme", ours)
        assert plan is not None
        assert plan.start_ms is not None
        assert plan.end_ms is not None
        assert "webhook_url" not in _get(client, state, ours)  # stored, never rendered
        seen = {}
        for event, at in (
            ("call_started", plan.start_ms),
            ("call_ended", plan.end_ms),
            ("call_analyzed", plan.end_ms + ANALYSIS_DELAY_MS),
        ):
            state.advance(at - state.clock.now_ms())
            seen[event] = _get(client, state, ours)
        state.advance(3_600_000)
        client.app.state.webhooks.dispatcher.wait_idle(10)  # type: ignore[attr-defined]
        requests = receiver.requests
    assert [r.json for r in requests] == [{"event": e, "call": c} for e, c in seen.items()]
    assert {r.json["call"]["id"] for r in requests} == {ours} != {other}
    assert all(r.path == "/hook" for r in requests)
    assert all(r.headers["Content-Type"] == "application/json" for r in requests)
    assert all("X-Retell-Signature" not in r.headers for r in requests)
    started, ended, analysed = (r.json["call"] for r in requests)
    assert started["call_status"] == "in-progress"
    assert ended["call_analysis"] is None
    assert ended["finished_at"] is not None
    assert analysed["call_analysis"] == {
        "summary": plan.analysis.summary if plan.analysis else None,
        "sentiment": plan.analysis.sentiment if plan.analysis else None,
    }


def test_a_call_that_never_connects_sends_only_its_end(
    client: TestClient, state: VendorSandbox
) -> None:
    with receiving() as receiver:
        ours = client.post(
            "/contactship/v1/calls/single-phone-call",
            headers={**state.credentials("contactship"), "Prefer": "scenario=busy"},
            json={
                "from_number": "+12137771235",
                "to_number": "+14155550123",
                "full_name": "Ada Lovelace",
                "agent_id": AGENT,
                "webhook_url": receiver.url,
            },
        ).json()["call_id"]
        state.advance(3_600_000)
        client.app.state.webhooks.dispatcher.wait_idle(10)  # type: ignore[attr-defined]
        requests = receiver.requests
    assert [(r.json["event"], r.json["call"]["id"]) for r in requests] == [("call_ended", ours)]
    assert requests[0].json["call"]["call_status"] == "busy"
    assert requests[0].json["call"]["call_result"] == "busy"


def test_a_bad_webhook_url_is_the_vendor_s_400(client: TestClient, state: VendorSandbox) -> None:
    answer = client.post(
        "/contactship/v1/calls/single-phone-call",
        headers=state.credentials("contactship"),
        json={
            "from_number": "+12137771235",
            "to_number": "+14155550123",
            "full_name": "Ada Lovelace",
            "agent_id": AGENT,
            "webhook_url": "not a url",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["statusCode"] == 400
    assert state.store.snapshot()["acme"] == 0
