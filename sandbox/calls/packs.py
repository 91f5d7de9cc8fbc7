"""Dialogue packs: what generated calls say, as data (`fixtures/dialogues/*.yaml`).

A pack serves one or more agent topics in one language. It holds the intents a caller or
callee may have, each with the steps of its conversation and the outcomes it can end in (each
with the analysis that outcome reads as), plus the pack-wide parts every call shares: the
greetings per direction, small talk, extra questions, closings per sentiment, the transfer and
the voicemail greeting. `sandbox.calls.conversation` walks a pack into one call's path.

Packs are compiled once per process when the fixtures load: every line becomes a tuple of
parts (text, or a tuple of alternatives written `[a|b|c]`; `<name>` stands for the pack's
phrase `name`), so a call only picks and joins, with no parsing. Slots in braces (`{caller}`)
are the call's own values (`generator.slots`), filled with `str.format_map`.
"""

from __future__ import annotations

import json
import re
from bisect import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Literal

from sandbox.calls.model import Direction, Role, Sentiment

Part = str | tuple[str, ...]
Line = tuple[Part, ...]
Draw = Callable[[], float]
DIRECTIONS: tuple[Direction, ...] = ("inbound", "outbound")
EndedBy = Literal["user", "agent"]


class PackError(ValueError):
    """A pack is inconsistent in a way its schema cannot say (the message says where)."""


