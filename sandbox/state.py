"""One sandbox's state: fixtures, schemas, the generated population and the store.

`create_app()` builds exactly one of these and hands it to every vendor mount and to the
control plane, so a reset through any door resets the same state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from sandbox.clock import Clock
from sandbox.fixtures import FixtureError, FixtureSet, Tenant, load_fixtures
from sandbox.generator import Generator
from sandbox.ids import digest
from sandbox.lifecycle import Transition, observe
from sandbox.model import Call
from sandbox.resources import fixtures_dir, schemas_dir
from sandbox.schemas import SchemaRegistry
from sandbox.settings import Settings
from sandbox.store import Store
from sandbox.vendor import Vendor

# Told of every lifecycle event as it happens: (tenant, the call as it is then, the event).
Listener = Callable[[str, Call, Transition], None]


class Sandbox:
    def __init__(self, settings: Settings, vendors: Sequence[Vendor]) -> None:
        self.settings = settings
        self.vendors: Mapping[str, Vendor] = {v.name: v for v in vendors}
        self.schemas = SchemaRegistry.load(schemas_dir())
        fixtures = load_fixtures(fixtures_dir(settings.fixtures), self.schemas)
        if settings.seed is not None:
            fixtures = fixtures.with_seed(settings.seed)
        self.fixtures: FixtureSet = fixtures
        self.keyrings: dict[str, dict[tuple[str, ...], Tenant]] = {
            v.name: self._keyring(v) for v in vendors
        }
        self.clock = Clock(fixtures.reference_ms, scale=settings.time_scale)
        # The fixtures' tenants, and with open tenancy one more for every new key.
        self.tenants: dict[str, Tenant] = dict(fixtures.tenants)
        self._tenancy = threading.Lock()
        self.generator = Generator(fixtures, tenants=self.tenants)
        self.store = Store(fixtures, self.generator, self.clock, tenants=self.tenants)
        self.listeners: list[Listener] = []
        self._published = self.clock.now_ms()
        self._publishing = threading.Lock()

    def _keyring(self, vendor: Vendor) -> dict[tuple[str, ...], Tenant]:
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

    def tenant_for(self, vendor: Vendor, credentials: tuple[str, ...]) -> Tenant | None:
        """The tenant these credentials belong to. With open tenancy, a key no fixture names
        gets a tenant of its own, created on first use, whose population is seeded from the
        key: parallel test workers with their own keys never see each other's calls."""
        found = self.keyrings[vendor.name].get(credentials)
        if found is not None or not self.settings.open_tenancy:
            return found
        with self._tenancy:
            found = self.keyrings[vendor.name].get(credentials)
            if found is not None:
                return found
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
            self.store.reset(name)
            self.keyrings[vendor.name][credentials] = tenant
            return tenant

    def credentials(self, vendor: str, tenant: str | None = None) -> dict[str, str]:
        """The headers a client sends to be `tenant` (default: the default tenant) at `vendor`."""
        chosen = self.tenants[tenant or self.fixtures.default_tenant]
        return self.vendors[vendor].auth.headers(chosen.keys[vendor])

    def reset(self, tenant: str | None = None) -> None:
        self.store.reset(tenant)
        if tenant is None:
            with self._publishing:
                self.clock.reset()
                self._published = self.clock.now_ms()

    def advance(self, ms: int) -> list[tuple[str, Call, Transition]]:
        """Move the clock on by `ms` and tell the listeners what happened meanwhile."""
        self.clock.advance(ms)
        return self.publish()

    def publish(self) -> list[tuple[str, Call, Transition]]:
        """Tell the listeners of every lifecycle event since the last time, in time order,
        each with the call as it was at that instant (what a GET then would have shown)."""
        with self._publishing:
            until = self.clock.now_ms()
            happened = self.store.transitions(self._published, until)
            self._published = until
            seen = [(tenant, observe(plan, step.at_ms), step) for tenant, plan, step in happened]
            for tenant, call, step in seen:
                for listener in list(self.listeners):
                    listener(tenant, call, step)
        return seen
