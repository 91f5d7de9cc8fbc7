"""Fault rules: what the sandbox does wrong on purpose, to which requests, and how often.

A rule (schemas/sandbox/fault.json) names the requests it is about (vendor, route name,
tenant: each optional), a fault (a status in the vendor's error shape, a delay, a hang, a
dropped connection, a truncated or malformed body) and when it fires: always, for the first N
matching requests, every Nth, or with a probability. Each rule counts the requests it matched
and draws from its own `random.Random`, seeded from the sandbox's seed and the rule's id, so
the same seed and the same requests give the same faults, whatever other rules do.

Every matching rule sees every matching request; the delays of the rules that fire add up, and
the first firing rule of any other kind (lowest id) decides what the client gets.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_DELAY_MS = 60_000
DEFAULT_HANG_S = 30
ALWAYS: Mapping[str, Any] = {"always": True}


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


@dataclass(slots=True)
class FaultRule:
    id: int
    target: Target
    fault: dict[str, Any]
    when: dict[str, Any]
    rng: random.Random
    matched: int = 0
    applied: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.target.as_json(),
            "fault": self.fault,
            "when": self.when,
            "matched": self.matched,
            "applied": self.applied,
        }

    def consider(self) -> dict[str, Any] | None:
        """Count one matching request; the fault applied to it (a journal record), or None."""
        with self._lock:
            self.matched += 1
            if not self._fires():
                return None
            self.applied += 1
            return {"source": "rule", "rule": self.id, **self._draw()}

    def _fires(self) -> bool:
        when = self.when
        if "first" in when:
            return self.matched <= int(when["first"])
        if "every" in when:
            return self.matched % int(when["every"]) == 0
        if "probability" in when:
            return self.rng.random() < float(when["probability"])
        return True

    def _draw(self) -> dict[str, Any]:
        """The fault as applied: a delay from a distribution becomes the milliseconds drawn."""
        fault = self.fault
        if fault["type"] != "delay":
            return dict(fault)
        if "uniform" in fault:
            low, high = fault["uniform"]["min_ms"], fault["uniform"]["max_ms"]
            drawn = self.rng.uniform(low, high)
        elif "normal" in fault:
            drawn = self.rng.gauss(fault["normal"]["mean_ms"], fault["normal"]["stddev_ms"])
        else:
            drawn = fault["ms"]
        return {"type": "delay", "ms": min(max(round(drawn), 0), MAX_DELAY_MS)}


def normalised(fault: Mapping[str, Any]) -> dict[str, Any]:
    """The fault with its defaults spelled out, as the control plane echoes it."""
    found = dict(fault)
    if found["type"] == "hang":
        found.setdefault("seconds", DEFAULT_HANG_S)
    if found["type"] == "status" and found["status"] == 429:
        found.setdefault("retry_after", 1)  # what retrying clients need to come back at all
    return found


class FaultBook:
    """The fault rules of one sandbox."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._rules: dict[int, FaultRule] = {}
        self._next_id = 1

    def add(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A rule from a body valid against schemas/sandbox/fault.json; returns it with its id."""
        with self._lock:
            rule_id = self._next_id
            self._next_id += 1
            rule = FaultRule(
                id=rule_id,
                target=Target.of(body),
                fault=normalised(body["fault"]),
                when=dict(body.get("when") or ALWAYS),
                rng=random.Random(f"call-sandbox/fault/{self.seed}/{rule_id}"),
            )
            self._rules[rule_id] = rule
        return rule.as_json()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            rules = list(self._rules.values())
        return [rule.as_json() for rule in rules]

    def remove(self, rule_id: int) -> dict[str, Any] | None:
        with self._lock:
            rule = self._rules.pop(rule_id, None)
        return None if rule is None else rule.as_json()

    def clear(self) -> int:
        """Remove every rule; ids start again at 1 (so a test's rules draw the same faults)."""
        with self._lock:
            removed = len(self._rules)
            self._rules.clear()
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

    def decide(self, vendor: str, route: str, tenant: str) -> list[dict[str, Any]]:
        """The faults applied to one request, in rule order (journal records)."""
        if not self._rules:  # (most sandboxes have none)
            return []
        with self._lock:
            rules = [r for r in self._rules.values() if r.target.matches(vendor, route, tenant)]
        return [found for rule in rules if (found := rule.consider()) is not None]
