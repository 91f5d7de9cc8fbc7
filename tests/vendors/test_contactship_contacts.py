"""ContactShip's contact endpoints through HTTP: GET /v1/contacts/{contactId}/calls (a bare
array of records) and GET /v1/contacts/{phoneNumber}/call-history (`{statusCode, data}`),
with exact statuses and whole bodies, read from the same canonical calls as GET /v1/calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS
from sandbox.calls.model import Call, Scenario
from sandbox.dialect.vendor import VendorSandbox

JSON = "application/json; charset=utf-8"
DOCS_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
DOCS_AGENT = "f1e2d3c4-b5a6-7890-1234-567890abcdef"
DOCS_CONTACT = "c1d2e3f4-a5b6-7890-cdef-123456789012"
DOCS_NUMBER = "+14155552678"
DOCS_SUMMARY = "Customer expressed interest in the premium plan and requested a demo."
DOCS_RECORDING = "https://api.contactship.ai/recordings/a1b2c3d4.mp3"
CONTACT_NOT_FOUND = {"statusCode": 404, "message": "Contact not found", "error": "Not Found"}
# Written out independently of the renderer: the contact-id page's statuses, the phone page's.
RECORD_STATUS = {
    Scenario.COMPLETED: "answered",
    Scenario.VOICEMAIL: "answered",
    Scenario.TRANSFERRED: "answered",
    Scenario.NO_ANSWER: "missed",
    Scenario.BUSY: "busy",
    Scenario.FAILED: "failed",
}
HISTORY_STATUS = {
    Scenario.COMPLETED: "answered",
    Scenario.VOICEMAIL: "voicemail",
    Scenario.TRANSFERRED: "answered",
    Scenario.NO_ANSWER: "no_answer",
    Scenario.BUSY: "busy",
    Scenario.FAILED: "failed",
}


@pytest.fixture
def auth(state: VendorSandbox) -> dict[str, str]:
    return state.credentials("contactship")


def _seconds(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _millis(ms: int, digits: int = 3) -> str:
    whole = datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{ms % 1000:03d}{'0' * (digits - 3)}+00:00"


def _customer(call: Call) -> str:
    return call.to_number if call.direction == "outbound" else call.from_number


def _ended(state: VendorSandbox) -> list[Call]:
    return [c for c in state.store.calls("acme") if c.end_ms is not None]


def generated(state: VendorSandbox, scenario: Scenario) -> Call:
    return next(
        c for c in state.store.calls("acme") if c.source == "generated" and c.scenario is scenario
    )


def record(call: Call) -> dict[str, Any]:
    assert call.start_ms is not None
    assert call.end_ms is not None
    talked = call.end_ms // 1000 - call.start_ms // 1000 if call.scenario.connected else 0
    return {
        "id": call.id,
        "created_at": _seconds(call.end_ms),
        "call_time": _seconds(call.start_ms),
        "duration": talked,
        "direction": call.direction,
        "status": RECORD_STATUS[call.scenario],
        "notes": call.analysis.summary if call.analysis else None,
        "recording_url": call.recording_url,
        "contact_id": call.contact.id,
        "user_id": call.agent.vendor_ids.get("contactship", call.agent.id),
        "organization_id": "org_acme",
    }


def test_contact_calls_of_the_docs_contact(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(f"/contactship/v1/contacts/{DOCS_CONTACT}/calls", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == [
        {
            "id": DOCS_ID,
            "created_at": "2026-03-15T14:35:22Z",
            "call_time": "2026-03-15T14:30:05Z",
            "duration": 317,
            "direction": "outbound",
            "status": "answered",
            "notes": DOCS_SUMMARY,
            "recording_url": DOCS_RECORDING,
            "contact_id": DOCS_CONTACT,
            "user_id": DOCS_AGENT,
            "organization_id": "org_acme",
        }
    ]


@pytest.mark.parametrize("scenario", [Scenario.NO_ANSWER, Scenario.BUSY, Scenario.FAILED])
def test_a_call_nobody_answered_lasted_zero_seconds(
    client: TestClient, auth: dict[str, str], state: VendorSandbox, scenario: Scenario
) -> None:
    call = generated(state, scenario)
    records = client.get(f"/contactship/v1/contacts/{call.contact.id}/calls", headers=auth).json()
    mine = next(r for r in records if r["id"] == call.id)
    assert mine == record(call)
    assert (mine["duration"], mine["recording_url"], mine["notes"]) == (0, None, None)
    # The same call, through GET /v1/calls/{callId}: the ring time is its duration there.
    full = client.get(f"/contactship/v1/calls/{call.id}", headers=auth).json()
    assert full["contact"]["id"] == mine["contact_id"]


def test_contact_calls_are_every_ended_call_with_the_contact_newest_first(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    contacts: dict[str, list[Call]] = {}
    for call in _ended(state):
        contacts.setdefault(call.contact.id, []).append(call)
    contact, calls = max(contacts.items(), key=lambda item: len(item[1]))
    assert len(calls) > 1
    response = client.get(f"/contactship/v1/contacts/{contact}/calls", headers=auth)
    assert response.json() == [record(c) for c in calls]
    outbound = client.get(
        f"/contactship/v1/contacts/{contact}/calls",
        headers=auth,
        params={"direction": "outbound", "status": "answered"},
    ).json()
    assert outbound == [
        record(c)
        for c in calls
        if c.direction == "outbound" and RECORD_STATUS[c.scenario] == "answered"
    ]
    day = _seconds(calls[-1].start_ms or 0)[:10]
    same_day = client.get(
        f"/contactship/v1/contacts/{contact}/calls",
        headers=auth,
        params={"start_date": day, "end_date": day},
    ).json()
    assert same_day == [record(c) for c in calls if _seconds(c.start_ms or 0)[:10] == day]


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        (
            "/v1/contacts/00000000-0000-4000-8000-000000000000/calls",
            404,
            CONTACT_NOT_FOUND,
        ),
        ("/v1/contacts/not-a-uuid/calls", 404, CONTACT_NOT_FOUND),
        (
            f"/v1/contacts/{DOCS_CONTACT}/calls?status=ringing",
            400,
            {
                "statusCode": 400,
                "message": [
                    "status must be one of answered, missed, rejected, busy, failed, not 'ringing'"
                ],
                "error": "Bad Request",
            },
        ),
        (
            f"/v1/contacts/{DOCS_CONTACT}/calls?phoneNumber=%2B14155552678",
            400,
            {
                "statusCode": 400,
                "message": ["property phoneNumber should not exist"],
                "error": "Bad Request",
            },
        ),
        ("/v1/contacts/+19995550000/call-history", 404, CONTACT_NOT_FOUND),
        (
            "/v1/contacts/4155552678/call-history",
            400,
            {
                "statusCode": 400,
                "message": [
                    "phoneNumber must be a valid phone number in E.164 format, like "
                    "+14155550123, not '4155552678'"
                ],
                "error": "Bad Request",
            },
        ),
        (
            f"/v1/contacts/{DOCS_NUMBER}/call-history?limit=1",
            400,
            {
                "statusCode": 400,
                "message": ["property limit should not exist"],
                "error": "Bad Request",
            },
        ),
    ],
)
def test_errors(
    client: TestClient, auth: dict[str, str], path: str, status: int, body: Any
) -> None:
    response = client.get(f"/contactship{path}", headers=auth)
    assert (response.status_code, response.json()) == (status, body)
    assert response.headers["content-type"] == JSON
    assert response.headers["x-sandbox-hint"]


def test_call_history_of_the_docs_number(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(f"/contactship/v1/contacts/{DOCS_NUMBER}/call-history", headers=auth)
    assert response.status_code == 200
    assert response.json() == {
        "statusCode": 200,
        "data": {
            "contact_id": DOCS_CONTACT,
            "contact": {
                "full_name": "Jane Smith",
                "country": "US",
                "email": "jane.smith@example.com",
                "phone_number": DOCS_NUMBER,
                "additional_data": None,
                "description": None,
                "created_at": "2026-03-15T14:30:00.000+00:00",
            },
            "history": {
                "call_attempts": 1,
                "calls": [
                    {
                        "direction": "outbound-api",
                        "from": "+12025551234",
                        "call_record": DOCS_RECORDING,
                        "status": "answered",
                        "start_at": "2026-03-15T14:30:05.000+00:00",
                        "finished_at": "2026-03-15T14:35:22.000+00:00",
                        "price": 48.09,
                        "price_unit": "USD",
                        "duration": "317",
                        "call_analysis": {
                            "call_summary": DOCS_SUMMARY,
                            "in_voicemail": False,
                            "user_sentiment": "Positive",
                            "call_successful": True,
                            "custom_analysis_data": {},
                        },
                        "type": "api_call",
                        "created_at": "2026-03-15T14:30:00.000000+00:00",
                        "chat_history": [
                            {
                                "role": "assistant",
                                "content": "Hello, this is an AI assistant calling from "
                                "ContactShip. Am I speaking with Jane?",
                            },
                            {"role": "user", "content": "Yes, this is Jane."},
                            {
                                "role": "assistant",
                                "content": "Great! I'm reaching out about our premium plan. "
                                "Do you have a moment to chat?",
                            },
                        ],
                    }
                ],
            },
        },
    }


def test_call_history_counts_every_ended_call_to_the_number(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    numbers: dict[str, list[Call]] = {}
    for call in _ended(state):
        numbers.setdefault(_customer(call), []).append(call)
    missed = generated(state, Scenario.NO_ANSWER)
    calls = numbers[_customer(missed)]
    response = client.get(
        f"/contactship/v1/contacts/{_customer(missed)}/call-history", headers=auth
    ).json()["data"]
    history = response["history"]
    assert history["call_attempts"] == len(calls) == len(history["calls"])
    assert response["contact_id"] == calls[0].contact.id
    assert response["contact"]["created_at"] == _millis(calls[-1].created_ms)
    for shown, call in zip(history["calls"], calls, strict=True):
        assert shown["status"] == HISTORY_STATUS[call.scenario]
        assert shown["finished_at"] == _millis(call.end_ms or 0)
        assert shown["created_at"] == _millis(call.created_ms, digits=6)
        assert shown["price"] == round(call.combined_cost, 2)
        if not call.scenario.connected:
            assert (shown["duration"], shown["call_analysis"]) == ("0", None)
            assert (shown["chat_history"], shown["call_record"]) == ([], None)


def test_a_created_call_joins_the_history_when_it_ends(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    """The docs' own example body (prefixed agent and number ids) calls the docs' contact; the
    call is in both histories once it is over, not before."""
    body = {
        "contact_id": DOCS_CONTACT,
        "agent_id": f"agent-{DOCS_AGENT}",
        "from_number_id": "pn-a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "additional_data": [{"key": "amount_debt", "value": "14058"}],
    }
    created = client.post("/contactship/v1/calls/single-contact-call", headers=auth, json=body)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert (answer["agent_id"], answer["contact_id"]) == (DOCS_AGENT, DOCS_CONTACT)
    cid = answer["call_id"]
    # The `call-<uuid>` spelling of the docs' answers finds it too.
    assert client.get(f"/contactship/v1/calls/call-{cid}", headers=auth).json()["id"] == cid
    path = f"/contactship/v1/contacts/{DOCS_CONTACT}/calls"
    assert [r["id"] for r in client.get(path, headers=auth).json()] == [DOCS_ID]
    plan = state.store.plan("acme", cid)
    assert plan is not None
    assert plan.end_ms is not None
    state.clock.advance(plan.end_ms + ANALYSIS_DELAY_MS - state.clock.now_ms())
    records = client.get(path, headers=auth).json()
    assert [r["id"] for r in records] == [cid, DOCS_ID]
    assert records[0]["status"] == "answered"
    history = client.get(
        f"/contactship/v1/contacts/{DOCS_NUMBER}/call-history", headers=auth
    ).json()["data"]["history"]
    assert history["call_attempts"] == 2
    assert history["calls"][0]["created_at"] == _millis(plan.created_ms, digits=6)


def test_prefixed_ids_are_checked_too(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    before = state.store.snapshot()
    response = client.post(
        "/contactship/v1/calls/single-contact-call",
        headers=auth,
        json={
            "contact_id": DOCS_CONTACT,
            "agent_id": "agent-nope",
            "from_number_id": "number-1",
        },
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "statusCode": 400,
            "message": [
                "agent_id must be a UUID (agent-<uuid> also works)",
                "from_number_id must be a UUID (pn-<uuid> also works)",
            ],
            "error": "Bad Request",
        },
    )
    assert state.store.snapshot() == before


def test_faulted_and_journaled(client: TestClient, auth: dict[str, str]) -> None:
    rule = {"fault": {"type": "status", "status": 503}, "route": "contact-call-history"}
    assert client.post("/_sandbox/faults", json=rule).status_code in (200, 201)
    response = client.get(f"/contactship/v1/contacts/{DOCS_NUMBER}/call-history", headers=auth)
    assert (response.status_code, response.json()) == (
        503,
        {"statusCode": 503, "message": "Service Unavailable"},
    )
    journal = client.get("/_sandbox/journal?route=contact-call-history").json()["entries"]
    assert [(e["route"], e["status"]) for e in journal] == [("contact-call-history", 503)]
