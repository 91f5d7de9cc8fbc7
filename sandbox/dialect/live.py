"""Changing a call now, from a vendor route or the control plane, with its webhooks.

Events are published for the window since the last publication; an event at the very instant
of a change (a call stopped now ends now) may fall at or before the instant already published
(always, on a clock that only moves when advanced), and would never be sent. So after storing
the new plan the change publishes, and sends itself those of the new plan's events at that
instant which neither the publication nor the old plan had; later ones go out as the clock
moves on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from sandbox.calls.lifecycle import observe, transitions
from sandbox.calls.model import Call
from sandbox.state import Sandbox

_KEPT = frozenset({"id", "tenant", "updated_ms"})


def change_now(
    sandbox: Sandbox[Any], tenant: str, call_id: str, change: Callable[[Call, int], Call]
) -> Call:
    """Replace the plan of `tenant`'s call `call_id` with `change(plan, now)` (which raises the
    vendor's error when the call cannot change so), and answer the call as it is now."""
    store = sandbox.store
    with store.mutation(tenant):
        plan = store.plan(tenant, call_id)
        assert plan is not None, "the caller found the call"
        now = sandbox.clock.now_ms()
        changed = change(plan, now)
        updates = {f.name: getattr(changed, f.name) for f in fields(Call) if f.name not in _KEPT}
        store.update(tenant, call_id, **updates)
        current = store.plan(tenant, call_id)
        assert current is not None
    # The old plan's events at this instant were the old plan's to publish (or already were).
    settled = {(plan.id, step) for step in transitions(plan, now - 1, now)}

    def tell() -> None:
        # (A shared store's events up to now go out with the next tick or advance, which
        # publishes them with the plan as it is then: this one.)
        published = sandbox.publish() if sandbox.local else []
        done = settled | {(c.id, step) for _, c, step in published}
        for step in transitions(current, now - 1, now):
            if (current.id, step) not in done:
                seen = observe(current, step.at_ms)
                for listener in list(sandbox.listeners):
                    listener(tenant, seen, step)

    store.after_commit(tell)
    return observe(current, now)
