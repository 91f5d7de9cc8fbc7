"""ContactShip through HTTP: the docs example, the call object, lists, creates and errors, with
exact statuses, headers and whole bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.calls.model import Call, Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.contactship import formats

JSON = "application/json; charset=utf-8"
DOCS_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
DOCS_AGENT = "f1e2d3c4-b5a6-7890-1234-567890abcdef"
DOCS_CONTACT = "c1d2e3f4-a5b6-7890-cdef-123456789012"
DOCS_BODY: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "contactship" / "get-call.json").read_text(encoding="utf-8")
)
NOT_FOUND = {"statusCode": 404, "message": "Call not found", "error": "Not Found"}
UNAUTHORIZED = {"statusCode": 401, "message": "Unauthorized"}
# design.md §2, written out independently of the renderer.
STATUS = {
    "completed": ("completed", "answered"),
    "voicemail": ("voice_mail", "voicemail"),
    "no-answer": ("no-answer", "no_answer"),
    "busy": ("busy", "busy"),
    "failed": ("failed", "failed"),
    "transferred": ("completed", "answered"),
    "in-progress": ("in-progress", None),
    "queued": ("in-queue", None),
    "scheduled": ("scheduled", None),
}


@pytest.fixture
def auth(state: VendorSandbox) -> dict[str, str]:
    return state.credentials("contactship")


def bad_request(*messages: str) -> dict[str, Any]:
    return {"statusCode": 400, "message": list(messages), "error": "Bad Request"}


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms // 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def expected_object(state: VendorSandbox, call: Call) -> dict[str, Any]:
    """The call object with default flags, from the canonical call by the docs' rules."""
    status, result = STATUS[call.scenario.value]
    customer = call.to_number if call.direction == "outbound" else call.from_number
    duration = None
    if call.start_ms is not None and call.end_ms is not None:
        duration = call.end_ms // 1000 - call.start_ms // 1000
    return {
        "id": call.id,
        "direction": call.direction,
        "from": call.from_number,
        "call_record": call.recording_url,
        "call_status": status,
        "call_result": result,
        "disconnection_reason": call.disconnection_reason,
        "finished_at": _iso(call.end_ms),
        "start_at": _iso(call.start_ms),
        "duration": duration,
        "call_analysis": None
        if call.analysis is None
        else {"summary": call.analysis.summary, "sentiment": call.analysis.sentiment},
        "type": "ai_call",
        "created_at": _iso(call.created_ms),
        "agent_id": call.agent.vendor_ids.get("contactship", call.agent.id),
        "contact": {
            "id": call.contact.id,
            "full_name": call.contact.full_name,
            "phone_number": customer,
            "email": call.contact.email,
            "country": call.contact.country,
        },
        "chat_history": [{"role": t.role, "content": t.text} for t in call.turns],
        "transcript_format": "json",
    }


# -- the docs example -----------------------------------------------------------------------


