"""A synchronous httpx transport that sends requests into an ASGI app, with no socket.

httpx ships `ASGITransport` for its async client only. Synchronous clients (`httpx.Client`,
and the vendors' SDKs built on it, such as `retell.Retell(http_client=...)`) need this one to
talk to an in-process sandbox. Each request is handed to httpx's own `ASGITransport`, so a sync
and an async client build the very same ASGI request, and exceptions the app raises reach the
caller (a sandbox bug fails the test that met it).

Both transports behave like a socket where a fault needs them to: they honour the client's read
timeout (so a hanging answer ends in `httpx.ReadTimeout`, as over the network) and turn a
dropped or truncated connection (sandbox.http.connection) into `httpx.RemoteProtocolError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

import anyio
import httpx
from starlette.types import ASGIApp

from sandbox.http.connection import ConnectionDropped

T = TypeVar("T")


class AsyncASGITransport(httpx.ASGITransport):
    """httpx's ASGITransport, plus the read timeout and the connection faults of a socket."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        read = timeouts.get("read") if isinstance(timeouts, dict) else None
        try:
            if read is None:
                return await super().handle_async_request(request)
            with anyio.move_on_after(read) as scope:
                return await super().handle_async_request(request)
        except ConnectionDropped as drop:
            raise httpx.RemoteProtocolError(drop.message, request=request) from None
        assert scope.cancelled_caught
        raise httpx.ReadTimeout("timed out", request=request)  # (httpx's words over a socket)


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self._inner = AsyncASGITransport(app=app, client=client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A sync client's body may be a sync-only stream (a generator); reading it swaps in
        # an in-memory stream that the ASGI side can read asynchronously, as a server would.
        request.read()
        status, headers, body, extensions = _run(self._exchange(request))
        return httpx.Response(status, headers=headers, content=body, extensions=extensions)

    async def _exchange(
        self, request: httpx.Request
    ) -> tuple[int, httpx.Headers, bytes, dict[str, object]]:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        return response.status_code, response.headers, body, dict(response.extensions)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run to completion on a private event loop (the thread's own loop, if any, is left
    alone); on a helper thread when this thread is already running a loop, as when a sync
    client is used inside an async test."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False  # (not run from here, so the app's exceptions carry no context)
    else:
        running = True
    if not running:
        return _on_private_loop(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="call-sandbox") as pool:
        future: concurrent.futures.Future[T] = pool.submit(_on_private_loop, coroutine)
        return future.result()


def _on_private_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        return runner.run(coroutine)
