"""A contact's calls: GET /v1/contacts/{contactId}/calls and
GET /v1/contacts/{phoneNumber}/call-history.

ContactShip documents the two in different shapes, and each is answered in its own:
- by contact id (docs.contactship.ai/api-reference/endpoint/get-contact-call-history): a bare
  array of call records `{id, created_at, call_time, duration, direction, status, notes,
  recording_url, contact_id, user_id, organization_id}`, with `status` one of answered,
  missed, rejected, busy, failed, and `duration` an integer of seconds talked (0 for the
  docs' missed call), filtered by date range, direction and status;
- by phone number (…/get-contact-call-history-by-phone): `{statusCode: 200, data: {contact_id,
  contact, history: {call_attempts, calls: [...]}}}`, each call in the Retell-derived shape
  of that page (`direction: "outbound-api"`, `duration` a string, `price` in cents,
  `call_analysis` with Retell's keys, `chat_history` with the roles assistant and user) and
  its instants with milliseconds and `+00:00`.

Both read the same canonical calls as GET /v1/calls/{callId}, observed at the request's
instant: a record's `id` is the call's id there. A contact is known by the calls it is on (the
sandbox keeps no separate contact book): its calls are the tenant's calls whose `contact.id`
(or whose customer's number) matches. A history holds the calls that are over; a call still
queued, ringing or in progress has no outcome to record yet. Newest first, as both pages show.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sandbox.calls.instants import iso_seconds
from sandbox.calls.model import Call, Scenario
from sandbox.dialect.vendor import Context, Param, Reply
from sandbox.errors import InvalidRequest
from sandbox.http import params
from sandbox.vendors.contactship import formats
from sandbox.vendors.contactship.errors import ContactNotFound
from sandbox.vendors.contactship.query import only
from sandbox.vendors.contactship.render import (
    CALL_RESULT,
    agent_id,
    base,
    call_id,
    customer_number,
)

CONTACT_CALLS_SCHEMA = "contactship/contact-calls.json"
CALL_HISTORY_SCHEMA = "contactship/call-history.json"
PRICE_UNIT = "USD"

# The record statuses of the contact-id page. A voicemail connected (a machine answered and
# the agent left a message, with a recording and a duration), so it is answered; a call
# nobody picked up is missed, as the docs' missed record (duration 0, no recording) is.
# `rejected` (the callee declined) is no outcome the sandbox's scenarios produce.
RECORD_STATUS: Mapping[Scenario, str] = {
    Scenario.COMPLETED: "answered",
    Scenario.VOICEMAIL: "answered",
    Scenario.TRANSFERRED: "answered",
    Scenario.NO_ANSWER: "missed",
    Scenario.BUSY: "busy",
    Scenario.FAILED: "failed",
}
RECORD_STATUSES = ("answered", "missed", "rejected", "busy", "failed")
DIRECTIONS = ("inbound", "outbound")
# The phone page's calls carry Twilio's direction words: a call the API placed is
# `outbound-api`.
HISTORY_DIRECTION: Mapping[str, str] = {"inbound": "inbound", "outbound": "outbound-api"}
HISTORY_ROLE: Mapping[str, str] = {"agent": "assistant", "user": "user"}
SENTIMENT: Mapping[str, str] = {
    "positive": "Positive",
    "negative": "Negative",
    "neutral": "Neutral",
    "unknown": "Unknown",
}
_DATE = {"type": "string", "format": "date"}
CONTACT_CALLS_PARAMS: tuple[Param, ...] = (
    Param("start_date", _DATE, description="calls on or after this UTC day (call_time)"),
    Param("end_date", _DATE, description="calls on or before this UTC day (call_time)"),
    Param("direction", {"enum": list(DIRECTIONS)}),
    Param("status", {"enum": list(RECORD_STATUSES)}),
)
_CONTACT_CALLS_NAMES = tuple(p.name for p in CONTACT_CALLS_PARAMS)


def organization_id(tenant: str) -> str:
    """The organisation a key belongs to (ContactShip derives it from the key)."""
    return f"org_{tenant}"


def _ended(context: Context) -> Iterator[tuple[Call, dict[str, Any]]]:
    """The tenant's calls that are over, newest first, with the fields as GET shows them."""
    for call in context.sandbox.store.calls(context.tenant.id, order="desc"):
        if call.end_ms is not None and call.scenario.ended:
            yield call, base(call)


def _talked(call: Call) -> int:
    """Whole seconds of conversation: 0 for a call that never connected."""
    if not call.scenario.connected or call.start_ms is None or call.end_ms is None:
        return 0
    return call.end_ms // 1000 - call.start_ms // 1000


