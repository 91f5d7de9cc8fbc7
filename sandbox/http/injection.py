"""What the sandbox does to one request on purpose, decided after auth and routing and before
the body is read, so a wrong key still gets its 401 and a faulted request changes nothing.

In order, the first that applies decides:
1. a rate limit the request's key has used up: the vendor's 429 with Retry-After;
2. the request's own `Prefer` header (Prism's convention, unless --no-prefer):
   `code=N` (400-599) answers that status in the vendor's shape, `delay=MS` waits first (at
   most 60 s). Preferences the sandbox cannot honour (`code=200`, `delay=soon`) are ignored, as
   RFC 7240 says; `Preference-Applied` lists the ones it honoured. A forced code carries
   `x-should-retry: false` (every retry would be forced to fail the same way; SDKs built by
   Stainless, such as retell-sdk, then answer at once) and a 429 `Retry-After: 1`;
3. the fault rules (sandbox.store.faults), consulted only when 1 and 2 did nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.types import Receive

from sandbox.dialect.vendor import VendorSandbox
from sandbox.errors import InjectedStatus
from sandbox.http.connection import ConnectionDropped
from sandbox.http.params import whole_number
from sandbox.store.faults import MAX_DELAY_MS

# The damage done to an answer on its way out rather than instead of it.
IN_TRANSIT = ("truncate", "malformed")


@dataclass(slots=True)
class Plan:
    applied: list[dict[str, Any]] = field(default_factory=list)  # the journal's records
    headers: dict[str, str] = field(default_factory=dict)  # added to whatever is answered
    hint: str = ""

    @property
    def delay_ms(self) -> int:
        total = sum(int(a["ms"]) for a in self.applied if a["type"] == "delay")
        return min(total, MAX_DELAY_MS)

    @property
    def outcome(self) -> dict[str, Any] | None:
        """The first applied fault that is not a delay: it decides what the client gets."""
        return next((a for a in self.applied if a["type"] != "delay"), None)

    @property
    def transit(self) -> str | None:
        outcome = self.outcome
        return outcome["type"] if outcome and outcome["type"] in IN_TRANSIT else None


# What nearly every request gets: nothing done to it (shared: never changed).
NOTHING = Plan()


async def plan(
    sandbox: VendorSandbox, vendor: str, route: str, tenant: str, prefer: Mapping[str, str]
) -> Plan:
    """What to do to a request that has a preference, or meets rules (the pipeline asks only
    then: most requests have neither)."""
    limited = await sandbox.rate_limits.check(vendor, route, tenant)
    if limited is not None:
        rule, seconds = limited["rule"], limited["retry_after"]
        return Plan(
            [limited],
            {"Retry-After": str(seconds)},
            f"rate limit {rule} (GET /_sandbox/rate-limits) is used up for this key; "
            f"retry after {seconds} s",
        )
    if prefer:
        preferred = _preferred(prefer)
        if preferred.applied:
            return preferred
    applied = await sandbox.faults.decide(vendor, route, tenant)
    if not applied:
        return NOTHING
    found = Plan(applied)
    outcome = found.outcome
    if outcome is not None and outcome["type"] == "status":
        found.hint = f"answered {outcome['status']} by fault rule {outcome['rule']}"
        if "retry_after" in outcome:
            found.headers["Retry-After"] = str(outcome["retry_after"])
        if "should_retry" in outcome:
            found.headers["x-should-retry"] = "true" if outcome["should_retry"] else "false"
    return found


def _preferred(prefer: Mapping[str, str]) -> Plan:
    found = Plan()
    honoured: list[str] = []
    delay = _whole(prefer.get("delay"))
    if delay is not None:
        delay = min(delay, MAX_DELAY_MS)
        found.applied.append({"source": "prefer", "type": "delay", "ms": delay})
        honoured.append(f"delay={delay}")
    code = _whole(prefer.get("code"))
    if code is not None and 400 <= code <= 599:
        record: dict[str, Any] = {"source": "prefer", "type": "status", "status": code}
        found.headers["x-should-retry"] = "false"
        if code == 429:
            record["retry_after"] = 1
            found.headers["Retry-After"] = "1"
        found.applied.append(record)
        honoured.append(f"code={code}")
        found.hint = f"answered {code} because the request's Prefer header asked for it"
    if honoured:
        found.headers["Preference-Applied"] = ", ".join(honoured)
    return found


def _whole(value: str | None) -> int | None:
    # Only ASCII digits name a delay or a status; anything else (`²`, 5,000 digits) is not a
    # preference the sandbox knows, and is ignored as RFC 7240 asks.
    if value is None:
        return None
    number = whole_number(value)
    return number if number is not None and number >= 0 and value[0] not in "+-" else None


async def carry_out(found: Plan, receive: Receive, *, body_timeout_s: float) -> None:
    """Wait out the delays, then answer instead of the handler when the plan says so."""
    if found.delay_ms:
        await anyio.sleep(found.delay_ms / 1000)
    outcome = found.outcome
    if outcome is None or outcome["type"] in IN_TRANSIT:
        return
    match outcome["type"]:
        case "status":
            raise InjectedStatus(outcome["status"], found.hint)
        case "drop":
            # Read the request to its end first: closing a socket with unread data in it
            # resets the connection, and the client's error would depend on timing. A body
            # that never ends is not waited for past the body deadline.
            with anyio.move_on_after(body_timeout_s):
                while (message := await receive())["type"] == "http.request":
                    if not message.get("more_body", False):
                        break
            raise ConnectionDropped()
        case "hang":
            with anyio.move_on_after(outcome["seconds"]):
                while (await receive())["type"] != "http.disconnect":
                    pass  # (the request body, read and thrown away)
            raise ConnectionDropped(label="hung up")
        case other:
            raise AssertionError(f"unknown fault type {other!r}")


def damaged(kind: str, status: int, payload: bytes) -> tuple[int, bytes]:
    """A malformed answer: the same status (204 becomes 200: it needs a body) and a body that
    is not JSON, the first half of the real one (or a lone brace)."""
    assert kind == "malformed"
    cut = payload[: len(payload) // 2] if len(payload) > 1 else b"{"
    return (200 if status == 204 else status), cut
