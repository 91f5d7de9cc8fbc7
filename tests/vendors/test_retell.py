"""Retell AI through HTTP, exactly as Retell answers: statuses, headers and whole bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.retell.render import call_id

JSON = "application/json; charset=utf-8"
DOCS_ID = "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"


@pytest.fixture
def auth(state: VendorSandbox) -> dict[str, str]:
    return state.credentials("retell")


def error(message: str) -> dict[str, str]:
    return {"status": "error", "message": message}


def test_docs_example_is_served_at_its_id(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    pinned = next(c for c in state.fixtures.pinned if c.vendor_ids.get("retell") == DOCS_ID)
    response = client.get(f"/retell/v2/get-call/{DOCS_ID}", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert body == {**body, **pinned.vendor_overrides["retell"]}
    assert body["call_id"] == DOCS_ID
    assert body["agent_id"] == "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"
    assert body["start_timestamp"] == 1703302407333
    assert body["transcript_object"] == [
        {
            "role": "agent",
            "content": "hi how are you doing?",
            "words": [{"word": "hi", "start": 0.7, "end": 1.3}],
        }
    ]


def test_generated_call_full_object(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = next(
        state.generator.call("acme", i)
        for i in range(9)
        if state.generator.call("acme", i).scenario is Scenario.COMPLETED
    )
    body = client.get(f"/retell/v2/get-call/{call_id(call)}", headers=auth).json()
    assert body["call_status"] == "ended"
    assert body["call_type"] == call.call_type
    assert body["duration_ms"] == body["end_timestamp"] - body["start_timestamp"]
    assert body["transcript"] == "".join(
        f"{'Agent' if u['role'] == 'agent' else 'User'}: {u['content']}\n"
        for u in body["transcript_object"]
    )
    for utterance in body["transcript_object"]:
        assert " ".join(w["word"] for w in utterance["words"]) == utterance["content"]
        for word in utterance["words"]:
            assert 0 <= word["start"] < word["end"] <= body["duration_ms"] / 1000
    costs = body["call_cost"]
    assert costs["combined_cost"] == pytest.approx(
        sum(p["cost"] for p in costs["product_costs"]), abs=1e-3
    )
    for product in costs["product_costs"]:
        assert product["cost"] == pytest.approx(
            product["unit_price"] * costs["total_duration_seconds"], abs=1e-3
        )
    for stats in body["latency"].values():
        ordered = sorted(stats["values"])
        assert stats["num"] == len(ordered)
        assert (stats["min"], stats["max"]) == (ordered[0], ordered[-1])
        assert stats["p50"] in ordered
        assert stats["p99"] in ordered
    tools = [e for e in body["transcript_with_tool_calls"] if e["role"] == "tool_call_invocation"]
    assert tools
    assert all(json.loads(t["arguments"]) for t in tools)
    assert body["call_analysis"]["user_sentiment"] in {"Positive", "Negative", "Neutral", "Unknown"}


@pytest.mark.parametrize(
    ("scenario", "status", "reason"),
    [
        (Scenario.COMPLETED, "ended", {"user_hangup", "agent_hangup"}),
        (Scenario.VOICEMAIL, "ended", {"voicemail_reached"}),
        (Scenario.NO_ANSWER, "not_connected", {"dial_no_answer"}),
        (Scenario.BUSY, "not_connected", {"dial_busy"}),
        (Scenario.FAILED, "error", {"dial_failed"}),
        (Scenario.TRANSFERRED, "ended", {"call_transfer"}),
        (Scenario.IN_PROGRESS, "ongoing", {None}),
        (Scenario.QUEUED, "registered", {None}),
        (Scenario.SCHEDULED, "registered", {None}),
    ],
)
def test_every_scenario_in_retell_spelling(
    client: TestClient,
    auth: dict[str, str],
    state: VendorSandbox,
    scenario: Scenario,
    status: str,
    reason: set[str | None],
) -> None:
    call = next(
        state.generator.call("acme", i)
        for i in range(9)
        if state.generator.call("acme", i).scenario is scenario
    )
    body = client.get(f"/retell/v2/get-call/{call_id(call)}", headers=auth).json()
    assert body["call_status"] == status
    assert body.get("disconnection_reason") in reason
    connected = scenario.connected
    assert ("transcript_object" in body) is connected
    assert ("end_timestamp" in body) is (scenario.ended)
    assert ("call_analysis" in body) is (connected and scenario.ended)
    assert ("recording_url" in body) is (connected and scenario.ended)
    if scenario is Scenario.VOICEMAIL:
        assert body["call_analysis"]["in_voicemail"] is True
    if scenario is Scenario.IN_PROGRESS:
        assert "end_timestamp" not in body
        assert "duration_ms" not in body
        assert body["start_timestamp"] <= state.fixtures.reference_ms
    if scenario is Scenario.TRANSFERRED:
        assert body["transfer_destination"].startswith("+1")


def test_web_call_variant(client: TestClient, auth: dict[str, str], state: VendorSandbox) -> None:
    call = next(
        c
        for c in (state.generator.call("acme", i) for i in range(500))
        if c.call_type == "web_call"
    )
    body = client.get(f"/retell/v2/get-call/{call_id(call)}", headers=auth).json()
    assert body["call_type"] == "web_call"
    assert body["access_token"]
    assert not {"from_number", "to_number", "direction", "telephony_identifier"} & body.keys()


def test_create_get_list_update_delete(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    created = client.post(
        "/retell/v2/create-phone-call",
        headers=auth,
        json={
            "from_number": "+14155550142",
            "to_number": "+12125550199",
            "metadata": {"order": "A-1"},
            "retell_llm_dynamic_variables": {"customer_name": "Ada"},
        },
    )
    assert created.status_code == 201
    assert created.headers["content-type"] == JSON
    call = created.json()
    assert call["call_status"] == "registered"
    assert call["direction"] == "outbound"
    assert call["agent_name"] == "Ava Appointments"  # the agent bound to +14155550142
    assert call["metadata"] == {"order": "A-1"}
    assert call["retell_llm_dynamic_variables"] == {"customer_name": "Ada"}
    assert client.get(f"/retell/v2/get-call/{call['call_id']}", headers=auth).json() == call

    listed = client.post("/retell/v3/list-calls", headers=auth, json={"limit": 1}).json()
    assert listed["items"][0]["call_id"] == call["call_id"]  # the newest call

    updated = client.patch(
        f"/retell/v2/update-call/{call['call_id']}",
        headers=auth,
        json={"metadata": {"order": "A-2"}, "data_storage_setting": "everything_except_pii"},
    )
    assert updated.status_code == 200
    assert updated.json() == {
        **call,
        "metadata": {"order": "A-2"},
        "data_storage_setting": "everything_except_pii",
    }

    deleted = client.delete(f"/retell/v2/delete-call/{call['call_id']}", headers=auth)
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = client.get(f"/retell/v2/get-call/{call['call_id']}", headers=auth)
    assert (gone.status_code, gone.json()) == (
        422,
        error("Cannot find requested asset under given api key."),
    )
    again = client.post("/retell/v3/list-calls", headers=auth, json={"limit": 1}).json()
    assert again["items"][0]["call_id"] != call["call_id"]


def test_storage_setting_cannot_be_downgraded(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    cid = call_id(state.generator.call("acme", 3))
    assert (
        client.patch(
            f"/retell/v2/update-call/{cid}",
            headers=auth,
            json={"data_storage_setting": "basic_attributes_only"},
        ).status_code
        == 200
    )
    response = client.patch(
        f"/retell/v2/update-call/{cid}", headers=auth, json={"data_storage_setting": "everything"}
    )
    assert response.status_code == 400
    assert response.json() == error(
        "body.data_storage_setting: cannot be downgraded from 'basic_attributes_only' "
        "to the less restrictive 'everything'"
    )


def test_tenants_never_see_each_other(client: TestClient, state: VendorSandbox) -> None:
    theirs = call_id(state.generator.call("globex", 3))
    response = client.get(
        f"/retell/v2/get-call/{theirs}", headers=state.credentials("retell", "acme")
    )
    assert (response.status_code, response.json()) == (
        422,
        error("Cannot find requested asset under given api key."),
    )
    assert (
        client.get(
            f"/retell/v2/get-call/{theirs}", headers=state.credentials("retell", "globex")
        ).status_code
        == 200
    )
    created = client.post(
        "/retell/v2/create-phone-call",
        headers=state.credentials("retell", "globex"),
        json={"from_number": "+15035550188", "to_number": "+12125550101"},
    ).json()
    assert (
        client.get(
            f"/retell/v2/get-call/{created['call_id']}", headers=state.credentials("retell", "acme")
        ).status_code
        == 422
    )
    mine = client.post(
        "/retell/v3/list-calls", headers=state.credentials("retell", "acme"), json={"limit": 1000}
    ).json()
    assert created["call_id"] not in {i["call_id"] for i in mine["items"]}


UNAUTHORIZED = error("API key is missing or invalid.")


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        ({}, "missing Authorization header"),
        ({"Authorization": "Bearer"}, "no key after 'Bearer'"),
        ({"Authorization": "Bearer "}, "no key after 'Bearer'"),
        ({"Authorization": "Basic abc"}, "must read 'Bearer <key>'"),
        (
            {"Authorization": "Bearer key_0000000000000000000000000"},
            "not one of this sandbox's keys",
        ),
    ],
)
def test_unauthorized(client: TestClient, headers: dict[str, str], hint: str) -> None:
    response = client.get("/retell/v2/get-call/call_0", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == JSON
    assert response.json() == UNAUTHORIZED
    assert hint in response.headers["x-sandbox-hint"]


def test_auth_comes_before_routing(client: TestClient) -> None:
    assert client.get("/retell/v9/nothing").status_code == 401


def test_unknown_route_and_method(client: TestClient, auth: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/retell/v9/nothing"),
        ("POST", "/retell/v2/get-call/x"),
        ("GET", "/retell"),
    ]:
        response = client.request(method, path, headers=auth)
        assert (response.status_code, response.json()) == (
            404,
            error("The requested resource was not found."),
        )


@pytest.mark.parametrize(
    "bad_id",
    ["nope", "call_" + "0" * 32, "call_" + "z" * 32, "a%2Fb", "x" * 10_000, "call_%00"],
)
def test_unknown_or_malformed_ids_are_422(
    client: TestClient, auth: dict[str, str], bad_id: str
) -> None:
    response = client.get(f"/retell/v2/get-call/{bad_id}", headers=auth)
    assert (response.status_code, response.json()) == (
        422,
        error("Cannot find requested asset under given api key."),
    )


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/retell/v3/list-calls", b"{not json", "the request body is not valid JSON"),
        ("/retell/v3/list-calls", b"[]", 'body: [] is not of type "object"'),
        (
            "/retell/v3/list-calls",
            b'{"limit": 5000}',
            "body.limit: 5000 is greater than the maximum of 1000",
        ),
        (
            "/retell/v3/list-calls",
            b'{"limit": "ten"}',
            'body.limit: "ten" is not of type "integer"',
        ),
        (
            "/retell/v3/list-calls",
            b'{"sort_order": "up"}',
            'body.sort_order: "up" is not one of ["ascending", "descending"]',
        ),
        (
            "/retell/v3/list-calls",
            b'{"colour": 1}',
            'additional properties are not allowed ("colour" unexpected)',
        ),
        (
            "/retell/v3/list-calls",
            b'{"pagination_key": "nope"}',
            "body.pagination_key: 'nope' is not a pagination_key",
        ),
        ("/retell/v3/list-calls", b'{"skip": 1, "pagination_key": "x"}', "must not be valid under"),
        (
            "/retell/v2/list-calls",
            b'{"limit": 5000}',
            "body.limit: 5000 is greater than the maximum of 1000",
        ),
        (
            "/retell/v2/create-phone-call",
            b'{"to_number": "+12125550101"}',
            '"from_number" is a required property',
        ),
        (
            "/retell/v2/create-phone-call",
            b'{"from_number": 5, "to_number": "+1"}',
            'body.from_number: 5 is not of type "string"',
        ),
        (
            "/retell/v2/create-phone-call",
            b'{"from_number": "555", "to_number": "+12125550101"}',
            "body.from_number: '555' is not an E.164 number",
        ),
        (
            "/retell/v2/create-phone-call",
            b'{"from_number": "+14155550142", "to_number": "+12125550101", '
            b'"override_agent_id": "agent_x"}',
            "body.override_agent_id: no agent 'agent_x'",
        ),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(
    client: TestClient,
    auth: dict[str, str],
    state: VendorSandbox,
    path: str,
    body: bytes,
    message: str,
) -> None:
    before = state.store.snapshot()
    response = client.post(path, headers={**auth, "content-type": "application/json"}, content=body)
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert message in response.json()["message"]
    assert state.store.snapshot() == before


def test_oversized_body_is_413(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    before = state.store.snapshot()
    huge = json.dumps(
        {
            "from_number": "+14155550142",
            "to_number": "+12125550101",
            "metadata": {"x": "y" * 2_000_000},
        }
    )
    response = client.post("/retell/v2/create-phone-call", headers=auth, content=huge)
    assert response.status_code == 413
    assert response.json() == error(
        "request body is larger than 1048576 bytes; send a smaller body"
    )
    assert state.store.snapshot() == before


def test_update_rejects_unknown_fields(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    cid = call_id(state.generator.call("acme", 3))
    response = client.patch(
        f"/retell/v2/update-call/{cid}", headers=auth, json={"call_status": "ended"}
    )
    assert response.status_code == 400
    assert "call_status" in response.json()["message"]


def _page_all(
    client: TestClient, auth: dict[str, str], body: dict[str, Any]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request = dict(body)
    for _ in range(100):
        page = client.post("/retell/v3/list-calls", headers=auth, json=request).json()
        items += page["items"]
        if not page["has_more"]:
            return items
        request["pagination_key"] = page["pagination_key"]
    raise AssertionError("pagination did not end")


def test_v3_list_pages_cover_the_population_once(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    items = _page_all(client, auth, {"limit": 137})
    ids = [i["call_id"] for i in items]
    pinned = sum(1 for c in state.fixtures.pinned if c.tenant == "acme")
    assert len(ids) == len(set(ids)) == state.generator.size("acme") + pinned
    assert all("transcript" not in i and "transcript_object" not in i for i in items)
    ascending = _page_all(client, auth, {"limit": 200, "sort_order": "ascending"})
    assert [i["call_id"] for i in ascending] == ids[::-1]
    total = client.post(
        "/retell/v3/list-calls", headers=auth, json={"limit": 5, "include_total": True}
    ).json()
    assert total["total"] == len(ids)
    assert len(total["items"]) == 5
    assert total["has_more"] is True
    skipped = client.post(
        "/retell/v3/list-calls", headers=auth, json={"limit": 5, "skip": 5}
    ).json()
    assert [i["call_id"] for i in skipped["items"]] == ids[5:10]


def test_v3_filters(client: TestClient, auth: dict[str, str], state: VendorSandbox) -> None:
    everything = _page_all(client, auth, {"limit": 1000})
    agent = everything[0]["agent_id"]
    cases: list[tuple[dict[str, Any], Any]] = [
        (
            {"call_status": {"type": "enum", "op": "in", "value": ["not_connected", "error"]}},
            lambda i: i["call_status"] in {"not_connected", "error"},
        ),
        (
            {"call_type": {"type": "enum", "op": "in", "value": ["web_call"]}},
            lambda i: i["call_type"] == "web_call",
        ),
        (
            {"direction": {"type": "enum", "op": "in", "value": ["inbound"]}},
            lambda i: i.get("direction") == "inbound",
        ),
        ({"agent": [{"agent_id": agent}]}, lambda i: i["agent_id"] == agent),
        (
            {
                "start_timestamp": {
                    "type": "range",
                    "op": "bt",
                    "value": [1773000000000, 1773500000000],
                }
            },
            lambda i: 1773000000000 <= i.get("start_timestamp", -1) <= 1773500000000,
        ),
        (
            {"duration_ms": {"type": "number", "op": "gt", "value": 30000}},
            lambda i: i.get("duration_ms", 0) > 30000,
        ),
        (
            {"user_sentiment": {"type": "enum", "op": "in", "value": ["Negative"]}},
            lambda i: i.get("call_analysis", {}).get("user_sentiment") == "Negative",
        ),
        (
            {"in_voicemail": {"type": "boolean", "op": "eq", "value": True}},
            lambda i: i.get("call_analysis", {}).get("in_voicemail") is True,
        ),
        (
            {"from_number": {"type": "string", "op": "sw", "value": "+1415"}},
            lambda i: i.get("from_number", "").startswith("+1415"),
        ),
        (
            {"metadata": [{"key": "topic", "type": "string", "op": "eq", "value": "delivery"}]},
            lambda i: i["metadata"].get("topic") == "delivery",
        ),
        (
            {"call_successful": {"type": "boolean", "op": "eq", "value": False}},
            lambda i: i.get("call_analysis", {}).get("call_successful") is False,
        ),
        (
            {"combined_cost": {"type": "number", "op": "ge", "value": 5}},
            lambda i: i.get("call_cost", {}).get("combined_cost", -1) >= 5,
        ),
    ]
    for criteria, expected in cases:
        found = _page_all(client, auth, {"limit": 1000, "filter_criteria": criteria})
        assert [i["call_id"] for i in found] == [i["call_id"] for i in everything if expected(i)], (
            criteria
        )
        assert found, criteria


def test_v2_list_is_a_bare_array_with_transcripts(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/retell/v2/list-calls", headers=auth, json={})
    assert response.status_code == 200
    calls = response.json()
    assert isinstance(calls, list)
    assert len(calls) == 50
    assert any("transcript_object" in c for c in calls)
    nxt = client.post(
        "/retell/v2/list-calls",
        headers=auth,
        json={"pagination_key": calls[-1]["call_id"], "limit": 3},
    ).json()
    every = client.post("/retell/v2/list-calls", headers=auth, json={"limit": 53}).json()
    assert [c["call_id"] for c in nxt] == [c["call_id"] for c in every[50:53]]
    ended = client.post(
        "/retell/v2/list-calls",
        headers=auth,
        json={
            "limit": 1000,
            "filter_criteria": {
                "call_status": ["ended"],
                "duration_ms": {"lower_threshold": 20000},
            },
        },
    ).json()
    assert ended
    assert all(c["call_status"] == "ended" and c["duration_ms"] >= 20000 for c in ended)
    by_meta = client.post(
        "/retell/v2/list-calls",
        headers=auth,
        json={"limit": 1000, "filter_criteria": {"metadata.topic": ["renewal"]}},
    ).json()
    assert by_meta
    assert all(c["metadata"]["topic"] == "renewal" for c in by_meta)
