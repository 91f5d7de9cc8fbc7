"""A canonical call as ContactShip's call object (GET /v1/calls/{callId} and list items).

ContactShip's docs show every field of the object in one example, in this key order: ISO-8601
instants in whole seconds with a Z, `duration` in seconds, lowercase kebab/snake enums, and a
`contact` block for the person on the other end. A field the call has not reached yet (no end
while it is live, no recording for a call nobody answered) is null rather than absent, so the
object always has the documented field set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.calls.instants import iso_seconds
from sandbox.calls.model import Agent, Call, Scenario
from sandbox.calls.rendering import with_overrides
from sandbox.vendors.contactship.transcript import TRANSCRIPT_KEYS, Flags, transcript_fields

VENDOR = "contactship"

CALL_STATUS: Mapping[Scenario, str] = {
    Scenario.COMPLETED: "completed",
    Scenario.VOICEMAIL: "voice_mail",
    Scenario.NO_ANSWER: "no-answer",
    Scenario.BUSY: "busy",
    Scenario.FAILED: "failed",
    Scenario.TRANSFERRED: "completed",
    Scenario.IN_PROGRESS: "in-progress",
    Scenario.QUEUED: "in-queue",
    Scenario.SCHEDULED: "scheduled",
}
# A live call has no outcome yet: call_result is null until it ends.
CALL_RESULT: Mapping[Scenario, str] = {
    Scenario.COMPLETED: "answered",
    Scenario.VOICEMAIL: "voicemail",
    Scenario.NO_ANSWER: "no_answer",
    Scenario.BUSY: "busy",
    Scenario.FAILED: "failed",
    Scenario.TRANSFERRED: "answered",
}
# Every value ContactShip documents, including those no sandbox scenario produces.
ALL_CALL_STATUSES = (
    "in-progress",
    "completed",
    "no-answer",
    "failed",
    "in-queue",
    "incomplete",
    "busy",
    "answering-machine",
    "scheduled",
    "voice_mail",
)
ALL_CALL_RESULTS = ("answered", "voicemail", "no_answer", "busy", "failed")


def call_id(call: Call) -> str:
    """The canonical UUID, or the id a pinned call has in ContactShip's docs."""
    return call.vendor_ids.get(VENDOR, call.id)


def agent_id(agent: Agent) -> str:
    return agent.vendor_ids.get(VENDOR, agent.id)


def customer_number(call: Call) -> str:
    """The contact's side of the line: who was called, or who called in."""
    return call.to_number if call.direction == "outbound" else call.from_number


def _instant(ms: int | None) -> str | None:
    return iso_seconds(ms) if ms is not None else None


def _duration(call: Call) -> int | None:
    """Whole seconds, equal to finished_at - start_at as printed (the docs: 317 for 14:30:05
    to 14:35:22)."""
    if call.start_ms is None or call.end_ms is None:
        return None
    return call.end_ms // 1000 - call.start_ms // 1000


def base(call: Call, *, list_item: bool = False) -> dict[str, Any]:
    """Every field but the transcript ones, with a pinned call's docs overrides applied."""
    analysis = call.analysis
    body: dict[str, Any] = {
        "id": call_id(call),
        "direction": call.direction,
        "from": call.from_number,
        "call_record": call.recording_url,
        "call_status": CALL_STATUS[call.scenario],
        "call_result": CALL_RESULT.get(call.scenario),
        "disconnection_reason": call.disconnection_reason,
        "finished_at": _instant(call.end_ms),
        "start_at": _instant(call.start_ms),
        "duration": _duration(call),
        "call_analysis": {"summary": analysis.summary, "sentiment": analysis.sentiment}
        if analysis is not None
        else None,
        "type": "ai_call",
        "created_at": iso_seconds(call.created_ms),
        "agent_id": agent_id(call.agent),
    }
    if list_item:
        body["campaign_id"] = call.campaign_id
    body["contact"] = {
        "id": call.contact.id,
        "full_name": call.contact.full_name or None,
        "phone_number": customer_number(call),
        "email": call.contact.email or None,
        "country": call.contact.country or None,
    }
    return with_overrides(VENDOR, call, body)


def render_call(call: Call, flags: Flags, *, list_item: bool = False) -> dict[str, Any]:
    """The call object as a request with these flags gets it.

    Overrides apply to the fields above only: the transcript fields always come from the
    canonical turns, so every flag works on a pinned call too.
    """
    body = {k: v for k, v in base(call, list_item=list_item).items() if k not in TRANSCRIPT_KEYS}
    return body | dict(transcript_fields(call, flags))
