"""Retell's list filters, evaluated against the rendered item so that a filter sees exactly
the values a client reads back.

V3 takes typed filters (`{"type": "enum", "op": "in", "value": [...]}`); the legacy V2 list
takes arrays of accepted values and `{lower_threshold, upper_threshold}` ranges. Conditions
on different keys are AND-ed; list entries of `agent` are OR-ed, those of the custom-field
filters AND-ed, as Retell documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sandbox.calls.model import Call

Item = Mapping[str, Any]
Predicate = Callable[[Call, Item], bool]


def _dig(item: Item, *path: str) -> Any:
    value: Any = item
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


FIELDS: Mapping[str, Callable[[Item], Any]] = {
    "call_id": lambda i: i.get("call_id"),
    "agent_tag": lambda i: i.get("agent_tag"),
    "call_status": lambda i: i.get("call_status"),
    "call_type": lambda i: i.get("call_type"),
    "direction": lambda i: i.get("direction"),
    "disconnection_reason": lambda i: i.get("disconnection_reason"),
    "from_number": lambda i: i.get("from_number"),
    "to_number": lambda i: i.get("to_number"),
    "data_storage_setting": lambda i: i.get("data_storage_setting"),
    "start_timestamp": lambda i: i.get("start_timestamp"),
    "end_timestamp": lambda i: i.get("end_timestamp"),
    "duration_ms": lambda i: i.get("duration_ms"),
    "in_voicemail": lambda i: _dig(i, "call_analysis", "in_voicemail"),
    "call_successful": lambda i: _dig(i, "call_analysis", "call_successful"),
    "user_sentiment": lambda i: _dig(i, "call_analysis", "user_sentiment"),
    "combined_cost": lambda i: _dig(i, "call_cost", "combined_cost"),
    "e2e_latency_p50": lambda i: _dig(i, "latency", "e2e", "p50"),
}
# Fields Retell filters on that its call object does not show: read from the call itself.
CALL_FIELDS: Mapping[str, Callable[[Call], Any]] = {
    "batch_call_id": lambda c: c.batch_call_id,
}
CUSTOM: Mapping[str, Callable[[Item], Any]] = {
    "metadata": lambda i: i.get("metadata"),
    "dynamic_variables": lambda i: i.get("retell_llm_dynamic_variables"),
    "custom_analysis_data": lambda i: _dig(i, "call_analysis", "custom_analysis_data"),
    "custom_attributes": lambda i: i.get("custom_attributes"),
}


def typed(condition: Mapping[str, Any], value: Any) -> bool:
    """One V3 typed filter against one value (None: the field is absent)."""
    op: str = condition["op"]
    if condition["type"] == "present":
        return (value is not None) == (op == "pr")
    if value is None:
        return op == "ne"
    expected: Any = condition.get("value")
    kind = condition["type"]
    if kind == "string":
        text = str(value)
        outcomes: dict[str, bool] = {
            "eq": text == expected,
            "ne": text != expected,
            "sw": text.startswith(expected),
            "ew": text.endswith(expected),
            "co": expected in text,
        }
        return outcomes[op]
    if kind == "enum":
        return str(value) in expected
    if kind == "boolean":
        return bool(value is expected)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if kind == "range":
        return bool(expected[0] <= value <= expected[1])
    return bool(
        {
            "eq": value == expected,
            "ne": value != expected,
            "gt": value > expected,
            "ge": value >= expected,
            "lt": value < expected,
            "le": value <= expected,
        }[op]
    )


def _tool_matches(call: Call, condition: Mapping[str, Any]) -> bool:
    for tool in call.tool_calls:
        if "name" in condition and tool.name != condition["name"]:
            continue
        if "type" in condition and condition["type"] != "custom":
            continue
        if "success" in condition and not typed(condition["success"], tool.successful):
            continue
        if "latency_ms" in condition:
            # A tool's latency is the pause between its invocation and the next thing said.
            following = [t.start_ms for t in call.turns[tool.after_turn + 1 :]]
            latency = (following[0] - tool.at_ms) if following else None
            if not typed(condition["latency_ms"], latency):
                continue
        return True
    return False


def v3_reads_call(criteria: Mapping[str, Any]) -> bool:
    """Whether the V3 filter reads the call itself (the item alone answers the others)."""
    return any(key == "tool_calls" or key in CALL_FIELDS for key in criteria)


def v2_reads_call(criteria: Mapping[str, Any]) -> bool:
    """Whether the V2 filter reads the call itself (the item alone answers the others)."""
    return any(key in CALL_FIELDS for key in criteria)


def v3_predicate(criteria: Mapping[str, Any]) -> Predicate:
    def matches(call: Call, item: Item) -> bool:
        for key, condition in criteria.items():
            if key == "agent":
                if not any(
                    item.get("agent_id") == a["agent_id"]
                    and ("version" not in a or item.get("agent_version") in a["version"])
                    for a in condition
                ):
                    return False
            elif key == "tool_calls":
                if not all(_tool_matches(call, c) for c in condition):
                    return False
            elif key in CUSTOM:
                container = CUSTOM[key](item)
                container = container if isinstance(container, Mapping) else {}
                if not all(typed(c, container.get(c["key"])) for c in condition):
                    return False
            elif key in CALL_FIELDS:
                if not typed(condition, CALL_FIELDS[key](call)):
                    return False
            elif not typed(condition, FIELDS[key](item)):
                return False
        return True

    return matches


def v2_predicate(criteria: Mapping[str, Any]) -> Predicate:
    def matches(call: Call, item: Item) -> bool:
        for key, accepted in criteria.items():
            if key == "version":
                value = item.get("agent_version")
            elif key == "agent_id":
                value = item.get("agent_id")
            elif key in CALL_FIELDS:
                value = CALL_FIELDS[key](call)
            elif "." in key:
                prefix, _, name = key.partition(".")
                container = CUSTOM[prefix](item)
                value = container.get(name) if isinstance(container, Mapping) else None
                value = None if value is None else str(value)
            else:
                value = FIELDS[key](item)
            if isinstance(accepted, list):
                if value not in accepted:
                    return False
            else:
                if not isinstance(value, int | float) or isinstance(value, bool):
                    return False
                if "lower_threshold" in accepted and value < accepted["lower_threshold"]:
                    return False
                if "upper_threshold" in accepted and value > accepted["upper_threshold"]:
                    return False
        return True

    return matches
