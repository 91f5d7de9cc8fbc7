"""Callab as its docs' own examples use it: paths without /v1, the documented sort columns
(JSON ones included), and the fields typed without "or null" filled on every ended call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS
from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.callab.query import jsonb_order

DOCS_ID = "550e8400-e29b-41d4-a716-446655440000"
NOT_FOUND = {"status": "error", "message": "error", "data": ""}
NON_NULL = (
    "call_rating",
    "latency",
    "disconnect_reason",
    "analysis_sentiment",
    "agent_task_status",
    "agent_task_feedback",
)


@pytest.fixture
def auth(state: VendorSandbox) -> dict[str, str]:
    return state.credentials("callab")


def test_get_call_without_v1_is_the_same_answer(client: TestClient, auth: dict[str, str]) -> None:
    """The get-call page's cURL: https://api.callab.ai/calls/{id}."""
    versioned = client.get(f"/callab/v1/calls/{DOCS_ID}", headers=auth)
    bare = client.get(f"/callab/calls/{DOCS_ID}", headers=auth)
    assert (bare.status_code, bare.headers["content-type"]) == (200, "application/json")
    assert bare.content == versioned.content
    unknown = client.get("/callab/calls/00000000-0000-4000-8000-000000000000", headers=auth)
    assert (unknown.status_code, unknown.json()) == (200, NOT_FOUND)


def test_every_route_answers_without_v1(client: TestClient, auth: dict[str, str]) -> None:
    params: dict[str, str | int] = {"per_page": 3, "sort_column": "call_duration"}
    assert (
        client.get("/callab/calls/query", headers=auth, params=params).json()
        == client.get("/callab/v1/calls/query", headers=auth, params=params).json()
    )
    body = {"call_from": "+14155550142", "call_to": "+12125550101"}
    created = client.post("/callab/calls", headers=auth, json=body)
    assert created.status_code == 200
    cid = created.json()["data"]["id"]
    assert client.get(f"/callab/v1/calls/{cid}", headers=auth).json() == created.json()
    made = client.post(
        "/callab/calls/make-call",
        headers=auth,
        json={"ai_agent_id": "6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f", "call_to": "+12125550101"},
    )
    assert (made.status_code, made.json()["data"]["is_test"]) == (200, True)


def _all(client: TestClient, auth: dict[str, str], params: dict[str, Any]) -> list[Any]:
    items: list[Any] = []
    for page in range(100):
        data = client.get(
            "/callab/v1/calls/query",
            headers=auth,
            params={**params, "per_page": 100, "page": page},
        ).json()["data"]
        items += data
        if len(data) < 100:
            return items
    raise AssertionError("more than 100 pages")


def _jsonb(value: Any) -> Any:
    """PostgreSQL's jsonb order, written out for the test: objects by size, then by their
    keys in storage order (shorter first), key before value; numbers after strings."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k), k))
        return (5, len(value), [((1, k), _jsonb(value[k])) for k in keys])
    if isinstance(value, bool):
        return (3, value)
    if isinstance(value, (int, float)):
        return (2, value)
    return (1, value)


@pytest.mark.parametrize(
    "column", ["metadata", "agent_dynamic_variables", "agent_post_call_outcomes"]
)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sorts_by_json_columns(
    client: TestClient, auth: dict[str, str], column: str, order: str
) -> None:
    items = _all(client, auth, {"sort_column": column, "order": order})
    values = [i[column] for i in items]
    present = [v for v in values if v is not None]
    nulls = [v for v in values if v is None]
    # Nulls last ascending, first descending, as PostgreSQL sorts.
    assert values == (present + nulls if order == "asc" else nulls + present)
    keys = [json.dumps(_jsonb(v)) for v in present]
    ordered = sorted(present, key=_jsonb, reverse=order == "desc")
    assert [json.dumps(_jsonb(v)) for v in ordered] == keys


def test_jsonb_order_ranks_kinds_then_sizes() -> None:
    values: list[Any] = [{"b": 1, "a": 2}, {"zz": 0}, [1], True, 2, "x", None, {"a": 1}]
    assert sorted(values, key=jsonb_order) == [
        None,
        "x",
        2,
        True,
        [1],
        {"a": 1},
        {"zz": 0},
        {"b": 1, "a": 2},
    ]
    # Same size: keys compared in storage order (shorter first), then values; PostgreSQL's
    # docs' own example: {"aa": 1, "c": 1} > {"b": 1, "d": 1}.
    assert sorted([{"aa": 1, "c": 1}, {"b": 1, "d": 1}], key=jsonb_order) == [
        {"b": 1, "d": 1},
        {"aa": 1, "c": 1},
    ]
    assert sorted([{"b": 9}, {"ab": 1}], key=jsonb_order) == [{"ab": 1}, {"b": 9}]
    assert sorted([{"a": 2}, {"a": 1}], key=jsonb_order) == [{"a": 1}, {"a": 2}]


def test_an_undocumented_sort_column_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/callab/v1/calls/query", headers=auth, params={"sort_column": "id"})
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert "cannot sort by 'id'; use name or one of created_at" in response.json()["message"]


def test_ended_calls_fill_every_non_null_field(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    items = _all(client, auth, {})
    ended = [i for i in items if i["ended_at"] is not None]
    assert 0 < len(ended) < len(items)
    for item in ended:
        for field in NON_NULL:
            assert item[field] is not None, (item["id"], field)
    for item in items:
        assert state.schemas.problems("callab/call.json", item) == []


def test_while_the_analysis_runs_the_review_is_pending(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    """Between the end and the analysis (ANALYSIS_DELAY_MS), the fields are already there,
    from the canonical call; then the analysis fills them, the same for every seed run."""
    created = client.post(
        "/callab/v1/calls",
        headers=auth,
        json={"call_from": "+14155550142", "call_to": "+12125550101"},
    ).json()["data"]
    plan = state.store.plan("acme", created["id"])
    assert plan is not None
    assert plan.end_ms is not None
    assert plan.scenario is Scenario.COMPLETED
    state.clock.advance(plan.end_ms - state.clock.now_ms())
    analysing = client.get(f"/callab/v1/calls/{created['id']}", headers=auth).json()["data"]
    assert {f: analysing[f] for f in NON_NULL} == {
        "call_rating": 0,
        "latency": analysing["latency"],
        "disconnect_reason": analysing["disconnect_reason"],
        "analysis_sentiment": "unknown",
        "agent_task_status": "pending",
        "agent_task_feedback": "Post-call analysis in progress",
    }
    assert analysing["latency"] > 0
    assert analysing["call_feedback"] is None
    state.clock.advance(ANALYSIS_DELAY_MS)
    analysed = client.get(f"/callab/v1/calls/{created['id']}", headers=auth).json()["data"]
    assert plan.analysis is not None
    assert analysed["analysis_sentiment"] == plan.analysis.sentiment
    assert analysed["agent_task_feedback"] == plan.analysis.summary
    assert analysed["call_rating"] == {"positive": 5, "neutral": 3, "negative": 1}.get(
        plan.analysis.sentiment, 0
    )
