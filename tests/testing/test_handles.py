"""The sandbox handles: the same methods answer the same way in-process and over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.dialect.vendor import Example, Vendor, VendorSandbox
from sandbox.serve.server import BackgroundServer
from sandbox.testing.handles import (
    IN_PROCESS_URL,
    InProcessSandbox,
    RemoteSandbox,
    SandboxHandle,
    SandboxUnavailable,
)
from sandbox.vendors import VENDORS
from tests.servers import free_port


@pytest.fixture(params=["in-process", "remote"])
def handle(request: pytest.FixtureRequest, app: Starlette) -> Iterator[SandboxHandle]:
    made: SandboxHandle
    if request.param == "in-process":
        made = InProcessSandbox(app)
        yield made
        made.close()
        return
    with BackgroundServer(app) as server:
        made = RemoteSandbox(server.url)
        yield made
        made.close()


def _creating_example() -> tuple[Vendor, Example]:
    return next((v, e) for v in VENDORS for e in v.examples if e.status == 201)


def test_base_url_is_the_origin_and_the_vendor_mount(handle: SandboxHandle) -> None:
    assert handle.vendors == tuple(v.name for v in VENDORS)
    for vendor in VENDORS:
        assert handle.mount_url(vendor.name) == f"{handle.url}/{vendor.name}"
        assert handle.base_url(vendor.name) == f"{handle.url}/{vendor.name}{vendor.base_path}"
    with pytest.raises(ValueError, match=r"no vendor 'twilio' here; choose one of retell, "):
        handle.base_url("twilio")


def test_keys_are_the_fixtures_headers(handle: SandboxHandle, state: VendorSandbox) -> None:
    for vendor in VENDORS:
        assert handle.keys(vendor.name) == state.credentials(vendor.name)
        assert handle.keys(vendor.name, "globex") == state.credentials(vendor.name, "globex")
    with pytest.raises(ValueError, match=r"no tenant 'initech'"):
        handle.keys(VENDORS[0].name, "initech")
    with pytest.raises(ValueError, match=r"no vendor 'twilio'"):
        handle.keys("twilio")


def test_the_clients_reach_the_sandbox(handle: SandboxHandle, state: VendorSandbox) -> None:
    vendor = VENDORS[0]
    client = handle.httpx_client()
    assert str(client.base_url) == handle.url
    path = vendor.lookup_path(vendor.external_id(state.fixtures.pinned[0]))
    response = client.get(handle.base_url(vendor.name) + path, headers=handle.keys(vendor.name))
    assert response.status_code == 200
    with httpx.Client(transport=handle.transport()) as own:
        again = own.get(handle.base_url(vendor.name) + path, headers=handle.keys(vendor.name))
    assert again.content == response.content
    handle.close()
    assert client.is_closed


@pytest.mark.anyio
async def test_the_async_client_reaches_the_sandbox(handle: SandboxHandle) -> None:
    async with handle.httpx_async_client() as client:
        response = await client.get("/_sandbox/health")
    assert response.status_code == 200
    assert response.json()["vendors"] == [v.name for v in VENDORS]


def test_reset_forgets_what_clients_did(handle: SandboxHandle, state: VendorSandbox) -> None:
    vendor, example = _creating_example()
    route = next(r for r in vendor.routes if r.name == example.route)
    client = handle.httpx_client()
    before = dict(state.store.snapshot())
    response = client.request(
        route.method,
        handle.base_url(vendor.name) + example.path,
        json=example.body,
        headers=handle.keys(vendor.name),
    )
    assert response.status_code == 201
    assert state.store.snapshot() != before
    handle.reset()
    assert state.store.snapshot() == before
    with pytest.raises(ValueError, match=r"no tenant 'initech'"):
        handle.reset("initech")


def test_app_in_process_and_its_absence_over_http(handle: SandboxHandle, app: Starlette) -> None:
    if isinstance(handle, InProcessSandbox):
        assert handle.app is app
        assert handle.url == IN_PROCESS_URL
    else:
        with pytest.raises(RuntimeError, match="runs in another process, so it has no app here"):
            _ = handle.app


def test_nothing_listening_is_said_plainly() -> None:
    remote = RemoteSandbox(f"http://127.0.0.1:{free_port()}", timeout=2.0)
    with pytest.raises(SandboxUnavailable, match="did not answer GET /_sandbox/health"):
        remote.health()


def test_a_server_that_is_not_a_sandbox_is_said_plainly() -> None:
    async def nope(request: Request) -> PlainTextResponse:
        return PlainTextResponse("nope", 404)

    other = Starlette(routes=[Route("/{path:path}", nope, methods=["GET", "POST"])])
    with BackgroundServer(other) as server:
        remote = RemoteSandbox(server.url)
        with pytest.raises(SandboxUnavailable, match=r"answered 404: nope \(is this URL a call"):
            remote.reset()
