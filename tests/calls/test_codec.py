"""The codec: every call, generated, pinned, created, patched or observed mid-call, comes back
from JSON equal to what went in; and a damaged record says where it is damaged."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.calls import codec
from sandbox.calls.lifecycle import observe
from sandbox.calls.model import Call, CostLine, LatencySeries, Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors import VENDORS


def _round_trip(call: Call) -> Call:
    # Through real JSON text, as Redis and the state file hold it.
    text = json.dumps(codec.encode_call(call))
    back = codec.decode_call(json.loads(text))
    assert codec.loads(codec.dumps(call)) == back
    return back


def _created_through_every_vendor(state: VendorSandbox, client: TestClient) -> list[Call]:
    """Send every creating example of every vendor (some twice, with an outcome asked for)."""
    for vendor in VENDORS:
        routes = {r.name: r for r in vendor.routes}
        for example in vendor.examples:
            if routes[example.route].method != "POST" or example.status not in (200, 201):
                continue
            if "list" in example.route or "query" in example.route:
                continue
            for prefer in (None, "scenario=voicemail", "scenario=busy"):
                headers = dict(state.credentials(vendor.name))
                if prefer:
                    headers["Prefer"] = prefer
                answer = client.post(
                    f"/{vendor.name}{example.path}", headers=headers, json=example.body
                )
                assert answer.status_code == example.status, answer.text
    overlay = state.backend.overlay(state.default_tenant.id)
    return [call for _, call in sorted(overlay.created.values(), key=lambda p: p[0])]


def test_every_pinned_call_round_trips(state: VendorSandbox) -> None:
    assert state.fixtures.pinned
    for call in state.fixtures.pinned:
        assert _round_trip(call) == call


def test_generated_calls_round_trip_as_planned_and_as_observed(state: VendorSandbox) -> None:
    checked = 0
    for tenant in state.tenants:
        size = state.generator.size(tenant)
        for index in [*range(12), *range(12, size, max(size // 60, 1))]:
            plan = state.generator.plan(tenant, index)
            assert _round_trip(plan) == plan
            if plan.start_ms is not None and plan.end_ms is not None:
                # Mid-call: part of the transcript said, no costs yet.
                middle = observe(plan, (plan.start_ms + plan.end_ms) // 2)
                assert _round_trip(middle) == middle
            checked += 1
    assert checked > 100
    scenarios = {state.generator.plan(t, i).scenario for t in state.tenants for i in range(12)}
    assert scenarios >= set(Scenario) - {Scenario.IN_PROGRESS, Scenario.QUEUED, Scenario.SCHEDULED}


def test_created_and_patched_calls_round_trip(state: VendorSandbox, client: TestClient) -> None:
    created = _created_through_every_vendor(state, client)
    assert len(created) >= 3 * 6
    assert {c.origin for c in created} == {v.name for v in VENDORS}
    assert any(c.turns for c in created)  # planned futures: transcripts, tool calls, costs
    for call in created:
        assert _round_trip(call) == call
    tenant = state.default_tenant.id
    target = created[0]
    patched = state.store.update(
        tenant, target.id, metadata={"nested": {"list": [1, 2.5, None, True, "é"]}, "n": 10**20}
    )
    assert patched is not None
    plan = state.store.plan(tenant, target.id)
    assert plan is not None
    assert _round_trip(plan) == plan


def test_every_field_is_encoded_and_none_is_lost() -> None:
    call = _a_call_with_every_field_set()
    encoded = codec.encode_call(call)
    assert list(encoded) == [f.name for f in fields(Call)]
    assert codec.decode_call(encoded) == call


def _a_call_with_every_field_set() -> Call:
    from sandbox import Settings, create_app

    sandbox: VendorSandbox = create_app(Settings()).state.sandbox
    base = sandbox.generator.plan(sandbox.default_tenant.id, 3)  # ended and connected
    assert base.analysis is not None
    assert base.tool_calls
    assert base.costs
    return replace(
        base,
        scheduled_ms=base.created_ms + 5,
        vendor_ids={"retell": "docs-id"},
        vendor_overrides={"retell": {"call_status": "ended", "extra": [1, {"a": None}]}},
        origin="retell",
        webhook_url="https://hooks.example.com/calls",
        # Whole numbers where floats usually are stay whole numbers: bodies render them so.
        costs=(CostLine("telephony", 1, 25), *base.costs),
        latency={"e2e": LatencySeries((800, 812.5))},
    )


def test_ints_stay_ints_and_floats_stay_floats() -> None:
    call = _a_call_with_every_field_set()
    back = codec.loads(codec.dumps(call))
    assert type(back.costs[0].unit_price) is int
    assert type(back.costs[1].unit_price) is float
    assert [type(v) for v in back.latency["e2e"].values] == [int, float]


def test_a_record_without_a_field_added_later_takes_its_default() -> None:
    call = _a_call_with_every_field_set()
    encoded = codec.encode_call(replace(call, webhook_url=None))
    del encoded["webhook_url"]
    assert codec.decode_call(encoded) == replace(call, webhook_url=None)


def _damaged(change: Any) -> str:
    encoded = json.loads(codec.dumps(_a_call_with_every_field_set()))
    change(encoded)
    with pytest.raises(codec.CodecError) as caught:
        codec.decode_call(encoded)
    return str(caught.value)


def test_damaged_records_name_the_field() -> None:
    assert _damaged(lambda c: c.pop("tenant")) == "call: missing tenant"
    assert _damaged(lambda c: c.update(colour="red")) == "call: unknown field colour"
    assert _damaged(lambda c: c["turns"][0]["words"][1].__setitem__(1, "10")) == (
        "call.turns[0].words[1][1]: expected an integer, got str"
    )
    assert _damaged(lambda c: c.update(scenario="lost")).startswith(
        "call.scenario: expected one of completed, voicemail,"
    )
    assert _damaged(lambda c: c.update(direction="sideways")) == (
        "call.direction: expected one of inbound, outbound, got 'sideways'"
    )
    assert _damaged(lambda c: c["agent"].update(version=True)) == (
        "call.agent.version: expected an integer, got bool"
    )
    assert _damaged(lambda c: c.update(start_ms=None, analysis=[])) == (
        "call.analysis: expected an object, got list"
    )
    assert _damaged(lambda c: c["costs"][0].pop()) == (
        "call.costs[0]: expected [product, unit_price, cost]"
    )
    assert _damaged(lambda c: c["dynamic_variables"].update(n=1)) == (
        "call.dynamic_variables.n: expected a string, got int"
    )
    with pytest.raises(codec.CodecError, match=r"^stored: not JSON"):
        codec.loads(b"{", "stored")
