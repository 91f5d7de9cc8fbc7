"""Numbered rules about requests (fault rules, rate limits): which requests each is about,
and the book that keeps them, numbered from 1 in the order they were added, safe across
threads. A reset without a tenant empties the book and numbers start again at 1, so a test's
rules get the same ids (and the faults seeded from them) every run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar


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

    def as_json(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Rule)


class RuleBook(Generic[R]):
    """The rules of one kind in one sandbox. Subclasses forget what they keep beside a rule
    (counting windows, say) in the `_forget_*` hooks, which run under the book's lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[int, R] = {}
        self._next_id = 1

    def _add(self, make: Callable[[int], R]) -> dict[str, Any]:
        """The rule `make` builds with the next id, kept; returns it as JSON."""
        with self._lock:
            rule = make(self._next_id)
            self._next_id += 1
            self._rules[rule.id] = rule
        return rule.as_json()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            rules = list(self._rules.values())
        return [rule.as_json() for rule in rules]

    def remove(self, rule_id: int) -> dict[str, Any] | None:
        with self._lock:
            rule = self._rules.pop(rule_id, None)
            self._forget_rule(rule_id)
        return None if rule is None else rule.as_json()

    def clear(self) -> int:
        """Remove every rule; ids start again at 1."""
        with self._lock:
            removed = len(self._rules)
            self._rules.clear()
            self._forget_all()
            self._next_id = 1
        return removed

    def reset(self, tenant: str | None = None) -> None:
        """Remove every rule, or the rules about one tenant (rules about any tenant stay)."""
        if tenant is None:
            self.clear()
            return
        with self._lock:
            for rule_id in [i for i, r in self._rules.items() if r.target.tenant == tenant]:
                del self._rules[rule_id]
            self._forget_tenant(tenant)

    def _forget_rule(self, rule_id: int) -> None:
        """What is kept beside rule `rule_id`, which was just removed."""

    def _forget_all(self) -> None:
        """What is kept beside the rules, all just removed."""

    def _forget_tenant(self, tenant: str) -> None:
        """What is kept about `tenant`, whose rules were just removed."""
