"""Zudu's renderer and list logic without HTTP: every call of the population in Zudu's shape."""

from __future__ import annotations

import dataclasses

import pytest

from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.zudu import VENDOR
from sandbox.vendors.zudu.auth import format_problem
from sandbox.vendors.zudu.listing import Listing, pagination, select
from sandbox.vendors.zudu.render import FILTERED, STATUS, facts, render_call


def test_status_table_matches_the_design() -> None:
    assert {s.value: STATUS[s] for s in Scenario} == {
        "completed": "ENDED",
        "voicemail": "ENDED",
        "no-answer": "ENDED",
        "busy": "ENDED",
        "failed": "ERROR",
        "transferred": "ENDED",
        "in-progress": "ONGOING",
        "queued": "REGISTERED",
        "scheduled": "SCHEDULED",
    }


def test_every_call_fits_the_schema_and_is_consistent(state: VendorSandbox) -> None:
    calls = [*state.store.calls("acme"), *state.store.calls("globex")]
    for call in calls:
        body = render_call(call)
        assert state.schemas.problems("zudu/call.json", body) == [], call.id
        # What the list filters read is what the client reads back.
        assert facts(call) == {k: body.get(k) for k in FILTERED}
        if call.source == "pinned":
            continue  # the docs' values, which need not add up
        for event in body["events"]:
            if (
                body["start_timestamp"] is not None
                and event["timestamp"] >= body["start_timestamp"]
            ):
                assert event["session_time"] == event["timestamp"] - body["start_timestamp"]
        cost = body["call_cost"]
        if cost is not None:
            lines = cost["product_costs"]
            assert cost["combined_cost"] == round(sum(p["cost"] for p in lines), 6)
            assert [p["cost"] for p in lines] == [round(c.cost / 100, 6) for c in call.costs]
            once = [round(c.cost / 100, 6) for c in call.costs if c.product.startswith("llm")]
            assert cost["total_one_time_price"] == round(sum(once), 6)
            assert isinstance(cost["total_duration_seconds"], int)


def test_ids_round_trip(state: VendorSandbox) -> None:
    call = state.generator.call("acme", 4)
    external = VENDOR.external_id(call)
    assert external == "call_" + call.id.replace("-", "")
    assert VENDOR.canonical_id(external) == call.id
    for malformed in ("call-456", "call_" + "g" * 32, "call_" + "0" * 31, call.id, ""):
        assert VENDOR.canonical_id(malformed) is None
    pinned = next(c for c in state.fixtures.pinned if c.vendor_ids.get("zudu"))
    assert VENDOR.external_id(pinned) == "call-456"


@pytest.mark.parametrize(
    ("header", "value", "problem"),
    [
        ("X-API-KEY", "sk_" + "a1" * 16, None),
        ("X-API-KEY", "sk_" + "a" * 31, "X-API-KEY must be 'sk_' followed by 32 letters"),
        ("X-API-KEY", "sk_" + "a" * 33, "the one sent has 36 characters"),
        ("X-API-KEY", "sk_" + "-" * 32, "X-API-KEY must be"),
        ("X-API-SECRET", "s3cr3t_" + "Z9" * 20, None),
        ("X-API-SECRET", "secret_" + "Z" * 40, "X-API-SECRET must be 's3cr3t_' followed by 40"),
    ],
)
def test_credential_formats(header: str, value: str, problem: str | None) -> None:
    found = format_problem(header, value)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_fixture_credentials_are_checked(state: VendorSandbox) -> None:
    good = state.fixtures.tenants["acme"].keys["zudu"]
    assert VENDOR.check_credentials("acme", good) == []
    bad = {**good, "api_secret": "s3cr3t_short"}
    assert VENDOR.check_credentials("acme", bad) == [
        "keys.zudu.api_secret: X-API-SECRET must be 's3cr3t_' followed by 40 letters or digits; "
        "the one sent has 12 characters"
    ]


def test_pagination_math() -> None:
    assert pagination(Listing(page=0, limit=50), 0) == {
        "page": 0,
        "limit": 50,
        "total_count": 0,
        "total": 0,
        "total_pages": 0,
        "has_next_page": False,
        "has_previous_page": False,
    }
    middle = pagination(Listing(page=1, limit=10), 25)
    assert (middle["total_pages"], middle["has_next_page"], middle["has_previous_page"]) == (
        3,
        True,
        True,
    )
    last = pagination(Listing(page=2, limit=10), 25)
    assert (last["has_next_page"], last["has_previous_page"]) == (False, True)


def test_status_override_is_what_filters_see(state: VendorSandbox) -> None:
    call = next(c for c in state.store.calls("acme") if c.scenario is Scenario.COMPLETED)
    marked = dataclasses.replace(call, vendor_overrides={"zudu": {"call_status": "ERROR"}})
    assert render_call(marked)["call_status"] == "ERROR"
    errors = Listing(filters={"call_status": ["ERROR"]})
    ended = Listing(filters={"call_status": ["ENDED"]})
    assert select([marked], errors) == [marked]
    assert select([marked], ended) == []
