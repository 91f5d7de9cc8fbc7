"""Calls live on the sandbox clock: a GET, a list and the event stream agree at every instant."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS, Transition
from sandbox.calls.model import Call, Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.resources import fixtures_dir
from sandbox.vendors.retell.render import call_id


def _create(client: TestClient, state: VendorSandbox, **extra: Any) -> dict[str, Any]:
    headers = {**state.credentials("retell"), **extra.pop("headers", {})}
    body = {"from_number": "+14155550142", "to_number": "+12125550123", **extra}
    response = client.post("/retell/v2/create-phone-call", headers=headers, json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _get(client: TestClient, state: VendorSandbox, cid: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(
        f"/retell/v2/get-call/{cid}", headers=state.credentials("retell")
    ).json()
    return body


def _listed(client: TestClient, state: VendorSandbox, cid: str) -> dict[str, Any]:
    page = client.post(
        "/retell/v3/list-calls", headers=state.credentials("retell"), json={"limit": 10}
    )
    return next(i for i in page.json()["items"] if i["call_id"] == cid)


def test_a_created_call_lives_its_life(client: TestClient, state: VendorSandbox) -> None:
    events: list[tuple[str, Call, Transition]] = []
    state.listeners.append(lambda tenant, call, step: events.append((tenant, call, step)))
    created = _create(client, state)
    cid = created["call_id"]
    assert created["call_status"] == "registered"
    plan = state.store.plan("acme", state.vendors["retell"].canonical_id(cid) or "")
    assert plan is not None
    assert plan.start_ms is not None
    assert plan.end_ms is not None
    now = state.clock.now_ms()

    state.advance(plan.start_ms - now + 1)  # the callee answers
    ongoing = _get(client, state, cid)
    assert ongoing["call_status"] == "ongoing"
    assert ongoing["start_timestamp"] == plan.start_ms
    assert "end_timestamp" not in ongoing
    assert "call_analysis" not in ongoing
    assert _listed(client, state, cid)["call_status"] == "ongoing"

    middle = plan.start_ms + plan.turns[2].end_ms
    state.advance(middle - state.clock.now_ms())
    partial = _get(client, state, cid)
    assert [u["content"] for u in partial["transcript_object"]] == [t.text for t in plan.turns[:3]]

    state.advance(plan.end_ms - state.clock.now_ms())  # hung up; analysis still running
    ended = _get(client, state, cid)
    assert ended["call_status"] == "ended"
    assert ended["end_timestamp"] == plan.end_ms
    assert ended["call_cost"]["combined_cost"] > 0
    assert "call_analysis" not in ended
    assert "call_analysis" not in _listed(client, state, cid)

    state.advance(ANALYSIS_DELAY_MS)
    analysed = _get(client, state, cid)
    assert analysed["call_analysis"]["call_summary"]
    assert analysed == {**ended, "call_analysis": analysed["call_analysis"]}

    mine = [(step.event, step.at_ms) for tenant, call, step in events if call.id == plan.id]
    assert mine == [
        ("call_started", plan.start_ms),
        ("call_ended", plan.end_ms),
        ("call_analyzed", plan.end_ms + ANALYSIS_DELAY_MS),
    ]
    # Each event carries the call exactly as a GET at that instant showed it.
    started = next(c for _, c, s in events if c.id == plan.id and s.event == "call_started")
    assert started.scenario is Scenario.IN_PROGRESS
    assert not started.turns


@pytest.mark.parametrize(
    ("how", "status", "reason"),
    [
        ({"headers": {"Prefer": "scenario=busy"}}, "not_connected", "dial_busy"),
        ({"headers": {"Prefer": "scenario=no-answer"}}, "not_connected", "dial_no_answer"),
        ({"headers": {"Prefer": "scenario=failed"}}, "error", "dial_failed"),
        ({"metadata": {"sandbox_scenario": "voicemail"}}, "ended", "voicemail_reached"),
        ({"headers": {"Prefer": "scenario=transferred"}}, "ended", "call_transfer"),
        ({}, "ended", None),
    ],
)
def test_the_outcome_is_chosen_by_the_request(
    client: TestClient, state: VendorSandbox, how: dict[str, Any], status: str, reason: str | None
) -> None:
    cid = _create(client, state, **how)["call_id"]
    state.advance(3_600_000)
    final = _get(client, state, cid)
    assert final["call_status"] == status
    if reason is not None:
        assert final["disconnection_reason"] == reason
    else:
        assert final["disconnection_reason"] in {"user_hangup", "agent_hangup"}
    assert ("transcript_object" in final) is (status == "ended")


def test_a_call_that_never_connects_rings_as_registered(
    client: TestClient, state: VendorSandbox
) -> None:
    cid = _create(client, state, headers={"Prefer": "scenario=no-answer"})["call_id"]
    plan = state.store.plan("acme", state.vendors["retell"].canonical_id(cid) or "")
    assert plan is not None
    assert plan.start_ms is not None
    assert plan.end_ms is not None
    state.advance(plan.start_ms + 1000 - state.clock.now_ms())
    assert _get(client, state, cid)["call_status"] == "registered"
    state.advance(plan.end_ms - state.clock.now_ms())
    assert _get(client, state, cid)["call_status"] == "not_connected"


def test_an_unknown_outcome_is_a_400_and_creates_nothing(
    client: TestClient, state: VendorSandbox
) -> None:
    before = state.store.snapshot()
    response = client.post(
        "/retell/v2/create-phone-call",
        headers={**state.credentials("retell"), "Prefer": "scenario=exploded"},
        json={"from_number": "+14155550142", "to_number": "+12125550123"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "message": "header.Prefer: scenario must be one of completed, voicemail, no-answer, "
        "busy, failed, transferred, not 'exploded'",
    }
    assert state.store.snapshot() == before


def test_the_generated_live_calls_move_on(client: TestClient, state: VendorSandbox) -> None:
    ongoing, queued = (state.generator.call("acme", i) for i in range(2))
    assert (ongoing.scenario, queued.scenario) == (Scenario.IN_PROGRESS, Scenario.QUEUED)
    assert _get(client, state, call_id(ongoing))["call_status"] == "ongoing"
    state.advance(10 * 60_000)
    assert _get(client, state, call_id(ongoing))["call_status"] == "ended"
    assert _get(client, state, call_id(queued))["call_status"] in {
        "ended",
        "not_connected",
        "error",
    }


def test_every_vendor_agrees_on_the_stage(client: TestClient, state: VendorSandbox) -> None:
    cid = _create(client, state)["call_id"]
    canonical = state.vendors["retell"].canonical_id(cid) or ""
    plan = state.store.plan("acme", canonical)
    assert plan is not None
    assert plan.start_ms is not None
    state.advance(plan.start_ms + 5_000 - state.clock.now_ms())
    call = state.store.get("acme", canonical)
    assert call is not None
    expected = {
        "retell": "ongoing",
        "callab": "in-progress",
        "contactship": "in-progress",
        "zudu": "ONGOING",
    }
    for name, vendor in state.vendors.items():
        path = f"/{name}{vendor.lookup_path(vendor.external_id(call))}"
        body = client.get(path, headers=state.credentials(name)).json()
        status = body.get("call_status") or body.get("data", {}).get("call_status")
        assert status == expected[name], name


def test_reset_rewinds_the_clock(client: TestClient, state: VendorSandbox) -> None:
    state.advance(60_000)
    client.post("/_sandbox/reset")
    assert state.clock.now_ms() == state.fixtures.reference_ms
    assert _get(client, state, call_id(state.generator.call("acme", 0)))["call_status"] == "ongoing"


def test_outcome_rules_from_the_fixtures(tmp_path: Path) -> None:
    target = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), target)
    document = yaml.safe_load((target / "sandbox.yaml").read_text())
    document["outcomes"] = [{"to_number_suffix": "0199", "scenario": "busy"}]
    (target / "sandbox.yaml").write_text(yaml.safe_dump(document))
    app = create_app(Settings(fixtures=target, raise_on_schema_error=True))
    state = app.state.sandbox
    with TestClient(app) as client:
        busy = _create(client, state, to_number="+12125550199")["call_id"]
        fine = _create(client, state, to_number="+12125550198")["call_id"]
        state.advance(3_600_000)
        assert _get(client, state, busy)["disconnection_reason"] == "dial_busy"
        assert _get(client, state, fine)["call_status"] == "ended"


def test_a_time_scale_runs_the_clock_and_sends_events() -> None:
    app = create_app(Settings(time_scale=600.0, raise_on_schema_error=True))
    state: VendorSandbox = app.state.sandbox
    events: list[str] = []
    state.listeners.append(lambda tenant, call, step: events.append(step.event))
    with TestClient(app) as client:  # the lifespan starts the ticker
        cid = _create(client, state)["call_id"]
        for _ in range(100):  # at most 10 s of real time
            if _get(client, state, cid)["call_status"] == "ended" and "call_analyzed" in events:
                break
            time.sleep(0.1)
        assert _get(client, state, cid)["call_status"] == "ended"
    assert {"call_started", "call_ended", "call_analyzed"} <= set(events)
