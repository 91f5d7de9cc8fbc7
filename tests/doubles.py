"""Shared helpers of the test-double control tests (faults, rate limits, journal): the same
test runs in-process and over a socket, through the pytest plugin's own fixtures, and sends
each vendor's documented example requests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import Example, Route, Vendor, VendorSandbox
from sandbox.testing.handles import SandboxHandle
from sandbox.vendors import VENDORS

MODES = ["in-process", "socket"]

# Each vendor's injected 429 and 503, as the vendor's own error shape spells them.
INJECTED: Mapping[str, Mapping[int, Any]] = {
    "retell": {
        429: {"status": "error", "message": "Account rate limited, please throttle your requests."},
        503: {"status": "error", "message": "Service Unavailable"},
    },
    "callab": {
        429: {"status": "error", "message": "Too Many Requests", "data": ""},
        503: {"status": "error", "message": "Service Unavailable", "data": ""},
    },
    "contactship": {
        429: {"statusCode": 429, "message": "ThrottlerException: Too Many Requests"},
        503: {"statusCode": 503, "message": "Service Unavailable"},
    },
    "zudu": {
        429: {
            "message": "Too Many Requests",
            "status": "error",
            "error": "Too many requests, please try again later",
        },
        503: {
            "message": "Service Unavailable",
            "status": "error",
            "error": "The server answered 503 Service Unavailable",
        },
    },
}


def pick(request: pytest.FixtureRequest, sandbox: SandboxHandle) -> SandboxHandle:
    """The in-process handle, or the plugin's server serving the very same sandbox."""
    if request.param == "in-process":
        return sandbox
    server: SandboxHandle = request.getfixturevalue("sandbox_server")
    return server


def state_of(sandbox: SandboxHandle) -> VendorSandbox:
    state: VendorSandbox = sandbox.app.state.sandbox
    return state


def call_id(state: VendorSandbox, vendor: Vendor) -> str:
    """A completed generated call of the default tenant, as the vendor spells its id."""
    tenant = state.default_tenant.id
    call = next(
        state.generator.call(tenant, i)
        for i in range(50)
        if state.generator.call(tenant, i).scenario is Scenario.COMPLETED
    )
    return vendor.external_id(call)


def route_of(vendor: Vendor, example: Example) -> Route:
    return next(r for r in vendor.routes if r.name == example.route)


def send(
    client: httpx.Client,
    state: VendorSandbox,
    vendor: Vendor,
    example: Example,
    headers: Mapping[str, str] | None = None,
    tenant: str | None = None,
) -> httpx.Response:
    """The example request, with the tenant's keys and any extra headers, to the vendor's
    mount below the client's base URL (a handle's clients have the sandbox's origin)."""
    route = route_of(vendor, example)
    path = example.path.replace("{call_id}", call_id(state, vendor))
    content = None if example.body is None else json.dumps(example.body).encode()
    sent = {**state.credentials(vendor.name, tenant), **(headers or {})}
    if content is not None:
        sent["content-type"] = "application/json"
    return client.request(route.method, f"/{vendor.name}{path}", headers=sent, content=content)


def vendor_examples() -> list[tuple[Vendor, Example]]:
    return [(v, e) for v in VENDORS for e in v.examples]


def lookup(vendor: Vendor) -> Example:
    """The vendor's example that fetches one call."""
    return next(e for e in vendor.examples if e.route == vendor.lookup_route)
