"""Zudu's post-call webhook: one `post_call` once the call is over (analysed, or ended for
a call that never connected), in Zudu's envelope, its call what a GET answers then."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS
from sandbox.dialect.vendor import VendorSandbox
from sandbox.testing.handles import InProcessSandbox


def _create(client: TestClient, state: VendorSandbox, prefer: str | None) -> str:
    headers = state.credentials("zudu") | ({"Prefer": prefer} if prefer else {})
    answer = client.post(
        "/zudu/api/calls/create-phone-call",
        headers=headers,
        json={"from_number": "+14155550142", "to_number": "+12125550123"},
    )
    assert answer.status_code == 200, answer.text
    call_id: str = answer.json()["data"]["call"]["call_id"]
    return call_id


@pytest.mark.parametrize(
    ("prefer", "status", "analysed"),
    [
        (None, "ENDED", True),
        ("scenario=no-answer", "ENDED", False),
        ("scenario=failed", "ERROR", False),
    ],
)
def test_post_call_once_the_call_is_over(
    client: TestClient, state: VendorSandbox, prefer: str | None, status: str, analysed: bool
) -> None:
    hooks = InProcessSandbox(client.app).webhooks  # type: ignore[arg-type]
    hooks.subscribe("zudu")
    call_id = _create(client, state, prefer)
    plan = state.store.plan("acme", state.vendors["zudu"].canonical_id(call_id) or "")
    assert plan is not None
    assert plan.end_ms is not None
    over = plan.end_ms + (ANALYSIS_DELAY_MS if analysed else 0)
    state.advance(over - 1 - state.clock.now_ms())
    hooks.wait_idle()
    assert hooks.received(call_id=call_id) == []  # not yet over
    state.advance(1)
    got = hooks.wait(1, call_id=call_id)
    shown: dict[str, Any] = client.get(
        f"/zudu/api/calls/{call_id}", headers=state.credentials("zudu")
    ).json()["data"]
    assert [(d.vendor, d.event, d.at_ms) for d in got] == [("zudu", "post_call", over)]
    assert got[0].json == {
        "message": "Call completed",
        "status": "success",
        "error": None,
        "data": {"event": "post_call", "organization_id": "org_acme", "call": shown},
    }
    assert shown["call_status"] == status
    assert (shown["call_analysis"] is not None) is analysed
    state.advance(3_600_000)
    hooks.wait_idle()
    assert len(hooks.received(call_id=call_id)) == 1


def test_zudu_sends_one_event_name(client: TestClient) -> None:
    answer = client.put(
        "/_sandbox/webhooks",
        json={"vendor": "zudu", "url": "sandbox://sink", "events": ["call_ended"]},
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == "events: zudu sends post_call; not 'call_ended'"
