"""One sandbox's state: fixtures, schemas, the generated population, the store, the clock
and the test double's records (fault rules, rate limits, the journal).

`create_app()` builds exactly one of these and hands it to every vendor mount and to the
control plane, so a reset through any door resets the same state. It knows a vendor only as
a `Door` (a name and a credential scheme): the vendors and the engine above it import it,
never the other way round.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from sandbox.calls.clock import Clock
from sandbox.calls.fixtures import FixtureError, FixtureSet, Tenant, load_fixtures
from sandbox.calls.generator import Generator
from sandbox.calls.ids import digest
from sandbox.calls.lifecycle import Transition, observe
from sandbox.calls.model import Call
from sandbox.errors import Unauthorized
from sandbox.resources import fixtures_dir, schemas_dir
from sandbox.schemas import SchemaRegistry
from sandbox.settings import Settings
from sandbox.store.backend import finish
from sandbox.store.faults import FaultBook
from sandbox.store.journal import Journal, JournalQuery
from sandbox.store.memory import MemoryBackend
from sandbox.store.opening import open_backend
from sandbox.store.ratelimits import RateLimiter
from sandbox.store.redaction import MAX_SECRET_LENGTH, MIN_SECRET_LENGTH, Redactor
from sandbox.store.statefile import Keeper, load_state
from sandbox.store.store import Store

# Told of every lifecycle event as it happens: (tenant, the call as it is then, the event).
Listener = Callable[[str, Call, Transition], None]
# Told of every reset (None: all tenants), before the journal forgets.
ResetHook = Callable[[str | None], None]

# Open tenancy: how many tenants made from new keys live at once (the least recently used goes
# when one more is made), and the keys it takes: a shorter one would be hidden by content in
# every journal entry (a one-letter key hid every `e`), and no vendor issues such keys.
OPEN_TENANTS = 1_000
MIN_KEY_LENGTH = MIN_SECRET_LENGTH
MAX_KEY_LENGTH = MAX_SECRET_LENGTH
# The question every process answers by forgetting what it keeps of a tenant (or of all).
FORGET = "forget"
JOURNAL = "journal"  # ... by its share of a journal read
JOURNAL_CLEAR = "journal-clear"  # ... by forgetting its journal entries


class Resettable(Protocol):
    async def reset(self, tenant: str | None = None) -> None: ...


class Credentials(Protocol):
    """How a vendor's clients present a tenant's keys (`sandbox.dialect.auth`)."""

    @property
    def fields(self) -> tuple[str, ...]: ...

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]: ...


class Door(Protocol):
    """What the state needs of a vendor: its name, and the keys its clients present."""

    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def auth(self) -> Credentials: ...

    def check_credentials(self, tenant: str, credentials: Mapping[str, str]) -> list[str]: ...


V = TypeVar("V", bound=Door)


class Sandbox(Generic[V]):
    def __init__(self, settings: Settings, vendors: Sequence[V]) -> None:
        self.settings = settings
        self.vendors: Mapping[str, V] = {v.name: v for v in vendors}
        self.schemas = SchemaRegistry.load(schemas_dir())
        fixtures = load_fixtures(fixtures_dir(settings.fixtures), self.schemas)
        if settings.seed is not None:
            fixtures = fixtures.with_seed(settings.seed)
        self.fixtures: FixtureSet = fixtures
        self.keyrings: dict[str, dict[tuple[str, ...], Tenant]] = {
            v.name: self._keyring(v) for v in vendors
        }
        # What clients change lives in the store's backend: this process, or a shared Redis.
        self.backend = open_backend(settings.store_url, namespace=f"seed-{fixtures.seed}")
        # This process's memory: nothing waits on a network, so the sync forms work.
        self.local = isinstance(self.backend, MemoryBackend)
        self.clock = Clock(
            fixtures.reference_ms,
            scale=settings.time_scale,
            state=self.backend.clock_state(timed=settings.time_scale > 0),
        )
        # The fixtures' tenants, and with open tenancy one more for every new key.
        self.tenants: dict[str, Tenant] = dict(fixtures.tenants)
        self._tenancy = threading.Lock()
        # The open tenants, least recently used first: tenant -> (vendor, credentials).
        self.open_tenants: OrderedDict[str, tuple[str, tuple[str, ...]]] = OrderedDict()
        self.open_tenant_cap = OPEN_TENANTS
        self.generator = Generator(fixtures, tenants=self.tenants)
        self.store = Store(
            fixtures, self.generator, self.clock, tenants=self.tenants, backend=self.backend
        )
        # `--state FILE`: what clients changed survives restarts and crashes.
        self.keeper: Keeper | None = None
        if settings.state_file is not None:
            self.keeper = load_state(self, settings.state_file)
        self.listeners: list[Listener] = []
        # How far lifecycle events were published lives in the backend too, so that of
        # several workers sharing a store only one publishes each event.
        self.backend.start_events(self.clock.now_ms())
        self._publishing = threading.Lock()
        # Test-double controls: what goes wrong on purpose, and what clients sent.
        records = self.backend.records
        self.faults = FaultBook(fixtures.seed, records)
        self.rate_limits = RateLimiter(records, vendors=list(self.vendors))
        # Each process journals what it served; a read gathers every process's entries.
        self.journal = Journal(timed=not self.local)
        records.answer(FORGET, lambda asked: self._forget_here(asked["tenant"]))
        records.answer(JOURNAL, self._journal_here, off_loop=True)
        records.answer(JOURNAL_CLEAR, lambda asked: self.journal.clear())
        self.redactor = Redactor(
            value
            for t in fixtures.tenants.values()
            for keys in t.keys.values()
            for value in keys.values()
        )
        # What else keeps per-tenant records (the webhook engine) and forgets them on a reset:
        # records kept where the store keeps them (once), and what each process keeps.
        self.record_books: list[Resettable] = []
        self.reset_hooks: list[ResetHook] = []

    def _keyring(self, vendor: V) -> dict[tuple[str, ...], Tenant]:
        """Credential tuple -> tenant, for one vendor; fixture mistakes stop start-up here."""
        ring: dict[tuple[str, ...], Tenant] = {}
        for tenant in self.fixtures.tenants.values():
            credentials = tenant.keys.get(vendor.name)
            if credentials is None:
                continue
            problems = vendor.check_credentials(tenant.id, credentials)
            if problems:
                where = f"{self.fixtures.directory / 'sandbox.yaml'}: tenant {tenant.id}"
                raise FixtureError(f"{where}: " + "; ".join(problems))
            key = tuple(credentials[f] for f in vendor.auth.fields)
            if key in ring:
                raise FixtureError(
                    f"tenants {ring[key].id} and {tenant.id} share {vendor.name} credentials"
                )
            ring[key] = tenant
        return ring

    @property
    def default_tenant(self) -> Tenant:
        return self.fixtures.tenants[self.fixtures.default_tenant]

    def tenant_for(self, vendor: V, credentials: tuple[str, ...]) -> Tenant | None:
        """The tenant these credentials belong to. With open tenancy, a key no fixture names
        gets a tenant of its own, created on first use, whose population is seeded from the
        key: parallel test workers with their own keys never see each other's calls.

        At most `open_tenant_cap` open tenants live at once: making one more forgets the least
        recently used, as a reset of it would (created calls, fault rules, rate-limit windows,
        webhooks, journal entries) and its key with it; the key's next use makes it again,
        empty and seeded as before. A key of fewer than MIN_KEY_LENGTH (or more than
        MAX_KEY_LENGTH) characters makes no tenant: Unauthorized, saying so."""
        found = self.keyrings[vendor.name].get(credentials)
        if found is not None:
            if found.id in self.open_tenants:
                with self._tenancy:
                    if found.id in self.open_tenants:
                        self.open_tenants.move_to_end(found.id)
            return found
        if not self.settings.open_tenancy:
            return None
        for value in credentials:
            if not MIN_KEY_LENGTH <= len(value) <= MAX_KEY_LENGTH:
                raise Unauthorized(
                    "the key is not one of this sandbox's keys, and open tenancy takes keys of "
                    f"{MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} characters, not {len(value)}: send "
                    "a longer key, or one of this sandbox's keys (`call-sandbox keys`)"
                )
        with self._tenancy:
            found = self.keyrings[vendor.name].get(credentials)
            if found is not None:
                return found
            while self.open_tenants and len(self.open_tenants) >= self.open_tenant_cap:
                self._evict(next(iter(self.open_tenants)))
            name = "key-" + digest(vendor.name, *credentials).hex()[:16]
            template = self.default_tenant
            tenant = Tenant(
                id=name,
                name=f"{vendor.title} key {credentials[0][:12]}",
                population=template.population,
                keys={vendor.name: dict(zip(vendor.auth.fields, credentials, strict=True))},
                agents=tuple(a for a in template.agents if a.generates),
            )
            self.tenants[name] = tenant
            self.generator.register(name)
            self.keyrings[vendor.name][credentials] = tenant
            self.open_tenants[name] = (vendor.name, credentials)
            for value in credentials:
                self.redactor.add(value)
            return tenant

    def _evict(self, tenant: str) -> None:
        """Forget an open tenant as a reset of it would, and unmake it (holding the lock).
        Calls in a shared store (Redis) stay: the tenant may live on in other workers."""
        if self.local:
            finish(self.store.reset(tenant))
            finish(self._forget_records(tenant))
        else:  # (the tenant's calls and rules in a shared store may live on elsewhere)
            self._forget_here(tenant)
        self._forget_open(tenant)

    def _forget_open(self, tenant: str) -> None:
        """Unmake an open tenant: its key, its name, its redaction (holding the tenancy lock)."""
        vendor, credentials = self.open_tenants.pop(tenant)
        self.keyrings[vendor].pop(credentials, None)
        for value in credentials:
            self.redactor.remove(value)
        self.tenants.pop(tenant, None)
        self.generator.unregister(tenant)

    def credentials(self, vendor: str, tenant: str | None = None) -> dict[str, str]:
        """The headers a client sends to be `tenant` (default: the default tenant) at `vendor`."""
        chosen = self.tenants[tenant or self.fixtures.default_tenant]
        return self.vendors[vendor].auth.headers(chosen.keys[vendor])

    def reset(self, tenant: str | None = None) -> None:
        """`areset` where nothing waits on a network (the in-memory store)."""
        finish(self.areset(tenant))

    async def areset(self, tenant: str | None = None) -> None:
        """Forget what clients did, of one tenant or of all; a reset of all also unmakes every
        open tenant (each comes back, empty, on its key's next use)."""
        if tenant is None:
            with self._tenancy:
                for made in list(self.open_tenants):
                    self._forget_open(made)
        await self.store.reset(tenant)
        await self._forget_records(tenant)
        if tenant is None:
            await self.backend.reset_clock()
            await self.backend.restart_events(self.clock.now_ms())

    async def _forget_records(self, tenant: str | None) -> None:
        """What the test double keeps of a tenant (or of all): rules, webhooks, the journal,
        in every worker and replica sharing the store."""
        await self.faults.reset(tenant)
        await self.rate_limits.reset(tenant)
        for book in self.record_books:
            await book.reset(tenant)
        await self.backend.records.gather(FORGET, {"tenant": tenant})

    def _journal_here(self, asked: Mapping[str, Any]) -> dict[str, Any]:
        """This process's share of a journal read (a JournalQuery's fields, as JSON)."""
        journal = self.journal
        return {
            "entries": journal.entries(JournalQuery(**asked)),
            "evicted": journal.evicted,
            "bytes": journal.bytes,
        }

    async def journal_entries(self, query: JournalQuery) -> dict[str, Any]:
        """The entries of every process sharing the store that match, oldest first (by `seq`),
        the newest `query.limit` of them; and how much the journals keep and dropped."""
        answers = await self.backend.records.gather(JOURNAL, dataclasses.asdict(query))
        entries = sorted(
            (entry for answer in answers for entry in answer["entries"]),
            key=lambda entry: entry["seq"],
        )
        if query.limit is not None:
            entries = entries[-query.limit :] if query.limit else []
        return {
            "entries": entries,
            "evicted": sum(answer["evicted"] for answer in answers),
            "bytes": sum(answer["bytes"] for answer in answers),
        }

    async def clear_journal(self) -> int:
        """Forget every process's entries; how many there were."""
        return sum(await self.backend.records.gather(JOURNAL_CLEAR, {}))

    def _forget_here(self, tenant: str | None) -> None:
        """What this process keeps of a tenant (or of all): webhook deliveries, the journal."""
        # Webhooks first: once reset, no earlier delivery records an attempt in the journal.
        for hook in self.reset_hooks:
            hook(tenant)
        self.journal.reset(tenant)

    def advance(self, ms: int) -> list[tuple[str, Call, Transition]]:
        """`aadvance` where nothing waits on a network (the in-memory store)."""
        return finish(self.aadvance(ms))

    async def aadvance(self, ms: int) -> list[tuple[str, Call, Transition]]:
        """Move the clock on by `ms` and tell the listeners what happened meanwhile."""
        if ms < 0:
            raise ValueError("the sandbox clock only moves forward")
        await self.backend.move_clock(ms)
        return await self.apublish()

    def publish(self) -> list[tuple[str, Call, Transition]]:
        """`apublish` where nothing waits on a network (the in-memory store)."""
        return finish(self.apublish())

    async def apublish(self) -> list[tuple[str, Call, Transition]]:
        """Tell the listeners of every lifecycle event since the last time, in time order,
        each with the call as it was at that instant (what a GET then would have shown).
        Of several workers and replicas sharing a store, the one that claims an instant
        publishes its events: each event is published once."""
        until = self.clock.now_ms()
        after = await self.backend.claim_events(until)
        with self._publishing:
            happened = self.store.transitions(after, until)
            seen = [(tenant, observe(plan, step.at_ms), step) for tenant, plan, step in happened]
            for tenant, call, step in seen:
                for listener in list(self.listeners):
                    listener(tenant, call, step)
        return seen
