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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.store.records import Records
from sandbox.store.rulebook import RuleBook, Target

MAX_DELAY_MS = 60_000
DEFAULT_HANG_S = 30
ALWAYS: Mapping[str, Any] = {"always": True}


@dataclass(frozen=True, slots=True)
class FaultRule:
    id: int
    target: Target
    fault: dict[str, Any]
    when: dict[str, Any]
    counter: str
    seed: int

    def as_json(self, counts: Mapping[str, int]) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.target.as_json(),
            "fault": self.fault,
            "when": self.when,
            "matched": counts.get("matched", 0),
            "applied": counts.get("applied", 0),
        }

    def consider(self, matched: int) -> dict[str, Any] | None:
        """Whether the rule fires for the `matched`-th request it matched (counted by every
        worker and replica together); the fault applied to it (a journal record), or None.
        Its draws come from a generator seeded from the sandbox's seed, the rule's id and
        that number: the same seed and the same requests give the same faults."""
        rng = random.Random(f"call-sandbox/fault/{self.seed}/{self.id}/{matched}")
        if not self._fires(matched, rng):
            return None
        return {"source": "rule", "rule": self.id, **self._draw(rng)}

    def _fires(self, matched: int, rng: random.Random) -> bool:
        when = self.when
        if "first" in when:
            return matched <= int(when["first"])
        if "every" in when:
            return matched % int(when["every"]) == 0
        if "probability" in when:
            return rng.random() < float(when["probability"])
        return True

    def _draw(self, rng: random.Random) -> dict[str, Any]:
        """The fault as applied: a delay from a distribution becomes the milliseconds drawn."""
        fault = self.fault
        if fault["type"] != "delay":
            return dict(fault)
        if "uniform" in fault:
            low, high = fault["uniform"]["min_ms"], fault["uniform"]["max_ms"]
            drawn = rng.uniform(low, high)
        elif "normal" in fault:
            drawn = rng.gauss(fault["normal"]["mean_ms"], fault["normal"]["stddev_ms"])
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

    kind = "faults"

    def __init__(self, seed: int, records: Records) -> None:
        self.seed = seed
        super().__init__(records)

    def _build(self, rule_id: int, record: Mapping[str, Any]) -> FaultRule:
        """A rule from a body valid against schemas/sandbox/fault.json."""
        return FaultRule(
            id=rule_id,
            target=Target.of(record),
            fault=normalised(record["fault"]),
            when=dict(record.get("when") or ALWAYS),
            counter=record["counter"],
            seed=self.seed,
        )

    async def decide(self, vendor: str, route: str, tenant: str) -> list[dict[str, Any]]:
        """The faults applied to one request, in rule order (journal records)."""
        found: list[dict[str, Any]] = []
        for rule in self.matching(vendor, route, tenant):
            applied = rule.consider(await self._records.bump(rule.counter, "matched"))
            if applied is not None:
                await self._records.bump(rule.counter, "applied")
                found.append(applied)
        return found
