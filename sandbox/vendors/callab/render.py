"""A canonical call in Callab's shape: the `data` of `{status, message, data}`.

Units as Callab documents them: ISO-8601 UTC instants in whole seconds, `call_duration` in
whole seconds, `cost` in US dollars (`price_unit` "USD"), `latency` in ms, transcript segment
timestamps in seconds from the call's start. Every field of Callab's field table is always
present, in the order of its documented example; a field the call has not reached yet (no end
while in progress, no transcript before it connected) is null, except the six Callab types
without "or null" (`review`, `_latency`, `_reason`), which every ended call has.

Callab publishes no enums, so the status, reason, sentiment and task values below are the
sandbox's choice (design.md §2 for `call_status`; the rest follows the docs' example values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.calls.ids import uuid_from
from sandbox.calls.instants import iso_seconds
from sandbox.calls.model import Agent, Call, Scenario, Sentiment, Turn
from sandbox.calls.rendering import with_overrides

VENDOR = "callab"

STATUS: Mapping[Scenario, str] = {
    Scenario.COMPLETED: "completed",
    Scenario.VOICEMAIL: "completed",
    Scenario.TRANSFERRED: "completed",
    Scenario.NO_ANSWER: "no-answer",
    Scenario.BUSY: "busy",
    Scenario.FAILED: "failed",
    Scenario.IN_PROGRESS: "in-progress",
    Scenario.QUEUED: "queued",
    Scenario.SCHEDULED: "scheduled",
}
# The canonical reasons are Retell's; Callab's one documented value is "caller_hung_up" for
# the other party hanging up, and the rest are spelled in the same past-tense snake case.
# A reason without an entry here is passed through as the canonical spelling.
DISCONNECT_REASON: Mapping[str, str] = {
    "user_hangup": "caller_hung_up",
    "agent_hangup": "agent_hung_up",
    "call_transfer": "call_transferred",
    "voicemail_reached": "voicemail_reached",
    "dial_no_answer": "no_answer",
    "dial_busy": "busy",
    "dial_failed": "failed",
}
SPEAKER: Mapping[str, str] = {"agent": "agent", "user": "customer"}
_LABEL: Mapping[str, str] = {"agent": "Agent", "customer": "Customer"}
# `call_rating` (1-5) and `call_feedback` follow the analysed sentiment; the docs' positive
# example rates 5 with "Great conversation".
RATING: Mapping[Sentiment, tuple[int, str | None]] = {
    "positive": (5, "Great conversation"),
    "neutral": (3, "Average conversation"),
    "negative": (1, "Poor conversation"),
    # Callab types call_rating as a plain Integer (never null): a conversation nobody could
    # rate is 0, the integer column's default, with no feedback.
    "unknown": (0, None),
}
UNRATED = RATING["unknown"]
# Callab types disconnect_reason, analysis_sentiment, agent_task_status and
# agent_task_feedback as plain Strings and latency as a plain Integer, so an ended call has
# them all, analysed or not. Before the analysis arrives (ANALYSIS_DELAY_MS after the end)
# and for a call that never connected (nothing to analyse) they are read from the canonical
# scenario instead: the sentiment is "unknown", the task "pending" while the analysis runs
# and "failed" when nobody answered, and the feedback says why.
REVIEW_FIELDS = (
    "call_rating",
    "call_feedback",
    "analysis_sentiment",
    "agent_task_status",
    "agent_task_feedback",
)
PENDING_FEEDBACK = "Post-call analysis in progress"
UNCONNECTED_FEEDBACK: Mapping[Scenario, str] = {
    Scenario.NO_ANSWER: "The call was not answered",
    Scenario.BUSY: "The line was busy",
    Scenario.FAILED: "The call could not be placed",
}
# The reason an ended call shows when the canonical call names none (a pinned call may not).
SCENARIO_REASON: Mapping[Scenario, str] = {
    Scenario.COMPLETED: "caller_hung_up",
    Scenario.VOICEMAIL: "voicemail_reached",
    Scenario.TRANSFERRED: "call_transferred",
    Scenario.NO_ANSWER: "no_answer",
    Scenario.BUSY: "busy",
    Scenario.FAILED: "failed",
}
DEFAULT_PROVIDER = "twilio"
WEB_PROVIDER = "web"
DEFAULT_WORKSPACE = "default"
PRICE_UNIT = "USD"


def call_id(call: Call) -> str:
    """Callab ids are UUIDs: the canonical one, unless a docs example shows another."""
    return call.vendor_ids.get(VENDOR) or call.id


def agent_id(agent: Agent) -> str:
    return agent.vendor_ids.get(VENDOR) or agent.id


def company_id(tenant: str) -> str:
    """The company that owns a tenant's calls: one stable UUID per tenant."""
    return uuid_from("callab-company", tenant)


def _instant(ms: int | None) -> str | None:
    return iso_seconds(ms) if ms is not None else None


def _seconds(ms: int) -> float:
    return round(ms / 1000, 3)


