"""ContactShip's transcript fields and the four query flags that shape them.

The docs name the flags and say what each adds; the entry shapes are not documented. ContactShip
runs on Retell (its `disconnection_reason` and analysis keys are Retell's), so `words` and the
entries of `chat_history_with_tools` take the shapes of Retell's `transcript_object` and
`transcript_with_tool_calls`, with word times in seconds of call audio.

With `transcript_format=toon` each transcript field is replaced by the string
`toon_format.encode(<the JSON array>)`, so decoding it gives back the JSON answer to the same
request. TOON does not keep the int/float distinction (1.0 decodes as 1), so a whole-second
time is sent as an int: exactly what ContactShip's Node stack sends, since JSON.stringify(1.0)
is "1".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.calls.model import Call, Turn
from sandbox.calls.rendering import weave_tool_calls
from sandbox.dialect.vendor import Param, Query
from sandbox.http import params

Format = Literal["json", "toon"]
FORMATS: tuple[Format, ...] = ("json", "toon")
# The four flags as query parameters; booleans are exactly `true` or `false`.
FLAG_PARAMS: tuple[Param, ...] = (
    Param(
        "include_transcript",
        {"type": "boolean"},
        description="chat_history; true by default for one call, false for lists",
    ),
    Param(
        "include_words",
        {"type": "boolean", "default": False},
        description="per-word timings, only with include_transcript=true",
    ),
    Param("include_tools", {"type": "boolean", "default": False}),
    Param("transcript_format", {"enum": ["json", "toon"], "default": "json"}),
)
FLAG_NAMES = tuple(p.name for p in FLAG_PARAMS)
TRANSCRIPT_KEYS = ("chat_history", "chat_history_with_tools", "transcript_format")


@dataclass(frozen=True, slots=True)
class Flags:
    """What a request asks of the transcript fields."""

    transcript: bool = True
    words: bool = False
    tools: bool = False
    format: Format = "json"

    @property
    def any_transcript(self) -> bool:
        return self.transcript or self.tools

    @property
    def with_words(self) -> bool:
        # The docs: include_words "only applies when include_transcript=true". It then applies
        # to every utterance sent, those inside chat_history_with_tools included.
        return self.transcript and self.words


def read_flags(query: Query, *, transcript_default: bool) -> Flags:
    """The four flags of a request; get-call includes the transcript by default, lists not."""
    chosen = params.choice(query, "transcript_format", "json", FORMATS)
    return Flags(
        transcript=params.boolean(query, "include_transcript", transcript_default),
        words=params.boolean(query, "include_words", False),
        tools=params.boolean(query, "include_tools", False),
        format="toon" if chosen == "toon" else "json",
    )


def seconds(ms: int) -> int | float:
    """Ms of call audio as seconds; whole seconds as ints, which TOON and JSON.stringify keep."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def utterance(turn: Turn, *, words: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": turn.role, "content": turn.text}
    if words:
        entry["words"] = [
            {"word": w.text, "start": seconds(w.start_ms), "end": seconds(w.end_ms)}
            for w in turn.words
        ]
    return entry


def chat_history(call: Call, flags: Flags) -> list[dict[str, Any]]:
    return [utterance(t, words=flags.with_words) for t in call.turns]


def with_tools(call: Call, flags: Flags) -> list[dict[str, Any]]:
    """Utterances with each tool invocation and its result after the turn it followed."""
    return weave_tool_calls(call, [utterance(t, words=flags.with_words) for t in call.turns])


def _formatted(entries: list[dict[str, Any]], fmt: Format) -> list[dict[str, Any]] | str:
    if fmt == "json":
        return entries
    import toon_format  # (when a client first asks for TOON)

    encoded: str = toon_format.encode(entries)
    return encoded


def transcript_fields(call: Call, flags: Flags) -> Mapping[str, Any]:
    """The transcript fields a request asked for; `transcript_format` only beside one of them."""
    fields: dict[str, Any] = {}
    if flags.transcript:
        fields["chat_history"] = _formatted(chat_history(call, flags), flags.format)
    if flags.tools:
        fields["chat_history_with_tools"] = _formatted(with_tools(call, flags), flags.format)
    if fields:
        fields["transcript_format"] = flags.format
    return fields
