"""Slow clients over real sockets, under each of uvicorn's parsers: a head dripped a byte at a
time or never sent is cut off after the head timeout, with no answer; a body that stalls, or a
chunked one dripped without end, gets the vendor's 408 after the body timeout and the
connection closes; an answer sent while the body is still coming closes the connection too.

The timeouts are set to 1 s here (10 s and 30 s by default); every wait has a deadline."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import pickle
import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox import Settings, create_app
from sandbox.dialect.vendor import Example, Vendor, VendorSandbox
from sandbox.errors import RequestTimeout
from sandbox.serve.cli import parser as cli_parser
from sandbox.serve.protocols import KEEP_ALIVE_S, SandboxConfig, SlowClientH11, protocol_class
from sandbox.serve.server import BackgroundServer
from sandbox.vendors import VENDORS
from tests.servers import serve

HEAD_S = 1.0
BODY_S = 1.0
MARGIN_S = 4.0  # how much later than its timeout a close may come on a loaded machine
DRIP_S = 0.3
SOCKET_S = 30.0
PARSERS = ["h11"] + (["httptools"] if importlib.util.find_spec("httptools") else [])
DOCS_CALL = "/retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"


@dataclass
class Running:
    port: int
    state: VendorSandbox
    parser: str


@pytest.fixture(scope="module", params=PARSERS)
def running(request: pytest.FixtureRequest) -> Iterator[Running]:
    app = create_app(Settings(raise_on_schema_error=True, body_timeout_s=BODY_S))
    server = BackgroundServer(app, header_timeout_s=HEAD_S, parser=request.param)
    with server:
        port = int(server.url.rsplit(":", 1)[1])
        yield Running(port, app.state.sandbox, request.param)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=SOCKET_S)


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    deadline = time.monotonic() + SOCKET_S
    while time.monotonic() < deadline:
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not part:
            return data
        data += part
    raise AssertionError(f"the server did not close the connection: {data!r}")


def _drip(sock: socket.socket, pieces: Iterable[bytes]) -> tuple[bytes, int]:
    """Send one piece every DRIP_S until the server sends something or closes; what it sent
    until it closed, and how many pieces went out."""
    sent = 0
    for piece in pieces:
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            return b"", sent
        sent += 1
        if select.select([sock], [], [], DRIP_S)[0]:
            return _until_closed(sock), sent
    raise AssertionError(f"the server took all {sent} pieces and did not close the connection")


def _request(path: str, headers: dict[str, str], extra: str = "") -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}{extra}\r\n".encode()


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _headers(answer: bytes) -> dict[str, str]:
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head)}


def _one_answer(sock: socket.socket) -> bytes:
    """One complete answer (head and content-length body) on a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
        _headers(data).get("content-length", "0")
    ):
        part = sock.recv(65536)
        if not part:
            raise AssertionError(f"the connection closed in an answer: {data!r}")
        data += part
    return data


# -- the head --------------------------------------------------------------------------------


def test_a_head_dripped_a_byte_at_a_time_is_cut_off_without_an_answer(running: Running) -> None:
    head = _request(DOCS_CALL, running.state.credentials("retell"))
    with _connect(running.port) as sock:
        started = time.monotonic()
        received, sent = _drip(sock, (head[i : i + 1] for i in range(len(head))))
        elapsed = time.monotonic() - started
    assert received == b""
    assert sent < len(head)
    assert HEAD_S - 0.1 <= elapsed <= HEAD_S + MARGIN_S


def test_a_connection_that_sends_nothing_is_closed(running: Running) -> None:
    with _connect(running.port) as sock:
        started = time.monotonic()
        assert _until_closed(sock) == b""
        elapsed = time.monotonic() - started
    assert elapsed <= HEAD_S + MARGIN_S


def test_heads_that_come_in_time_are_answered_and_each_gets_its_own_time(
    running: Running,
) -> None:
    """Idle a little less than the head timeout, twice, on one kept-alive connection: both
    requests are answered (the timer counts from each head's first byte); then a third head,
    dripped, is cut off."""
    head = _request(DOCS_CALL, running.state.credentials("retell"))
    with _connect(running.port) as sock:
        for _ in range(2):
            time.sleep(HEAD_S * 0.6)
            sock.sendall(head)
            answer = _one_answer(sock)
            assert _status(answer) == 200
            assert _headers(answer).get("connection") != "close"
        received, sent = _drip(sock, (head[i : i + 1] for i in range(len(head))))
    assert received == b""
    assert sent < len(head)


