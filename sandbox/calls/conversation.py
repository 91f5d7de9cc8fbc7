"""The model of a call: a path through a dialogue pack, then what was said along it.

A connected call has a direction, an intent (one the pack allows in that direction), a path
(the greeting, the callee confirming who they are on an outbound call, how the need is stated,
the intent's steps with their optional and alternative branches, some small talk, a few of
the caller's further questions) and an ending: one of the intent's outcomes followed by the
closing of its sentiment, or the pack's transfer, which the agent announces before calling
the transfer tool. A voicemail is the machine's greeting and the agent's message, no dialogue.

The analysis is the ending's: the sentiment, success and summary the pack wrote for the
outcome the path reached, so a call that ends in a complaint reads negative to its last line.
Along the way the model weaves in what people do: a caller asks for a repeat, cuts the agent
off, or pauses before answering. Two lines of one speaker in a row are said as one turn, so
speakers alternate (the agent may speak again after a tool call, as it does on real calls).

Every draw comes from the call's own `draw` (its seeded generator), in a fixed order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sandbox.calls.model import Direction, Role
from sandbox.calls.packs import (
    Analysis,
    Draw,
    Either,
    Intent,
    Maybe,
    Pack,
    Say,
    Step,
    Tool,
    pick_line,
    say,
)

Kind = Literal["completed", "voicemail", "transferred"]
Gap = Literal["normal", "quick", "long", "hold"]
# How often the model weaves each thing in, and how many further questions a caller asks.
SMALL_TALK = 0.22
CLARIFY = 0.05  # after a long agent line
INTERRUPT = 0.04  # of a long agent line
HESITATE = 0.05  # before a caller's line
HOLD = 0.35  # of a tool call the agent announced (at most one hold a call)
QUESTIONS_MEAN = 8.0  # exponential, so most calls ask few and some many
TRANSFER_QUESTIONS_MEAN = 2.0  # before the caller wants a person
_LONG_LINE = 12  # words


@dataclass(frozen=True, slots=True)
class Said:
    role: Role
    text: str
    gap: Gap  # the pause before it: as usual, cut short (an interruption), long, or a hold


@dataclass(frozen=True, slots=True)
class Called:
    tool: Tool


@dataclass(frozen=True, slots=True)
class Conversation:
    intent: str
    outcome: str
    items: tuple[Said | Called, ...]
    analysis: Analysis
    ended_by: Literal["user", "agent", "transfer", "voicemail"]


def converse(
    pack: Pack, direction: Direction, kind: Kind, draw: Draw, slots: Mapping[str, str]
) -> Conversation:
    """One call's conversation, from its pack, direction and ending kind."""
    intent = pack.intent(direction, draw)
    if kind == "voicemail":
        message = intent.voicemail or pack.intents["outbound"][1][0].voicemail
        items: list[Said | Called] = [
            Said("user", say(pick_line(pack.voicemail_greeting.lines, draw), draw, slots), "normal")
        ]
        if message is not None:
            items.append(Said("agent", say(pick_line(message.lines, draw), draw, slots), "long"))
        return Conversation(intent.id, "voicemail", tuple(items), pack.voicemail, "voicemail")
    path = _Path(draw)
    path.add([pack.greeting[direction]])
    opening = intent.opening.get(direction) or next(iter(intent.opening.values()))
    if direction == "outbound":
        path.add([pack.confirm])
    else:
        # The caller says why they call before anything else.
        first = _flat(list(opening[:1]), draw)
        path.steps.extend(first)
        opening = opening[1:]
    if pack.verify:
        # Before anything changes on an account, the agent checks who it is talking to: the
        # first one to all of the pack's checks, in order.
        for check in pack.verify[: int(draw() * (len(pack.verify) + 1))]:
            path.add(check)
    path.add(opening)
    if pack.small_talk and draw() < SMALL_TALK and path.last == "agent":
        path.add(pack.small_talk[int(draw() * len(pack.small_talk))])
    if kind == "transferred":
        # Part of the way in, the caller wants a person (or the agent cannot help): the agent
        # says it is transferring, then transfers.
        before = _before_first_tool(intent.steps)
        path.add(before[: int(draw() * (len(before) + 1))])
        if path.last == "agent":
            path.add(_questions(intent, pack, draw, TRANSFER_QUESTIONS_MEAN))
        path.add(pack.transfer.steps)
        items = _said(path.steps, draw, slots, pack)
        return Conversation(
            intent.id, "transferred", tuple(items), pack.transfer.analysis, "transfer"
        )
    path.add(intent.steps)
    outcome = intent.outcome(draw)
    # The caller's further questions come when the agent has just spoken: before the outcome,
    # or once a good outcome is settled ("Great, thanks. And is there parking?").
    questions = _questions(intent, pack, draw)
    good = outcome.analysis.sentiment != "negative"
    # (Not while the agent waits for the answer the outcome starts with.)
    answers = (
        bool(outcome.steps)
        and isinstance(outcome.steps[0], Say)
        and outcome.steps[0].role == "user"
    )
    early = path.last == "agent" and not answers and (not good or draw() < 0.5)
    if early:
        path.add(questions)
    path.add(outcome.steps)
    if good and not early:
        path.add(questions)
    if outcome.analysis.successful:
        path.add(pack.recap)
    path.add(pack.closings.get(outcome.analysis.sentiment, ()))
    items = _said(path.steps, draw, slots, pack)
    return Conversation(intent.id, outcome.id, tuple(items), outcome.analysis, outcome.ended_by)


