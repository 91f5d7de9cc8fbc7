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

from sandbox.store.rulebook import RuleBook, Target

MAX_DELAY_MS = 60_000
DEFAULT_HANG_S = 30
ALWAYS: Mapping[str, Any] = {"always": True}


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


class FaultBook(RuleBook[FaultRule]):
    """The fault rules of one sandbox."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed

    def add(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A rule from a body valid against schemas/sandbox/fault.json; returns it with its id."""
        return self._add(
            lambda rule_id: FaultRule(
                id=rule_id,
                target=Target.of(body),
                fault=normalised(body["fault"]),
                when=dict(body.get("when") or ALWAYS),
                rng=random.Random(f"call-sandbox/fault/{self.seed}/{rule_id}"),
            )
        )

    def decide(self, vendor: str, route: str, tenant: str) -> list[dict[str, Any]]:
        """The faults applied to one request, in rule order (journal records)."""
        if not self._rules:  # (most sandboxes have none)
            return []
        with self._lock:
            rules = [r for r in self._rules.values() if r.target.matches(vendor, route, tenant)]
        return [found for rule in rules if (found := rule.consider()) is not None]
