"""A call's life on the sandbox clock: what a planned call looks like at a given instant.

Every call in the store is a plan: the whole call with its outcome, its start and end, its
transcript. `observe(plan, now)` is what a client sees at `now`, so a GET, a list and a webhook
at the same instant can never disagree:

    created ──▶ queued/scheduled ──dial──▶ (ringing) ──answer──▶ in progress ──▶ ended ──▶ analysed

Calls that never connect (no answer, busy, failed) stay queued while they ring and then end
with their outcome; connected calls are in progress between start and end, with what has been
said so far; analysis arrives ANALYSIS_DELAY_MS after the end, as Retell's `call_analyzed`
follows `call_ended`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sandbox.calls.fixtures import OutcomeRule
from sandbox.calls.model import Call, Scenario
from sandbox.errors import InvalidRequest

# How long post-call analysis takes after a call ends (Retell sends call_analyzed separately,
# after call_ended; the delay is the sandbox's choice).
ANALYSIS_DELAY_MS = 10_000

Event = Literal["call_started", "call_ended", "call_analyzed"]

# The sandbox's own bookkeeping about a call's life, kept in its `vendor_overrides` under this
# key (no vendor renders it): by when a registered call must be joined (`join_by_ms`), and
# when a client asked for its analysis again (`reanalysed_ms`).
LIFECYCLE_KEY = "_lifecycle"


def bookkeeping(plan: Call) -> Mapping[str, Any]:
    return plan.vendor_overrides.get(LIFECYCLE_KEY) or {}


def reanalysed(plan: Call) -> tuple[int, ...]:
    """The instants a client asked for this call's analysis again, in order."""
    return tuple(int(at) for at in bookkeeping(plan).get("reanalysed_ms", ()))


def observe(plan: Call, now: int) -> Call:
    """`plan` as a client sees it at `now`."""
    if plan.scenario.live or plan.start_ms is None or plan.end_ms is None:
        # Pinned as it is, or a call with no future (a cancelled schedule): it stays put.
        if plan.source == "pinned" or plan.start_ms is None:
            return plan
        return _before_end(plan, plan.scenario, start=None, updated=plan.updated_ms)
    settled = plan.end_ms + ANALYSIS_DELAY_MS if plan.scenario.connected else plan.end_ms
    if now >= settled:
        # `updated_ms` is the last client edit; a call also changed when it last moved on.
        # Pinned calls keep the instants their documentation example shows.
        if plan.updated_ms >= settled or plan.source == "pinned":
            return plan
        return replace(plan, updated_ms=settled)
    connected = plan.scenario.connected
    if now < plan.start_ms or (not connected and now < plan.end_ms):
        waiting = plan.scheduled_ms is not None and now < plan.scheduled_ms
        stage = Scenario.SCHEDULED if waiting else Scenario.QUEUED
        return _before_end(plan, stage, start=None, updated=plan.updated_ms)
    if now < plan.end_ms:
        elapsed = now - plan.start_ms
        turns = tuple(t for t in plan.turns if t.end_ms <= elapsed)
        tools = tuple(t for t in plan.tool_calls if t.at_ms <= elapsed)
        said = replace(plan, turns=turns, tool_calls=tools)
        latest = max([plan.start_ms, *(plan.start_ms + t.end_ms for t in turns)])
        updated = max(plan.updated_ms, latest)
        return _before_end(said, Scenario.IN_PROGRESS, start=plan.start_ms, updated=updated)
    # Ended; the analysis is still running.
    return replace(plan, analysis=None, updated_ms=max(plan.updated_ms, plan.end_ms))


Phase = tuple[str | int, ...]
# Each scenario's (live, connected), read once per request by `phase`: one lookup where the
# two properties would be two.
_NATURE: Mapping[Scenario, tuple[bool, bool]] = {s: (s.live, s.connected) for s in Scenario}