class _Path:
    """The steps a call takes, flattened as they are chosen (so the model knows who spoke
    last when it decides where the caller's questions fit)."""

    def __init__(self, draw: Draw) -> None:
        self.draw = draw
        self.steps: list[Say | Tool] = []

    def add(self, steps: Sequence[Step]) -> None:
        self.steps.extend(_flat(list(steps), self.draw))

    @property
    def last(self) -> Role | None:
        return next((s.role for s in reversed(self.steps) if isinstance(s, Say)), None)


def _before_first_tool(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    for position, step in enumerate(steps):
        if not isinstance(step, Say):
            return steps[:position]
    return steps


def _questions(intent: Intent, pack: Pack, draw: Draw, mean: float = 0.0) -> list[Step]:
    """A few of the caller's further questions, each asked once, in a random order."""
    pool = [*intent.questions, *pack.questions]
    count = min(int(-math.log(1.0 - draw()) * (mean or QUESTIONS_MEAN)), len(pool))
    chosen: list[Step] = []
    for taken in range(count):
        at = taken + int(draw() * (len(pool) - taken))
        pool[taken], pool[at] = pool[at], pool[taken]
        chosen.extend(pool[taken])
    return chosen


def _flat(steps: list[Step], draw: Draw) -> list[Say | Tool]:
    out: list[Say | Tool] = []
    pending = list(reversed(steps))
    while pending:
        step = pending.pop()
        if isinstance(step, Maybe):
            if draw() < step.p:
                pending.extend(reversed(step.steps))
        elif isinstance(step, Either):
            pending.extend(reversed(step.pick(draw)))
        else:
            out.append(step)
    return out


def _said(
    flat: list[Say | Tool], draw: Draw, slots: Mapping[str, str], pack: Pack
) -> list[Said | Called]:
    inter = pack.interjections
    items: list[Said | Called] = []
    spoke = -1  # the index in items of the last line said
    held = False
    back = ""  # what the agent says first after a hold

    def add(role: Role, text: str, gap: Gap = "normal") -> None:
        nonlocal spoke
        last = items[spoke] if spoke >= 0 else None
        # One speaker, one turn: a caller who goes on speaking while the agent looks something
        # up goes on in the same turn; an agent may speak again after a tool call.
        if (
            isinstance(last, Said)
            and last.role == role
            and (role == "user" or spoke == len(items) - 1)
        ):
            items[spoke] = Said(role, f"{last.text} {text}", last.gap)
        else:
            items.append(Said(role, text, gap))
            spoke = len(items) - 1

    def line(said: Say) -> str:
        return say(pick_line(said.lines, draw), draw, slots)

    for position, step in enumerate(flat):
        if isinstance(step, Tool):
            last = items[spoke] if spoke >= 0 else None
            if (
                not held
                and position < len(flat) - 1  # (never before the transfer that ends a call)
                and isinstance(last, Said)
                and last.role == "agent"
                and spoke == len(items) - 1
                and draw() < HOLD
            ):
                # The agent asks the caller to hold while the tool (and a colleague) work.
                held = True
                add("agent", line(inter.hold))
                add("user", line(inter.hold_ok))
                back = line(inter.hold_back)
            items.append(Called(step))
            continue
        text = line(step)
        if back:
            if step.role == "agent":
                add("agent", f"{back} {text}", "hold")
            else:
                add("agent", back, "hold")
                add("user", text)
            back = ""
            continue
        following = flat[position + 1] if position + 1 < len(flat) else None
        answered = isinstance(following, Say) and following.role == "user"
        if step.role == "user":
            last = items[-1] if items else None
            if isinstance(last, Said) and last.role == "agent" and draw() < HESITATE:
                add("user", f"{line(inter.hesitate)} {text}", "long")
            else:
                add("user", text)
            continue
        words = text.split()
        if position > 1 and answered and len(words) >= _LONG_LINE and draw() < INTERRUPT:
            cut = 3 + int(draw() * (len(words) // 2 - 2))
            add("agent", " ".join(words[:cut]) + "—")
            add("user", line(inter.interrupt), "quick")
            add("agent", f"{line(inter.resume)} {text}")
        elif answered and len(words) >= _LONG_LINE - 2 and draw() < CLARIFY:
            add("agent", text)
            add("user", line(inter.clarify))
            add("agent", f"{line(inter.repeat)} {text}")
        else:
            add("agent", text)
    return items
