"""Every vendor, every route: success and error answers all fit their schemas.

The app under test raises on any body that breaks its schema (Settings.raise_on_schema_error),
so each request below is also a schema check; the explicit checks say which schema."""

from __future__ import annotations

import httpx2
import pytest
from starlette.testclient import TestClient

from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import Example, Route, Vendor, VendorSandbox
from sandbox.errors import CallNotFound, Unauthorized
from sandbox.vendors import VENDORS

ROUTES = [(v, r) for v in VENDORS for r in v.routes]


def _id(value: object) -> str:
    if isinstance(value, Vendor):
        return value.name
    if isinstance(value, Route):
        return value.name
    return str(value)


def _call_id(state: VendorSandbox, vendor: Vendor) -> str:
    call = next(
        state.generator.call("acme", i)
        for i in range(20)
        if state.generator.call("acme", i).scenario is Scenario.COMPLETED
    )
    return vendor.external_id(call)


def _send(
    client: TestClient,
    vendor: Vendor,
    route: Route,
    path: str,
    body: object,
    headers: dict[str, str],
) -> httpx2.Response:
    return client.request(route.method, f"/{vendor.name}{path}", headers=headers, json=body)


def test_every_route_has_an_example() -> None:
    for vendor in VENDORS:
        covered = {e.route for e in vendor.examples}
        assert covered == {r.name for r in vendor.routes}, vendor.name


@pytest.mark.parametrize(
    ("vendor", "example"), [(v, e) for v in VENDORS for e in v.examples], ids=_id
)
def test_example_succeeds(
    client: TestClient, state: VendorSandbox, vendor: Vendor, example: Example
) -> None:
    route = next(r for r in vendor.routes if r.name == example.route)
    path = example.path.replace("{call_id}", _call_id(state, vendor))
    response = _send(client, vendor, route, path, example.body, state.credentials(vendor.name))
    assert response.status_code == example.status, response.text
    if response.status_code != 204:
        assert response.headers["content-type"] == vendor.content_type


@pytest.mark.parametrize(("vendor", "route"), ROUTES, ids=_id)
def test_no_credentials(
    client: TestClient, state: VendorSandbox, vendor: Vendor, route: Route
) -> None:
    path = route.path.replace("{", "").replace("}", "")
    response = client.request(route.method, f"/{vendor.name}{path}")
    reply = vendor.render_error(Unauthorized("x"))
    assert response.status_code == reply.status
    assert response.json() == reply.body
    assert response.headers["x-sandbox-hint"]


def _by_call_id(vendor: Vendor, route: Route) -> bool:
    """Whether the route's example names a call by its id (other path ids, such as a contact's,
    have their own not-found tests beside their vendor's)."""
    return any(e.route == route.name and "{call_id}" in e.path for e in vendor.examples)


@pytest.mark.parametrize(
    ("vendor", "route"), [(v, r) for v, r in ROUTES if _by_call_id(v, r)], ids=_id
)
def test_unknown_id(client: TestClient, state: VendorSandbox, vendor: Vendor, route: Route) -> None:
    example = next(e for e in vendor.examples if e.route == route.name)
    unknown = "00000000-0000-4000-8000-000000000000"
    path = example.path.replace("{call_id}", unknown)
    before = state.store.snapshot()
    response = _send(client, vendor, route, path, example.body, state.credentials(vendor.name))
    expected = vendor.render_error(CallNotFound(unknown))
    assert response.status_code == expected.status
    assert response.json().keys() == expected.body.keys()
    assert state.store.snapshot() == before
    assert response.headers["x-sandbox-hint"]


@pytest.mark.parametrize(("vendor", "route"), [(v, r) for v, r in ROUTES if r.body_schema], ids=_id)
def test_malformed_body(
    client: TestClient, state: VendorSandbox, vendor: Vendor, route: Route
) -> None:
    example = next(e for e in vendor.examples if e.route == route.name)
    path = example.path.replace("{call_id}", _call_id(state, vendor))
    before = state.store.snapshot()
    response = client.request(
        route.method,
        f"/{vendor.name}{path}",
        headers={**state.credentials(vendor.name), "content-type": "application/json"},
        content=b'{"unterminated": ',
    )
    assert 400 <= response.status_code < 500
    assert "not valid JSON" in response.headers["x-sandbox-hint"]
    assert state.store.snapshot() == before


@pytest.mark.parametrize("vendor", VENDORS, ids=_id)
def test_unknown_route(client: TestClient, state: VendorSandbox, vendor: Vendor) -> None:
    response = client.get(f"/{vendor.name}/no/such/route", headers=state.credentials(vendor.name))
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == vendor.content_type


def test_path_outside_every_vendor(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