def transcript(turns: tuple[Turn, ...]) -> str:
    """'Agent: ...\\nCustomer: ...', one line per turn, as in Callab's example."""
    return "\n".join(f"{_LABEL[SPEAKER[t.role]]}: {t.text}" for t in turns)


def segments(turns: tuple[Turn, ...]) -> list[dict[str, Any]]:
    """One segment per turn; its timestamp is when the turn's first word starts."""
    return [
        {"speaker": SPEAKER[t.role], "text": t.text, "timestamp": _seconds(t.start_ms)}
        for t in turns
    ]


def _duration(call: Call) -> int:
    """Whole seconds between the rendered started_at and ended_at, 0 until the call ended.

    Computed from the rendered (whole-second) instants so that a client always reads
    ended_at - started_at == call_duration.
    """
    if call.start_ms is None or call.end_ms is None:
        return 0
    return call.end_ms // 1000 - call.start_ms // 1000


def _reason(call: Call) -> str | None:
    if call.disconnection_reason is not None:
        return DISCONNECT_REASON.get(call.disconnection_reason, call.disconnection_reason)
    return SCENARIO_REASON.get(call.scenario) if call.end_ms is not None else None


def _latency(call: Call) -> int | None:
    """The median end-to-end latency in ms; 0 for an ended call with no samples (it never
    connected, so no turn was answered); null while the call is not over."""
    e2e = call.latency.get("e2e")
    if e2e is not None and e2e.values:
        return round(e2e.percentile(50))
    return 0 if call.end_ms is not None else None


def review(call: Call) -> dict[str, Any]:
    """The post-call review fields: from the analysis once it arrived, from the scenario for
    an ended call without one, null for a call not over yet."""
    analysis = call.analysis
    if analysis is not None:
        rating, feedback = RATING[analysis.sentiment]
        return {
            "call_rating": rating,
            "call_feedback": feedback,
            "analysis_sentiment": analysis.sentiment,
            "agent_task_status": "completed" if analysis.successful else "incomplete",
            "agent_task_feedback": analysis.summary,
        }
    if call.end_ms is None:
        return dict.fromkeys(REVIEW_FIELDS)
    connected = call.scenario.connected
    return {
        "call_rating": UNRATED[0],
        "call_feedback": UNRATED[1],
        "analysis_sentiment": "unknown",
        "agent_task_status": "pending" if connected else "failed",
        "agent_task_feedback": PENDING_FEEDBACK
        if connected
        else UNCONNECTED_FEEDBACK.get(call.scenario, PENDING_FEEDBACK),
    }


def render_call(call: Call) -> dict[str, Any]:
    connected = call.scenario.connected
    analysis = call.analysis
    reviewed = review(call)
    phone = call.call_type == "phone_call"
    body: dict[str, Any] = {
        "id": call_id(call),
        "call_sid": call.telephony_sid if phone else "web_" + call.id.replace("-", ""),
        "campaign_id": call.campaign_id,
        "ai_agent_id": agent_id(call.agent),
        "contact_id": call.contact.id,
        "company_id": company_id(call.tenant),
        "call_from": call.from_number,
        "call_to": call.to_number,
        "call_duration": _duration(call),
        "call_status": STATUS[call.scenario],
        "call_direction": call.direction,
        "call_provider": DEFAULT_PROVIDER if phone else WEB_PROVIDER,
        "call_rating": reviewed["call_rating"],
        "call_feedback": reviewed["call_feedback"],
        "record_url": call.recording_url,
        "transcript": transcript(call.turns) if connected else None,
        "is_test": False,
        "transcript_object": {"segments": segments(call.turns)} if connected else None,
        "transcript_language": call.agent.language if connected else None,
        "cost": round(call.combined_cost / 100, 6),
        "price_unit": PRICE_UNIT,
        "latency": _latency(call),
        "disconnect_reason": _reason(call),
        "analysis_sentiment": reviewed["analysis_sentiment"],
        "agent_task_status": reviewed["agent_task_status"],
        "agent_task_feedback": reviewed["agent_task_feedback"],
        "metadata": dict(call.metadata),
        "agent_dynamic_variables": dict(call.dynamic_variables),
        "agent_post_call_outcomes": dict(analysis.custom) if analysis else None,
        "notes": None,
        "created_at": iso_seconds(call.created_ms),
        "updated_at": iso_seconds(call.updated_ms),
        "deleted_at": None,  # a deleted call is not found, so no answer ever carries one
        "started_at": _instant(call.start_ms),
        "ended_at": _instant(call.end_ms),
        "retry_at": _instant(call.scheduled_ms) if call.scenario is Scenario.SCHEDULED else None,
        "workspace_id": DEFAULT_WORKSPACE,
    }
    return with_overrides(VENDOR, call, body)


def envelope(data: Any) -> dict[str, Any]:
    """Callab's success envelope; other Callab endpoints document `"status": "ok"`."""
    return {"status": "ok", "message": "ok", "data": data}
