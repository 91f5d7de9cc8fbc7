"""Rate limits per key: `limit` requests per `per_seconds`, counted for each credential.

A rule (schemas/sandbox/rate-limit.json) names the requests it counts (vendor, route name,
tenant: each optional). Each key gets its own fixed window, opened by the first request it
counts; once `limit` requests have passed in the window, the next ones get the vendor's 429
with `Retry-After` set to the whole seconds left in the window, and are not counted.

The window runs on the wall clock, not the sandbox's virtual clock: a client that honours
Retry-After sleeps in real time, and must find the window over when it comes back. Windows are
kept where the rules are (`sandbox.store.records`): replicas sharing a store count together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.store.records import Records, Window
from sandbox.store.rulebook import RuleBook, Target


@dataclass(frozen=True, slots=True)
class RateLimit:
    id: int
    target: Target
    limit: int
    per_seconds: float
    counter: str

    def as_json(self, counts: Mapping[str, int]) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.target.as_json(),
            "limit": self.limit,
            "per_seconds": self.per_seconds,
        }

    def window(self, vendor: str, tenant: str) -> Window:
        return Window(f"{self.counter}:{vendor}:{tenant}", self.limit, self.per_seconds)


class RateLimiter(RuleBook[RateLimit]):
    kind = "rate_limits"

    def __init__(self, records: Records, vendors: Sequence[str] = ()) -> None:
        super().__init__(records)
        self._vendors = tuple(vendors)  # (whose windows a tenant's reset forgets)

    def _build(self, rule_id: int, record: Mapping[str, Any]) -> RateLimit:
        """A rule from a body valid against schemas/sandbox/rate-limit.json."""
        return RateLimit(
            id=rule_id,
            target=Target.of(record),
            limit=int(record["limit"]),
            per_seconds=record["per_seconds"],
            counter=record["counter"],
        )

    async def _forget_tenant(self, tenant: str) -> None:
        # The windows of the tenant's keys under the rules that stay (about any tenant).
        windows = [r.window(v, tenant).key for r in self._rules.values() for v in self._vendors]
        if windows:
            await self._records.forget(windows)

    async def check(self, vendor: str, route: str, tenant: str) -> dict[str, Any] | None:
        """Count one request against every matching rule; the 429 to answer (a journal
        record with `retry_after`), or None. A refused request counts against no rule."""
        rules = self.matching(vendor, route, tenant)
        if not rules:
            return None
        refused = await self._records.windows([rule.window(vendor, tenant) for rule in rules])
        if refused is None:
            return None
        return {
            "source": "rate_limit",
            "rule": rules[refused.index].id,
            "type": "status",
            "status": 429,
            "retry_after": refused.retry_after,
        }
