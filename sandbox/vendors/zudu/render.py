"""A canonical call in Zudu's shape.

Zudu's call object is a Retell clone with its own spellings: UPPERCASE enums, every instant
in epoch ms (word `start`/`end` too: wall-clock ms, not seconds of audio), `call_duration`
in ms, an `events` log, and money in US dollars (the docs' example bills 0.15 for a call, so
dollars, not Retell's cents) with unit prices per minute. Fields are always present: what a
call has not reached yet is null (or an empty list), as Zudu's "create call" example shows for
a fresh call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.calls.ids import sibling_sid
from sandbox.calls.model import Agent, Call, Scenario, Turn
from sandbox.calls.rendering import latency_summary, weave_tool_calls, with_overrides

VENDOR = "zudu"

# design.md §2: Zudu has no "not connected" status, so calls that never connected are ENDED
# with a DIAL_* reason, and a dial that failed outright is ERROR.
STATUS: Mapping[Scenario, str] = {
    Scenario.COMPLETED: "ENDED",
    Scenario.VOICEMAIL: "ENDED",
    Scenario.TRANSFERRED: "ENDED",
    Scenario.NO_ANSWER: "ENDED",
    Scenario.BUSY: "ENDED",
    Scenario.FAILED: "ERROR",
    Scenario.IN_PROGRESS: "ONGOING",
    Scenario.QUEUED: "REGISTERED",
    Scenario.SCHEDULED: "SCHEDULED",
}
CALL_STATUSES = ("REGISTERED", "ONGOING", "ENDED", "ERROR", "SCHEDULED")
# Zudu's create-phone-call example answers `call_status: "ONGOING"` for the call it has just
# "created and initiated": a phone call placed through the API is being dialled, and Zudu
# shows it ONGOING from then on, ringing or talking, until it ends. The population's queued
# calls (waiting for their turn to dial, never initiated by a client) stay REGISTERED, and so
# does a call whose schedule a DELETE cancelled (routes.py pins it REGISTERED).
DIALLING = "ONGOING"


def status(call: Call) -> str:
    """The call's `call_status`, before any override."""
    dialling = (
        call.scenario is Scenario.QUEUED
        and call.source == "created"
        and call.call_type == "phone_call"
    )
    return DIALLING if dialling else STATUS[call.scenario]


CALL_TYPE: Mapping[str, str] = {"phone_call": "PHONE_CALL", "web_call": "WEB_CALL"}
DIRECTION: Mapping[str, str] = {"inbound": "INBOUND", "outbound": "OUTBOUND"}
ROLE: Mapping[str, str] = {"agent": "assistant", "user": "user"}
SENTIMENT: Mapping[str, str] = {
    "positive": "Positive",
    "negative": "Negative",
    "neutral": "Neutral",
    "unknown": "Unknown",
}
# The docs print latency stats in this order.
_LATENCY_KEYS = ("max", "min", "num", "p50", "p90", "p95", "p99", "values")
_DOLLAR_PLACES = 6
# The products Zudu bills once per call: in its documented example the llm_usage line (0.05)
# is the total_one_time_price and is left out of total_duration_unit_price, while the
# inbound_call line is priced by the minute. The canonical LLM lines (llm_...) are billed so.
ONE_TIME_PREFIX = "llm"


def call_id(call: Call) -> str:
    """`call_` and the canonical UUID's hex; a pinned docs call keeps the docs' id."""
    return call.vendor_ids.get(VENDOR) or "call_" + call.id.replace("-", "")


def agent_id(agent: Agent) -> str:
    """Zudu agent ids are `agent_` and a UUID (its batch-call docs show one)."""
    return agent.vendor_ids.get(VENDOR) or "agent_" + agent.id


def organization_id(tenant: str) -> str:
    """The organisation a key pair belongs to; Zudu derives it from the keys, never a header."""
    return f"org_{tenant}"


def _dollars(cents: float) -> float:
    return round(cents / 100, _DOLLAR_PLACES)


