"""Helpers every vendor's renderer shares: docs overrides and latency summaries."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.calls.model import Call, LatencySeries, ToolCall

OMIT = "$omit"
"""An override key listing fields a docs example does not show, so the pinned call drops them."""


def overlay(body: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`body` with `overrides` merged in, objects recursively, every other value verbatim;
    the fields an object's `$omit` list names are removed from it."""
    merged = dict(body)
    for key, value in overrides.items():
        if key == OMIT:
            for name in value:
                merged.pop(name, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


def with_overrides(vendor: str, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a pinned call's per-vendor docs values, if it has any."""
    overrides = call.vendor_overrides.get(vendor)
    return overlay(body, overrides) if overrides else body


def latency_summary(series: LatencySeries) -> dict[str, Any]:
    """The {p50, p90, p95, p99, max, min, num, values} block Retell and Zudu share (ms)."""
    return {
        "p50": series.percentile(50),
        "p90": series.percentile(90),
        "p95": series.percentile(95),
        "p99": series.percentile(99),
        "max": series.maximum,
        "min": series.minimum,
        "num": len(series.values),
        "values": list(series.values),
    }


def tool_call_entries(tool: ToolCall) -> list[dict[str, Any]]:
    """A tool call as Retell's `transcript_with_tool_calls` shows it (ContactShip and Zudu,
    both built on Retell, use the same entries): the invocation, with its arguments as a JSON
    string, then the result."""
    return [
        {
            "role": "tool_call_invocation",
            "tool_call_id": tool.id,
            "name": tool.name,
            "arguments": json.dumps(dict(tool.arguments), separators=(",", ":")),
        },
        {
            "role": "tool_call_result",
            "tool_call_id": tool.id,
            "content": tool.result,
            "successful": tool.successful,
        },
    ]


def weave_tool_calls(call: Call, utterances: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`utterances` (one per turn, in the vendor's shape) with every tool call's entries after
    the turn it followed, in the order the calls were made."""
    tools = sorted(call.tool_calls, key=lambda t: (t.after_turn, t.at_ms))
    entries = [e for t in tools if t.after_turn < 0 for e in tool_call_entries(t)]
    for position, utterance in enumerate(utterances):
        entries.append(utterance)
        entries += [e for t in tools if t.after_turn == position for e in tool_call_entries(t)]
    return entries