def test_an_idle_kept_alive_connection_closes_after_the_keep_alive_timeout(
    running: Running,
) -> None:
    """After an answer, the connection waits KEEP_ALIVE_S (5 s, as Node's keepAliveTimeout)
    for the next request's first byte, not the head timeout."""
    assert SandboxConfig("x:y").timeout_keep_alive == KEEP_ALIVE_S == 5
    with _connect(running.port) as sock:
        sock.sendall(_request(DOCS_CALL, running.state.credentials("retell")))
        assert _status(_one_answer(sock)) == 200
        started = time.monotonic()
        assert _until_closed(sock) == b""
        elapsed = time.monotonic() - started
    assert KEEP_ALIVE_S - 0.1 <= elapsed <= KEEP_ALIVE_S + MARGIN_S


# -- the body --------------------------------------------------------------------------------


def _body_example(vendor: Vendor) -> Example:
    return next(e for e in vendor.examples if e.body is not None and "{" not in e.path)


def _post_head(running: Running, vendor: Vendor, framing: str) -> bytes:
    example = _body_example(vendor)
    route = next(r for r in vendor.routes if r.name == example.route)
    headers = {**running.state.credentials(vendor.name), "Content-Type": "application/json"}
    lines = "".join(f"{k}: {v}\r\n" for k, v in {**headers, **framing_header(framing)}.items())
    target = f"/{vendor.name}{example.path}"
    return f"{route.method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}\r\n".encode()


def framing_header(framing: str) -> dict[str, str]:
    if framing == "chunked":
        return {"Transfer-Encoding": "chunked"}
    return {"Content-Length": "100"}


def _assert_vendor_408(
    answer: bytes, running: Running, vendor: Vendor, received: int | None
) -> None:
    """The vendor's 408 and `Connection: close`; `received`: the body bytes the hint counts
    (None: however many came)."""
    error = RequestTimeout(BODY_S, received or 0)
    expected = vendor.render_error(error)
    headers = _headers(answer)
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert (_status(answer), expected.status) == (408, 408)
    assert headers["content-type"] == vendor.content_type
    assert headers["connection"] == "close"
    if received is None:
        assert headers["x-sandbox-hint"].startswith("the request body did not all come within 1 s")
    else:
        assert headers["x-sandbox-hint"] == error.detail
    assert body == expected.body
    running.state.schemas.check(f"{vendor.name}/error.json", body)


def test_a_body_that_stalls_gets_each_vendors_408_and_the_connection_closes(
    running: Running,
) -> None:
    """Content-Length: 100, 10 bytes of it, then nothing: to every vendor at once."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(_connect(running.port)) for _ in VENDORS]
        for sock, vendor in zip(socks, VENDORS, strict=True):
            sock.sendall(_post_head(running, vendor, "content-length") + b'{"a":"bcd"')
        started = time.monotonic()
        answers = [_until_closed(sock) for sock in socks]  # (each answer, then the close)
        elapsed = time.monotonic() - started
    for answer, vendor in zip(answers, VENDORS, strict=True):
        _assert_vendor_408(answer, running, vendor, received=10)
    assert BODY_S - 0.1 <= elapsed <= BODY_S + MARGIN_S


def test_a_chunked_body_dripped_without_end_gets_the_vendors_408(running: Running) -> None:
    """A one-byte chunk every 0.3 s: never a stall as long as the timeout, but the whole
    body must come within it."""
    vendor = VENDORS[0]
    with _connect(running.port) as sock:
        sock.sendall(_post_head(running, vendor, "chunked"))
        started = time.monotonic()
        answer, _ = _drip(sock, (b"1\r\n \r\n" for _ in range(100)))
        elapsed = time.monotonic() - started
    _assert_vendor_408(answer, running, vendor, received=None)
    assert elapsed <= BODY_S + MARGIN_S


def test_a_control_plane_body_that_stalls_gets_its_408_and_the_connection_closes(
    running: Running,
) -> None:
    """The control plane reads bodies with the same deadline as the vendors' mounts."""
    head = (
        "PUT /_sandbox/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "content-type: application/json\r\ncontent-length: 100\r\n\r\n"
    )
    with _connect(running.port) as sock:
        sock.sendall(head.encode() + b'{"vendor"')
        started = time.monotonic()
        answer = _until_closed(sock)
        elapsed = time.monotonic() - started
    assert _status(answer) == 408
    assert _headers(answer)["connection"] == "close"
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body == {
        "error": "request_timeout",
        "message": f"the body did not all arrive within {BODY_S:g} s; send it whole",
    }
    running.state.schemas.check("sandbox/error.json", body)
    assert elapsed <= BODY_S + MARGIN_S


