"""One log line per request: method, path, status and duration in milliseconds.

The sandbox logs its own line instead of uvicorn's so that every mode (server, container,
in-process) logs the same thing, and so that what is logged is chosen here: the raw path only,
never a header (keys travel in headers) and never the query string (some clients put keys
there). The path is logged still percent-encoded, so no request can forge a line break.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.http.connection import ConnectionDropped

log = logging.getLogger("sandbox.access")


def _path(scope: Scope) -> str:
    raw: bytes | None = scope.get("raw_path")
    if raw:
        return raw.split(b"?", 1)[0].decode("latin-1")
    return "".join(c if " " < c <= "~" else f"%{ord(c):02X}" for c in scope.get("path", ""))


class RequestLog:
    """ASGI middleware: logs `GET /retell/v2/get-call/call_… 200 1.3ms` on `sandbox.access`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | str = 500  # what the client gets if the app raises before it answers

        answered = False

        async def send_and_note(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except ConnectionDropped as drop:  # a fault rule closed the connection on purpose
            status = f"{status} {drop.label}" if answered else drop.label
            raise
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.1fms", scope["method"], _path(scope), status, elapsed_ms)
