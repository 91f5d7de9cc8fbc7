"""What a client can do to a call while it happens, as changes to its plan.

A call in the store is a plan of its whole life (`sandbox.calls.lifecycle`); each change here
makes a new plan from the old one at an instant, so a GET, a list and a webhook after it still
agree:

- a call registered for a web client or for the client's own telephony waits to be joined,
  and ends in error if nobody joins within JOIN_WINDOW_MS;
- joining starts the conversation at that instant;
- cutting a call short ends it at that instant, with what was said until then;
- analysing it again sends its analysis again once it is ready.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sandbox.calls.lifecycle import LIFECYCLE_KEY, bookkeeping, reanalysed
from sandbox.calls.model import Call, CostLine, Scenario

# Retell ends a registered call that nobody joins (web) or connects (custom telephony) after
# 30 seconds: `registered_call_timeout` is "phone call is 30s or more apart from registering".
# The sandbox uses the same window for web calls.
JOIN_WINDOW_MS = 30_000


def _with_bookkeeping(plan: Call, **entries: Any) -> Call:
    kept = {k: v for k, v in {**bookkeeping(plan), **entries}.items() if v is not None}
    overrides = {k: v for k, v in plan.vendor_overrides.items() if k != LIFECYCLE_KEY}
    if kept:
        overrides[LIFECYCLE_KEY] = kept
    return replace(plan, vendor_overrides=overrides)


def awaiting_join(request: Call, reason: str) -> Call:
    """The plan of a registered call nobody has joined yet: it stays registered (queued) until
    its deadline, then ends in error with `reason`, never connected."""
    deadline = request.created_ms + JOIN_WINDOW_MS
    waiting = replace(
        request,
        scenario=Scenario.FAILED,
        start_ms=deadline,
        end_ms=deadline,
        disconnection_reason=reason,
    )
    return _with_bookkeeping(waiting, join_by_ms=deadline)


def join_deadline(plan: Call) -> int | None:
    """By when `plan` must be joined, if it is a registered call still waiting for that."""
    value = bookkeeping(plan).get("join_by_ms")
    return None if value is None else int(value)


def joined(planned: Call, at: int) -> Call:
    """`planned` (the whole call it becomes once joined) with its conversation starting `at`."""
    assert planned.start_ms is not None
    assert planned.end_ms is not None
    shift = at - planned.start_ms
    moved = replace(planned, start_ms=at, end_ms=planned.end_ms + shift)
    return _with_bookkeeping(moved, join_by_ms=None)


def cut(plan: Call, at: int, reason: str) -> Call:
    """`plan` ended at `at` (inside its conversation) for `reason`: what was said by then stays,
    the rest is never said, and it is billed for the time it lasted."""
    assert plan.start_ms is not None
    assert plan.start_ms <= at
    elapsed = at - plan.start_ms
    tools = tuple(t for t in plan.tool_calls if t.at_ms <= elapsed)
    # A pinned docs call that is ongoing for ever has no planned outcome: it ends completed.
    scenario = Scenario.COMPLETED if plan.scenario.live else plan.scenario
    if scenario is Scenario.TRANSFERRED and not any(t.name == "transfer_call" for t in tools):
        scenario = Scenario.COMPLETED  # ended before the transfer happened
    seconds = elapsed / 1000
    return replace(
        plan,
        scenario=scenario,
        end_ms=at,
        disconnection_reason=reason,
        turns=tuple(t for t in plan.turns if t.end_ms <= elapsed),
        tool_calls=tools,
        costs=tuple(
            CostLine(c.product, c.unit_price, round(c.unit_price * seconds, 4)) for c in plan.costs
        ),
    )


def analysed_again(plan: Call, at: int) -> Call:
    """`plan` with its analysis asked for again at `at` (sent again when ready)."""
    return _with_bookkeeping(plan, reanalysed_ms=[*reanalysed(plan), at])
