"""Hostile requests over real sockets, against `call-sandbox serve` (uvicorn with httptools when
installed) and, when httptools is the default, against uvicorn's h11 parser too: a 10 MB body
(with Content-Length and chunked), a body dripped a byte at a time, 10,000 headers and a
100 kB path. Each gets the vendor's own answer where the app is the one answering, or the HTTP
server's where it refuses the request before the app sees it; memory stays bounded, and the
server answers the next client normally. Every socket operation has a deadline."""

from __future__ import annotations

import importlib.util
import json
import select
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.types import Message

from sandbox import Settings, create_app
from sandbox.dialect.vendor import Vendor
from sandbox.errors import HeadTooLarge, PayloadTooLarge
from sandbox.http.limits import MAX_URI_BYTES
from sandbox.state import Sandbox
from sandbox.vendors import VENDORS
from tests.servers import Served, call_sandbox, free_port, served

TIMEOUT_S = 30.0
LIMIT = Settings().max_body_bytes
TEN_MB = 10 * 1024 * 1024
CHUNK = 64 * 1024
STATE = Sandbox(Settings(), VENDORS)
RETELL = VENDORS[0]
CREATE = next(e for e in RETELL.examples if e.route == "create-phone-call")
DOCS_CALL = "/retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"
# What uvicorn itself answers to a request its parser refuses.
SERVER_REFUSAL = (400, "text/plain; charset=utf-8", b"Invalid HTTP request received.")
HTTPTOOLS = importlib.util.find_spec("httptools") is not None
# `serve` runs uvicorn's default parser: httptools when it is installed, h11 otherwise.
PARSERS = ["httptools", "h11"] if HTTPTOOLS else ["h11"]


@dataclass
class Server:
    served: Served
    parser: str

    @property
    def port(self) -> int:
        return int(self.served.url.rsplit(":", 1)[1])


