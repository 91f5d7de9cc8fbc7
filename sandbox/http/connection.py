"""Faults below HTTP: a connection closed with no answer, or in the middle of one.

ASGI gives an app no way to close its connection, and every layer above a vendor's mount turns
an ordinary exception into a 500 (Starlette's ServerErrorMiddleware, then the server). So a
fault that must look like a dead connection raises `ConnectionDropped`, a BaseException that
those layers let through, and whoever runs the app turns it into what a client of a dead
connection sees:

- under uvicorn, `ServedConnections` (the app as `call-sandbox serve` and the plugin's server
  run it) returns a value instead of None, which makes uvicorn close the socket as it stands:
  nothing written for a drop, the headers and part of the body for a truncation;
- in-process, the sandbox's httpx transports (sandbox.testing.transport) raise
  `httpx.RemoteProtocolError` with the message httpx gives for the same socket event.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

# What httpx (httpcore) says when a server closes the connection before answering.
NO_RESPONSE = "Server disconnected without sending a response."


class ConnectionDropped(BaseException):
    """Close the client's connection now. `message` is what the client's httpx reports."""

    def __init__(self, message: str = NO_RESPONSE, *, label: str = "dropped") -> None:
        super().__init__(message)
        self.message = message
        self.label = label  # for the access log: "dropped", "truncated", "hung up"

    def __repr__(self) -> str:
        return f"<call-sandbox fault: connection {self.label} on purpose>"


class _QuietDrops(logging.Filter):
    """uvicorn logs an app that returns a value as an error; a planned drop is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(arg, ConnectionDropped) for arg in args)


_FILTER = _QuietDrops()


class ServedConnections:
    """The outermost layer of a served sandbox: turns `ConnectionDropped` into a closed socket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> object:
        try:
            await self.app(scope, receive, send)
        except ConnectionDropped as drop:
            logger = logging.getLogger("uvicorn.error")
            if _FILTER not in logger.filters:  # (added late: logging config may come after us)
                logger.addFilter(_FILTER)
            # uvicorn closes the transport when the app returns anything but None
            # ("ASGI callable should return None"), whether or not a response was started.
            return drop
        return None
