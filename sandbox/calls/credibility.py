"""Would a QA team believe these calls? The properties generated calls must keep.

Teams test ingestion, dashboards, QA scoring and escalation rules on the sandbox's calls, so
the calls must read like real ones: dial outcomes and voicemail only on calls the agent
placed, outbound calls opening on the callee's name, speakers alternating, a voicemail being a
greeting and a message, a transfer announced last, an analysis that agrees with the last
thing the customer said, realistic lengths, and enough variety that masked customer lines do
not repeat. `Observed` is what a client can read of a call (from the canonical call, or from
any vendor's body), so the project's tests check the same rules through every vendor's API
and `call-sandbox check` checks them over a sample of every tenant.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sandbox.calls.model import Call, Role, Scenario

# Scenarios only a call the agent placed can end in.
AGENT_DIALLED = frozenset({"voicemail", "no-answer", "busy", "failed"})
LONGEST_S = 15 * 60
SHORTEST_S = 15  # a connected conversation (not a voicemail or a transfer)
MEDIAN_S = (60, 180)
LONG_S = 5 * 60
SHAPES_PER_1000 = 300  # distinct masked customer lines among a thousand
_GRATITUDE = ("thank", "appreciate", "gracias")
_DISCONTENT = (
    "frustrat",
    "ridiculous",
    "annoy",
    "unacceptable",
    "rip-off",
    "fed up",
    "not happy",
    "disappoint",
    "stop calling",
    "don't call",
    "molest",
    "frustrante",
    "desastre",
    "pesados",
)
_WORD = re.compile(r"[\w'-]+")


@dataclass(frozen=True, slots=True)
class Observed:
    """A call as a client reads it. `tool_after` holds the turn indices a tool call follows
    (None when the vendor does not show tool calls)."""

    ref: str
    direction: str
    outcome: str  # the ended scenario's value
    callee: str  # the customer's first name
    turns: tuple[tuple[Role, str], ...]
    sentiment: str | None
    successful: bool | None
    summary: str | None
    duration_s: float
    tool_after: frozenset[int] | None = None
    transferred_last: bool | None = None  # the last tool call is a transfer, after every turn


def observed(call: Call) -> Observed:
    """What any client can read of an ended call, from the canonical call."""
    analysis = call.analysis
    tools = call.tool_calls
    return Observed(
        ref=call.id,
        direction=call.direction,
        outcome=call.scenario.value,
        callee=call.contact.full_name.split(" ")[0],
        turns=tuple((t.role, t.text) for t in call.turns),
        sentiment=analysis.sentiment if analysis else None,
        successful=analysis.successful if analysis else None,
        summary=analysis.summary if analysis else None,
        duration_s=(call.duration_ms or 0) / 1000,
        tool_after=frozenset(t.after_turn for t in tools),
        transferred_last=bool(tools)
        and "transfer" in tools[-1].name
        and tools[-1].after_turn == len(call.turns) - 1,
    )


def problems(call: Observed) -> list[str]:
    """What in one ended call a QA team would not believe (empty: nothing)."""
    found: list[str] = []

    def bad(what: str) -> None:
        found.append(f"{call.ref}: {what}")

    if call.outcome in AGENT_DIALLED and call.direction != "outbound":
        bad(f"{call.outcome} on an {call.direction} call: only a call the agent placed can")
    connected = call.outcome in ("completed", "voicemail", "transferred")
    if not connected:
        if call.turns:
            bad(f"{call.outcome} but {len(call.turns)} turns were said")
        return found
    turns = call.turns
    if not turns:
        bad("connected but nothing was said")
        return found
    if call.duration_s > LONGEST_S:
        bad(f"lasts {call.duration_s:.0f} s, more than {LONGEST_S}")
    if call.summary is not None and call.callee not in call.summary:
        bad(f"the summary does not name the customer {call.callee}: {call.summary!r}")
    if call.outcome == "voicemail":
        if [role for role, _ in turns] != ["user", "agent"]:
            bad(f"a voicemail is a greeting and a message, not {[r for r, _ in turns]}")
        elif call.callee not in turns[1][1]:
            bad(f"the voicemail message does not address {call.callee}")
        return found
    if call.duration_s < SHORTEST_S:
        bad(f"a conversation of {call.duration_s:.0f} s")
    first_role, first = turns[0]
    if first_role != "agent":
        bad("the customer speaks first")
    elif call.direction == "outbound" and call.callee not in first:
        bad(f"an outbound call that does not open by asking for {call.callee}: {first!r}")
    elif call.direction == "inbound" and call.callee in first:
        bad(f"an inbound greeting that knows the caller's name already: {first!r}")
    for index in range(1, len(turns)):
        role, previous = turns[index][0], turns[index - 1][0]
        if role != previous:
            continue
        if role == "user":
            bad(f"turns {index - 1} and {index}: two customer turns in a row")
        elif call.tool_after is not None and index - 1 not in call.tool_after:
            bad(f"turns {index - 1} and {index}: two agent turns with no tool call between")
    if call.outcome == "transferred":
        if turns[-1][0] != "agent":
            bad("a transfer the agent does not announce last")
        if call.transferred_last is False:
            bad("a transferred call whose last tool call is not the transfer")
    last_user = next((text.lower() for role, text in reversed(turns) if role == "user"), "")
    if call.sentiment == "negative" and any(w in last_user for w in _GRATITUDE):
        bad(f"negative, but the customer's last words thank the agent: {last_user!r}")
    if call.sentiment == "positive" and any(w in last_user for w in _DISCONTENT):
        bad(f"positive, but the customer's last words complain: {last_user!r}")
    if call.successful and call.sentiment == "negative":
        bad("successful, yet negative")
    return found


def mask(text: str, names: frozenset[str]) -> str:
    """A line's shape: names and numbers masked, case and punctuation ignored."""
    shaped = []
    for word in _WORD.findall(text):
        if any(c.isdigit() for c in word):
            shaped.append("#")
        elif word in names or word.removesuffix("'s") in names:
            shaped.append("@")
        else:
            shaped.append(word.lower())
    return " ".join(shaped)


def sample_problems(calls: Sequence[Observed], names: Iterable[str]) -> list[str]:
    """Every call's problems, then the sample's: lengths and variety (checked once the sample
    is large enough to say)."""
    found = [p for call in calls for p in problems(call)]
    talks = [c for c in calls if c.outcome == "completed"]
    if len(talks) >= 100:
        durations = sorted(c.duration_s for c in talks)
        median = statistics.median(durations)
        low, high = MEDIAN_S
        if not low <= median <= high:
            found.append(f"the median conversation lasts {median:.0f} s, not {low} to {high}")
        if len(talks) >= 400 and durations[-1] <= LONG_S:
            found.append(f"no conversation of {len(talks)} lasts more than {LONG_S} s")
        directions = {c.direction for c in talks}
        if directions != {"inbound", "outbound"}:
            found.append(f"conversations only go {sorted(directions)}")
    known = frozenset(names)
    lines = [text for c in talks for role, text in c.turns if role == "user"][:1000]
    if len(lines) >= 1000:
        shapes = len({mask(line, known) for line in lines})
        if shapes < SHAPES_PER_1000:
            found.append(
                f"1,000 customer lines show {shapes} shapes once names and numbers are masked, "
                f"fewer than {SHAPES_PER_1000}"
            )
    return found


def ended(calls: Iterable[Call]) -> list[Observed]:
    """The ended calls of `calls`, as clients read them."""
    return [observed(c) for c in calls if c.scenario.ended and c.scenario is not Scenario.QUEUED]