def test_docs_example_is_answered_word_for_word(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(f"/contactship/v1/calls/{DOCS_ID}", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == DOCS_BODY
    # Same keys in the docs' order, compact as Express sends it.
    assert response.content == json.dumps(DOCS_BODY, separators=(",", ":")).encode()


def test_docs_example_fits_the_schema(state: VendorSandbox) -> None:
    state.schemas.check("contactship/call.json", DOCS_BODY)
    assert state.schemas.problems("contactship/call.json", {**DOCS_BODY, "extra": 1})
    assert state.schemas.problems("contactship/call.json", {**DOCS_BODY, "call_status": "ended"})
    without_format = {k: v for k, v in DOCS_BODY.items() if k != "transcript_format"}
    assert state.schemas.problems("contactship/call.json", without_format)
    toon_array = {**DOCS_BODY, "transcript_format": "toon"}
    assert state.schemas.problems("contactship/call.json", toon_array)


def test_id_is_case_blind(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(f"/contactship/v1/calls/{DOCS_ID.upper()}", headers=auth)
    assert response.status_code == 200
    assert response.json() == DOCS_BODY


# -- the call object ------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", list(Scenario), ids=str)
def test_every_scenario_whole_object(
    client: TestClient, auth: dict[str, str], state: VendorSandbox, scenario: Scenario
) -> None:
    call = next(
        c for c in (state.generator.call("acme", i) for i in range(40)) if c.scenario is scenario
    )
    response = client.get(f"/contactship/v1/calls/{call.id}", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert body == expected_object(state, call)
    if scenario.live:
        assert body["call_result"] is None
        assert body["finished_at"] is None
    if not scenario.connected:
        assert body["chat_history"] == []
        assert body["call_record"] is None


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "cs_wrong"}, {"x-api-key": ""}, {"Authorization": "Bearer x"}],
    ids=["missing", "wrong", "empty", "bearer"],
)
def test_unauthorized(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get(f"/contactship/v1/calls/{DOCS_ID}", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == JSON
    assert response.json() == UNAUTHORIZED
    assert response.headers["x-sandbox-hint"]


@pytest.mark.parametrize(
    "call_id",
    [
        "00000000-0000-4000-8000-000000000000",
        "not-a-uuid",
        "a1b2c3d4e5f67890abcdef1234567890",
        "call_a1b2c3d4e5f67890abcdef1234567890",
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890x",
    ],
)
def test_unknown_and_malformed_ids_are_404(
    client: TestClient, auth: dict[str, str], call_id: str
) -> None:
    response = client.get(f"/contactship/v1/calls/{call_id}", headers=auth)
    assert response.status_code == 404
    assert response.headers["content-type"] == JSON
    assert response.json() == NOT_FOUND


def test_unknown_route_is_nests_404(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/contactship/v1/whatever", headers=auth)
    assert response.status_code == 404
    assert response.headers["content-type"] == JSON
    assert response.json() == {
        "statusCode": 404,
        "message": "Cannot GET /v1/whatever",
        "error": "Not Found",
    }
    deleted = client.delete(f"/contactship/v1/calls/{DOCS_ID}", headers=auth)
    assert deleted.json() == {
        "statusCode": 404,
        "message": f"Cannot DELETE /v1/calls/{DOCS_ID}",
        "error": "Not Found",
    }


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        ("include_transcript=yes", ["include_transcript must be one of true, false, not 'yes'"]),
        ("include_words=1", ["include_words must be one of true, false, not '1'"]),
        ("include_tools=TRUE", ["include_tools must be one of true, false, not 'TRUE'"]),
        ("transcript_format=xml", ["transcript_format must be one of json, toon, not 'xml'"]),
        (
            "includeWords=true&x=1",
            ["property includeWords should not exist", "property x should not exist"],
        ),
    ],
)
def test_bad_flags_are_400(
    client: TestClient, auth: dict[str, str], query: str, messages: list[str]
) -> None:
    response = client.get(f"/contactship/v1/calls/{DOCS_ID}?{query}", headers=auth)
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON
    assert response.json() == bad_request(*messages)


def test_tenants_never_see_each_others_calls(client: TestClient, state: VendorSandbox) -> None:
    globex = state.credentials("contactship", "globex")
    acme = state.credentials("contactship", "acme")
    assert client.get(f"/contactship/v1/calls/{DOCS_ID}", headers=globex).json() == NOT_FOUND
    theirs = state.generator.call("globex", 3)
    assert client.get(f"/contactship/v1/calls/{theirs.id}", headers=acme).json() == NOT_FOUND
    assert client.get(f"/contactship/v1/calls/{theirs.id}", headers=globex).status_code == 200
    created = client.post(
        "/contactship/v1/calls/single-phone-call", headers=acme, json=_phone_call()
    ).json()
    assert (
        client.get(f"/contactship/v1/calls/{created['call_id']}", headers=globex).json()
        == NOT_FOUND
    )
    listed = client.get("/contactship/v1/calls?limit=100", headers=globex).json()
    assert listed["count"] == state.generator.size("globex") + sum(
        1 for c in state.fixtures.pinned if c.tenant == "globex"
    )
    assert all(state.store.get("globex", item["id"]) for item in listed["data"])
    foreign_contact = {
        "contact_id": DOCS_CONTACT,
        "agent_id": "7e6d5c4b-3a29-4817-b6f5-e4d3c2b1a090",
        "from_number_id": "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e",
    }
    response = client.post(
        "/contactship/v1/calls/single-contact-call", headers=globex, json=foreign_contact
    )
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": "Contact not found",
        "error": "Not Found",
    }


# -- list -----------------------------------------------------------------------------------


def _all(client: TestClient, auth: dict[str, str], query: str = "") -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        page = client.get(f"/contactship/v1/calls?limit=100&offset={offset}&{query}", headers=auth)
        assert page.status_code == 200, page.text
        data = page.json()["data"]
        yield from data
        if len(data) < 100:
            return
        offset += 100


def test_list_defaults(client: TestClient, auth: dict[str, str], state: VendorSandbox) -> None:
    response = client.get("/contactship/v1/calls", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    calls = list(state.store.calls("acme"))
    assert body["count"] == len(calls)
    assert [item["id"] for item in body["data"]] == [c.id for c in calls[:20]]
    for item, call in zip(body["data"], calls, strict=False):
        expected = expected_object(state, call)
        del expected["chat_history"], expected["transcript_format"]
        assert item == {**expected, "campaign_id": call.campaign_id}


def test_list_paging_and_order(client: TestClient, auth: dict[str, str]) -> None:
    newest = client.get("/contactship/v1/calls?limit=30", headers=auth).json()
    pages = [
        client.get(f"/contactship/v1/calls?limit=7&offset={o}", headers=auth).json()
        for o in range(0, 30, 7)
    ]
    assert [i["id"] for p in pages for i in p["data"]][:30] == [i["id"] for i in newest["data"]]
    assert {p["count"] for p in pages} == {newest["count"]}
    created = [i["created_at"] for i in newest["data"]]
    assert created == sorted(created, reverse=True)
    oldest = client.get("/contactship/v1/calls?limit=30&order=asc", headers=auth).json()
    ascending = [i["created_at"] for i in oldest["data"]]
    assert ascending == sorted(ascending)
    every = list(_all(client, auth, "order=asc"))
    assert len(every) == newest["count"]
    assert [i["id"] for i in every[:30]] == [i["id"] for i in oldest["data"]]
    empty = client.get("/contactship/v1/calls?limit=0", headers=auth).json()
    assert empty == {"data": [], "count": newest["count"]}
    past_the_end = client.get(
        f"/contactship/v1/calls?offset={newest['count']}", headers=auth
    ).json()
    assert past_the_end == {"data": [], "count": newest["count"]}


def test_list_filters(client: TestClient, auth: dict[str, str], state: VendorSandbox) -> None:
    calls = list(state.store.calls("acme"))

    def listed(query: str) -> list[str]:
        body = client.get(f"/contactship/v1/calls?limit=100&{query}", headers=auth).json()
        ids = [i["id"] for i in _all(client, auth, query)]
        assert body["count"] == len(ids)
        return ids

    answered = [c.id for c in calls if c.scenario in (Scenario.COMPLETED, Scenario.TRANSFERRED)]
    assert listed("call_status=completed") == answered
    assert listed("call_result=answered") == answered
    voicemail = [c.id for c in calls if c.scenario is Scenario.VOICEMAIL]
    assert listed("call_status=voice_mail") == voicemail
    assert listed("call_result=voicemail") == voicemail
    assert listed("call_status=in-queue") == [c.id for c in calls if c.scenario is Scenario.QUEUED]
    assert listed("call_status=incomplete") == []
    agent = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    assert listed(f"agent_id={agent}") == [c.id for c in calls if c.agent.id == agent]
    assert listed(f"agent_id={DOCS_AGENT.upper()}") == [c.id for c in calls if c.agent.vendor_ids]
    campaign = next(c.campaign_id for c in calls if c.campaign_id)
    assert listed(f"campaign_id={campaign}") == [c.id for c in calls if c.campaign_id == campaign]
    assert DOCS_ID in listed("phoneNumber=%2B14155552678")
    day = [c.id for c in calls if _iso(c.created_ms).startswith("2026-03-15")]  # type: ignore[union-attr]
    assert DOCS_ID in day
    assert listed("date_from=2026-03-15&date_to=2026-03-15") == day
    combined = listed("date_from=2026-03-15&date_to=2026-03-15&call_status=completed&order=asc")
    assert combined == [i for i in reversed(day) if i in answered]
    assert listed("date_from=2026-03-16&date_to=2026-03-15") == []


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        ("limit=-1", ["limit must be at least 0, not -1"]),
        ("limit=101", ["limit must be at most 100, not 101"]),
        ("limit=ten", ['limit must be a whole number (ASCII digits), not "ten"']),
        ("offset=-5", ["offset must be at least 0, not -5"]),
        ("order=newest", ["order must be one of asc, desc, not 'newest'"]),
        (
            "call_status=ended",
            [
                "call_status must be one of in-progress, completed, no-answer, failed, in-queue, "
                "incomplete, busy, answering-machine, scheduled, voice_mail, not 'ended'"
            ],
        ),
        (
            "call_result=no-answer",
            [
                "call_result must be one of answered, voicemail, no_answer, busy, failed, "
                "not 'no-answer'"
            ],
        ),
        ("agent_id=agent_1", ["agent_id must be a UUID, not 'agent_1'"]),
        ("campaign_id=1", ["campaign_id must be a UUID, not '1'"]),
        (
            "phoneNumber=+14155552678",
            [
                "phoneNumber must be a valid phone number in E.164 format, like +14155550123 "
                "(a '+' in a query string must be sent as %2B), not ' 14155552678'"
            ],
        ),
        (
            "date_from=yesterday",
            ["date_from must be a date like 2026-03-15 or an ISO-8601 instant, not 'yesterday'"],
        ),
        ("phone_number=%2B14155552678", ["property phone_number should not exist"]),
        ("include_transcript=1", ["include_transcript must be one of true, false, not '1'"]),
    ],
)
def test_list_bad_parameters(
    client: TestClient, auth: dict[str, str], query: str, messages: list[str]
) -> None:
    response = client.get(f"/contactship/v1/calls?{query}", headers=auth)
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON
    assert response.json() == bad_request(*messages)