def _base_ms(call: Call) -> int:
    """The wall-clock instant that times inside the call count from."""
    return call.start_ms if call.start_ms is not None else call.created_ms


def _utterance(call: Call, turn: Turn) -> dict[str, Any]:
    base = _base_ms(call)
    return {
        "role": ROLE[turn.role],
        "content": turn.text,
        "timestamp": base + turn.start_ms,
        "words": [
            {"word": w.text, "start": base + w.start_ms, "end": base + w.end_ms} for w in turn.words
        ],
    }


def numbers(call: Call) -> tuple[str | None, str | None]:
    """A web call has no phone numbers."""
    if call.call_type == "web_call":
        return None, None
    return call.from_number, call.to_number


def transcript(call: Call) -> str | None:
    """The words said, one turn a line (the docs' one-turn example shows the bare sentence)."""
    if not (call.scenario.connected and call.turns):
        return None
    return "\n".join(t.text for t in call.turns)


def reason(call: Call) -> str | None:
    return call.disconnection_reason.upper() if call.disconnection_reason else None


def events(call: Call) -> list[dict[str, Any]]:
    """The call's log, derived from its lifecycle: created (and scheduled), started, each tool
    call, ended with its reason. `session_time` is ms since the call started (0 before)."""
    created = "Call created via API" if call.source == "created" else "Call created"
    log: list[dict[str, Any]] = [
        {"timestamp": call.created_ms, "event": created, "session_time": 0, "data": {}}
    ]
    if call.scheduled_ms is not None:
        log.append(
            {
                "timestamp": call.created_ms,
                "event": "Call scheduled",
                "session_time": 0,
                # Zudu's scheduling fields are epoch seconds (see the schedule-cancel example).
                "data": {"scheduled_timestamp": call.scheduled_ms // 1000},
            }
        )
    if call.start_ms is None:
        return log
    direction = DIRECTION[call.direction]
    caller, callee = numbers(call)
    log.append(
        {
            "timestamp": call.start_ms,
            "event": f"Call started - {direction}",
            "session_time": 0,
            "data": {"direction": direction, "from": caller, "to": callee},
        }
    )
    for tool in sorted(call.tool_calls, key=lambda t: t.at_ms):
        log.append(
            {
                "timestamp": call.start_ms + tool.at_ms,
                "event": f"Tool call - {tool.name}",
                "session_time": tool.at_ms,
                "data": {
                    "tool_call_id": tool.id,
                    "name": tool.name,
                    "successful": tool.successful,
                },
            }
        )
    if call.end_ms is not None:
        ended = reason(call)
        log.append(
            {
                "timestamp": call.end_ms,
                "event": f"Call ended - {ended}" if ended else "Call ended",
                "session_time": call.end_ms - call.start_ms,
                "data": {"disconnection_reason": ended, "call_duration": call.duration_ms},
            }
        )
    return log


def _latency(call: Call) -> dict[str, Any] | None:
    if not call.latency:
        return None
    result: dict[str, Any] = {}
    for name, series in call.latency.items():
        summary = latency_summary(series)
        result[name] = {key: summary[key] for key in _LATENCY_KEYS}
    return result


def per_minute(cents_per_second: float) -> float:
    """A canonical per-second price in cents as Zudu quotes it: dollars per minute."""
    return round(cents_per_second * 60 / 100, _DOLLAR_PLACES)


def one_time(product: str) -> bool:
    """Whether Zudu bills a product once per call rather than by the minute."""
    return product.startswith(ONE_TIME_PREFIX)


def _cost(call: Call) -> dict[str, Any] | None:
    """Billed once the call is over, in dollars, with the arithmetic of Zudu's documented
    example: unit prices per minute (inbound_call at 0.02 for 300 s costs 0.10), a whole
    number of seconds, the duration's unit price summing the per-minute lines only (0.02), the
    one-time price summing the LLM lines (0.05), and combined_cost summing every line (0.15),
    which is the canonical cost every vendor shows."""
    if call.end_ms is None:
        return None
    connected = call.scenario.connected
    seconds = round((call.duration_ms or 0) / 1000) if connected else 0
    lines: list[dict[str, Any]] = [
        {"product": c.product, "cost": _dollars(c.cost), "unit_price": per_minute(c.unit_price)}
        for c in call.costs
    ]
    timed = [line for line in lines if not one_time(line["product"])]
    once = [line for line in lines if one_time(line["product"])]
    return {
        # The sum of the rounded lines, so the lines always add up to the total.
        "combined_cost": round(sum(line["cost"] for line in lines), _DOLLAR_PLACES),
        "product_costs": lines,
        "total_duration_seconds": seconds,
        "total_duration_unit_price": round(
            sum(line["unit_price"] for line in timed), _DOLLAR_PLACES
        ),
        "total_one_time_price": round(sum(line["cost"] for line in once), _DOLLAR_PLACES),
    }


def _analysis(call: Call) -> dict[str, Any] | None:
    if call.analysis is None or call.end_ms is None:
        return None
    return {
        "call_successful": call.analysis.successful,
        "call_summary": call.analysis.summary,
        "user_sentiment": SENTIMENT[call.analysis.sentiment],
        "in_voicemail": call.analysis.in_voicemail,
    }


def _telephony(call: Call) -> dict[str, str] | None:
    """Twilio's call SID once a phone call was dialled, and its conference's SID: an id of
    its own (Twilio draws every SID separately), derived from the call's."""
    if call.call_type != "phone_call" or call.start_ms is None:
        return None
    return {"call_sid": call.telephony_sid, "conference_sid": sibling_sid("CF", call.telephony_sid)}


def render_call(call: Call) -> dict[str, Any]:
    """The call object of GET /api/calls/{callId}, list items, update and create answers."""
    cid = call_id(call)
    caller, callee = numbers(call)
    utterances = [_utterance(call, t) for t in call.turns]
    body: dict[str, Any] = {
        "id": call.id,
        "agent_id": agent_id(call.agent),
        "call_id": cid,
        "organization_id": organization_id(call.tenant),
        "call_status": status(call),
        "call_type": CALL_TYPE[call.call_type],
        "direction": DIRECTION[call.direction],
        "from_number": caller,
        "to_number": callee,
        "created_at": call.created_ms,
        "updated_at": call.updated_ms,
        "start_timestamp": call.start_ms,
        "end_timestamp": call.end_ms,
        "call_duration": call.duration_ms,
        "disconnection_reason": reason(call),
        "recording_url": call.recording_url,
        # Every dialled call has a session log, even one nobody answered.
        "public_log_url": f"https://api.example.com/logs/{cid}"
        if call.start_ms is not None
        else None,
        "opt_out_sensitive_data_storage": False,
        "metadata": dict(call.metadata),
        "events": events(call),
        "transcript": transcript(call),
        # The same utterances in both lists (bodies are encoded, never changed in place).
        "transcript_object": utterances,
        "transcript_with_tool_calls": weave_tool_calls(call, utterances),
        "latency": _latency(call),
        "call_analysis": _analysis(call),
        "call_cost": _cost(call),
        "telephony_identifier": _telephony(call),
    }
    return with_overrides(VENDOR, call, body)


FILTERED = (
    "agent_id",
    "call_status",
    "call_type",
    "call_duration",
    "start_timestamp",
    "transcript",
)


def facts(call: Call) -> dict[str, Any]:
    """The fields the list filters and sorts read, exactly as `render_call` would show them,
    without rendering the transcript's every word for each call of the population."""
    body = {
        "agent_id": agent_id(call.agent),
        "call_status": status(call),
        "call_type": CALL_TYPE[call.call_type],
        "call_duration": call.duration_ms,
        "start_timestamp": call.start_ms,
        "transcript": transcript(call),
    }
    merged = with_overrides(VENDOR, call, body)
    return {key: merged.get(key) for key in FILTERED}
