"""Calls as JSON, exactly: the canonical `Call` to a JSON-able dict and back.

A store outside the process (Redis) and the state file (`--state`) keep calls in this form,
so a call read back must be equal to the call written: every field, nested ones too, with
ints staying ints, floats floats and key order kept (bodies render in that order). Decoding
is strict: a missing, unknown or mistyped field raises `CodecError` naming its path, so a
damaged record stops start-up (or fails one request) instead of rendering a wrong body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar, get_args

from sandbox.calls.model import (
    Agent,
    Analysis,
    Call,
    CallType,
    Contact,
    CostLine,
    Direction,
    LatencySeries,
    Role,
    Scenario,
    Sentiment,
    Source,
    ToolCall,
    Turn,
    Word,
)

T = TypeVar("T")


class CodecError(ValueError):
    """A record that is not a call this version of the sandbox wrote."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# -- encoding ----------------------------------------------------------------------------


def _word(word: Word) -> list[Any]:
    # Words are the bulk of a call: a compact [text, start, end] triple each.
    return [word.text, word.start_ms, word.end_ms]


def _turn(turn: Turn) -> dict[str, Any]:
    return {"role": turn.role, "text": turn.text, "words": [_word(w) for w in turn.words]}


def _tool_call(tool: ToolCall) -> dict[str, Any]:
    return {
        "id": tool.id,
        "name": tool.name,
        "arguments": dict(tool.arguments),
        "result": tool.result,
        "successful": tool.successful,
        "after_turn": tool.after_turn,
        "at_ms": tool.at_ms,
    }


def _analysis(analysis: Analysis | None) -> dict[str, Any] | None:
    if analysis is None:
        return None
    return {
        "summary": analysis.summary,
        "sentiment": analysis.sentiment,
        "successful": analysis.successful,
        "in_voicemail": analysis.in_voicemail,
        "custom": dict(analysis.custom),
    }


def _agent(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "version": agent.version,
        "topic": agent.topic,
        "phone_number": agent.phone_number,
        "language": agent.language,
        "webhook_url": agent.webhook_url,
        "vendor_ids": dict(agent.vendor_ids),
        "generates": agent.generates,
    }


def _contact(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "full_name": contact.full_name,
        "email": contact.email,
        "country": contact.country,
    }


def _same(value: Any) -> Any:
    return value


