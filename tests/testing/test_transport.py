"""The sync httpx transport over ASGI: what a sync client (or a vendor SDK) uses in-process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.inprocess import send_request
from sandbox.testing.transport import SyncASGITransport


@pytest.fixture
def sync_client(app: Starlette) -> Iterator[httpx.Client]:
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox.test") as client:
        yield client


def test_same_answer_as_a_raw_asgi_request(
    sync_client: httpx.Client, app: Starlette, state: VendorSandbox
) -> None:
    path = "/retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"
    keys = state.credentials("retell")
    response = sync_client.get(path, headers=keys)
    raw = asyncio.run(send_request(app, "GET", path, headers=keys))
    assert response.status_code == raw.status == 200
    assert response.content == raw.body
    assert list(response.headers.items()) == raw.headers


def test_a_streamed_request_body_is_read(sync_client: httpx.Client, state: VendorSandbox) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"limit": '
        yield b"2}"

    response = sync_client.post(
        "/retell/v2/list-calls", content=body(), headers=state.credentials("retell")
    )
    assert response.status_code == 200
    assert len(response.json()) == 2


def test_an_exception_in_the_app_reaches_the_caller() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("a sandbox bug")

    with (
        httpx.Client(transport=SyncASGITransport(broken)) as client,
        pytest.raises(LookupError, match="a sandbox bug"),
    ):
        client.get("http://sandbox.test/")


def test_works_inside_a_running_event_loop(sync_client: httpx.Client) -> None:
    async def from_async_code() -> int:
        return sync_client.get("/_sandbox/health").status_code

    assert asyncio.run(from_async_code()) == 200


def test_leaves_the_threads_event_loop_alone(sync_client: httpx.Client) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        assert sync_client.get("/_sandbox/health").status_code == 200
        assert asyncio.get_event_loop() is loop
        assert not loop.is_closed()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
