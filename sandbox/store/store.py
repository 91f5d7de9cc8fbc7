"""The calls a tenant can see: its generated population, its pinned calls, and what clients
created, updated or deleted through the API.

The generated population is never materialised: a call is generated when it is asked for.
What clients change lives in small overlays (created calls, patched copies, deleted ids), so a
reset is dropping the overlays. The overlays live in a backend (`sandbox/backends/`): this
process's memory by default, or a Redis server shared by every worker and replica. Every
lookup is scoped to one tenant; another tenant's call is indistinguishable from one that does
not exist.
"""

from __future__ import annotations

import bisect
import contextvars
import functools
import heapq
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import replace
from typing import Any, Literal, TypeVar

from sandbox.calls.clock import Clock
from sandbox.calls.fixtures import FixtureSet, Tenant
from sandbox.calls.generator import LIVE, Generator
from sandbox.calls.ids import uuid_from
from sandbox.calls.lifecycle import Transition, observe, transitions
from sandbox.calls.model import Call, Scenario
from sandbox.errors import StoreDown
from sandbox.store.backend import Backend, Conflict, Overlay
from sandbox.store.listing import MadeIndexes, SortKey, sort_key
from sandbox.store.memory import MemoryBackend
from sandbox.store.slices import checkpoint

LIVE_HEAD = len(LIVE)
# A change that conflicts with other replicas' changes this many times in a row gets 503.
ATTEMPTS = 8
T = TypeVar("T")
# What a change in progress leaves for after its commit (None: no change in progress).
_AFTER: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "call_sandbox_after_commit", default=None
)
Order = Literal["desc", "asc"]


# How many generated calls' list keys are kept (of every tenant; about 200 bytes each).
GENERATED_KEYS = 8192


def _first(pair: tuple[SortKey, int]) -> SortKey:
    return pair[0]


