"""One sandbox's state: fixtures, schemas, the generated population and the store.

`create_app()` builds exactly one of these and hands it to every vendor mount and to the
control plane, so a reset through any door resets the same state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sandbox.fixtures import FixtureError, FixtureSet, Tenant, load_fixtures
from sandbox.generator import Generator
from sandbox.resources import fixtures_dir, schemas_dir
from sandbox.schemas import SchemaRegistry
from sandbox.settings import Settings
from sandbox.store import Clock, Store
from sandbox.vendor import Vendor


class Sandbox:
    def __init__(self, settings: Settings, vendors: Sequence[Vendor]) -> None:
        self.settings = settings
        self.vendors: Mapping[str, Vendor] = {v.name: v for v in vendors}
        self.schemas = SchemaRegistry.load(schemas_dir())
        fixtures = load_fixtures(fixtures_dir(settings.fixtures), self.schemas)
        if settings.seed is not None:
            fixtures = fixtures.with_seed(settings.seed)
        self.fixtures: FixtureSet = fixtures
        self.keyrings = {v.name: self._keyring(v) for v in vendors}
        self.clock = Clock(fixtures.reference_ms)
        self.generator = Generator(fixtures)
        self.store = Store(fixtures, self.generator, self.clock)

    def _keyring(self, vendor: Vendor) -> Mapping[tuple[str, ...], Tenant]:
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

    def credentials(self, vendor: str, tenant: str | None = None) -> dict[str, str]:
        """The headers a client sends to be `tenant` (default: the default tenant) at `vendor`."""
        chosen = self.fixtures.tenants[tenant or self.fixtures.default_tenant]
        return self.vendors[vendor].auth.headers(chosen.keys[vendor])

    def reset(self, tenant: str | None = None) -> None:
        self.store.reset(tenant)
        if tenant is None:
            self.clock.reset()
