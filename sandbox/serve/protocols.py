"""uvicorn's two HTTP/1.1 parsers, with the read limits uvicorn lacks for slow clients.

uvicorn closes an idle keep-alive connection (`timeout_keep_alive`) but waits for ever for the
rest of a request: a client that sends a header byte every few seconds, or a body that never
ends on a route that answers without reading it, holds its connection (and a file descriptor)
until the process runs out of them. Node, under Express and NestJS, bounds both
(`headersTimeout`, `requestTimeout`). These protocols add:

- a head timer: a request's head (request line and headers) must be complete within
  `header_timeout_s` of its first byte, or of the connection opening; otherwise the connection
  is closed without an answer (which vendor's shape would it take? the path is not read yet);
- a connection whose answer is complete while its request body is still arriving is closed
  (nothing after that body could be read as the next request);
- under httptools, an answer's head and body leave in one system call (`_OneWrite`), where
  uvicorn writes each on its own: one TCP segment for a small answer, not two.

A body the app reads that has not all come within `Settings.body_timeout_s` (stalled, or
dripped without end) gets the vendor's 408 from the pipeline (`sandbox.http.pipeline`).

The timeout travels in `SandboxConfig`, which uvicorn hands to every protocol it builds and
pickles for every worker process.
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any, Literal

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from sandbox.settings import Settings

HEADER_TIMEOUT_S = Settings().header_timeout_s  # 10 s
# Node's keepAliveTimeout, and uvicorn's own default: an idle keep-alive connection is closed
# this long after its last answer.
KEEP_ALIVE_S = 5

Parser = Literal["auto", "h11", "httptools"]


class SandboxConfig(uvicorn.Config):
    """uvicorn's Config with the sandbox's protocols and their head timeout."""

    def __init__(
        self,
        app: Any,
        *,
        parser: Parser = "auto",
        header_timeout_s: float = HEADER_TIMEOUT_S,
        **options: Any,
    ) -> None:
        if not header_timeout_s > 0:
            raise ValueError(f"header_timeout_s must be > 0, not {header_timeout_s!r}")
        options.setdefault("timeout_keep_alive", KEEP_ALIVE_S)
        super().__init__(app, http=protocol_class(parser), **options)
        self.header_timeout_s = header_timeout_s


def _header_timeout(config: uvicorn.Config) -> float:
    seconds: float = getattr(config, "header_timeout_s", HEADER_TIMEOUT_S)
    return seconds


class _HeadTimer:
    """One connection's timer: the wait for a head (armed when a head is awaited, cancelled
    when it is complete) and, under httptools, the keep-alive wait after an answer (uvicorn's
    `timeout_keep_alive`, until the next request's first byte), closing the connection if
    either runs out.

    Arming and cancelling only set a deadline: on a kept-alive connection every request arms
    and cancels both, and a timer handle made and cancelled each time (as uvicorn does for its
    keep-alive wait) would cost more than the sandbox's whole answer from its cache. One
    handle per connection wakes at the deadline, and sleeps again until the next deadline when
    the head came in time; it is moved earlier only when a deadline comes before it (the
    first keep-alive wait after a longer head wait, once per connection)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self._loop = loop
        self._seconds = seconds
        self._deadline: float | None = None
        self._idle = False  # the deadline is a keep-alive wait, not a head's
        self._handle: asyncio.TimerHandle | None = None
        self._wake_at = 0.0
        self._transport: asyncio.BaseTransport | None = None

    @property
    def armed(self) -> bool:
        return self._deadline is not None

    def arm(self, transport: asyncio.BaseTransport) -> None:
        """A head is awaited: it must be complete within the head timeout from now (or from
        when it was first awaited, if it is already)."""
        if self._deadline is not None and not self._idle:
            return
        self._set(transport, self._seconds, idle=False)

    def idle(self, transport: asyncio.BaseTransport, seconds: float) -> None:
        """An answer is complete: the next request must begin within `seconds`."""
        self._set(transport, seconds, idle=True)

    def cancel(self) -> None:
        self._deadline = None

    def cancel_idle(self) -> None:
        """Data came: the keep-alive wait is over (a head's is not)."""
        if self._idle:
            self._deadline = None
            self._idle = False

    def stop(self) -> None:
        """The connection is gone: no wake-up any more."""
        self._deadline = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _set(self, transport: asyncio.BaseTransport, seconds: float, *, idle: bool) -> None:
        deadline = self._deadline = self._loop.time() + seconds
        self._idle = idle
        self._transport = transport
        if self._handle is not None and deadline < self._wake_at:
            self._handle.cancel()  # (it would wake too late)
            self._handle = None
        if self._handle is None:
            self._wake_at = deadline
            self._handle = self._loop.call_at(deadline, self._wake)

    def _wake(self) -> None:
        self._handle = None
        if self._deadline is None:
            return  # (the head came in time; the next arm starts a new wait)
        if self._loop.time() >= self._deadline:
            self._deadline = None
            if self._transport is not None:
                _close(self._transport)
            return
        self._wake_at = self._deadline
        self._handle = self._loop.call_at(self._deadline, self._wake)


def _close(transport: asyncio.BaseTransport) -> None:
    """Close the connection; what was written before is still sent."""
    if not transport.is_closing():
        transport.close()


class SlowClientH11(H11Protocol):
    """uvicorn's h11 protocol, with the head timer. h11 has no parser callbacks: a head is
    awaited while the client's side of the connection is IDLE (no request read yet)."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._head_timer = _HeadTimer(self.loop, _header_timeout(config))

    def _awaiting_head(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer.arm(transport)

    def data_received(self, data: bytes) -> None:
        if data and self._awaiting_head():  # (the first byte of a new request)
            self._head_timer.arm(self.transport)
        super().data_received(data)
        if not self._awaiting_head():
            self._head_timer.cancel()

    def on_response_complete(self) -> None:
        answered_early = self.conn.their_state is h11.SEND_BODY
        super().on_response_complete()
        if answered_early:
            _close(self.transport)  # (answered while the body is still coming)
        elif self._awaiting_head() and self.conn.trailing_data[0]:
            # A request sent behind this one (pipelined) has arrived in part already.
            self._head_timer.arm(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_timer.stop()
        super().connection_lost(exc)


class _OneWrite:
    """What one request's answer is written through, under httptools: the connection, but for
    the answer's head, which waits for the body and leaves with it in one system call (uvloop's
    `writelines` hands both buffers to one `writev`; asyncio's, on Python 3.11, joins them into
    one `send`).

    uvicorn writes the head and the body of an answer as two `transport.write` calls, and a
    transport writes to the socket at once: two system calls and two TCP segments for every
    answer, which costs a served sandbox more than finding its answer in the cache does.

    The interim answer uvicorn writes (`100 Continue`, when the app first reads the body) is
    never held: the client waits for it before it sends its body. After a HEAD request's head
    no body is written, so a HEAD request writes straight through. A connection closed before
    the body (an app that stopped half way) still sends the head first, as uvicorn does,
    unless the client is gone already."""

    __slots__ = ("_head", "_transport", "_waiting")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None
        self._waiting = True  # (for the answer's head: the first write but an interim one)

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.writelines((head, data))
        elif self._waiting and data != _CONTINUE:
            self._waiting = False
            self._head = data
        else:
            self._transport.write(data)

    def close(self) -> None:
        head = self._head
        self._head = None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


# The interim answer uvicorn sends to a client that asked `Expect: 100-continue`.
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _httptools_protocol() -> type[asyncio.Protocol] | None:
    if importlib.util.find_spec("httptools") is None:
        return None
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class SlowClientHttpTools(HttpToolsProtocol):
        """uvicorn's httptools protocol, with the head timer, armed by the parser's own
        callbacks: the first byte of a message, and its headers complete."""

        def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            self._head_timer = _HeadTimer(self.loop, _header_timeout(config))

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._head_timer.arm(transport)

        def on_message_begin(self) -> None:
            self._head_timer.arm(self.transport)
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._head_timer.cancel()
            answering = self.cycle
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is not answering and cycle.scope["method"] != "HEAD":
                # (the cycle is not running yet: uvicorn starts it as a task, or queues it)
                cycle.transport = _OneWrite(self.transport)  # type: ignore[assignment]

        def _unset_keepalive_if_required(self) -> None:
            # (uvicorn's hook for "data came, or the answer is complete": the keep-alive wait
            # is over; uvicorn's own timer is only made for an upgrade)
            self._head_timer.cancel_idle()
            super()._unset_keepalive_if_required()

        def on_response_complete(self) -> None:
            # (with no request queued behind it, `cycle` is the one just answered)
            answered_early = not self.pipeline and self.cycle.more_body
            # uvicorn 0.54's own, but for the keep-alive wait: a deadline on the connection's
            # timer, where uvicorn makes and cancels a timer handle for every answer.
            self.server_state.total_requests += 1
            if self.transport.is_closing():
                return
            self._unset_keepalive_if_required()
            self.flow.resume_reading()
            if self.pipeline:  # (a request queued behind this one starts now)
                cycle, app = self.pipeline.pop()
                self._start_asgi_task(cycle, app)
            else:
                self._head_timer.idle(self.transport, self.timeout_keep_alive)
            if answered_early:
                _close(self.transport)  # (answered while the body is still coming)

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_timer.stop()
            super().connection_lost(exc)

    SlowClientHttpTools.__module__ = __name__
    SlowClientHttpTools.__qualname__ = "SlowClientHttpTools"
    return SlowClientHttpTools


# Module attributes, so that a Config naming one pickles for uvicorn's worker processes.
SlowClientHttpTools = _httptools_protocol()


def protocol_class(parser: Parser) -> type[asyncio.Protocol]:
    """The protocol for `parser`; "auto" is uvicorn's choice: httptools when installed."""
    if parser == "h11":
        return SlowClientH11
    if SlowClientHttpTools is None:
        if parser == "httptools":
            raise ValueError("the httptools parser is not installed")
        return SlowClientH11
    return SlowClientHttpTools
