"""A canonical call in Retell's V2 and V3 shapes.

Units as Retell documents them: instants in epoch ms, word times in seconds of call audio,
costs in cents (unit prices in cents per second), latencies in ms. Key order follows Retell's
OpenAPI schema. Fields appear only once the call has reached the stage where Retell fills
them: nothing of the conversation before it connected, no end or analysis while ongoing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.calls.model import Agent, Call, Scenario, Turn
from sandbox.calls.rendering import latency_summary, weave_tool_calls, with_overrides

STATUS: Mapping[Scenario, str] = {
    Scenario.COMPLETED: "ended",
    Scenario.VOICEMAIL: "ended",
    Scenario.TRANSFERRED: "ended",
    Scenario.NO_ANSWER: "not_connected",
    Scenario.BUSY: "not_connected",
    Scenario.FAILED: "error",
    Scenario.IN_PROGRESS: "ongoing",
    Scenario.QUEUED: "registered",
    Scenario.SCHEDULED: "registered",
}
SENTIMENT = {
    "positive": "Positive",
    "negative": "Negative",
    "neutral": "Neutral",
    "unknown": "Unknown",
}
TRANSCRIPT_FIELDS = (
    "transcript",
    "transcript_object",
    "transcript_with_tool_calls",
    "scrubbed_transcript_with_tool_calls",
)


def call_id(call: Call) -> str:
    """Retell's current ids are `call_` and hex; a pinned docs call keeps the docs' id."""
    return call.vendor_ids.get("retell") or "call_" + call.id.replace("-", "")


def agent_id(agent: Agent) -> str:
    return agent.vendor_ids.get("retell") or "agent_" + agent.id.replace("-", "")[:26]


def access_token(call: Call) -> str:
    """The token a web client joins a web call's room with (a JWT's shape; nothing checks it)."""
    return "eyJhbGciOiJIUzI1NiJ9." + call.id.replace("-", "")


def _utterance(turn: Turn) -> dict[str, Any]:
    # Word times in seconds: for whole ms, ms / 1000 is already the nearest double to the
    # value with 3 decimals.
    return {
        "role": turn.role,
        "content": turn.text,
        "words": [
            {"word": w.text, "start": w.start_ms / 1000, "end": w.end_ms / 1000} for w in turn.words
        ],
    }


def _token_usage(call: Call) -> dict[str, Any]:
    """One LLM request per agent turn; the prompt grows with the conversation so far."""
    values: list[float] = []
    spoken = 0
    for turn in call.turns:
        if turn.role == "agent":
            values.append(float(850 + spoken // 4))
        spoken += len(turn.text)
    values = values or [850.0]
    return {
        "values": values,
        "average": round(sum(values) / len(values), 2),
        "num_requests": len(values),
    }


def _transfer_destination(call: Call) -> str | None:
    for tool in call.tool_calls:
        if tool.name == "transfer_call":
            return str(tool.arguments.get("destination"))
    return None


def render_call(call: Call, *, transcripts: bool = True) -> dict[str, Any]:
    """The V2 call object (`transcripts=False`: the V3 list item, which has no transcript)."""
    cid = call_id(call)
    body: dict[str, Any] = {"call_type": call.call_type}
    if call.call_type == "phone_call":
        body["from_number"] = call.from_number
        body["to_number"] = call.to_number
        body["direction"] = call.direction
        body["telephony_identifier"] = {"twilio_call_sid": call.telephony_sid}
    else:
        body["access_token"] = access_token(call)
    body |= {
        "call_id": cid,
        "agent_id": agent_id(call.agent),
        "agent_name": call.agent.name,
        "agent_version": call.agent.version,
        "call_status": STATUS[call.scenario],
        "metadata": dict(call.metadata),
        "retell_llm_dynamic_variables": dict(call.dynamic_variables),
        "collected_dynamic_variables": {},
        "data_storage_setting": "everything",
        "opt_in_signed_url": False,
    }
    if call.start_ms is not None:
        body["start_timestamp"] = call.start_ms
    if call.end_ms is not None:
        body["end_timestamp"] = call.end_ms
    if call.duration_ms is not None:
        body["duration_ms"] = call.duration_ms
    if transcripts and call.scenario.connected:
        # The same utterances in both lists (bodies are encoded, never changed in place).
        utterances = [_utterance(t) for t in call.turns]
        body["transcript"] = call.transcript
        body["transcript_object"] = utterances
        body["transcript_with_tool_calls"] = weave_tool_calls(call, utterances)
    if call.recording_url is not None:
        stem = call.recording_url.rsplit(".", 1)[0]
        body["recording_url"] = call.recording_url
        body["recording_multi_channel_url"] = f"{stem}_multichannel.wav"
        body["public_log_url"] = f"{stem}_public_log.txt"
    if call.latency:
        body["latency"] = {name: latency_summary(s) for name, s in call.latency.items()}
    if call.disconnection_reason is not None:
        body["disconnection_reason"] = call.disconnection_reason
    destination = _transfer_destination(call)
    if destination is not None:
        body["transfer_destination"] = destination
    if call.analysis is not None:
        body["call_analysis"] = {
            "call_summary": call.analysis.summary,
            "in_voicemail": call.analysis.in_voicemail,
            "user_sentiment": SENTIMENT[call.analysis.sentiment],
            "call_successful": call.analysis.successful,
            "custom_analysis_data": dict(call.analysis.custom),
        }
    if call.end_ms is not None:
        duration = (call.duration_ms or 0) / 1000 if call.scenario.connected else 0
        body["call_cost"] = {
            "product_costs": [
                {"product": c.product, "unit_price": c.unit_price, "cost": c.cost}
                for c in call.costs
            ],
            "total_duration_seconds": round(duration, 3),
            "total_duration_unit_price": round(sum(c.unit_price for c in call.costs), 4),
            "combined_cost": call.combined_cost,
        }
    if call.scenario.connected and call.end_ms is not None:
        body["llm_token_usage"] = _token_usage(call)
    body = with_overrides("retell", call, body)
    if not transcripts:
        for key in TRANSCRIPT_FIELDS:
            body.pop(key, None)
    return body
