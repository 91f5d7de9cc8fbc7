"""`GET /get-concurrency`: how many of the tenant's calls are ongoing at the sandbox clock's
now, against the org's limits.

Retell's free tier allows 20 concurrent calls; the sandbox's orgs are free-tier orgs that have
bought none and have no burst mode (so the burst limit is 0, as Retell reports it when burst is
off). A call counts while it is in progress (connected, not yet ended) on the lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sandbox.calls.lifecycle import observe
from sandbox.calls.model import Call, Scenario
from sandbox.dialect.vendor import Context, Reply, Route, VendorSandbox
from sandbox.store.store import LIVE_HEAD

BASE_CONCURRENCY = 20
PURCHASED_CONCURRENCY = 0
PURCHASE_LIMIT = 100
RESERVED_INBOUND = 0
LIMIT = BASE_CONCURRENCY + PURCHASED_CONCURRENCY


def _plans(sandbox: VendorSandbox, tenant: str) -> Iterator[Call]:
    """Every call of the tenant that can be live: created and pinned calls, and the live head
    of the generated population (older generated calls ended before the reference instant,
    which the clock never goes behind), with clients' edits and deletions applied."""
    overlay = sandbox.store.backend.overlay(tenant)
    plans = [c for c in sandbox.fixtures.pinned if c.tenant == tenant]
    plans += [c for _, c in overlay.created.values()]
    head = range(min(LIVE_HEAD, sandbox.generator.size(tenant)))
    plans += [sandbox.generator.plan(tenant, i) for i in head]
    for plan in plans:
        if plan.id not in overlay.deleted:
            yield overlay.patched.get(plan.id, plan)


def ongoing(sandbox: VendorSandbox, tenant: str, now: int) -> int:
    return sum(
        1 for plan in _plans(sandbox, tenant) if observe(plan, now).scenario is Scenario.IN_PROGRESS
    )


def render_concurrency(current: int) -> dict[str, Any]:
    return {
        "current_concurrency": current,
        "concurrency_limit": LIMIT,
        "base_concurrency": BASE_CONCURRENCY,
        "purchased_concurrency": PURCHASED_CONCURRENCY,
        "concurrency_purchase_limit": PURCHASE_LIMIT,
        "remaining_purchase_limit": PURCHASE_LIMIT - PURCHASED_CONCURRENCY,
        "concurrency_burst_enabled": False,
        "concurrency_burst_limit": 0,
        "reserved_inbound_concurrency": RESERVED_INBOUND,
    }


def get_concurrency(context: Context) -> Reply:
    now = context.now if context.now is not None else context.sandbox.clock.now_ms()
    current = ongoing(context.sandbox, context.tenant.id, now)
    return Reply(200, render_concurrency(current), "retell/concurrency.json")


ROUTES = (
    Route(
        "GET",
        "/get-concurrency",
        "get-concurrency",
        get_concurrency,
        response_schema="retell/concurrency.json",
    ),
)
