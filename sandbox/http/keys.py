"""What to tell a client whose key this vendor does not know: whose key it is when the sandbox
knows it (another vendor's, or half of another tenant's Zudu pair), and which header this
vendor wants. The real APIs only say "unauthorized"; the sandbox knows every key it gave out,
so it says which mix-up happened.
"""

from __future__ import annotations

from collections.abc import Iterator

from sandbox.calls.fixtures import Tenant
from sandbox.dialect.vendor import Vendor, VendorSandbox

GENERIC = "the key is not one of this sandbox's keys: run `call-sandbox keys`"


def unknown_key(sandbox: VendorSandbox, vendor: Vendor, credentials: tuple[str, ...]) -> str:
    """Why `credentials` (in `vendor.auth.fields` order) name no tenant at `vendor`."""
    fields = vendor.auth.fields
    owners = [
        list(_owners(sandbox, vendor.name, field, value))
        for field, value in zip(fields, credentials, strict=True)
    ]
    if len(fields) > 1:
        mixed = _mixed_pair(vendor, fields, owners)
        if mixed is not None:
            return mixed
    for value in credentials:
        for other, tenant in _elsewhere(sandbox, vendor, value):
            return (
                f"this is the sandbox's {other.title} key (tenant {tenant.id}); "
                f"{vendor.title} wants {_wanted(sandbox, vendor, tenant)}"
            )
    return GENERIC


def _owners(sandbox: VendorSandbox, vendor: str, field: str, value: str) -> Iterator[str]:
    """The tenants whose `vendor` credential `field` is `value`."""
    for tenant in list(sandbox.tenants.values()):
        if tenant.keys.get(vendor, {}).get(field) == value:
            yield tenant.id


def _mixed_pair(vendor: Vendor, fields: tuple[str, ...], owners: list[list[str]]) -> str | None:
    """For a vendor whose key is several values (Zudu's key and secret): which is wrong."""
    headers = _header_names(vendor)
    known = [(headers[f], o) for f, o in zip(fields, owners, strict=True) if o]
    unknown = [headers[f] for f, o in zip(fields, owners, strict=True) if not o]
    if not known:
        return None
    if unknown:
        header, tenants = known[0]
        return (
            f"{header} is tenant {tenants[0]}'s, but {' and '.join(unknown)} is not: send "
            f"tenant {tenants[0]}'s own (run `call-sandbox keys`)"
        )
    shared = set.intersection(*(set(o) for _, o in known))
    if shared:
        return None  # (one tenant's pair after all: no mix-up to explain)
    parts = [f"{header} is tenant {tenants[0]}'s" for header, tenants in known]
    return "; ".join(parts) + ": send both of one tenant's (run `call-sandbox keys`)"


def _elsewhere(
    sandbox: VendorSandbox, vendor: Vendor, value: str
) -> Iterator[tuple[Vendor, Tenant]]:
    """Other vendors (and their tenants) one of whose credentials is `value`."""
    for other in sandbox.vendors.values():
        if other.name == vendor.name:
            continue
        for field in other.auth.fields:
            for tenant_id in _owners(sandbox, other.name, field, value):
                yield other, sandbox.tenants[tenant_id]


def _wanted(sandbox: VendorSandbox, vendor: Vendor, tenant: Tenant) -> str:
    """This vendor's headers as `tenant` (or the default tenant) sends them, values cut short:
    `Authorization: Bearer key_...`."""
    keys = tenant.keys.get(vendor.name) or sandbox.default_tenant.keys.get(vendor.name, {})
    shown = {field: _prefix(value) for field, value in keys.items()}
    headers = vendor.auth.headers(shown)
    return " and ".join(f"`{name}: {value}`" for name, value in headers.items())


def _prefix(value: str) -> str:
    head, underscore, _ = value.partition("_")
    return f"{head}_..." if underscore else f"{value[:4]}..."


def _header_names(vendor: Vendor) -> dict[str, str]:
    """Each credential field's header name, from the scheme itself."""
    names: dict[str, str] = {}
    for field in vendor.auth.fields:
        marker = f"<{field}>"
        for header, value in vendor.auth.headers(
            {f: marker if f == field else "" for f in vendor.auth.fields}
        ).items():
            if marker in value:
                names[field] = header
    return names