@dataclass(frozen=True, slots=True)
class Say:
    role: Role
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the agent calls after the preceding line; arguments and result are
    templates (strings with slots, or plain JSON values) and the result is sent compact."""

    name: str
    arguments: Mapping[str, Any]
    result: Mapping[str, Any]
    successful: bool


@dataclass(frozen=True, slots=True)
class Maybe:
    """Steps said on some calls only (probability `p`)."""

    p: float
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Either:
    """One of several branches, by weight."""

    weights: tuple[float, ...]  # cumulative
    branches: tuple[tuple[Step, ...], ...]

    def pick(self, draw: Draw) -> tuple[Step, ...]:
        return self.branches[bisect(self.weights, draw() * self.weights[-1])]


Step = Say | Tool | Maybe | Either


@dataclass(frozen=True, slots=True)
class Analysis:
    """What an ending reads as; summary and custom values are templates."""

    sentiment: Sentiment
    successful: bool
    summary: tuple[Line, ...]
    custom: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    steps: tuple[Step, ...]
    analysis: Analysis
    ended_by: EndedBy


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    directions: frozenset[Direction]
    opening: Mapping[Direction, tuple[Step, ...]]  # how the need is stated, per direction
    steps: tuple[Step, ...]
    questions: tuple[tuple[Step, ...], ...]
    outcome_weights: tuple[float, ...]  # cumulative
    outcomes: tuple[Outcome, ...]
    voicemail: Say | None  # the message an agent leaves (outbound intents)

    def outcome(self, draw: Draw) -> Outcome:
        return self.outcomes[bisect(self.outcome_weights, draw() * self.outcome_weights[-1])]


@dataclass(frozen=True, slots=True)
class Transfer:
    steps: tuple[Step, ...]
    analysis: Analysis


@dataclass(frozen=True, slots=True)
class Interjections:
    """Lines the conversation model weaves in: a caller asking for a repeat, cutting in, or
    pausing, and how the agent picks up; the agent putting the caller on hold."""

    clarify: Say
    repeat: Say
    interrupt: Say
    resume: Say
    hesitate: Say
    hold: Say  # the agent asks the caller to hold
    hold_ok: Say
    hold_back: Say  # the agent is back


@dataclass(frozen=True, slots=True)
class Pack:
    id: str
    language: str
    topics: tuple[str, ...]
    greeting: Mapping[Direction, Say]
    confirm: Say  # the callee says who they are (outbound)
    intents: Mapping[Direction, tuple[tuple[float, ...], tuple[Intent, ...]]]
    verify: tuple[tuple[Step, ...], ...]  # identity checks, some said early in a call
    recap: tuple[Step, ...]  # after a successful outcome
    small_talk: tuple[tuple[Step, ...], ...]
    questions: tuple[tuple[Step, ...], ...]
    closings: Mapping[Sentiment, tuple[Step, ...]]
    transfer: Transfer
    voicemail_greeting: Say  # the machine's, said as the callee
    voicemail: Analysis
    interjections: Interjections
    # The pack's own slots: (name, values), one value drawn per call, so what is said and
    # what a tool is sent agree (a plan, a product).
    slots: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def intent(self, direction: Direction, draw: Draw) -> Intent:
        weights, intents = self.intents[direction]
        return intents[bisect(weights, draw() * weights[-1])]


# --- compiling -------------------------------------------------------------------------------

_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")
_PHRASE = re.compile(r"<([a-z_][a-z0-9_]*)>")


class _Compiler:
    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.where = where
        self.phrases: Mapping[str, Sequence[str]] = raw.get("phrases", {})

    def line(self, text: str, where: str) -> Line:
        def phrase(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.phrases:
                raise PackError(f"{self.where}: {where}: no phrase <{name}> in phrases")
            return "[" + "|".join(self.phrases[name]) + "]"

        expanded = _PHRASE.sub(phrase, text)
        parts: list[Part] = []
        cursor = 0
        for match in _ALTERNATIVES.finditer(expanded):
            if match.start() > cursor:
                parts.append(expanded[cursor : match.start()])
            parts.append(tuple(match.group(1).split("|")))
            cursor = match.end()
        if cursor < len(expanded):
            parts.append(expanded[cursor:])
        if any("[" in p or "]" in p for p in parts if isinstance(p, str)):
            raise PackError(f"{self.where}: {where}: unbalanced [ ] in {text!r}")
        return tuple(parts)

    def say(self, role: Role, raw: str | Sequence[str], where: str) -> Say:
        lines = [raw] if isinstance(raw, str) else list(raw)
        return Say(role, tuple(self.line(t, f"{where}.{i}") for i, t in enumerate(lines)))

    def steps(self, raw: Iterable[Mapping[str, Any]], where: str) -> tuple[Step, ...]:
        return tuple(self.step(s, f"{where}.{i}") for i, s in enumerate(raw))

    def step(self, raw: Mapping[str, Any], where: str) -> Step:
        if "agent" in raw:
            return self.say("agent", raw["agent"], f"{where}.agent")
        if "user" in raw:
            return self.say("user", raw["user"], f"{where}.user")
        if "tool" in raw:
            tool = raw["tool"]
            return Tool(
                name=tool["name"],
                arguments=tool.get("arguments", {}),
                result=tool.get("result", {}),
                successful=tool.get("successful", True),
            )
        if "maybe" in raw:
            maybe = raw["maybe"]
            return Maybe(maybe.get("p", 0.5), self.steps(maybe["steps"], f"{where}.maybe"))
        branches = raw["either"]
        return Either(
            tuple(accumulate(b.get("weight", 1) for b in branches)),
            tuple(self.steps(b["steps"], f"{where}.either.{i}") for i, b in enumerate(branches)),
        )

    def exchanges(self, raw: Iterable[Sequence[Any]], where: str) -> tuple[tuple[Step, ...], ...]:
        return tuple(self.steps(e, f"{where}.{i}") for i, e in enumerate(raw))

    def analysis(self, raw: Mapping[str, Any], where: str) -> Analysis:
        summary = raw["summary"]
        return Analysis(
            sentiment=raw["sentiment"],
            successful=raw["successful"],
            summary=self.say("agent", summary, f"{where}.summary").lines,
            custom=raw.get("custom", {}),
        )

    def intent(self, raw: Mapping[str, Any], where: str) -> Intent:
        directions = frozenset(raw.get("directions", DIRECTIONS))
        opening = {d: self.steps(raw[d], f"{where}.{d}") for d in DIRECTIONS if d in directions}
        for direction in directions:
            if direction not in raw:
                raise PackError(f"{self.where}: {where}: says {direction} but has no {direction}:")
        if "outbound" in directions and "voicemail" not in raw:
            raise PackError(f"{self.where}: {where}: an outbound intent needs its voicemail:")
        outcomes = tuple(
            Outcome(
                id=o["id"],
                steps=self.steps(o.get("steps", ()), f"{where}.outcomes.{i}.steps"),
                analysis=self.analysis(o["analysis"], f"{where}.outcomes.{i}.analysis"),
                ended_by=o.get("ended_by", "agent"),
            )
            for i, o in enumerate(raw["outcomes"])
        )
        return Intent(
            id=raw["id"],
            directions=directions,
            opening=opening,
            steps=self.steps(raw.get("steps", ()), f"{where}.steps"),
            questions=self.exchanges(raw.get("questions", ()), f"{where}.questions"),
            outcome_weights=tuple(accumulate(o.get("weight", 1) for o in raw["outcomes"])),
            outcomes=outcomes,
            voicemail=self.say("agent", raw["voicemail"], f"{where}.voicemail")
            if "voicemail" in raw
            else None,
        )


def compile_pack(raw: Mapping[str, Any], where: str) -> Pack:
    """A pack from its validated YAML document; PackError if it cannot make a sound call."""
    c = _Compiler(raw, where)
    intents = [c.intent(r, f"intents.{i}") for i, r in enumerate(raw["intents"])]
    weights = [r.get("weight", 1) for r in raw["intents"]]
    by_direction: dict[Direction, tuple[tuple[float, ...], tuple[Intent, ...]]] = {}
    for direction in DIRECTIONS:
        chosen = [
            (w, i) for w, i in zip(weights, intents, strict=True) if direction in i.directions
        ]
        if not chosen:
            raise PackError(f"{where}: intents: give at least one intent direction {direction}")
        by_direction[direction] = (
            tuple(accumulate(w for w, _ in chosen)),
            tuple(i for _, i in chosen),
        )
    transfer = raw["transfer"]
    transfer_steps = c.steps(transfer["steps"], "transfer.steps")
    # A transfer is announced before it happens: the agent says so, then calls the tool.
    if (
        len(transfer_steps) < 2
        or not isinstance(transfer_steps[-1], Tool)
        or not isinstance(transfer_steps[-2], Say)
        or transfer_steps[-2].role != "agent"
    ):
        raise PackError(f"{where}: transfer.steps: end with an agent line, then the transfer tool")
    closings = raw["closings"]
    inter = raw["interjections"]
    return Pack(
        id=raw["id"],
        language=raw.get("language", "en-US"),
        topics=tuple(raw["topics"]),
        greeting={d: c.say("agent", raw["greeting"][d], f"greeting.{d}") for d in DIRECTIONS},
        confirm=c.say("user", raw["greeting"]["confirm"], "greeting.confirm"),
        intents=by_direction,
        verify=c.exchanges(raw.get("verify", ()), "verify"),
        recap=c.steps(raw.get("recap", ()), "recap"),
        small_talk=c.exchanges(raw.get("small_talk", ()), "small_talk"),
        questions=c.exchanges(raw.get("questions", ()), "questions"),
        closings={s: c.steps(closings[s], f"closings.{s}") for s in closings},
        transfer=Transfer(transfer_steps, c.analysis(transfer["analysis"], "transfer.analysis")),
        voicemail_greeting=c.say("user", raw["voicemail"]["greeting"], "voicemail.greeting"),
        voicemail=c.analysis(raw["voicemail"]["analysis"], "voicemail.analysis"),
        interjections=Interjections(
            clarify=c.say("user", inter["clarify"], "interjections.clarify"),
            repeat=c.say("agent", inter["repeat"], "interjections.repeat"),
            interrupt=c.say("user", inter["interrupt"], "interjections.interrupt"),
            resume=c.say("agent", inter["resume"], "interjections.resume"),
            hesitate=c.say("user", inter["hesitate"], "interjections.hesitate"),
            hold=c.say("agent", inter["hold"], "interjections.hold"),
            hold_ok=c.say("user", inter["hold_ok"], "interjections.hold_ok"),
            hold_back=c.say("agent", inter["hold_back"], "interjections.hold_back"),
        ),
        slots=tuple((name, tuple(values)) for name, values in raw.get("slots", {}).items()),
    )


# --- saying ----------------------------------------------------------------------------------


def say(line: Line, draw: Draw, slots: Mapping[str, str]) -> str:
    """One rendering of `line`: an alternative picked in each choice, slots filled, spaces
    tidied (an empty alternative leaves none behind)."""
    text = "".join(p if isinstance(p, str) else p[int(draw() * len(p))] for p in line)
    return " ".join(text.format_map(slots).split())


def pick_line(lines: tuple[Line, ...], draw: Draw) -> Line:
    return lines[int(draw() * len(lines))]


def filled(template: Any, slots: Mapping[str, str]) -> Any:
    """A tool's arguments or result with its slots filled (strings only; other JSON as is)."""
    if isinstance(template, str):
        return template.format_map(slots)
    if isinstance(template, Mapping):
        return {k: filled(v, slots) for k, v in template.items()}
    if isinstance(template, list):
        return [filled(v, slots) for v in template]
    return template


def compact(value: Any) -> str:
    """JSON as a tool result is sent (as Retell shows it): no spaces, text as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def pack_for(topic: str, language: str, packs: Iterable[Pack]) -> Pack | None:
    """The pack an agent's calls use: the first serving its topic in its language (or, failing
    that, in the same language of another region: es-MX talks like es-ES)."""
    serving = [p for p in packs if topic in p.topics]
    exact = next((p for p in serving if p.language == language), None)
    if exact is not None:
        return exact
    primary = language.split("-")[0]
    return next((p for p in serving if p.language.split("-")[0] == primary), None)
