"""What the inspector page shows, gathered from the sandbox's state: pages of a tenant's calls,
one call in every vendor's dialect, its lifecycle timeline and the webhooks sent for it.

Nothing here goes through a vendor's request pipeline: a dialect is the vendor's own lookup
handler run on the call, so looking at a call is not a request of the client's (no journal
entry, no fault fired, no rate limit counted), yet it is the very body that request gets.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, get_args

import anyio.from_thread

from sandbox.calls.instants import iso_millis
from sandbox.calls.lifecycle import transitions
from sandbox.calls.model import Call, Direction, Scenario
from sandbox.dialect.vendor import Context, Query, Route, Vendor, VendorSandbox
from sandbox.errors import SandboxError
from sandbox.webhooks.engine import Webhooks

PAGE_SIZE = 25
# The page looks at no more than the newest this many calls of a tenant (a generated call
# costs about a millisecond to make the first time it is seen): a population of millions
# stays responsive, and a filtered page says when it stopped looking. The vendors' own list
# endpoints reach the rest.
SCAN_LIMIT = 2_000
MAX_PAGE = SCAN_LIMIT // PAGE_SIZE
STATUSES = tuple(s.value for s in Scenario)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
# A lifecycle that runs on for ever (the sandbox's planning horizon, both ways).
_ALWAYS = 2**62


@dataclass(frozen=True, slots=True)
class CallRow:
    id: str  # canonical
    tenant: str
    status: str  # what the call is now
    scenario: str  # the outcome it was planned to reach
    direction: str
    call_type: str
    created: str
    duration_s: float | None
    ids: Mapping[str, str]  # vendor -> the id that vendor knows it by


@dataclass(frozen=True, slots=True)
class CallPage:
    tenant: str
    rows: list[CallRow]
    page: int
    has_next: bool
    scanned_out: bool  # stopped at SCAN_LIMIT before the page was full
    status: str | None
    direction: str | None


def row(state: VendorSandbox, call: Call, planned: Call | None) -> CallRow:
    duration = call.duration_ms
    return CallRow(
        id=call.id,
        tenant=call.tenant,
        status=call.scenario.value,
        scenario=(planned or call).scenario.value,
        direction=call.direction,
        call_type=call.call_type,
        created=iso_millis(call.created_ms),
        duration_s=duration / 1000 if duration is not None else None,
        ids={name: v.external_id(call) for name, v in state.vendors.items()},
    )


def call_page(
    state: VendorSandbox, tenant: str, *, page: int, status: str | None, direction: str | None
) -> CallPage:
    """One page of `tenant`'s calls, newest first, those with this status and direction."""
    calls: Iterator[Call] = itertools.islice(state.store.calls(tenant, order="desc"), SCAN_LIMIT)
    scanned = 0

    def wanted() -> Iterator[Call]:
        nonlocal scanned
        for call in calls:
            scanned += 1
            if status is not None and call.scenario.value != status:
                continue
            if direction is not None and call.direction != direction:
                continue
            yield call

    skip = (page - 1) * PAGE_SIZE
    shown = list(itertools.islice(wanted(), skip, skip + PAGE_SIZE + 1))
    rows = [row(state, c, state.store.plan(tenant, c.id)) for c in shown[:PAGE_SIZE]]
    return CallPage(
        tenant=tenant,
        rows=rows,
        page=page,
        has_next=len(shown) > PAGE_SIZE,
        scanned_out=len(shown) <= PAGE_SIZE and scanned >= SCAN_LIMIT,
        status=status,
        direction=direction,
    )


@dataclass(frozen=True, slots=True)
class Dialect:
    vendor: str
    title: str
    label: str  # e.g. "transcript_format=toon": which of the vendor's forms
    request: str  # what a client sends to get it: method and path below the sandbox
    status: int
    body: str  # the answer, as pretty JSON
    # Strings of several lines inside it (ContactShip's TOON transcripts), as they read
    # once decoded from JSON: field path -> text.
    texts: tuple[tuple[str, str], ...] = ()


def _forms(route: Route) -> list[str]:
    """The query strings of a lookup's forms: its default, and one per other value of each
    enumerated parameter (ContactShip's transcript_format=toon), as the vendor documents them."""
    forms = [""]
    for param in route.query:
        values = param.schema.get("enum")
        if not isinstance(values, list) or len(values) < 2:
            continue
        default = param.schema.get("default", values[0])
        forms += [f"{param.name}={value}" for value in values if value != default]
    return forms


def dialects(state: VendorSandbox, tenant: str, call_id: str, now: int) -> list[Dialect]:
    """The call as each vendor's get-call answers it at `now`, in every form it has."""
    shown: list[Dialect] = []
    plan = state.store.plan(tenant, call_id)
    if plan is None:
        return shown
    for name, vendor in state.vendors.items():
        route = next(r for r in vendor.routes if r.name == vendor.lookup_route)
        path = vendor.lookup_path(vendor.external_id(plan))
        for form in _forms(route):
            status, body = _answer(state, vendor, route, tenant, path, form, now)
            shown.append(
                Dialect(
                    vendor=name,
                    title=vendor.title,
                    label=form or "default",
                    request=f"GET /{name}{path}" + (f"?{form}" if form else ""),
                    status=status,
                    body=json.dumps(body, indent=2, ensure_ascii=False),
                    texts=tuple(_multiline(body, "")),
                )
            )
    return shown


def _multiline(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str) and "\n" in value:
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _multiline(inner, f"{path}.{key}" if path else str(key))


def _answer(
    state: VendorSandbox, vendor: Vendor, route: Route, tenant: str, path: str, form: str, now: int
) -> tuple[int, Any]:
    context = Context(
        sandbox=state,
        vendor=vendor,
        tenant=state.tenants[tenant],
        path=route.match(path) or {},
        query=Query(form),
        body=None,
        headers={},
        now=now,
    )
    try:
        reply = route.handler(context)
    except SandboxError as error:  # (the call went meanwhile: the vendor's own not-found)
        reply = vendor.render_error(error)
    if reply.schema is not None:
        state.schemas.check(reply.schema, reply.body)
    return reply.status, reply.body


@dataclass(frozen=True, slots=True)
class Moment:
    at: str
    at_ms: int
    what: str
    past: bool


def timeline(plan: Call, now: int) -> list[Moment]:
    """The call's life as planned on the virtual clock: what has happened and what will."""
    moments = [("created", plan.created_ms)]
    if plan.scheduled_ms is not None:
        moments.append(("scheduled to dial", plan.scheduled_ms))
    moments += [(t.event, t.at_ms) for t in transitions(plan, -_ALWAYS, _ALWAYS)]
    moments.sort(key=lambda m: m[1])
    return [Moment(iso_millis(at), at, what, at <= now) for what, at in moments]


def webhooks_for(webhooks: Webhooks, ids: Mapping[str, str], call_id: str) -> list[dict[str, Any]]:
    """Every attempt to deliver a webhook about this call, oldest first."""
    known = {call_id, *ids.values()}
    # (Pages are made on a worker thread; every process's attempts are asked on the loop.)
    attempts = anyio.from_thread.run(webhooks.attempts)["attempts"]
    return [a for a in attempts if a["call_id"] in known]


def transcript(call: Call) -> list[tuple[str, str, str]]:
    """(role, seconds into the call, text) of each turn said so far."""
    return [(t.role, f"{t.start_ms / 1000:.1f}", t.text) for t in call.turns]
