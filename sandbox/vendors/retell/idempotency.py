"""`idempotency_key` on create-phone-call: "retry the same request for up to one hour without
creating another call" (Retell's docs).

Within the window, the same key with the same body answers the call the first request made,
as it is now; the same key with another body is Retell's 409 conflict. The window is counted
on the sandbox clock from the first request, and a deleted call frees its key. The key and a
digest of the body are kept with the call (never rendered), so every worker sharing the store
finds them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sandbox.calls.lifecycle import observe
from sandbox.calls.model import Call
from sandbox.dialect.vendor import Context
from sandbox.vendors.retell.errors import IdempotencyConflict

IDEMPOTENCY_KEY = "_retell_idempotency"
WINDOW_MS = 3_600_000


def _digest(body: Mapping[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def idempotency_record(key: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """What a call made with `key` keeps of its request."""
    return {"key": key, "body_sha256": _digest(body)}


def idempotent_call(context: Context, key: str, body: Mapping[str, Any]) -> Call | None:
    """The tenant's call made with `key` within the window, as it is now; None if there is
    none; IdempotencyConflict if it was made from another body."""
    store, tenant = context.sandbox.store, context.tenant.id
    now = context.now if context.now is not None else context.sandbox.clock.now_ms()
    for call_id in store.backend.overlay(tenant).created:
        plan = store.plan(tenant, call_id)
        if plan is None or now - plan.created_ms >= WINDOW_MS:
            continue
        record = plan.vendor_overrides.get(IDEMPOTENCY_KEY) or {}
        if record.get("key") != key:
            continue
        if record.get("body_sha256") != _digest(body):
            raise IdempotencyConflict(key, WINDOW_MS // 3_600_000)
        return observe(plan, now)
    return None
