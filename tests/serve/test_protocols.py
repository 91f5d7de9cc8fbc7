"""An answer's head and body leave in one write under httptools (`_OneWrite`), and nothing a
client can see changes: an interim `100 Continue` still comes before the body is sent, a HEAD
answer is its head alone, pipelined requests are answered in order, an app that stops after
its head still sends the head before the connection closes. Over real sockets where a client
is involved; every wait has a deadline."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette

from sandbox import Settings, create_app
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.inprocess import request
from sandbox.serve import protocols
from sandbox.serve.server import BackgroundServer
from sandbox.vendors import VENDORS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("httptools") is None, reason="httptools is not installed"
)

SOCKET_S = 10.0
DOCS_CALL = "/retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"
RETELL = next(v for v in VENDORS if v.name == "retell")


class _Recording(asyncio.Transport):
    """A transport that keeps what it was asked to do, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[bytes, ...]]] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.calls.append(("write", (bytes(data),)))

    def writelines(self, list_of_data: Any) -> None:
        self.calls.append(("writelines", tuple(bytes(d) for d in list_of_data)))

    def close(self) -> None:
        self.calls.append(("close", ()))
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


def test_the_head_waits_for_the_body_and_both_leave_in_one_call() -> None:
    transport = _Recording()
    one = protocols._OneWrite(transport)
    one.write(HEAD)
    assert transport.calls == []
    one.write(b"{}")
    one.write(b"more")  # (a later part of a body in several parts goes as it comes)
    assert transport.calls == [("writelines", (HEAD, b"{}")), ("write", (b"more",))]


def test_an_interim_answer_is_written_at_once() -> None:
    transport = _Recording()
    one = protocols._OneWrite(transport)
    one.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert transport.calls == [("write", (b"HTTP/1.1 100 Continue\r\n\r\n",))]
    one.write(HEAD)
    one.write(b"{}")
    assert transport.calls[1:] == [("writelines", (HEAD, b"{}"))]


def test_a_close_before_the_body_sends_the_head_first() -> None:
    transport = _Recording()
    one = protocols._OneWrite(transport)
    one.write(HEAD)
    one.close()
    assert transport.calls == [("write", (HEAD,)), ("close", ())]
    assert one.is_closing()


def test_a_close_after_the_client_is_gone_writes_nothing() -> None:
    transport = _Recording()
    one = protocols._OneWrite(transport)
    one.write(HEAD)
    transport.closed = True  # (the client hung up: the connection is lost)
    one.close()
    assert transport.calls == [("close", ())]


# -- over a socket ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[int, Starlette]]:
    app = create_app(Settings(raise_on_schema_error=True))
    with BackgroundServer(app, parser="httptools") as server:
        yield int(server.url.rsplit(":", 1)[1]), app


def _head_lines(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}\r\n".encode()


class _Reader:
    """Answers read off one kept-alive connection, one at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.data = b""

    def _more(self) -> None:
        part = self.sock.recv(65536)
        if not part:
            raise AssertionError(f"the connection closed; so far: {self.data!r}")
        self.data += part

    def head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.data:
            self._more()
        head, _, self.data = self.data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        return int(status_line.split(" ", 2)[1]), headers

    def answer(self, *, bodiless: bool = False) -> tuple[int, dict[str, str], bytes]:
        status, headers = self.head()
        size = 0 if bodiless else int(headers.get("content-length", "0"))
        while len(self.data) < size:
            self._more()
        body, self.data = self.data[:size], self.data[size:]
        return status, headers, body


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=SOCKET_S)


Writes = list[tuple[bool, bytes]]


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Writes:
    """Each write the answers make through `_OneWrite`, and whether a head was held when it
    came (then the two left together). The protocol looks the class up for every request."""
    found: Writes = []

    class Spy(protocols._OneWrite):
        __slots__ = ()

        def write(self, data: bytes) -> None:
            found.append((self._head is not None, bytes(data)))
            super().write(data)

    monkeypatch.setattr(protocols, "_OneWrite", Spy)
    return found


def test_a_served_answer_is_written_once_head_and_body_together(
    served: tuple[int, Starlette], writes: Writes
) -> None:
    port, app = served
    state: VendorSandbox = app.state.sandbox
    with _connect(port) as sock:
        sock.sendall(_head_lines("GET", DOCS_CALL, state.credentials("retell")))
        status, _, body = _Reader(sock).answer()
    assert status == 200
    assert json.loads(body)["call_id"] == DOCS_CALL.rsplit("/", 1)[1]
    assert writes == [(False, writes[0][1]), (True, body)]  # held, then written with the body
    assert writes[0][1].startswith(b"HTTP/1.1 200 OK\r\n")


def test_pipelined_requests_are_answered_in_order(
    served: tuple[int, Starlette], writes: Writes
) -> None:
    port, app = served
    state: VendorSandbox = app.state.sandbox
    keys = state.credentials("retell")
    missing = "/retell/v2/get-call/call_00000000000000000000000000000000"
    with _connect(port) as sock:
        sock.sendall(
            _head_lines("GET", DOCS_CALL, keys)
            + _head_lines("GET", missing, keys)
            + _head_lines("GET", DOCS_CALL, keys)
        )
        reader = _Reader(sock)
        answers = [reader.answer() for _ in range(3)]
    alone = [request(app, "GET", path, headers=keys) for path in (DOCS_CALL, missing)]
    assert alone[1].status != 200
    assert [(s, b) for s, _, b in answers] == [
        (200, alone[0].body),
        (alone[1].status, alone[1].body),
        (200, alone[0].body),
    ]
    # Each of the three, the two queued behind the first too, left in one write.
    assert [(held, data) for held, data in writes if held] == [(True, b) for _, _, b in answers]
    assert len(writes) == 6


def test_a_head_request_gets_the_head_alone_and_the_connection_goes_on(
    served: tuple[int, Starlette],
) -> None:
    port, app = served
    state: VendorSandbox = app.state.sandbox
    keys = state.credentials("retell")
    with _connect(port) as sock:
        reader = _Reader(sock)
        sock.sendall(_head_lines("HEAD", DOCS_CALL, keys))
        status, headers, body = reader.answer(bodiless=True)
        assert (status, body) == (200, b"")
        sock.sendall(_head_lines("GET", DOCS_CALL, keys))
        got, got_headers, whole = reader.answer()
    assert got == 200
    assert headers["content-length"] == got_headers["content-length"] == str(len(whole))


def test_an_expect_100_continue_client_is_told_to_go_on_before_it_sends_the_body(
    served: tuple[int, Starlette],
) -> None:
    port, app = served
    state: VendorSandbox = app.state.sandbox
    example = next(e for e in RETELL.examples if e.route == "create-phone-call")
    body = json.dumps(example.body).encode()
    headers = {
        **state.credentials("retell"),
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Expect": "100-continue",
    }
    with _connect(port) as sock:
        reader = _Reader(sock)
        sock.sendall(_head_lines("POST", f"/retell{example.path}", headers))
        assert reader.head() == (100, {})
        sock.sendall(body)
        status, answer_headers, answer = reader.answer()
    assert status == 201
    assert answer_headers["content-type"] == RETELL.content_type
    assert json.loads(answer)["from_number"] == example.body["from_number"]
