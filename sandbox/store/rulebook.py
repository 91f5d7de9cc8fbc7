"""Numbered rules about requests (fault rules, rate limits): which requests each is about,
and the book that keeps them, numbered from 1 in the order they were added. A reset without a
tenant empties the book and numbers start again at 1, so a test's rules get the same ids (and
the faults seeded from them) every run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sandbox.store.records import Records


@dataclass(frozen=True, slots=True)
class Target:
    """Which requests a rule or a rate limit is about; None matches any."""

    vendor: str | None = None
    route: str | None = None
    tenant: str | None = None

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Target:
        return cls(body.get("vendor"), body.get("route"), body.get("tenant"))

    def matches(self, vendor: str, route: str, tenant: str) -> bool:
        return (
            (self.vendor is None or self.vendor == vendor)
            and (self.route is None or self.route == route)
            and (self.tenant is None or self.tenant == tenant)
        )

    def as_json(self) -> dict[str, str | None]:
        return {"vendor": self.vendor, "route": self.route, "tenant": self.tenant}


class Rule(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def target(self) -> Target: ...

    @property
    def counter(self) -> str:
        """The name its counts and windows are kept under (unique to this rule's life)."""
        ...

    def as_json(self, counts: Mapping[str, int]) -> dict[str, Any]: ...


R = TypeVar("R", bound=Rule)


class RuleBook(Generic[R]):
    """The rules of one kind in one sandbox, kept as records (`sandbox.store.records`): in this
    process, or in the shared store and so the same in every worker and replica. A rule is
    its request body as JSON, with a number and a counter name of its own; subclasses say how
    a rule is made of it (`_build`)."""

    kind: str  # the records' kind ("faults", "rate_limits")

    def __init__(self, records: Records) -> None:
        self._records = records
        self._rules: dict[int, R] = {}
        records.follow(self.kind, self)

    def _build(self, rule_id: int, record: Mapping[str, Any]) -> R:
        raise NotImplementedError

    @property
    def active(self) -> bool:
        """Whether any rule exists (most sandboxes have none: nothing to count)."""
        return bool(self._rules)

    def matching(self, vendor: str, route: str, tenant: str) -> list[R]:
        return [r for r in self._sorted() if r.target.matches(vendor, route, tenant)]

    def _sorted(self) -> list[R]:
        return [self._rules[i] for i in sorted(self._rules)]

    # -- the records (`Book`): what the store says the rules are ---------------------------

    def load(self, records: Mapping[str, str]) -> None:
        self._rules = {int(k): self._build(int(k), json.loads(v)) for k, v in records.items()}

    def put(self, key: str, value: str) -> None:
        self._rules = {**self._rules, int(key): self._build(int(key), json.loads(value))}

    def drop(self, keys: Sequence[str] | None) -> None:
        if keys is None:
            self._rules = {}
        else:
            self._rules = {i: r for i, r in self._rules.items() if str(i) not in keys}

    # -- what the control plane does --------------------------------------------------------

    async def add(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A rule from a body valid against its schema, kept with the next number; returns it."""
        rule_id = await self._records.next_id(self.kind)
        # The counter's name is new with each rule: rule 1 after a clear is another rule 1.
        record = {**body, "counter": f"{self.kind}:{uuid.uuid4().hex}"}
        await self._records.put(self.kind, str(rule_id), json.dumps(record))
        return self._rules[rule_id].as_json({})

    async def rules(self) -> list[dict[str, Any]]:
        rules = self._sorted()
        counts = await self._records.counts([r.counter for r in rules])
        return [rule.as_json(count) for rule, count in zip(rules, counts, strict=True)]

    async def remove(self, rule_id: int) -> dict[str, Any] | None:
        rule = self._rules.get(rule_id)
        if rule is None:
            return None
        (counts,) = await self._records.counts([rule.counter])
        await self._records.drop(self.kind, [str(rule_id)])
        await self._records.forget([rule.counter])
        return rule.as_json(counts)

    async def clear(self) -> int:
        """Remove every rule; numbers start again at 1."""
        rules = list(self._rules.values())
        await self._records.drop(self.kind, None)
        await self._records.forget([r.counter for r in rules])
        return len(rules)

    async def reset(self, tenant: str | None = None) -> None:
        """Remove every rule, or the rules about one tenant (rules about any tenant stay)."""
        if tenant is None:
            await self.clear()
            return
        gone = [r for r in self._rules.values() if r.target.tenant == tenant]
        if gone:
            await self._records.drop(self.kind, [str(r.id) for r in gone])
            await self._records.forget([r.counter for r in gone])
        await self._forget_tenant(tenant)

    async def _forget_tenant(self, tenant: str) -> None:
        """What is kept about `tenant` beside the rules that stay (a rate limit's windows)."""