def _mapping(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


_ENCODE: Mapping[str, Callable[[Any], Any]] = {
    "id": _same,
    "tenant": _same,
    "source": _same,
    "agent": _agent,
    "call_type": _same,
    "direction": _same,
    "from_number": _same,
    "to_number": _same,
    "scenario": lambda s: s.value,
    "created_ms": _same,
    "start_ms": _same,
    "end_ms": _same,
    "scheduled_ms": _same,
    "disconnection_reason": _same,
    "turns": lambda turns: [_turn(t) for t in turns],
    "tool_calls": lambda tools: [_tool_call(t) for t in tools],
    "analysis": _analysis,
    "costs": lambda costs: [[c.product, c.unit_price, c.cost] for c in costs],
    "latency": lambda latency: {k: list(v.values) for k, v in latency.items()},
    "recording_url": _same,
    "contact": _contact,
    "campaign_id": _same,
    "telephony_sid": _same,
    "metadata": _mapping,
    "dynamic_variables": _mapping,
    "updated_ms": _same,
    "vendor_ids": _mapping,
    "vendor_overrides": lambda overrides: {k: dict(v) for k, v in overrides.items()},
    "origin": _same,
    "webhook_url": _same,
    "batch_call_id": _same,
}


def encode_call(call: Call) -> dict[str, Any]:
    """Every field of `call`, JSON-able. A field the codec does not know is a KeyError here
    (and in tests/calls/test_codec.py), never a field silently dropped."""
    return {f.name: _ENCODE[f.name](getattr(call, f.name)) for f in fields(Call)}


def dumps(call: Call) -> bytes:
    return json.dumps(encode_call(call), separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes | str, path: str = "call") -> Call:
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CodecError(path, f"not JSON ({exc})") from None
    return decode_call(raw, path)


# -- decoding ----------------------------------------------------------------------------


def _object(
    value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise CodecError(path, f"expected an object, got {type(value).__name__}")
    missing = [k for k in required if k not in value]
    unknown = [k for k in value if k not in required and k not in optional]
    if missing:
        raise CodecError(path, f"missing {', '.join(missing)}")
    if unknown:
        raise CodecError(path, f"unknown field {', '.join(map(str, unknown))}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise CodecError(path, f"expected an array, got {type(value).__name__}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise CodecError(path, f"expected a string, got {type(value).__name__}")
    return value


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CodecError(path, f"expected an integer, got {type(value).__name__}")
    return value


def _number(value: Any, path: str) -> float:
    # An int stays an int (a fixture may pin a whole number), so it renders as it was.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CodecError(path, f"expected a number, got {type(value).__name__}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise CodecError(path, f"expected true or false, got {type(value).__name__}")
    return value


def _optional(read: Callable[[Any, str], T]) -> Callable[[Any, str], T | None]:
    def reader(value: Any, path: str) -> T | None:
        return None if value is None else read(value, path)

    return reader


def _choice(allowed: tuple[str, ...]) -> Callable[[Any, str], Any]:
    def reader(value: Any, path: str) -> Any:
        if value not in allowed:
            raise CodecError(path, f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    return reader


def _dict(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CodecError(path, f"expected an object, got {type(value).__name__}")
    return value


def _str_dict(value: Any, path: str) -> dict[str, str]:
    for key, item in _dict(value, path).items():
        _str(item, f"{path}.{key}")
    return dict(value)


def _read_word(value: Any, path: str) -> Word:
    triple = _list(value, path)
    if len(triple) != 3:
        raise CodecError(path, "expected [text, start_ms, end_ms]")
    return Word(
        _str(triple[0], f"{path}[0]"), _int(triple[1], f"{path}[1]"), _int(triple[2], f"{path}[2]")
    )


def _read_turn(value: Any, path: str) -> Turn:
    raw = _object(value, path, ("role", "text", "words"))
    words = _list(raw["words"], f"{path}.words")
    return Turn(
        role=_choice(get_args(Role))(raw["role"], f"{path}.role"),
        text=_str(raw["text"], f"{path}.text"),
        words=tuple(_read_word(w, f"{path}.words[{i}]") for i, w in enumerate(words)),
    )


def _read_tool_call(value: Any, path: str) -> ToolCall:
    raw = _object(
        value, path, ("id", "name", "arguments", "result", "successful", "after_turn", "at_ms")
    )
    return ToolCall(
        id=_str(raw["id"], f"{path}.id"),
        name=_str(raw["name"], f"{path}.name"),
        arguments=_dict(raw["arguments"], f"{path}.arguments"),
        result=_str(raw["result"], f"{path}.result"),
        successful=_bool(raw["successful"], f"{path}.successful"),
        after_turn=_int(raw["after_turn"], f"{path}.after_turn"),
        at_ms=_int(raw["at_ms"], f"{path}.at_ms"),
    )


def _read_analysis(value: Any, path: str) -> Analysis:
    raw = _object(value, path, ("summary", "sentiment", "successful", "in_voicemail", "custom"))
    return Analysis(
        summary=_str(raw["summary"], f"{path}.summary"),
        sentiment=_choice(get_args(Sentiment))(raw["sentiment"], f"{path}.sentiment"),
        successful=_bool(raw["successful"], f"{path}.successful"),
        in_voicemail=_bool(raw["in_voicemail"], f"{path}.in_voicemail"),
        custom=_dict(raw["custom"], f"{path}.custom"),
    )


def _read_cost(value: Any, path: str) -> CostLine:
    triple = _list(value, path)
    if len(triple) != 3:
        raise CodecError(path, "expected [product, unit_price, cost]")
    return CostLine(
        _str(triple[0], f"{path}[0]"),
        _number(triple[1], f"{path}[1]"),
        _number(triple[2], f"{path}[2]"),
    )


def _read_latency(value: Any, path: str) -> dict[str, LatencySeries]:
    series: dict[str, LatencySeries] = {}
    for name, samples in _dict(value, path).items():
        where = f"{path}.{name}"
        items = _list(samples, where)
        series[name] = LatencySeries(
            tuple(_number(v, f"{where}[{i}]") for i, v in enumerate(items))
        )
    return series


def _read_agent(value: Any, path: str) -> Agent:
    raw = _object(
        value,
        path,
        (
            "id",
            "name",
            "version",
            "topic",
            "phone_number",
            "language",
            "webhook_url",
            "vendor_ids",
            "generates",
        ),
    )
    return Agent(
        id=_str(raw["id"], f"{path}.id"),
        name=_str(raw["name"], f"{path}.name"),
        version=_int(raw["version"], f"{path}.version"),
        topic=_str(raw["topic"], f"{path}.topic"),
        phone_number=_str(raw["phone_number"], f"{path}.phone_number"),
        language=_str(raw["language"], f"{path}.language"),
        webhook_url=_optional(_str)(raw["webhook_url"], f"{path}.webhook_url"),
        vendor_ids=_str_dict(raw["vendor_ids"], f"{path}.vendor_ids"),
        generates=_bool(raw["generates"], f"{path}.generates"),
    )


def _read_contact(value: Any, path: str) -> Contact:
    raw = _object(value, path, ("id", "full_name", "email", "country"))
    return Contact(**{k: _str(raw[k], f"{path}.{k}") for k in raw})


def _read_scenario(value: Any, path: str) -> Scenario:
    try:
        return Scenario(value)
    except ValueError:
        allowed = ", ".join(Scenario)
        raise CodecError(path, f"expected one of {allowed}, got {value!r}") from None


def _read_overrides(value: Any, path: str) -> dict[str, dict[str, Any]]:
    return {k: _dict(v, f"{path}.{k}") for k, v in _dict(value, path).items()}


def _many(read: Callable[[Any, str], T]) -> Callable[[Any, str], tuple[T, ...]]:
    def reader(value: Any, path: str) -> tuple[T, ...]:
        return tuple(read(item, f"{path}[{i}]") for i, item in enumerate(_list(value, path)))

    return reader


_DECODE: Mapping[str, Callable[[Any, str], Any]] = {
    "id": _str,
    "tenant": _str,
    "source": _choice(get_args(Source)),
    "agent": _read_agent,
    "call_type": _choice(get_args(CallType)),
    "direction": _choice(get_args(Direction)),
    "from_number": _str,
    "to_number": _str,
    "scenario": _read_scenario,
    "created_ms": _int,
    "start_ms": _optional(_int),
    "end_ms": _optional(_int),
    "scheduled_ms": _optional(_int),
    "disconnection_reason": _optional(_str),
    "turns": _many(_read_turn),
    "tool_calls": _many(_read_tool_call),
    "analysis": _optional(_read_analysis),
    "costs": _many(_read_cost),
    "latency": _read_latency,
    "recording_url": _optional(_str),
    "contact": _read_contact,
    "campaign_id": _optional(_str),
    "telephony_sid": _str,
    "metadata": _dict,
    "dynamic_variables": _str_dict,
    "updated_ms": _int,
    "vendor_ids": _str_dict,
    "vendor_overrides": _read_overrides,
    "origin": _optional(_str),
    "webhook_url": _optional(_str),
    "batch_call_id": _optional(_str),
}


def decode_call(value: Any, path: str = "call") -> Call:
    """The call `encode_call` made this from; CodecError (naming the path) otherwise.
    A field with a default may be absent (a record written before the field existed)."""
    every = fields(Call)
    required = tuple(f.name for f in every if f.default is MISSING and f.default_factory is MISSING)
    optional = tuple(f.name for f in every if f.name not in required)
    raw = _object(value, path, required, optional)
    return Call(**{name: _DECODE[name](raw[name], f"{path}.{name}") for name in raw})
