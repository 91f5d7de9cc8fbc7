"""The calls a tenant can see: its generated population, its pinned calls, and what clients
created, updated or deleted through the API.

The generated population is never materialised: a call is generated when it is asked for.
What clients change lives in small overlays (created calls, patched copies, deleted ids), so a
reset is dropping the overlays. Every lookup is scoped to one tenant; another tenant's call is
indistinguishable from one that does not exist.
"""

from __future__ import annotations

import dataclasses
import heapq
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from sandbox.fixtures import FixtureSet
from sandbox.generator import Generator
from sandbox.ids import uuid_from
from sandbox.model import Call

Order = Literal["desc", "asc"]
SortKey = tuple[int, int, str]


class Clock:
    """The sandbox's 'now': the fixtures' reference instant, moved only on purpose."""

    def __init__(self, reference_ms: int) -> None:
        self._reference = reference_ms
        self._offset = 0

    def now_ms(self) -> int:
        return self._reference + self._offset

    def advance(self, ms: int) -> None:
        self._offset += ms

    def reset(self) -> None:
        self._offset = 0


def sort_key(call: Call, sequence: int = 0) -> SortKey:
    """Calls list by creation time; calls created in the same millisecond by creation order."""
    return (call.created_ms, sequence, call.id)


class Store:
    def __init__(self, fixtures: FixtureSet, generator: Generator, clock: Clock) -> None:
        self.fixtures = fixtures
        self.generator = generator
        self.clock = clock
        self._lock = threading.RLock()
        self._pinned: dict[str, dict[str, Call]] = {t: {} for t in fixtures.tenants}
        self._aliases: dict[tuple[str, str], tuple[str, str]] = {}
        for call in fixtures.pinned:
            self._pinned[call.tenant][call.id] = call
            for vendor, external in call.vendor_ids.items():
                self._aliases[(vendor, external)] = (call.tenant, call.id)
        self._created: dict[str, dict[str, tuple[int, Call]]] = {}
        self._patched: dict[str, dict[str, Call]] = {}
        self._deleted: dict[str, set[str]] = {}
        self._counters: dict[str, int] = {}
        self.reset()

    # -- state ---------------------------------------------------------------------------

    def reset(self, tenant: str | None = None) -> None:
        """Forget what clients did (all tenants, or one); the seeded population stays."""
        with self._lock:
            for name in [tenant] if tenant else list(self.fixtures.tenants):
                self._created[name] = {}
                self._patched[name] = {}
                self._deleted[name] = set()
                self._counters[name] = 0

    # -- lookups -------------------------------------------------------------------------

    def alias(self, vendor: str, external_id: str) -> str | None:
        """The canonical id of a pinned call that a vendor's docs show under another id."""
        found = self._aliases.get((vendor, external_id))
        return found[1] if found else None

    def get(self, tenant: str, call_id: str) -> Call | None:
        with self._lock:
            if call_id in self._deleted[tenant]:
                return None
            patched = self._patched[tenant].get(call_id)
            if patched is not None:
                return patched
            created = self._created[tenant].get(call_id)
            if created is not None:
                return created[1]
            pinned = self._pinned[tenant].get(call_id)
            if pinned is not None:
                return pinned
        decoded = self.generator.ids.decode(call_id)
        if decoded is None or decoded[0] != tenant or decoded[1] >= self.generator.size(tenant):
            return None
        return self.generator.call(tenant, decoded[1])

    def key_of(self, tenant: str, call_id: str) -> SortKey | None:
        """Where a call sits in list order (for a pagination key), even after it was deleted."""
        with self._lock:
            created = self._created[tenant].get(call_id)
            if created is not None:
                return sort_key(created[1], created[0])
            pinned = self._pinned[tenant].get(call_id)
            if pinned is not None:
                return sort_key(pinned)
        decoded = self.generator.ids.decode(call_id)
        if decoded is None or decoded[0] != tenant or decoded[1] >= self.generator.size(tenant):
            return None
        return (self.generator.created_ms(tenant, decoded[1]), 0, call_id)

    def calls(
        self, tenant: str, *, order: Order = "desc", after: SortKey | None = None
    ) -> Iterator[Call]:
        """Every live call of `tenant` in creation order, lazily, strictly after `after`."""
        with self._lock:
            small = [(sort_key(c), c) for c in self._pinned[tenant].values()]
            small += [(sort_key(c, seq), c) for seq, c in self._created[tenant].values()]
            deleted = set(self._deleted[tenant])
            patched = dict(self._patched[tenant])
        descending = order == "desc"
        small.sort(key=lambda pair: pair[0], reverse=descending)
        if after is not None:
            small = [p for p in small if (p[0] < after if descending else p[0] > after)]
        merged = heapq.merge(
            small,
            self._generated(tenant, descending, after),
            key=lambda p: p[0],
            reverse=descending,
        )
        for _, call in merged:
            if call.id in deleted:
                continue
            yield patched.get(call.id, call)

    def _generated(
        self, tenant: str, descending: bool, after: SortKey | None
    ) -> Iterator[tuple[SortKey, Call]]:
        size = self.generator.size(tenant)
        created = self.generator.created_ms
        # created_ms falls strictly with the index: binary-search the first index past `after`.
        low, high = 0, size
        if after is not None:
            while low < high:
                middle = (low + high) // 2
                key = (created(tenant, middle), 0, self.generator.ids.encode(tenant, middle))
                if (key < after) if descending else (key <= after):
                    high = middle
                else:
                    low = middle + 1
        stop = low if after is not None else size
        indices = range(low, size) if descending else range(stop - 1, -1, -1)
        for index in indices:
            call = self.generator.call(tenant, index)
            yield sort_key(call), call

    # -- changes -------------------------------------------------------------------------

    def create(self, tenant: str, build: Callable[[str, int], Call]) -> Call:
        """Store the call `build(call_id, now_ms)` returns, under a fresh deterministic id."""
        with self._lock:
            sequence = self._counters[tenant] = self._counters[tenant] + 1
            call_id = uuid_from(self.fixtures.seed, "created", tenant, sequence)
            call = build(call_id, self.clock.now_ms())
            self._created[tenant][call_id] = (sequence, call)
            return call

    def update(self, tenant: str, call_id: str, **changes: Any) -> Call | None:
        """Replace fields of a call; None if the tenant has no such call."""
        with self._lock:
            current = self.get(tenant, call_id)
            if current is None:
                return None
            updated = dataclasses.replace(current, updated_ms=self.clock.now_ms(), **changes)
            created = self._created[tenant].get(call_id)
            if created is not None:
                self._created[tenant][call_id] = (created[0], updated)
            else:
                self._patched[tenant][call_id] = updated
            return updated

    def delete(self, tenant: str, call_id: str) -> Call | None:
        with self._lock:
            current = self.get(tenant, call_id)
            if current is None:
                return None
            self._deleted[tenant].add(call_id)
            self._patched[tenant].pop(call_id, None)
            return current

    def snapshot(self) -> Mapping[str, int]:
        """How many calls each tenant has created, patched and deleted (for tests and health)."""
        with self._lock:
            return {
                t: len(self._created[t]) + len(self._patched[t]) + len(self._deleted[t])
                for t in self.fixtures.tenants
            }