@pytest.fixture(scope="module", params=PARSERS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    parser: str = request.param
    logs = tmp_path_factory.mktemp(f"hostile-{parser}")
    port = free_port()
    if parser == PARSERS[0]:
        argv = [*call_sandbox(), "serve", "--port", str(port), "--no-access-log"]
    else:  # the same app under uvicorn's other parser
        argv = [sys.executable, "-m", "uvicorn", "sandbox.app:create_app", "--factory"]
        argv += ["--http", parser, "--port", str(port), "--no-access-log"]
    with served(argv, url=f"http://127.0.0.1:{port}", logs=logs) as running:
        running.wait_healthy()
        yield Server(running, parser)


# -- raw HTTP/1.1 over a socket ----------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def _head(method: str, target: bytes, headers: dict[str, str], extra: bytes = b"") -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
    return f"{method} ".encode() + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines + extra


def _read(sock: socket.socket) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            raise AssertionError(f"the connection closed before an answer: {data!r}")
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    # Without a length, the body runs until the server closes (uvicorn's own refusals).
    length = int(headers.get("content-length", sys.maxsize))
    while len(body) < length:
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            break
        if not part:
            break
        body += part
    return Answer(int(status_line.split()[1]), headers, body[:length])


def _exchange(server: Server, head: bytes, body: Iterable[bytes] = ()) -> tuple[Answer, int]:
    """Send a head and then body pieces until the server answers (it may answer early, and
    may close the connection on the rest); the answer and how many body bytes went out."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(head)
        sent = 0
        for piece in body:
            if select.select([sock], [], [], 0)[0]:
                break  # the answer is there: stop sending
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        return _read(sock), sent


def _peak_rss_kib(server: Server) -> int | None:
    status = Path(f"/proc/{server.served.process.pid}/status")
    if not status.exists():
        return None
    line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1])


def _still_serving(server: Server) -> None:
    response = httpx.get(
        server.served.url + DOCS_CALL, headers=STATE.credentials("retell"), timeout=TIMEOUT_S
    )
    assert response.status_code == 200
    assert response.json()["call_id"] == "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"


def _vendor_answer(answer: Answer, vendor: Vendor, error: Exception) -> None:
    assert isinstance(error, HeadTooLarge | PayloadTooLarge)
    expected = vendor.render_error(error)
    assert (answer.status, answer.content_type) == (expected.status, vendor.content_type)
    assert json.loads(answer.body) == expected.body
    assert answer.headers["x-sandbox-hint"]


# -- a 10 MB body ------------------------------------------------------------------------------


def _json_head(extra: str) -> bytes:
    headers = {**STATE.credentials("retell"), "Content-Type": "application/json"}
    return _head("POST", f"/retell{CREATE.path}".encode(), headers, extra.encode())


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_10_mb_body_is_refused_with_bounded_memory(server: Server, framing: str) -> None:
    before = _peak_rss_kib(server)
    if framing == "content-length":
        head = _json_head(f"Content-Length: {TEN_MB}\r\n\r\n")
        pieces: Iterator[bytes] = (b" " * CHUNK for _ in range(TEN_MB // CHUNK))
    else:
        head = _json_head("Transfer-Encoding: chunked\r\n\r\n")
        frame = b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n"
        pieces = (frame for _ in range(TEN_MB // CHUNK))
    answer, _ = _exchange(server, head, pieces)
    _vendor_answer(answer, RETELL, PayloadTooLarge(LIMIT))
    after = _peak_rss_kib(server)
    if before is not None and after is not None:
        # Holding the body would cost at least 10 MiB (twice that once joined).
        assert after - before < 6 * 1024, (before, after)
    _still_serving(server)


def test_the_pipeline_stops_reading_past_the_limit() -> None:
    """In-process, with a body of 160 pieces of 64 KiB: the app asks for the pieces up to the
    limit and one more, never the rest (the same whether the client framed it with a length or
    in chunks: the server hands either over piece by piece)."""
    app = create_app(Settings(raise_on_schema_error=True))
    pulled: list[int] = []
    sent: list[Message] = []

    async def receive() -> Message:
        pulled.append(CHUNK)
        more = len(pulled) < TEN_MB // CHUNK
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": more}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in STATE.credentials("retell").items()]
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/retell{CREATE.path}",
        "raw_path": f"/retell{CREATE.path}".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert len(pulled) == LIMIT // CHUNK + 1


# -- a slow drip ---------------------------------------------------------------------------


def test_a_dripping_body_does_not_hold_up_other_clients(server: Server) -> None:
    """A client sends its body a byte every 50 ms (2 s of leading blanks, which JSON allows),
    and finishes only after another client got 20 answers meanwhile."""
    payload = b" " * 40 + json.dumps(CREATE.body).encode()
    head = _json_head(f"Content-Length: {len(payload)}\r\n\r\n")
    dripping = threading.Event()
    others_done = threading.Event()
    result: list[Answer] = []

    def drip() -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S) as sock:
            sock.sendall(head)
            for byte in payload[:40]:
                sock.sendall(bytes([byte]))
                dripping.set()
                time.sleep(0.05)
            assert others_done.wait(TIMEOUT_S)
            sock.sendall(payload[40:])
            result.append(_read(sock))

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    assert dripping.wait(TIMEOUT_S)
    with httpx.Client(base_url=server.served.url, timeout=TIMEOUT_S) as other:
        statuses = [
            other.get(DOCS_CALL, headers=STATE.credentials("retell")).status_code for _ in range(20)
        ]
    assert dripper.is_alive()  # the dripping body is still unfinished
    others_done.set()
    dripper.join(TIMEOUT_S)
    assert statuses == [200] * 20
    assert [a.status for a in result] == [CREATE.status]
    assert json.loads(result[0].body)["from_number"] == CREATE.body["from_number"]


# -- 10,000 headers ------------------------------------------------------------------------


def _many_headers(count: int) -> bytes:
    return b"".join(b"X-Filler-%d: v\r\n" % i for i in range(count)) + b"\r\n"


def test_10000_headers(server: Server) -> None:
    """About 170 kB of headers. httptools has no header limit, so the app answers: the
    vendor's 431. h11 refuses a head over 16 KiB that arrives in pieces: uvicorn's own 400."""
    head = _head("GET", DOCS_CALL.encode(), STATE.credentials("retell"), _many_headers(10_000))
    answer, _ = _exchange(server, head)
    if server.parser == "httptools":
        _vendor_answer(answer, RETELL, HeadTooLarge(431, "x"))
    else:
        assert (answer.status, answer.content_type, answer.body) == SERVER_REFUSAL
    _still_serving(server)


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_headers_over_16_kib_get_the_vendors_431(server: Server, vendor: Vendor) -> None:
    """1,500 headers (about 20 kB, one piece on the wire): every parser lets them through and
    the app answers in the vendor's shape, before it even looks at the key."""
    head = _head("GET", f"/{vendor.name}/anything".encode(), {}, _many_headers(1_500))
    answer, _ = _exchange(server, head)
    _vendor_answer(answer, vendor, HeadTooLarge(431, "x"))


# -- a 100 kB path -------------------------------------------------------------------------


def test_a_100_kb_path(server: Server) -> None:
    """httptools refuses a URI over 64 KiB itself (uvicorn's 400); under h11 the app answers
    the vendor's 414."""
    target = f"/retell/v2/get-call/{'a' * 100_000}".encode()
    answer, _ = _exchange(server, _head("GET", target, STATE.credentials("retell"), b"\r\n"))
    if server.parser == "httptools":
        assert (answer.status, answer.content_type, answer.body) == SERVER_REFUSAL
    else:
        _vendor_answer(answer, RETELL, HeadTooLarge(414, "x"))
    _still_serving(server)


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_a_uri_over_16_kib_gets_the_vendors_414(server: Server, vendor: Vendor) -> None:
    target = f"/{vendor.name}/x?q={'a' * MAX_URI_BYTES}".encode()
    answer, _ = _exchange(server, _head("GET", target, STATE.credentials(vendor.name), b"\r\n"))
    _vendor_answer(answer, vendor, HeadTooLarge(414, "x"))