def test_an_answer_sent_while_the_body_is_still_coming_closes_the_connection(
    running: Running,
) -> None:
    """A GET route reads no body: it answers at once, and the connection closes rather than
    wait for the end of a body that may never come."""
    head = _request(
        DOCS_CALL, running.state.credentials("retell"), "Transfer-Encoding: chunked\r\n"
    )
    with _connect(running.port) as sock:
        sock.sendall(head + b"1\r\n \r\n")
        answer = _until_closed(sock)
    assert _status(answer) == 200
    body = answer.partition(b"\r\n\r\n")[2]
    assert len(body) == int(_headers(answer)["content-length"])


# -- configuration ---------------------------------------------------------------------------


def test_the_config_and_its_head_timeout_travel_to_worker_processes() -> None:
    """uvicorn pickles its config for every worker process (spawned)."""
    config = SandboxConfig("sandbox.serve.workers:app_from_environment", header_timeout_s=2.5)
    copied = pickle.loads(pickle.dumps(config))
    assert copied.header_timeout_s == 2.5
    assert copied.http is protocol_class("auto")
    assert protocol_class("h11") is SlowClientH11


def test_the_cli_takes_both_timeouts() -> None:
    args = cli_parser().parse_args(["serve", "--header-timeout", "2", "--body-timeout", "3.5"])
    assert (args.header_timeout, args.body_timeout) == (2.0, 3.5)
    defaults = cli_parser().parse_args(["serve"])
    assert (defaults.header_timeout, defaults.body_timeout) == (10.0, 30.0)
    assert Settings().header_timeout_s == 10.0
    assert Settings().body_timeout_s == 30.0


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan"])
def test_the_cli_refuses_a_timeout_that_is_not_a_positive_number(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli_parser().parse_args(["serve", "--header-timeout", value])
    assert "must be a number of seconds > 0" in capsys.readouterr().err


def test_call_sandbox_serve_applies_both_timeouts(tmp_path: Path) -> None:
    """The foreground server (`call-sandbox serve`, the container) with 1 s timeouts."""
    with serve(tmp_path, "--header-timeout", "1", "--body-timeout", "1") as served:
        port = int(served.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_S) as sock:
            started = time.monotonic()
            assert _until_closed(sock) == b""
            assert time.monotonic() - started <= HEAD_S + MARGIN_S
        state = create_app(Settings()).state.sandbox
        running = Running(port, state, "auto")
        with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_S) as sock:
            sock.sendall(_post_head(running, VENDORS[0], "content-length") + b'{"a":"bcd"')
            answer = _until_closed(sock)
        _assert_vendor_408(answer, running, VENDORS[0], received=10)


def test_worker_processes_apply_both_timeouts(tmp_path: Path, redis_url: str) -> None:
    """`--workers 2`: the head timeout travels in the pickled config, the body timeout in
    the settings each worker builds its app from."""
    argv = ["--workers", "2", "--store", redis_url, "--header-timeout", "1", "--body-timeout", "1"]
    with serve(tmp_path, *argv) as served:
        port = int(served.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_S) as sock:
            started = time.monotonic()
            assert _until_closed(sock) == b""
            assert time.monotonic() - started <= HEAD_S + MARGIN_S  # (not the default 10 s)
        state = create_app(Settings()).state.sandbox
        running = Running(port, state, "auto")
        with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_S) as sock:
            sock.sendall(_post_head(running, VENDORS[0], "content-length") + b'{"a":"bcd"')
            answer = _until_closed(sock)
        _assert_vendor_408(answer, running, VENDORS[0], received=10)
        served.terminate(timeout=15.0)
