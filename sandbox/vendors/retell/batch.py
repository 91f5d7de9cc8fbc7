"""`POST /create-batch-call`: a batch of tasks, each an outbound call placed on the sandbox
clock, all carrying the batch's `batch_call_id` (which list-calls filters on).

The batch dials from its trigger time (`trigger_timestamp`, epoch ms; now when omitted or
past), one task after another in the order sent, on at most as many lines at once as the
org's concurrency limit leaves after `reserved_concurrency`: a task waits for an earlier
task's call to end when every line is busy, and for the next opening of the batch's
`call_time_window` when one is given. Each task's call is planned as a created call is
(its outcome from `Prefer: scenario=`, its metadata's `sandbox_scenario` or the fixtures'
rules), so GET, lists, concurrency and webhooks all follow it on the same lifecycle.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sandbox.calls.created import new_call, placing_agent, require_e164
from sandbox.calls.ids import digest_int
from sandbox.calls.lifecycle import choose_outcome
from sandbox.calls.model import Agent, Call, Scenario
from sandbox.dialect.vendor import Context, Reply, Route
from sandbox.errors import InvalidRequest
from sandbox.vendors.retell import windows
from sandbox.vendors.retell.concurrency import LIMIT
from sandbox.vendors.retell.render import agent_id


def batch_call_id(first_call: str) -> str:
    """`batch_call_` and 21 hex digits, as Retell's docs example; named after the batch's
    first call, so a batch's id is as unique and as reproducible as its calls' ids."""
    return f"batch_call_{digest_int('retell-batch', first_call):064x}"[:32]


@dataclass(frozen=True, slots=True)
class Task:
    """One task of the request, checked: who places it and for whom."""

    agent: Agent
    to_number: str
    metadata: Mapping[str, Any]
    dynamic_variables: Mapping[str, str]


def _tasks(context: Context, body: Mapping[str, Any]) -> list[Task]:
    """Every task checked before any call is placed, so a bad task places none."""
    from_number: str = body["from_number"]
    found: list[Task] = []
    for index, raw in enumerate(body["tasks"]):
        where = f"body.tasks[{index}]"
        if not raw.get("ignore_e164_validation", False):
            require_e164(body, "from_number")
            try:
                require_e164(raw, "to_number")
            except InvalidRequest:
                raise InvalidRequest.one(
                    f"{where}.to_number",
                    f"{raw['to_number']!r} is not an E.164 number like +14155550123",
                ) from None
        agent = placing_agent(
            context.tenant.agents,
            wanted=raw.get("override_agent_id"),
            spell=agent_id,
            from_number=from_number,
            location=f"{where}.override_agent_id",
        )
        task = Task(
            agent,
            raw["to_number"],
            dict(raw.get("metadata", {})),
            dict(raw.get("retell_llm_dynamic_variables", {})),
        )
        # How the call will end is chosen when it is placed; a wrong `sandbox_scenario` in a
        # task's metadata is refused now, before any task is placed.
        draft = _build(context, task, from_number, "draft", 0, None, None)
        try:
            choose_outcome(draft, context.prefer, context.sandbox.fixtures.outcome_rules)
        except InvalidRequest as wrong:
            problem = wrong.problems[0]
            if not problem.location.startswith("metadata."):
                raise  # the Prefer header: about the request, not this task
            raise InvalidRequest.one(f"{where}.{problem.location}", problem.message) from None
        found.append(task)
    return found


def _build(
    context: Context,
    task: Task,
    from_number: str,
    call_id: str,
    now: int,
    dial_at: int | None,
    batch: str | None,
) -> Call:
    waiting = dial_at is not None and dial_at > now
    call = new_call(
        call_id,
        now,
        tenant=context.tenant.id,
        agent=task.agent,
        from_number=from_number,
        to_number=task.to_number,
        scenario=Scenario.SCHEDULED if waiting else Scenario.QUEUED,
        scheduled_ms=dial_at if waiting else None,
        metadata=task.metadata,
        dynamic_variables=task.dynamic_variables,
    )
    return replace(call, batch_call_id=batch)


def _place(
    context: Context,
    tasks: Sequence[Task],
    from_number: str,
    start_ms: int,
    lines: int,
    window: windows.CallTimeWindow | None,
) -> str:
    """Place every task's call; the batch's id."""
    busy: list[int] = []  # when each line in use frees up
    batch: list[str] = []
    for task in tasks:
        ready = start_ms if len(busy) < lines else max(start_ms, heapq.heappop(busy))
        dial_at = window.next_open(ready) if window is not None else ready

        def build(call_id: str, now: int, task: Task = task, dial_at: int = dial_at) -> Call:
            if not batch:
                batch.append(batch_call_id(call_id))
            return _build(context, task, from_number, call_id, now, dial_at, batch[0])

        call = context.create_call(build)
        plan = context.sandbox.store.plan(context.tenant.id, call.id)
        ends = plan.end_ms if plan is not None and plan.end_ms is not None else dial_at
        heapq.heappush(busy, ends)
    return batch[0]


def create_batch_call(context: Context) -> Reply:
    body = context.body
    window = (
        windows.read(body["call_time_window"], "body.call_time_window")
        if "call_time_window" in body
        else None
    )
    tasks = _tasks(context, body)
    now = context.sandbox.clock.now_ms()
    trigger = body.get("trigger_timestamp")
    start_ms = max(now, int(trigger)) if trigger is not None else now
    # The lines left to the batch: Retell keeps `reserved_concurrency` for other calls.
    lines = max(1, LIMIT - int(body.get("reserved_concurrency", 0)))
    batch = _place(context, tasks, body["from_number"], start_ms, lines, window)
    response: dict[str, Any] = {
        "batch_call_id": batch,
        "name": body.get("name", ""),
        "from_number": body["from_number"],
        "scheduled_timestamp": trigger if trigger is not None else now,
        "total_task_count": len(tasks),
    }
    if window is not None:
        response["call_time_window"] = window.render()
    return Reply(201, response, "retell/batch-call.json")


ROUTES = (
    Route(
        "POST",
        "/create-batch-call",
        "create-batch-call",
        create_batch_call,
        "retell/create-batch-call.request.json",
        status=201,
        response_schema="retell/batch-call.json",
    ),
)