# -- creates --------------------------------------------------------------------------------


def _phone_call(**extra: Any) -> dict[str, Any]:
    return {
        "from_number": "+12137771235",
        "to_number": "+14155550123",
        "full_name": "Ada Lovelace",
        "agent_id": DOCS_AGENT,
        **extra,
    }


def _contact_call(**extra: Any) -> dict[str, Any]:
    return {
        "contact_id": DOCS_CONTACT,
        "agent_id": DOCS_AGENT,
        "from_number_id": "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e",
        **extra,
    }


NOW = "2026-03-20T12:00:00Z"


def test_single_phone_call_then_get_and_list(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    response = client.post(
        "/contactship/v1/calls/single-phone-call", headers=auth, json=_phone_call()
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == JSON
    created = response.json()
    assert created == {
        "call_id": created["call_id"],
        "agent_id": DOCS_AGENT,
        "contact_id": None,
        "created_at": NOW,
    }
    body = client.get(f"/contactship/v1/calls/{created['call_id']}", headers=auth).json()
    assert body == {
        "id": created["call_id"],
        "direction": "outbound",
        "from": "+12137771235",
        "call_record": None,
        "call_status": "in-queue",
        "call_result": None,
        "disconnection_reason": None,
        "finished_at": None,
        "start_at": None,
        "duration": None,
        "call_analysis": None,
        "type": "ai_call",
        "created_at": NOW,
        "agent_id": DOCS_AGENT,
        "contact": {
            "id": None,
            "full_name": "Ada Lovelace",
            "phone_number": "+14155550123",
            "email": None,
            "country": None,
        },
        "chat_history": [],
        "transcript_format": "json",
    }
    newest = client.get("/contactship/v1/calls?limit=1", headers=auth).json()
    assert newest["data"][0]["id"] == created["call_id"]
    assert newest["data"][0]["campaign_id"] is None
    assert newest["count"] == len(list(state.store.calls("acme")))
    retell = client.get(
        f"/retell/v2/get-call/call_{created['call_id'].replace('-', '')}",
        headers=state.credentials("retell"),
    )
    assert retell.json()["call_status"] == "registered"


def test_single_phone_call_every_field(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    payload = _phone_call(
        email="ada@example.com",
        country="GB",
        schedule={"date": "2026-03-21 09:30:00", "timezone": "Europe/London"},
        additional_data=[{"key": "plan", "value": "premium"}, {"key": "seats", "value": 3}],
        webhook_url="https://example.com/hooks/contactship",
        metadata={"crm_id": "42"},
    )
    created = client.post(
        "/contactship/v1/calls/single-phone-call", headers=auth, json=payload
    ).json()
    body = client.get(f"/contactship/v1/calls/{created['call_id']}", headers=auth).json()
    assert body["call_status"] == "scheduled"
    assert body["contact"]["email"] == "ada@example.com"
    assert body["contact"]["country"] == "GB"
    call = state.store.get("acme", created["call_id"])
    assert call is not None
    assert call.scheduled_ms == int(datetime(2026, 3, 21, 9, 30, tzinfo=UTC).timestamp() * 1000)
    retell = client.get(
        f"/retell/v2/get-call/call_{call.id.replace('-', '')}", headers=state.credentials("retell")
    ).json()
    assert retell["retell_llm_dynamic_variables"] == {"plan": "premium", "seats": "3"}
    assert retell["metadata"] == {"crm_id": "42"}


@pytest.mark.parametrize(("delay", "status"), [(0, "in-queue"), (15, "scheduled")])
def test_delay(
    client: TestClient, auth: dict[str, str], state: VendorSandbox, delay: int, status: str
) -> None:
    created = client.post(
        "/contactship/v1/calls/single-phone-call", headers=auth, json=_phone_call(delay=delay)
    ).json()
    body = client.get(f"/contactship/v1/calls/{created['call_id']}", headers=auth).json()
    assert body["call_status"] == status
    call = state.store.get("acme", created["call_id"])
    assert call is not None
    assert call.scheduled_ms == (state.clock.now_ms() + delay * 60_000 if delay else None)


def test_single_contact_call(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/contactship/v1/calls/single-contact-call",
        headers=auth,
        json=_contact_call(additional_data=[{"key": "k", "value": True}], metadata={"a": 1}),
    )
    assert response.status_code == 201
    created = response.json()
    assert created == {
        "call_id": created["call_id"],
        "agent_id": DOCS_AGENT,
        "contact_id": DOCS_CONTACT,
        "created_at": NOW,
    }
    body = client.get(f"/contactship/v1/calls/{created['call_id']}", headers=auth).json()
    assert body["contact"] == DOCS_BODY["contact"]
    assert body["from"] == "+12137771235"  # the agent's own number
    assert body["call_status"] == "in-queue"


@pytest.mark.parametrize(
    ("route", "payload", "messages"),
    [
        (
            "single-phone-call",
            {},
            [
                "agent_id should not be empty",
                "from_number should not be empty",
                "full_name should not be empty",
                "to_number should not be empty",
            ],
        ),
        (
            "single-phone-call",
            _phone_call(to_number="4155550123", nickname="Ada"),
            [
                "property nickname should not exist",
                "to_number must be a valid phone number in E.164 format, like +14155550123",
            ],
        ),
        (
            "single-phone-call",
            _phone_call(full_name="", agent_id="agent_1"),
            [
                "agent_id must be a UUID (agent-<uuid> also works)",
                "full_name should not be empty",
            ],
        ),
        (
            "single-phone-call",
            _phone_call(delay=-1, email="nope"),
            [
                "delay must not be less than 0",
                "email must be an email",
            ],
        ),
        ("single-phone-call", _phone_call(delay="5"), ["delay must be an integer number"]),
        (
            "single-phone-call",
            _phone_call(webhook_url="ftp://x"),
            ["webhook_url must be a URL address"],
        ),
        (
            "single-phone-call",
            _phone_call(schedule={"date": "2026-03-21T09:30:00"}),
            [
                "schedule.timezone should not be empty",
                "schedule.date must be a date like 2026-03-21 09:30:00 (yyyy-MM-dd HH:mm:ss)",
            ],
        ),
        (
            "single-phone-call",
            _phone_call(schedule={"date": "2026-02-30 09:30:00", "timezone": "Mars/Base"}),
            [
                "schedule.timezone must be an IANA time zone like America/New_York, "
                "not 'Mars/Base'",
                "schedule.date is not a calendar date: '2026-02-30 09:30:00'",
            ],
        ),
        (
            "single-phone-call",
            _phone_call(schedule={"date": "2026-03-20 07:59:59", "timezone": "America/New_York"}),
            [
                f"schedule.date must be in the future (the sandbox's now is {NOW})",
            ],
        ),
        (
            "single-phone-call",
            _phone_call(delay=5, schedule={"date": "2026-03-21 09:30:00", "timezone": "UTC"}),
            [
                "send either delay or schedule, not both",
            ],
        ),
        (
            "single-phone-call",
            _phone_call(additional_data=[{"key": "k"}]),
            [
                "additional_data.0.value should not be empty",
            ],
        ),
        (
            "single-phone-call",
            _phone_call(agent_id="00000000-0000-4000-8000-000000000000"),
            [
                "agent_id must be one of your organisation's agents: "
                "6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f, 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d, "
                "2b3c4d5e-6f70-4812-93a4-b5c6d7e8f901, 4c5d6e7f-8091-4a2b-9c3d-4e5f60718293, "
                + DOCS_AGENT,
            ],
        ),
        (
            "single-contact-call",
            {"contact_id": "x"},
            [
                "agent_id should not be empty",
                "from_number_id should not be empty",
                "contact_id must be a UUID",
            ],
        ),
        (
            "single-contact-call",
            _contact_call(from_number="+12137771235"),
            [
                "property from_number should not exist",
            ],
        ),
    ],
)
def test_create_validation(
    client: TestClient,
    auth: dict[str, str],
    state: VendorSandbox,
    route: str,
    payload: Any,
    messages: list[str],
) -> None:
    before = state.store.snapshot()
    response = client.post(f"/contactship/v1/calls/{route}", headers=auth, json=payload)
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON
    assert response.json() == bad_request(*messages)
    assert state.store.snapshot() == before


def test_unknown_contact_is_404(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    before = state.store.snapshot()
    response = client.post(
        "/contactship/v1/calls/single-contact-call",
        headers=auth,
        json=_contact_call(contact_id="00000000-0000-4000-8000-000000000001"),
    )
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": "Contact not found",
        "error": "Not Found",
    }
    assert state.store.snapshot() == before


def test_a_generated_contact_can_be_called(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = state.generator.call("acme", 40)
    response = client.post(
        "/contactship/v1/calls/single-contact-call",
        headers=auth,
        json=_contact_call(contact_id=call.contact.id),
    )
    assert response.status_code == 201
    body = client.get(f"/contactship/v1/calls/{response.json()['call_id']}", headers=auth).json()
    customer = call.to_number if call.direction == "outbound" else call.from_number
    assert body["contact"]["phone_number"] == customer
    assert body["contact"]["full_name"] == call.contact.full_name


def test_malformed_and_oversized_bodies(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    before = state.store.snapshot()
    broken = client.post(
        "/contactship/v1/calls/single-phone-call",
        headers={**auth, "content-type": "application/json"},
        content=b'{"from_number": ',
    )
    assert broken.status_code == 400
    assert broken.headers["content-type"] == JSON
    body = broken.json()
    assert set(body) == {"statusCode", "message"}
    assert body["statusCode"] == 400
    assert body["message"].startswith("the request body is not valid JSON")
    huge = client.post(
        "/contactship/v1/calls/single-phone-call",
        headers=auth,
        json=_phone_call(metadata={"blob": "x" * (state.settings.max_body_bytes + 1)}),
    )
    assert huge.status_code == 413
    assert huge.json() == {"statusCode": 413, "message": "request entity too large"}
    not_an_object = client.post("/contactship/v1/calls/single-phone-call", headers=auth, json=[1])
    assert not_an_object.status_code == 400
    assert not_an_object.json() == bad_request("body must be an object")
    assert state.store.snapshot() == before


# -- schemas --------------------------------------------------------------------------------


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_every_request_pattern_has_a_sentence() -> None:
    folder = Path(__file__).parents[2] / "schemas" / "contactship"
    for path in folder.glob("*.request.json"):
        for pattern in _patterns(json.loads(path.read_text(encoding="utf-8"))):
            assert pattern in formats.DESCRIPTIONS, (path.name, pattern)
