"""Rate limits per key: `limit` requests per `per_seconds`, counted for each credential.

A rule (schemas/sandbox/rate-limit.json) names the requests it counts (vendor, route name,
tenant: each optional). Each key gets its own fixed window, opened by the first request it
counts; once `limit` requests have passed in the window, the next ones get the vendor's 429
with `Retry-After` set to the whole seconds left in the window, and are not counted.

The window runs on the wall clock (time.monotonic), not the sandbox's virtual clock: a client
that honours Retry-After sleeps in real time, and must find the window over when it comes back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.store.rulebook import RuleBook, Target


@dataclass(frozen=True, slots=True)
class RateLimit:
    id: int
    target: Target
    limit: int
    per_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.target.as_json(),
            "limit": self.limit,
            "per_seconds": self.per_seconds,
        }


class RateLimiter(RuleBook[RateLimit]):
    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._now = now
        self._windows: dict[tuple[int, str, str], tuple[float, int]] = {}  # -> (start, count)

    def add(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A rule from a body valid against schemas/sandbox/rate-limit.json, with its id."""
        return self._add(
            lambda rule_id: RateLimit(
                id=rule_id,
                target=Target.of(body),
                limit=int(body["limit"]),
                per_seconds=body["per_seconds"],
            )
        )

    # Each key's window goes with its rule, or with its tenant.
    def _forget_rule(self, rule_id: int) -> None:
        self._windows = {k: w for k, w in self._windows.items() if k[0] != rule_id}

    def _forget_all(self) -> None:
        self._windows.clear()

    def _forget_tenant(self, tenant: str) -> None:
        self._windows = {k: w for k, w in self._windows.items() if k[2] != tenant}

    def check(self, vendor: str, route: str, tenant: str) -> dict[str, Any] | None:
        """Count one request against every matching rule; the 429 to answer (a journal
        record with `retry_after`), or None. A refused request counts against no rule."""
        if not self._rules:  # (most sandboxes have none: nothing to count, no lock to take)
            return None
        now = self._now()
        with self._lock:
            rules = [r for r in self._rules.values() if r.target.matches(vendor, route, tenant)]
            opened: dict[tuple[int, str, str], tuple[float, int]] = {}
            for rule in rules:
                key = (rule.id, vendor, tenant)
                start, count = self._windows.get(key, (now, 0))
                if now >= start + rule.per_seconds:
                    start, count = now, 0
                if count >= rule.limit:
                    retry_after = max(1, math.ceil(start + rule.per_seconds - now))
                    return {
                        "source": "rate_limit",
                        "rule": rule.id,
                        "type": "status",
                        "status": 429,
                        "retry_after": retry_after,
                    }
                opened[key] = (start, count + 1)
            self._windows.update(opened)
        return None
