"""Zudu through HTTP, exactly as Zudu answers: statuses, headers and whole bodies."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.calls.ids import sibling_sid
from sandbox.calls.model import Call, Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.retell.render import call_id as retell_id
from sandbox.vendors.zudu.render import call_id, render_call

JSON = "application/json"
DOCS = Path(__file__).parent / "data" / "zudu"
DOCS_ID = "call-456"
ACME_ORG = "org_acme"


@pytest.fixture
def auth(state: VendorSandbox) -> dict[str, str]:
    return state.credentials("zudu")


def docs(name: str) -> Any:
    return json.loads((DOCS / name).read_text())


def error(message: str, detail: str) -> dict[str, str]:
    return {"message": message, "status": "error", "error": detail}


def not_found(cid: str) -> dict[str, str]:
    return error("Call not found", f"Call with ID '{cid}' does not exist")


def success(message: str, data: Any) -> dict[str, Any]:
    return {"message": message, "status": "success", "error": None, "data": data}


def first(state: VendorSandbox, scenario: Scenario, tenant: str = "acme") -> Call:
    return next(
        state.generator.call(tenant, i)
        for i in range(40)
        if state.generator.call(tenant, i).scenario is scenario
    )


def every_call(state: VendorSandbox, tenant: str = "acme") -> list[Call]:
    return list(state.store.calls(tenant))


# -- the docs' own examples ----------------------------------------------------------------


def test_docs_example_is_served_at_its_id(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(f"/zudu/api/calls/{DOCS_ID}", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == docs("get-call.json")


@pytest.mark.parametrize(
    ("example", "schema"),
    [
        ("get-call.json", "zudu/get.json"),
        ("delete.json", "zudu/delete.json"),
        ("delete-scheduled.json", "zudu/delete.json"),
        ("not-found.json", "zudu/error.json"),
        ("not-found-delete.json", "zudu/error.json"),
    ],
)
def test_docs_examples_fit_the_schemas(state: VendorSandbox, example: str, schema: str) -> None:
    assert state.schemas.problems(schema, docs(example)) == []


def _shape(value: Any) -> Any:
    """A JSON value's structure: keys and types, lists by their first item."""
    if isinstance(value, dict):
        # metadata holds the client's own keys: only its type is the API's shape.
        return {k: "dict" if k == "metadata" else _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _covers(live: Any, documented: Any, where: str = "") -> list[str]:
    """Where the live answer lacks a key of the documented example or types it differently."""
    if documented == "NoneType" or live == "NoneType":
        return []  # a documented null and a present value (or the reverse) are both fine
    if isinstance(documented, dict):
        if not isinstance(live, dict):
            return [f"{where}: not an object"]
        gaps = [f"{where}.{k}: missing" for k in documented if k not in live]
        for key in documented.keys() & live.keys():
            gaps += _covers(live[key], documented[key], f"{where}.{key}")
        return gaps
    if isinstance(documented, list):
        if not isinstance(live, list):
            return [f"{where}: not a list"]
        if documented and live:
            return _covers(live[0], documented[0], f"{where}[0]")
        return []
    numbers = {"int", "float"}
    if documented in numbers and live in numbers:
        return []
    return [] if documented == live else [f"{where}: {live} instead of {documented}"]


def test_docs_examples_with_partial_calls_are_answered_in_full(
    client: TestClient, auth: dict[str, str]
) -> None:
    """The docs' list, create and update examples abbreviate the call; the sandbox answers
    with every key they show (and the full call object besides)."""
    listed = client.post(
        "/zudu/api/calls",
        headers=auth,
        json={
            "page": 0,
            "limit": 20,
            "sort_by": "created_at",
            "sort_order": "descending",
            "filter_criteria": {"call_status": ["ONGOING", "ENDED"], "call_type": ["PHONE_CALL"]},
        },
    ).json()
    assert _covers(_shape(listed), _shape(docs("list.json"))) == []
    generated = client.post(
        "/zudu/api/calls",
        headers=auth,
        json={
            "sort_by": "start_timestamp",
            "filter_criteria": {
                "duration_ms": {"lower_threshold": 30000, "upper_threshold": 300000}
            },
        },
    ).json()
    assert _covers(_shape(generated), _shape(docs("list-generated.json"))) == []
    created = client.post(
        "/zudu/api/calls/create-phone-call",
        headers=auth,
        json={
            "from_number": "+14157774444",
            "to_number": "+12137774445",
            "metadata": {"customer_id": "cust-001", "campaign": "summer-2024"},
        },
    ).json()
    assert _covers(_shape(created), _shape(docs("create-phone-call.json"))) == []
    updated = client.put(f"/zudu/api/calls/{DOCS_ID}", headers=auth, json={}).json()
    assert _covers(_shape(updated), _shape(docs("update.json"))) == []


def test_docs_update_example(client: TestClient, auth: dict[str, str]) -> None:
    """The docs' PUT request against the docs' call: metadata merged, the rest replaced. The
    docs echo lowercase enums there; the sandbox keeps Zudu's UPPERCASE everywhere."""
    response = client.put(
        f"/zudu/api/calls/{DOCS_ID}",
        headers=auth,
        json={
            "call_status": "ONGOING",
            "direction": "OUTBOUND",
            "from_number": "+1111111111",
            "metadata": {"updated_field": "new_value"},
        },
    )
    assert response.status_code == 200
    body = response.json()
    before = docs("get-call.json")["data"]
    call = body["data"]["call"]
    assert body["message"] == "Call updated successfully"
    assert body["data"]["operation"] == "update"
    assert body["data"]["organization_id"] == ACME_ORG
    assert call["metadata"] == {**before["metadata"], "updated_field": "new_value"}
    assert (call["call_status"], call["direction"], call["from_number"]) == (
        "ONGOING",
        "OUTBOUND",
        "+1111111111",
    )
    assert call == {
        **before,
        "metadata": call["metadata"],
        "direction": "OUTBOUND",
        "from_number": "+1111111111",
    }
    assert client.get(f"/zudu/api/calls/{DOCS_ID}", headers=auth).json()["data"] == call


# -- one call object per scenario ----------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "status", "reasons"),
    [
        (Scenario.COMPLETED, "ENDED", {"USER_HANGUP", "AGENT_HANGUP"}),
        (Scenario.VOICEMAIL, "ENDED", {"VOICEMAIL_REACHED"}),
        (Scenario.NO_ANSWER, "ENDED", {"DIAL_NO_ANSWER"}),
        (Scenario.BUSY, "ENDED", {"DIAL_BUSY"}),
        (Scenario.FAILED, "ERROR", {"DIAL_FAILED"}),
        (Scenario.TRANSFERRED, "ENDED", {"CALL_TRANSFER"}),
        (Scenario.IN_PROGRESS, "ONGOING", {None}),
        (Scenario.QUEUED, "REGISTERED", {None}),
        (Scenario.SCHEDULED, "SCHEDULED", {None}),
    ],
)
def test_every_scenario_in_zudu_units(
    client: TestClient,
    auth: dict[str, str],
    state: VendorSandbox,
    scenario: Scenario,
    status: str,
    reasons: set[str | None],
) -> None:
    call = first(state, scenario)
    response = client.get(f"/zudu/api/calls/{call_id(call)}", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    envelope = response.json()
    assert envelope.keys() == {"message", "status", "error", "data"}
    assert (envelope["message"], envelope["status"], envelope["error"]) == (
        "Call retrieved successfully",
        "success",
        None,
    )
    body = envelope["data"]
    assert body["id"] == call.id
    assert body["call_id"] == "call_" + call.id.replace("-", "")
    assert body["organization_id"] == ACME_ORG
    assert body["agent_id"] == "agent_" + call.agent.id
    assert body["call_status"] == status
    assert body["disconnection_reason"] in reasons
    assert body["call_type"] in {"PHONE_CALL", "WEB_CALL"}
    assert body["direction"] in {"INBOUND", "OUTBOUND"}
    assert (body["created_at"], body["updated_at"]) == (call.created_ms, call.updated_ms)
    start, end = body["start_timestamp"], body["end_timestamp"]
    assert (start is None) is (scenario in {Scenario.QUEUED, Scenario.SCHEDULED})
    assert (end is None) is scenario.live
    if end is not None:
        assert body["call_duration"] == end - start > 0
    else:
        assert body["call_duration"] is None
    horizon = end if end is not None else state.fixtures.reference_ms
    connected = scenario.connected
    assert (body["transcript"] is not None) is connected
    assert bool(body["transcript_object"]) is connected
    assert body["transcript"] == (
        "\n".join(u["content"] for u in body["transcript_object"]) if connected else None
    )
    for utterance in body["transcript_object"]:
        assert utterance["role"] in {"assistant", "user"}
        assert " ".join(w["word"] for w in utterance["words"]) == utterance["content"]
        assert utterance["timestamp"] == utterance["words"][0]["start"]
        for word in utterance["words"]:
            assert start <= word["start"] < word["end"] <= horizon
    assert (body["call_analysis"] is not None) is (connected and scenario.ended)
    assert (body["recording_url"] is not None) is (connected and scenario.ended)
    assert (body["call_cost"] is not None) is scenario.ended
    assert (body["latency"] is not None) is (connected and scenario.ended)
    assert (body["public_log_url"] is not None) is (start is not None)
    if scenario is Scenario.VOICEMAIL:
        assert body["call_analysis"]["in_voicemail"] is True
    if body["call_cost"] is not None:
        costs = body["call_cost"]
        assert costs["combined_cost"] == pytest.approx(
            sum(p["cost"] for p in costs["product_costs"]), abs=1e-9
        )
        seconds = body["call_duration"] / 1000 if connected else 0
        # A whole number of seconds, and unit prices per minute, as Zudu's example bills.
        assert costs["total_duration_seconds"] == round(seconds)
        for product in costs["product_costs"]:
            assert product["cost"] == pytest.approx(product["unit_price"] * seconds / 60, abs=1e-5)
        once = [p for p in costs["product_costs"] if p["product"].startswith("llm")]
        timed = [p for p in costs["product_costs"] if p not in once]
        assert costs["total_one_time_price"] == round(sum(p["cost"] for p in once), 6)
        assert (costs["total_one_time_price"] > 0) is connected
        assert costs["total_duration_unit_price"] == round(sum(p["unit_price"] for p in timed), 6)
    events = body["events"]
    assert events[0] == {
        "timestamp": body["created_at"],
        "event": "Call created",
        "session_time": 0,
        "data": {},
    }
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    started = [e for e in events if e["event"].startswith("Call started")]
    assert [e["timestamp"] for e in started] == ([start] if start is not None else [])
    if started:
        assert started[0]["event"] == f"Call started - {body['direction']}"
        assert started[0]["data"] == {
            "direction": body["direction"],
            "from": body["from_number"],
            "to": body["to_number"],
        }
    ended = [e for e in events if e["event"].startswith("Call ended")]
    if end is None:
        assert ended == []
    else:
        assert ended == [
            {
                "timestamp": end,
                "event": f"Call ended - {body['disconnection_reason']}",
                "session_time": body["call_duration"],
                "data": {
                    "disconnection_reason": body["disconnection_reason"],
                    "call_duration": body["call_duration"],
                },
            }
        ]
    if scenario is Scenario.SCHEDULED:
        assert call.scheduled_ms is not None
        assert events[1]["data"] == {"scheduled_timestamp": call.scheduled_ms // 1000}


def test_tool_calls_are_woven_into_the_transcript(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = next(c for c in every_call(state) if c.tool_calls and c.scenario.ended)
    body = client.get(f"/zudu/api/calls/{call_id(call)}", headers=auth).json()["data"]
    entries = body["transcript_with_tool_calls"]
    utterances = [e for e in entries if e["role"] in {"assistant", "user"}]
    assert utterances == body["transcript_object"]
    invocations = [e for e in entries if e["role"] == "tool_call_invocation"]
    results = [e for e in entries if e["role"] == "tool_call_result"]
    assert [i["tool_call_id"] for i in invocations] == [r["tool_call_id"] for r in results]
    assert [(i["name"], json.loads(i["arguments"])) for i in invocations] == [
        (t.name, dict(t.arguments)) for t in sorted(call.tool_calls, key=lambda t: t.at_ms)
    ]
    logged = [e for e in body["events"] if e["event"].startswith("Tool call - ")]
    assert [e["timestamp"] - body["start_timestamp"] for e in logged] == [
        e["session_time"] for e in logged
    ]
    assert len(logged) == len(invocations)


def test_web_call_has_no_phone_numbers(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = next(c for c in every_call(state) if c.call_type == "web_call")
    body = client.get(f"/zudu/api/calls/{call_id(call)}", headers=auth).json()["data"]
    assert body["call_type"] == "WEB_CALL"
    assert (body["from_number"], body["to_number"], body["telephony_identifier"]) == (
        None,
        None,
        None,
    )


def test_phone_call_telephony_identifier(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = next(c for c in every_call(state) if c.call_type == "phone_call" and c.scenario.ended)
    body = client.get(f"/zudu/api/calls/{call_id(call)}", headers=auth).json()["data"]
    assert body["telephony_identifier"] == {
        "call_sid": call.telephony_sid,
        "conference_sid": sibling_sid("CF", call.telephony_sid),
    }
    # Two ids of one call share no random digits.
    assert body["telephony_identifier"]["conference_sid"][2:] != call.telephony_sid[2:]


@pytest.mark.parametrize(
    "scenario",
    [Scenario.COMPLETED, Scenario.VOICEMAIL, Scenario.TRANSFERRED, Scenario.IN_PROGRESS],
)
def test_retell_and_zudu_tell_the_same_call(
    client: TestClient, state: VendorSandbox, scenario: Scenario
) -> None:
    call = first(state, scenario)
    retell = client.get(
        f"/retell/v2/get-call/{retell_id(call)}", headers=state.credentials("retell")
    ).json()
    zudu = client.get(f"/zudu/api/calls/{call_id(call)}", headers=state.credentials("zudu")).json()[
        "data"
    ]
    assert zudu["start_timestamp"] == retell["start_timestamp"]
    assert zudu["end_timestamp"] == retell.get("end_timestamp")
    assert zudu["call_duration"] == retell.get("duration_ms")
    roles = {"agent": "assistant", "user": "user"}
    assert len(zudu["transcript_object"]) == len(retell["transcript_object"])
    for ours, theirs in zip(zudu["transcript_object"], retell["transcript_object"], strict=True):
        assert ours["role"] == roles[theirs["role"]]
        assert ours["content"] == theirs["content"]
        assert [w["word"] for w in ours["words"]] == [w["word"] for w in theirs["words"]]
        for mine, other in zip(ours["words"], theirs["words"], strict=True):
            assert mine["start"] == retell["start_timestamp"] + round(other["start"] * 1000)
            assert mine["end"] == retell["start_timestamp"] + round(other["end"] * 1000)
    assert zudu["disconnection_reason"] == (
        retell["disconnection_reason"].upper() if "disconnection_reason" in retell else None
    )
    status = {"ended": "ENDED", "ongoing": "ONGOING", "error": "ERROR"}
    assert zudu["call_status"] == status[retell["call_status"]]
    if scenario.ended:
        analysis = zudu["call_analysis"]
        assert analysis["call_summary"] == retell["call_analysis"]["call_summary"]
        assert analysis["user_sentiment"] == retell["call_analysis"]["user_sentiment"]
        assert analysis["call_successful"] == retell["call_analysis"]["call_successful"]
        assert analysis["in_voicemail"] == retell["call_analysis"]["in_voicemail"]
        # Retell bills in cents, Zudu in dollars.
        assert zudu["call_cost"]["combined_cost"] * 100 == pytest.approx(
            retell["call_cost"]["combined_cost"], abs=1e-3
        )
        assert zudu["latency"]["e2e"]["values"] == retell["latency"]["e2e"]["values"]


# -- list ----------------------------------------------------------------------------------


def _list(client: TestClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/zudu/api/calls", headers=auth, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    payload = response.json()
    assert (payload["message"], payload["status"], payload["error"]) == (
        "Calls retrieved successfully",
        "success",
        None,
    )
    data: dict[str, Any] = payload["data"]
    return data


def _ids(data: dict[str, Any]) -> list[str]:
    return [c["call_id"] for c in data["calls"]]


def test_default_list(client: TestClient, auth: dict[str, str], state: VendorSandbox) -> None:
    everything = every_call(state)
    data = _list(client, auth)
    assert data["organization_id"] == ACME_ORG
    assert _ids(data) == [call_id(c) for c in everything[:50]]
    assert data["calls"][0] == render_call(everything[0])
    assert data["pagination"] == {
        "page": 0,
        "limit": 50,
        "total_count": len(everything),
        "total": len(everything),
        "total_pages": math.ceil(len(everything) / 50),
        "has_next_page": True,
        "has_previous_page": False,
    }
    assert data["returned_count"] == 50
    assert (data["sort_order"], data["sort_by"], data["applied_filters"]) == (
        "descending",
        "created_at",
        {},
    )


def test_paging_walks_every_call_once(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    everything = [call_id(c) for c in every_call(state)]
    pages = math.ceil(len(everything) / 100)
    seen: list[str] = []
    for page in range(pages):
        data = _list(client, auth, page=page, limit=100)
        assert data["pagination"]["has_next_page"] is (page < pages - 1)
        assert data["pagination"]["has_previous_page"] is (page > 0)
        assert data["returned_count"] == len(data["calls"])
        seen += _ids(data)
    assert seen == everything
    beyond = _list(client, auth, page=pages, limit=100)
    assert (beyond["calls"], beyond["returned_count"]) == ([], 0)
    assert beyond["pagination"]["has_next_page"] is False
    ascending = _list(client, auth, page=0, limit=7, sort_order="ascending")
    assert _ids(ascending) == everything[::-1][:7]
    assert ascending["sort_order"] == "ascending"


def test_sort_by_start_timestamp(client: TestClient, auth: dict[str, str]) -> None:
    for order in ("descending", "ascending"):
        calls = _list(client, auth, limit=100, sort_by="start_timestamp", sort_order=order)["calls"]
        starts = [c["start_timestamp"] for c in calls]
        known = [s for s in starts if s is not None]
        assert known == sorted(known, reverse=order == "descending")
    last = _list(client, auth, page=5, limit=100, sort_by="start_timestamp")
    assert last["calls"][-1]["start_timestamp"] is None  # never started: last either way


@pytest.mark.parametrize(
    ("criteria", "applied", "keep"),
    [
        (
            {"call_status": ["ENDED"]},
            {"call_status": ["ENDED"]},
            lambda c: c["call_status"] == "ENDED",
        ),
        (
            {"call_status": ["ongoing", "registered"]},
            {"call_status": ["ONGOING", "REGISTERED"]},
            lambda c: c["call_status"] in {"ONGOING", "REGISTERED"},
        ),
        (
            {"call_type": ["WEB_CALL"]},
            {"call_type": ["WEB_CALL"]},
            lambda c: c["call_type"] == "WEB_CALL",
        ),
        (
            {"agent_id": "agent-123"},
            {"agent_id": "agent-123"},
            lambda c: c["agent_id"] == "agent-123",
        ),
        (
            {"agent_id": ["agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f", "agent-123"]},
            {"agent_id": ["agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f", "agent-123"]},
            lambda c: c["agent_id"] in {"agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f", "agent-123"},
        ),
        (
            {"duration_ms": {"lower_threshold": 30000, "upper_threshold": 60000}},
            {"duration_ms": {"lower_threshold": 30000, "upper_threshold": 60000}},
            lambda c: c["call_duration"] is not None and 30000 <= c["call_duration"] <= 60000,
        ),
        (
            {"transcript_search": "THANK you"},
            {"transcript_search": "THANK you"},
            lambda c: (
                "thank" in (c["transcript"] or "").lower()
                and "you" in (c["transcript"] or "").lower()
            ),
        ),
        (
            {"call_status": ["ENDED"], "call_type": ["PHONE_CALL"], "transcript_search": "x"},
            {"call_status": ["ENDED"], "call_type": ["PHONE_CALL"], "transcript_search": "x"},
            lambda c: (
                c["call_status"] == "ENDED"
                and c["call_type"] == "PHONE_CALL"
                and "x" in (c["transcript"] or "").lower()
            ),
        ),
    ],
)
def test_filters(
    client: TestClient,
    auth: dict[str, str],
    state: VendorSandbox,
    criteria: dict[str, Any],
    applied: dict[str, Any],
    keep: Any,
) -> None:
    expected = [
        body["call_id"] for body in (render_call(c) for c in every_call(state)) if keep(body)
    ]
    assert expected  # every filter here keeps some calls ...
    assert len(expected) < len(every_call(state))  # ... and drops others
    data = _list(client, auth, limit=100, filter_criteria=criteria)
    assert data["applied_filters"] == applied
    assert data["pagination"]["total_count"] == len(expected)
    assert _ids(data) == expected[:100]


def test_get_list_reads_the_query_string(client: TestClient, auth: dict[str, str]) -> None:
    posted = _list(
        client,
        auth,
        page=1,
        limit=5,
        sort_by="start_timestamp",
        sort_order="ascending",
        filter_criteria={
            "call_status": ["ENDED", "ERROR"],
            "call_type": ["PHONE_CALL"],
            "agent_id": ["agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f"],
            "duration_ms": {"lower_threshold": 1000, "upper_threshold": 90000},
        },
    )
    for query in (
        "page=1&limit=5&sort_by=start_timestamp&sort_order=ascending&call_status=ENDED,ERROR"
        "&call_type=PHONE_CALL&agent_id=agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f"
        "&agent_id=agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f"
        "&min_duration_ms=1000&max_duration_ms=90000",
        "page=1&limit=5&sort_by=start_timestamp&sort_order=ascending&call_status=ended"
        "&call_status=error&call_type=phone_call"
        "&agent_id=agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f"
        "&min_duration_ms=1000&max_duration_ms=90000",
    ):
        response = client.get(f"/zudu/api/calls?{query}", headers=auth)
        assert response.status_code == 200, response.text
        got = response.json()["data"]
        assert _ids(got) == _ids(posted)
        assert got["pagination"] == posted["pagination"]
        assert got["applied_filters"]["call_status"] == ["ENDED", "ERROR"]
    plain = client.get("/zudu/api/calls", headers=auth).json()
    assert plain == success("Calls retrieved successfully", _list(client, auth))


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("colour=red", "query.colour: unknown parameter"),
        ("limit=0", "query.limit: must be at least 1"),
        ("limit=101", "query.limit: must be at most 100"),
        ("page=-1", "query.page: must be at least 0"),
        ("page=one", "query.page: must be a whole number"),
        ("sort_by=name", "query.sort_by: must be one of created_at, start_timestamp"),
        ("sort_order=up", "query.sort_order: must be one of descending, ascending"),
        ("call_status=DONE", "query.call_status: must be one or more of REGISTERED"),
        ("call_type=SMS", "query.call_type: must be one or more of PHONE_CALL, WEB_CALL"),
        ("min_duration_ms=-5", "query.min_duration_ms: must be at least 0"),
    ],
)
def test_get_list_rejects_bad_queries(
    client: TestClient, auth: dict[str, str], query: str, hint: str
) -> None:
    response = client.get(f"/zudu/api/calls?{query}", headers=auth)
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request"
    assert hint in response.json()["error"]
    assert hint in response.headers["x-sandbox-hint"]


# -- update, delete, create ----------------------------------------------------------------


def test_update_merges_metadata_and_keeps_the_lifecycle(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = first(state, Scenario.COMPLETED)
    cid = call_id(call)
    state.clock.advance(5_000)
    response = client.put(
        f"/zudu/api/calls/{cid}",
        headers=auth,
        json={"metadata": {"topic": "changed", "new": 1}, "call_status": "ERROR"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    updated = response.json()["data"]["call"]
    assert updated["metadata"] == {**call.metadata, "topic": "changed", "new": 1}
    assert updated["call_status"] == "ERROR"
    assert updated["updated_at"] == state.clock.now_ms()
    again = client.put(f"/zudu/api/calls/{cid}", headers=auth, json={"metadata": {"x": True}})
    assert again.json()["data"]["call"]["metadata"] == {**updated["metadata"], "x": True}
    # The canonical call changed too: Retell shows the same metadata and its own status.
    retell = client.get(
        f"/retell/v2/get-call/{retell_id(call)}", headers=state.credentials("retell")
    ).json()
    assert retell["metadata"] == again.json()["data"]["call"]["metadata"]
    assert retell["call_status"] == "ended"
    listed = _list(client, auth, limit=100, filter_criteria={"call_status": ["ERROR"]})
    assert cid in _ids(listed)


def test_update_direction_and_number(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = next(c for c in every_call(state) if c.call_type == "phone_call")
    body = client.put(
        f"/zudu/api/calls/{call_id(call)}",
        headers=auth,
        json={"direction": "INBOUND", "from_number": "+13125550100"},
    ).json()["data"]
    assert (body["call"]["direction"], body["call"]["from_number"]) == (
        "INBOUND",
        "+13125550100",
    )
    assert body["organization_id"] == ACME_ORG


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"call_status": "ended"}, 'body.call_status: "ended" is not one of'),
        ({"direction": "inbound"}, 'body.direction: "inbound" is not one of'),
        ({"metadata": []}, 'body.metadata: [] is not of type "object"'),
        ({"from_number": "555"}, "body.from_number: '555' is not an E.164 number"),
        ({"agent_id": "x"}, '("agent_id" unexpected)'),
    ],
)
def test_update_rejects_bad_bodies(
    client: TestClient, auth: dict[str, str], state: VendorSandbox, body: dict[str, Any], hint: str
) -> None:
    cid = call_id(first(state, Scenario.COMPLETED))
    before = state.store.snapshot()
    response = client.put(f"/zudu/api/calls/{cid}", headers=auth, json=body)
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request"
    assert hint in response.json()["error"]
    assert state.store.snapshot() == before


def test_update_web_call_number_is_rejected(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = next(c for c in every_call(state) if c.call_type == "web_call")
    before = state.store.snapshot()
    response = client.put(
        f"/zudu/api/calls/{call_id(call)}", headers=auth, json={"from_number": "+13125550100"}
    )
    assert response.status_code == 400
    assert response.json() == error(
        "Invalid request", "body.from_number: a web call has no phone numbers"
    )
    assert state.store.snapshot() == before


def test_delete_then_not_found(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    cid = call_id(first(state, Scenario.COMPLETED))
    response = client.delete(f"/zudu/api/calls/{cid}", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == success(
        "Call deleted successfully", {"call_id": cid, "organization_id": ACME_ORG}
    )
    gone = client.get(f"/zudu/api/calls/{cid}", headers=auth)
    assert (gone.status_code, gone.json()) == (404, not_found(cid))
    again = client.delete(f"/zudu/api/calls/{cid}", headers=auth)
    assert (again.status_code, again.json()) == (
        404,
        error(
            "Call not found",
            f"Call with ID '{cid}' does not exist in organization '{ACME_ORG}'",
        ),
    )
    assert client.put(f"/zudu/api/calls/{cid}", headers=auth, json={}).status_code == 404
    assert cid not in _ids(_list(client, auth, limit=100))


def test_delete_scheduled_call_cancels_the_schedule(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = first(state, Scenario.SCHEDULED)
    assert call.scheduled_ms is not None
    cid = call_id(call)
    history = client.get(f"/zudu/api/calls/{cid}", headers=auth).json()["data"]["events"]
    state.clock.advance(60_000)
    now = state.clock.now_ms()
    response = client.delete(f"/zudu/api/calls/{cid}", headers=auth)
    assert response.status_code == 200
    cancel = {
        "timestamp": now,
        "event": "Scheduled call cancelled - converted to regular call",
        "data": {
            "previous_scheduled_timestamp": call.scheduled_ms // 1000,
            "cancelled_at": now // 1000,
            "endpoint_used": "/schedule DELETE",
        },
    }
    assert response.json() == success(
        "Scheduled call cancelled successfully - converted to regular call",
        {
            "operation": "schedule_cancelled",
            "organization_id": ACME_ORG,
            "call_id": cid,
            "cancelled_scheduled_timestamp": call.scheduled_ms // 1000,
            "call": {"call_id": cid, "metadata": dict(call.metadata), "events": [*history, cancel]},
        },
    )
    # Still there, now a regular registered call that is due at no time.
    kept = client.get(f"/zudu/api/calls/{cid}", headers=auth).json()["data"]
    assert kept["call_status"] == "REGISTERED"
    assert kept["events"] == [*history, cancel]
    assert kept["updated_at"] == now
    retell = client.get(
        f"/retell/v2/get-call/{retell_id(call)}", headers=state.credentials("retell")
    ).json()
    assert retell["call_status"] == "registered"
    # A second DELETE deletes it.
    deleted = client.delete(f"/zudu/api/calls/{cid}", headers=auth)
    assert deleted.json()["message"] == "Call deleted successfully"
    assert client.get(f"/zudu/api/calls/{cid}", headers=auth).status_code == 404


def test_create_then_get_and_list(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    response = client.post(
        "/zudu/api/calls/create-phone-call",
        headers=auth,
        json={
            "from_number": "+14155550142",
            "to_number": "+12125550199",
            "metadata": {"customer_id": "cust-001"},
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert body["message"] == "Phone call created and initiated successfully"
    data = body["data"]
    call = data["call"]
    assert (data["organization_id"], data["call_type"], data["status"]) == (
        ACME_ORG,
        "phone_call",
        "call_initiated",
    )
    assert data["phone_call_info"] == {
        "from_number": "+14155550142",
        "to_number": "+12125550199",
        "direction": "outbound",
        "call_status": "ongoing",
    }
    now = state.clock.now_ms()
    # As the docs' example answers: the call Zudu just initiated is being dialled.
    assert call["call_status"] == "ONGOING"
    assert (call["call_type"], call["direction"]) == ("PHONE_CALL", "OUTBOUND")
    assert call["agent_id"] == "agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f"  # bound to the number
    assert call["metadata"] == {"customer_id": "cust-001"}
    assert (call["created_at"], call["start_timestamp"], call["call_duration"]) == (now, None, None)
    assert call["events"] == [
        {"timestamp": now, "event": "Call created via API", "session_time": 0, "data": {}}
    ]
    assert (call["transcript"], call["transcript_object"], call["call_cost"]) == (None, [], None)
    fetched = client.get(f"/zudu/api/calls/{call['call_id']}", headers=auth).json()
    assert fetched == success("Call retrieved successfully", call)
    assert _list(client, auth, limit=1)["calls"] == [call]


def test_create_with_agent_override(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = client.post(
        "/zudu/api/calls/create-phone-call",
        headers=auth,
        json={
            "from_number": "+14155550142",
            "to_number": "+12125550199",
            "override_agent_id": "agent-123",
        },
    ).json()["data"]["call"]
    assert call["agent_id"] == "agent-123"
    before = state.store.snapshot()
    response = client.post(
        "/zudu/api/calls/create-phone-call",
        headers=auth,
        json={"from_number": "+14155550142", "to_number": "+1212", "override_agent_id": "x"},
    )
    assert response.status_code == 400
    assert "body.to_number: '+1212' is not an E.164 number" in response.json()["error"]
    unknown = client.post(
        "/zudu/api/calls/create-phone-call",
        headers=auth,
        json={
            "from_number": "+14155550142",
            "to_number": "+12125550199",
            "override_agent_id": "agent_nobody",
        },
    )
    assert unknown.status_code == 400
    assert "body.override_agent_id: no agent 'agent_nobody'; use one of" in unknown.json()["error"]
    assert state.store.snapshot() == before


def test_tenants_never_see_each_other(client: TestClient, state: VendorSandbox) -> None:
    acme, globex = state.credentials("zudu", "acme"), state.credentials("zudu", "globex")
    theirs = call_id(first(state, Scenario.COMPLETED, "globex"))
    response = client.get(f"/zudu/api/calls/{theirs}", headers=acme)
    assert (response.status_code, response.json()) == (404, not_found(theirs))
    assert client.get(f"/zudu/api/calls/{theirs}", headers=globex).status_code == 200
    before = state.store.snapshot()
    assert client.delete(f"/zudu/api/calls/{theirs}", headers=acme).status_code == 404
    assert client.put(f"/zudu/api/calls/{theirs}", headers=acme, json={}).status_code == 404
    assert state.store.snapshot() == before
    listed = client.post("/zudu/api/calls", headers=globex, json={"limit": 1}).json()["data"]
    assert listed["organization_id"] == "org_globex"
    assert client.get(f"/zudu/api/calls/{DOCS_ID}", headers=globex).status_code == 404


# -- errors --------------------------------------------------------------------------------

UNAUTHORIZED = error("Unauthorized", "Invalid API key or secret")
KEY = "sk_" + "A" * 32
SECRET = "s3cr3t_" + "B" * 40


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        ({}, "missing X-API-KEY header"),
        ({"X-API-KEY": KEY}, "missing X-API-SECRET header"),
        ({"X-API-SECRET": SECRET}, "missing X-API-KEY header"),
        ({"X-API-KEY": KEY, "X-API-SECRET": SECRET}, "not one of this sandbox's keys"),
        ({"X-API-KEY": "sk_short", "X-API-SECRET": SECRET}, "X-API-KEY must be 'sk_' followed"),
        ({"X-API-KEY": "pk_" + "A" * 32, "X-API-SECRET": SECRET}, "X-API-KEY must be 'sk_'"),
        ({"X-API-KEY": KEY, "X-API-SECRET": "secret"}, "X-API-SECRET must be 's3cr3t_' followed"),
        ({"Authorization": f"Bearer {KEY}"}, "missing X-API-KEY header"),
    ],
)
def test_unauthorized(client: TestClient, headers: dict[str, str], hint: str) -> None:
    response = client.get(f"/zudu/api/calls/{DOCS_ID}", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == JSON
    assert response.json() == UNAUTHORIZED
    assert hint in response.headers["x-sandbox-hint"]


def test_a_key_only_works_with_its_own_secret(client: TestClient, state: VendorSandbox) -> None:
    acme, globex = state.credentials("zudu", "acme"), state.credentials("zudu", "globex")
    mixed = {"X-API-KEY": acme["X-API-KEY"], "X-API-SECRET": globex["X-API-SECRET"]}
    response = client.get(f"/zudu/api/calls/{DOCS_ID}", headers=mixed)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert client.get(f"/zudu/api/calls/{DOCS_ID}", headers=acme).status_code == 200


def test_auth_comes_before_routing(client: TestClient) -> None:
    assert client.get("/zudu/api/nothing").status_code == 401


@pytest.mark.parametrize(
    ("bad_id", "echoed"),
    [
        ("nope", "nope"),
        ("call_" + "0" * 32, "call_" + "0" * 32),
        ("call_" + "Z" * 32, "call_" + "Z" * 32),
        ("550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"),
        ("call-457", "call-457"),
        ("a%2Fb", "a/b"),
    ],
)
def test_unknown_or_malformed_ids_are_404(
    client: TestClient, auth: dict[str, str], bad_id: str, echoed: str
) -> None:
    response = client.get(f"/zudu/api/calls/{bad_id}", headers=auth)
    assert (response.status_code, response.json()) == (404, not_found(echoed))
    assert response.headers["content-type"] == JSON


def test_unknown_route_and_method(client: TestClient, auth: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/zudu/api/nothing"),
        ("PATCH", f"/zudu/api/calls/{DOCS_ID}"),
        ("POST", f"/zudu/api/calls/{DOCS_ID}"),
    ]:
        response = client.request(method, path, headers=auth)
        assert response.status_code == 404
        assert response.json() == error("Not found", f"No endpoint {method} {path[5:]}")
    assert client.get("/zudu", headers=auth).json()["message"] == "Not found"


@pytest.mark.parametrize(
    ("path", "body", "hint"),
    [
        ("/zudu/api/calls", b"{not json", "the request body is not valid JSON"),
        ("/zudu/api/calls", b"[]", 'body: [] is not of type "object"'),
        ("/zudu/api/calls", b'{"limit": 0}', "body.limit: 0 is less than the minimum of 1"),
        ("/zudu/api/calls", b'{"limit": 101}', "body.limit: 101 is greater than the maximum"),
        ("/zudu/api/calls", b'{"limit": "ten"}', 'body.limit: "ten" is not of type "integer"'),
        ("/zudu/api/calls", b'{"page": -1}', "body.page: -1 is less than the minimum of 0"),
        ("/zudu/api/calls", b'{"sort_by": "name"}', 'body.sort_by: "name" is not one of'),
        ("/zudu/api/calls", b'{"sort_order": "up"}', 'body.sort_order: "up" is not one of'),
        ("/zudu/api/calls", b'{"colour": 1}', '("colour" unexpected)'),
        (
            "/zudu/api/calls",
            b'{"filter_criteria": {"call_status": ["DONE"]}}',
            'body.filter_criteria.call_status.0: "DONE" is not one of',
        ),
        (
            "/zudu/api/calls",
            b'{"filter_criteria": {"call_status": "ENDED"}}',
            'body.filter_criteria.call_status: "ENDED" is not of type "array"',
        ),
        (
            "/zudu/api/calls",
            b'{"filter_criteria": {"agent_id": 5}}',
            "body.filter_criteria.agent_id: 5 is not of type",
        ),
        (
            "/zudu/api/calls",
            b'{"filter_criteria": {"duration_ms": {"lower": 5}}}',
            '("lower" unexpected)',
        ),
        (
            "/zudu/api/calls",
            b'{"filter_criteria": {"direction": ["INBOUND"]}}',
            '("direction" unexpected)',
        ),
        (
            "/zudu/api/calls/create-phone-call",
            b'{"to_number": "+12125550101"}',
            '"from_number" is a required property',
        ),
        (
            "/zudu/api/calls/create-phone-call",
            b'{"from_number": 5, "to_number": "+12125550101"}',
            'body.from_number: 5 is not of type "string"',
        ),
        (
            "/zudu/api/calls/create-phone-call",
            b'{"from_number": "555", "to_number": "+12125550101"}',
            "body.from_number: '555' is not an E.164 number",
        ),
        (
            "/zudu/api/calls/create-phone-call",
            b'{"from_number": "+14155550142", "to_number": "+12125550101", "metadata": 1}',
            'body.metadata: 1 is not of type "object"',
        ),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(
    client: TestClient,
    auth: dict[str, str],
    state: VendorSandbox,
    path: str,
    body: bytes,
    hint: str,
) -> None:
    before = state.store.snapshot()
    response = client.post(path, headers={**auth, "content-type": "application/json"}, content=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON
    payload = response.json()
    assert payload.keys() == {"message", "status", "error"}
    assert (payload["message"], payload["status"]) == ("Invalid request", "error")
    assert hint in payload["error"]
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
    response = client.post("/zudu/api/calls/create-phone-call", headers=auth, content=huge)
    assert (response.status_code, response.json()) == (
        413,
        error(
            "Payload too large", "request body is larger than 1048576 bytes; send a smaller body"
        ),
    )
    assert state.store.snapshot() == before