def phase(plan: Call, now: int) -> Phase:
    """Where `plan` stands at `now`, as far as `observe` can tell: two instants in the same
    phase observe the same call, so a body rendered from a call can be reused for as long as
    its plan and its phase stay the same. Each phase is one stretch of time, and they follow
    each other in the order of the call's life."""
    live, connected = _NATURE[plan.scenario]
    if live or plan.start_ms is None or plan.end_ms is None:
        return ("fixed",)
    settled = plan.end_ms + ANALYSIS_DELAY_MS if connected else plan.end_ms
    if now >= settled:
        return ("settled",)
    if now < plan.start_ms or (not connected and now < plan.end_ms):
        waiting = plan.scheduled_ms is not None and now < plan.scheduled_ms
        return ("scheduled",) if waiting else ("queued",)
    if now < plan.end_ms:
        # What has been said so far: the turns and tool calls that have happened grow with
        # time, so how many there are says which they are.
        elapsed = now - plan.start_ms
        turns = sum(1 for t in plan.turns if t.end_ms <= elapsed)
        tools = sum(1 for t in plan.tool_calls if t.at_ms <= elapsed)
        return ("talking", turns, tools)
    return ("analysing",)


def _before_end(plan: Call, stage: Scenario, *, start: int | None, updated: int) -> Call:
    return replace(
        plan,
        scenario=stage,
        start_ms=start,
        end_ms=None,
        disconnection_reason=None,
        turns=plan.turns if start is not None else (),
        tool_calls=plan.tool_calls if start is not None else (),
        analysis=None,
        costs=(),
        latency={},
        recording_url=None,
        updated_ms=updated,
    )


@dataclass(frozen=True, slots=True)
class Transition:
    event: Event
    at_ms: int


def transitions(plan: Call, after: int, until: int) -> Iterator[Transition]:
    """The lifecycle events of `plan` in the window (after, until], in order.

    `call_started` only when the call connects (Retell does not send it for calls that never
    connect), `call_ended` for every call that ends, `call_analyzed` for connected calls.
    """
    if plan.scenario.live or plan.start_ms is None or plan.end_ms is None:
        return
    moments: list[tuple[Event, int]] = []
    if plan.scenario.connected:
        moments.append(("call_started", plan.start_ms))
    moments.append(("call_ended", plan.end_ms))
    if plan.scenario.connected:
        moments.append(("call_analyzed", plan.end_ms + ANALYSIS_DELAY_MS))
        # An analysis run again is sent again, once it is ready.
        moments += [("call_analyzed", at + ANALYSIS_DELAY_MS) for at in reanalysed(plan)]
    for event, at in moments:
        if after < at <= until:
            yield Transition(event, at)


OUTCOMES: tuple[Scenario, ...] = tuple(s for s in Scenario if s.ended)
METADATA_KEY = "sandbox_scenario"


def asked_outcome(request: Call, prefer: Mapping[str, str]) -> Scenario | None:
    """The outcome the client asked for: `Prefer: scenario=busy`, else the call's metadata
    `sandbox_scenario`, else None."""
    for source, value in (
        ("header.Prefer", prefer.get("scenario")),
        (f"metadata.{METADATA_KEY}", _metadata_scenario(request)),
    ):
        if value is not None:
            try:
                chosen = Scenario(value)
            except ValueError:
                chosen = None
            if chosen is None or chosen.live:
                allowed = ", ".join(OUTCOMES)
                raise InvalidRequest.one(
                    source, f"scenario must be one of {allowed}, not {value!r}"
                )
            return chosen
    return None


def choose_outcome(
    request: Call, prefer: Mapping[str, str], rules: Sequence[OutcomeRule]
) -> Scenario:
    """How a created call will end: `Prefer: scenario=busy`, else the call's metadata
    `sandbox_scenario`, else the first fixture rule matching its number, else completed."""
    chosen = asked_outcome(request, prefer)
    if chosen is not None:
        return chosen
    for rule in rules:
        if rule.matches(request.to_number):
            return rule.scenario
    return Scenario.COMPLETED


def _metadata_scenario(request: Call) -> str | None:
    value = request.metadata.get(METADATA_KEY) if isinstance(request.metadata, Mapping) else None
    return None if value is None else str(value)