class Store:
    def __init__(
        self,
        fixtures: FixtureSet,
        generator: Generator,
        clock: Clock,
        *,
        tenants: Mapping[str, Tenant] | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.fixtures = fixtures
        self.tenants = tenants if tenants is not None else fixtures.tenants
        self.generator = generator
        self.clock = clock
        self.backend: Backend = backend if backend is not None else MemoryBackend()
        self._made = MadeIndexes()  # pinned and created calls in list order, per tenant
        # Where generated calls sit in list order: two digests each, asked for on every page.
        self._generated_key = functools.lru_cache(maxsize=GENERATED_KEYS)(self._key_at)
        self._pinned: dict[str, dict[str, Call]] = {t: {} for t in self.tenants}
        self._aliases: dict[tuple[str, str], tuple[str, str]] = {}
        for call in fixtures.pinned:
            self._pinned[call.tenant][call.id] = call
            for vendor, external in call.vendor_ids.items():
                self._aliases[(vendor, external)] = (call.tenant, call.id)

    # -- state ---------------------------------------------------------------------------

    async def reset(self, tenant: str | None = None) -> None:
        """Forget what clients did (all tenants, or one); the seeded population stays."""
        await self.backend.reset(tenant)

    def mutation(self, tenant: str) -> AbstractContextManager[None]:
        """Hold while reading, changing and writing one tenant's calls: no other thread,
        worker or replica sharing the store changes that tenant's calls meanwhile."""
        return self.backend.mutation(tenant)

    def transaction(self, tenant: str) -> AbstractAsyncContextManager[None]:
        """Where a request changes one tenant's calls: whole or not at all (`Backend`)."""
        return self.backend.transaction(tenant)

    async def change(self, tenant: str, run: Callable[[], T]) -> T:
        """Run `run` (which reads, changes and writes `tenant`'s calls) in a transaction, again
        on the newer state when another worker or replica changed the tenant first, and then
        what it left for after the commit (`after_commit`). Raises StoreDown when the store
        does not answer, or when the tenant kept changing under it ATTEMPTS times."""
        for _ in range(ATTEMPTS):
            later: list[Callable[[], None]] = []
            token = _AFTER.set(later)
            try:
                async with self.transaction(tenant):
                    result = run()
            except Conflict:
                continue
            finally:
                _AFTER.reset(token)
            for step in later:
                step()
            return result
        raise StoreDown(
            f"tenant {tenant}'s calls changed under this request {ATTEMPTS} times in a row "
            "(other clients keep changing them): retry"
        )

    @staticmethod
    def after_commit(step: Callable[[], None]) -> None:
        """Do `step` once the change being made is committed (at once outside `change`): what
        the world hears of a change (its webhooks) must not go out for one never kept."""
        later = _AFTER.get()
        if later is None:
            step()
        else:
            later.append(step)

    # -- lookups -------------------------------------------------------------------------

    def alias(self, vendor: str, external_id: str) -> str | None:
        """The canonical id of a pinned call that a vendor's docs show under another id."""
        found = self._aliases.get((vendor, external_id))
        return found[1] if found else None

    def get(self, tenant: str, call_id: str) -> Call | None:
        """The tenant's call as it is now on the sandbox clock, or None."""
        plan = self.plan(tenant, call_id)
        return observe(plan, self.clock.now_ms()) if plan is not None else None

    def plan(self, tenant: str, call_id: str) -> Call | None:
        """The tenant's call as planned: its whole life, whatever the clock says."""
        entry = self.backend.entry(tenant, call_id)
        if entry.deleted:
            return None
        if entry.patched is not None:
            return entry.patched
        if entry.created is not None:
            return entry.created[1]
        pinned = self._pinned.get(tenant, {}).get(call_id)
        if pinned is not None:
            return pinned
        return self._generated_plan(tenant, call_id)

    def _generated_plan(self, tenant: str, call_id: str) -> Call | None:
        decoded = self.generator.ids.decode(call_id)
        if decoded is None or decoded[0] != tenant or decoded[1] >= self.generator.size(tenant):
            return None
        return self.generator.plan(tenant, decoded[1])

    def key_of(self, tenant: str, call_id: str) -> SortKey | None:
        """Where a call sits in list order (for a pagination key), even after it was deleted."""
        created = self.backend.entry(tenant, call_id).created
        if created is not None:
            return sort_key(created[1], created[0])
        pinned = self._pinned.get(tenant, {}).get(call_id)
        if pinned is not None:
            return sort_key(pinned)
        decoded = self.generator.ids.decode(call_id)
        if decoded is None or decoded[0] != tenant or decoded[1] >= self.generator.size(tenant):
            return None
        return (self.generator.created_ms(tenant, decoded[1]), 0, call_id)

    def calls(
        self, tenant: str, *, order: Order = "desc", after: SortKey | None = None
    ) -> Iterator[Call]:
        """Every call of `tenant` as it is now, in creation order, lazily, after `after`."""
        now = self.clock.now_ms()
        for plan in self.plans(tenant, order=order, after=after):
            yield observe(plan, now)

    def plans(
        self, tenant: str, *, order: Order = "desc", after: SortKey | None = None
    ) -> Iterator[Call]:
        """Every call of `tenant` as planned (updated, deleted ones left out), in creation
        order, lazily, after `after`: a page touches the calls on it and one more, whatever
        the tenant holds (a generated call is generated when its turn comes)."""
        overlay = self.backend.overlay(tenant)
        pinned = self._pinned.get(tenant, {})
        created, deleted, patched = overlay.created, overlay.deleted, overlay.patched
        descending = order == "desc"
        merged = heapq.merge(
            self._made_keys(tenant, overlay, pinned, descending, after),
            self._generated(tenant, descending, after),
            key=_first,
            reverse=descending,
        )
        for key, index in merged:
            checkpoint()  # (a list that looks through a million calls takes turns with the loop)
            call_id = key[2]
            if call_id in deleted:
                continue
            if index >= 0:
                plan = self.generator.plan(tenant, index)
            else:
                made = created.get(call_id)
                plan = made[1] if made is not None else pinned[call_id]
            yield patched.get(call_id, plan)

    def count(self, tenant: str) -> int:
        """How many calls `tenant` has (what `calls` would yield), without listing them."""
        overlay = self.backend.overlay(tenant)
        deleted = sum(1 for i in list(overlay.deleted) if self.key_of(tenant, i) is not None)
        made = len(self._pinned.get(tenant, {})) + len(overlay.created)
        return self.generator.size(tenant) + made - deleted

    def _made_keys(
        self,
        tenant: str,
        overlay: Overlay,
        pinned: Mapping[str, Call],
        descending: bool,
        after: SortKey | None,
    ) -> Iterator[tuple[SortKey, int]]:
        """The keys of the pinned and created calls (index -1: not generated), in order."""
        keys = self._made.keys(tenant, overlay, pinned)
        if descending:
            stop = len(keys) if after is None else bisect.bisect_left(keys, after)
            return ((keys[i], -1) for i in range(stop - 1, -1, -1))
        start = 0 if after is None else bisect.bisect_right(keys, after)
        return ((keys[i], -1) for i in range(start, len(keys)))

    def _generated(
        self, tenant: str, descending: bool, after: SortKey | None
    ) -> Iterator[tuple[SortKey, int]]:
        """The keys of the generated population and their indices, in order; no call is
        generated here (a key is its creation instant and its id)."""
        size = self.generator.size(tenant)
        created = self.generator.created_ms
        encode = self.generator.ids.encode
        # created_ms falls strictly with the index: binary-search the first index past `after`.
        low, high = 0, size
        if after is not None:
            while low < high:
                middle = (low + high) // 2
                key = (created(tenant, middle), 0, encode(tenant, middle))
                if (key < after) if descending else (key <= after):
                    high = middle
                else:
                    low = middle + 1
        stop = low if after is not None else size
        indices = range(low, size) if descending else range(stop - 1, -1, -1)
        key_at = self._generated_key
        for index in indices:
            yield key_at(tenant, index), index

    def _key_at(self, tenant: str, index: int) -> SortKey:
        return (
            self.generator.created_ms(tenant, index),
            0,
            self.generator.ids.encode(tenant, index),
        )

    # -- changes -------------------------------------------------------------------------

    def create(
        self,
        tenant: str,
        build: Callable[[str, int], Call],
        *,
        origin: str,
        outcome: Callable[[Call], Scenario | None],
    ) -> Call:
        """Store the call a client asked for through vendor `origin`: `build(call_id, now_ms)`
        says what was asked, `outcome(request)` how it will end (None: it never moves on),
        and the generator plans the rest. Answers the call as it is now."""
        with self.mutation(tenant):
            sequence = self.backend.next_sequence(tenant)
            try:
                call_id = uuid_from(self.fixtures.seed, "created", tenant, sequence)
                now = self.clock.now_ms()
                request = replace(build(call_id, now), origin=origin)
                ending = outcome(request)  # may raise: nothing is stored then
                plan = request if ending is None else self.generator.plan_created(request, ending)
            except BaseException:
                self.backend.release_sequence(tenant, sequence)
                raise
            self.backend.put_created(tenant, sequence, plan)
            return observe(plan, now)

    def update(self, tenant: str, call_id: str, **changes: Any) -> Call | None:
        """Replace fields of a call; None if the tenant has no such call."""
        with self.mutation(tenant):
            current = self.plan(tenant, call_id)
            if current is None:
                return None
            now = self.clock.now_ms()
            updated = replace(current, updated_ms=now, **changes)
            created = self.backend.entry(tenant, call_id).created
            if created is not None:
                self.backend.put_created(tenant, created[0], updated)
            else:
                self.backend.put_patched(tenant, updated)
            return observe(updated, now)

    def delete(self, tenant: str, call_id: str) -> Call | None:
        with self.mutation(tenant):
            current = self.get(tenant, call_id)
            if current is None:
                return None
            self.backend.put_deleted(tenant, call_id)
            return current

    def transitions(self, after: int, until: int) -> list[tuple[str, Call, Transition]]:
        """Every lifecycle event in (after, until] of every tenant, in time order: of created
        and pinned calls, and of the live head of each generated population (older generated
        calls were settled before the reference instant, which the clock never goes behind)."""
        found: list[tuple[int, int, str, Call, Transition]] = []
        overlays = self.backend.overlays()
        plans = [(t, c) for t in self._pinned for c in self._pinned[t].values()]
        # Tenants this process knows (another worker's new open tenant is not one yet), in
        # the order they were made, and their calls in creation order: a fixed order for
        # events at the same instant.
        for tenant in self.tenants:
            made = overlays[tenant].created.values() if tenant in overlays else ()
            plans += [(tenant, c) for _, c in sorted(made, key=lambda pair: pair[0])]
        for tenant in self.tenants:
            live = range(min(LIVE_HEAD, self.generator.size(tenant)))
            plans += [(tenant, self.generator.plan(tenant, i)) for i in live]
        # An older call a client changed may have events again (its analysis run again).
        listed = {(tenant, plan.id) for tenant, plan in plans}
        for tenant, changed in overlays.items():
            plans += [(tenant, c) for i, c in changed.patched.items() if (tenant, i) not in listed]
        for tenant, plan in plans:
            overlay = overlays.get(tenant)
            if overlay is not None and plan.id in overlay.deleted:
                continue
            current = overlay.patched.get(plan.id, plan) if overlay is not None else plan
            for step in transitions(current, after, until):
                found.append((step.at_ms, len(found), tenant, current, step))
        found.sort(key=lambda entry: entry[:2])
        return [(tenant, plan, step) for _, _, tenant, plan, step in found]

    def snapshot(self) -> Mapping[str, int]:
        """How many calls each tenant has created, patched and deleted (for tests and health)."""
        overlays = self.backend.overlays()
        return {t: overlays[t].size if t in overlays else 0 for t in self.tenants}