def contact_record(call: Call, shown: Mapping[str, Any]) -> dict[str, Any]:
    """One call as the contact-id page's record: written when the call ended."""
    assert call.end_ms is not None
    analysis = call.analysis
    return {
        "id": call_id(call),
        "created_at": iso_seconds(call.end_ms),
        "call_time": iso_seconds(call.start_ms if call.start_ms is not None else call.created_ms),
        "duration": _talked(call),
        "direction": call.direction,
        "status": RECORD_STATUS[call.scenario],
        "notes": analysis.summary if analysis is not None else None,
        "recording_url": call.recording_url,
        "contact_id": shown["contact"]["id"],
        "user_id": agent_id(call.agent),
        "organization_id": organization_id(call.tenant),
    }


def contact_calls(context: Context) -> Reply:
    query = context.query
    only(query, _CONTACT_CALLS_NAMES)
    wanted = context.path["contactId"]
    if not formats.matches(formats.UUID, wanted):
        raise ContactNotFound(wanted)
    since = params.instant(query, "start_date")
    until = params.instant(query, "end_date", end_of_day=True)
    direction = params.choice(query, "direction", None, DIRECTIONS)
    status = params.choice(query, "status", None, RECORD_STATUSES)
    known = False
    records: list[dict[str, Any]] = []
    for call, shown in _ended(context):
        if (shown["contact"]["id"] or "").lower() != wanted.lower():
            continue
        known = True
        record = contact_record(call, shown)
        at = call.start_ms if call.start_ms is not None else call.created_ms
        if since is not None and at < since:
            continue
        if until is not None and at > until:
            continue
        if direction is not None and record["direction"] != direction:
            continue
        if status is not None and record["status"] != status:
            continue
        records.append(record)
    if not known and not _has_contact(context, wanted):
        raise ContactNotFound(wanted)
    return Reply(200, records, CONTACT_CALLS_SCHEMA)


def _has_contact(context: Context, wanted: str) -> bool:
    """Whether any call of the tenant, over or not, is with this contact."""
    return any(
        (base(call)["contact"]["id"] or "").lower() == wanted.lower()
        for call in context.sandbox.store.calls(context.tenant.id)
    )


def instant(ms: int, digits: int = 3) -> str:
    """'2024-03-05T14:20:15.445+00:00', as the phone page prints instants (its created_at
    has six digits of fraction: `digits=6`)."""
    text = iso_seconds(ms)[:-1]
    fraction = f"{ms % 1000:03d}" + "0" * (digits - 3)
    return f"{text}.{fraction}+00:00"


def history_call(call: Call) -> dict[str, Any]:
    """One call as the phone page's history shows it."""
    assert call.end_ms is not None
    analysis = call.analysis
    connected = call.scenario.connected
    return {
        "direction": HISTORY_DIRECTION[call.direction],
        "from": call.from_number,
        "call_record": call.recording_url,
        "status": CALL_RESULT[call.scenario],
        "start_at": instant(call.start_ms) if call.start_ms is not None else None,
        "finished_at": instant(call.end_ms),
        # Cents, as Retell bills (the docs: 15 for 210 s, 5 for 45 s).
        "price": round(call.combined_cost, 2),
        "price_unit": PRICE_UNIT,
        # A string, as on the docs' page (Twilio's `duration` is one too); "0" when nobody
        # answered.
        "duration": str(_talked(call)),
        "call_analysis": {
            "call_summary": analysis.summary,
            "in_voicemail": analysis.in_voicemail,
            "user_sentiment": SENTIMENT[analysis.sentiment],
            "call_successful": analysis.successful,
            "custom_analysis_data": dict(analysis.custom),
        }
        if analysis is not None
        else None,
        "type": "api_call",
        "created_at": instant(call.created_ms, digits=6),
        "chat_history": [{"role": HISTORY_ROLE[t.role], "content": t.text} for t in call.turns]
        if connected
        else [],
    }


def history(number: str, found: Sequence[tuple[Call, Mapping[str, Any]]]) -> dict[str, Any]:
    """The phone page's answer for the ended calls `found` (newest first) with `number`."""
    shown = found[0][1]  # the newest call names the contact
    oldest = found[-1][0]
    contact = shown["contact"]
    data = {
        "contact_id": contact["id"],
        "contact": {
            "full_name": contact["full_name"],
            "country": contact["country"],
            "email": contact["email"],
            "phone_number": number,
            "additional_data": None,
            "description": None,
            # The contact is known from its first call.
            "created_at": instant(oldest.created_ms),
        },
        "history": {
            "call_attempts": len(found),
            "calls": [history_call(call) for call, _ in found],
        },
    }
    return {"statusCode": 200, "data": data}


def call_history(context: Context) -> Reply:
    only(context.query, ())
    number = context.path["phoneNumber"]
    if not formats.matches(formats.E164, number):
        raise InvalidRequest.one(
            "path.phoneNumber", f"{formats.DESCRIPTIONS[formats.E164]}, not {number!r}"
        )
    found = [(call, shown) for call, shown in _ended(context) if customer_number(call) == number]
    if not found:
        raise ContactNotFound(number, by="phone number")
    return Reply(200, history(number, found), CALL_HISTORY_SCHEMA)
