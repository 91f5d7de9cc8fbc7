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
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.faults import Target


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


class RateLimiter:
    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._rules: dict[int, RateLimit] = {}
        self._windows: dict[tuple[int, str, str], tuple[float, int]] = {}  # -> (start, count)
        self._next_id = 1

    def add(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A rule from a body valid against schemas/sandbox/rate-limit.json, with its id."""
        with self._lock:
            rule = RateLimit(
                id=self._next_id,
                target=Target.of(body),
                limit=int(body["limit"]),
                per_seconds=body["per_seconds"],
            )
            self._next_id += 1
            self._rules[rule.id] = rule
        return rule.as_json()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.as_json() for rule in self._rules.values()]

    def remove(self, rule_id: int) -> dict[str, Any] | None:
        with self._lock:
            rule = self._rules.pop(rule_id, None)
            self._windows = {k: w for k, w in self._windows.items() if k[0] != rule_id}
        return None if rule is None else rule.as_json()

    def clear(self) -> int:
        with self._lock:
            removed = len(self._rules)
            self._rules.clear()
            self._windows.clear()
            self._next_id = 1
        return removed

    def reset(self, tenant: str | None = None) -> None:
        """Remove every rule, or one tenant's rules and windows (rules about any tenant stay)."""
        if tenant is None:
            self.clear()
            return
        with self._lock:
            for rule_id in [i for i, r in self._rules.items() if r.target.tenant == tenant]:
                del self._rules[rule_id]
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
