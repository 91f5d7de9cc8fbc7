"""HEAD over real sockets: on every path a GET route serves, the GET's status and headers
(content-length included) and no body, as Express and NestJS answer it; on a path no GET
route serves, what any other method without a route gets, without a body."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import Example, Vendor, VendorSandbox
from sandbox.errors import RouteNotFound
from sandbox.http.encoding import encode
from sandbox.serve.server import BackgroundServer
from sandbox.vendors import VENDORS

SOCKET_S = 30.0


def _method(vendor: Vendor, example: Example) -> str:
    return next(r.method for r in vendor.routes if r.name == example.route)


GETS = [(v, e) for v in VENDORS for e in v.examples if _method(v, e) == "GET"]


@dataclass
class Running:
    port: int
    state: VendorSandbox


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names; the date left out (it moves)
    body: bytes  # everything after the head, until the server closed


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    app = create_app(Settings(raise_on_schema_error=True))
    with BackgroundServer(app) as server:
        yield Running(int(server.url.rsplit(":", 1)[1]), app.state.sandbox)


def _exchange(running: Running, method: str, target: str, headers: dict[str, str]) -> Answer:
    """One request on its own connection (`Connection: close`): all the server sent."""
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{lines}\r\n"
    data = b""
    with socket.create_connection(("127.0.0.1", running.port), timeout=SOCKET_S) as sock:
        sock.sendall(request.encode())
        for _ in range(10_000):  # (bounded: a body is at most a few MB)
            part = sock.recv(65536)
            if not part:
                break
            data += part
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    parsed = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
    parsed.pop("date", None)
    return Answer(int(status_line.split()[1]), parsed, body)


def _call_id(state: VendorSandbox, vendor: Vendor) -> str:
    call = next(
        state.generator.call("acme", i)
        for i in range(20)
        if state.generator.call("acme", i).scenario is Scenario.COMPLETED
    )
    return vendor.external_id(call)


def _target(running: Running, vendor: Vendor, example: Example, call_id: str | None = None) -> str:
    path = example.path.replace("{call_id}", call_id or _call_id(running.state, vendor))
    return f"/{vendor.name}{path}"


def _id(value: object) -> str:
    return value.name if isinstance(value, Vendor) else getattr(value, "route", str(value))


@pytest.mark.parametrize(("vendor", "example"), GETS, ids=_id)
def test_head_answers_as_get_without_a_body(
    running: Running, vendor: Vendor, example: Example
) -> None:
    target = _target(running, vendor, example)
    credentials = running.state.credentials(vendor.name)
    got = _exchange(running, "GET", target, credentials)
    head = _exchange(running, "HEAD", target, credentials)
    assert got.status == example.status
    assert int(got.headers["content-length"]) == len(got.body) > 0
    assert (head.status, head.headers) == (got.status, got.headers)
    assert head.body == b""


@pytest.mark.parametrize("vendor", VENDORS, ids=_id)
def test_head_of_an_error_is_the_gets_error_without_a_body(
    running: Running, vendor: Vendor
) -> None:
    """An unknown call, and no credentials: the GET's status and headers, no body."""
    example = next(e for v, e in GETS if v is vendor and "{call_id}" in e.path)
    unknown = _target(running, vendor, example, call_id="no-such-call")
    credentials = running.state.credentials(vendor.name)
    for target, headers in ((unknown, credentials), (_target(running, vendor, example), {})):
        got = _exchange(running, "GET", target, headers)
        head = _exchange(running, "HEAD", target, headers)
        assert got.status >= 400 or vendor.name == "callab"  # (Callab's not-found is a 200)
        assert (head.status, head.headers) == (got.status, got.headers)
        assert int(head.headers["content-length"]) == len(got.body)
        assert head.body == b""


def _no_get_route(vendor: Vendor) -> str:
    """A path some other method serves and no GET route does (when the vendor has one)."""
    paths = [e.path.split("?", 1)[0] for e in vendor.examples if _method(vendor, e) != "GET"]
    gets = [r for r in vendor.routes if r.method == "GET"]
    unserved = [p for p in paths if "{" not in p and all(r.match(p) is None for r in gets)]
    return (unserved or ["/no/such/route"])[0]


@pytest.mark.parametrize("vendor", VENDORS, ids=_id)
def test_head_where_no_get_route_is_what_other_methods_without_a_route_get(
    running: Running, vendor: Vendor
) -> None:
    """The vendor's not-found (naming HEAD), with the length of its body and no body, as
    TRACE (which no route takes) gets it with its body."""
    path = _no_get_route(vendor)
    credentials = running.state.credentials(vendor.name)
    head = _exchange(running, "HEAD", f"/{vendor.name}{path}", credentials)
    expected = vendor.render_error(RouteNotFound("HEAD", path))
    assert head.status == expected.status
    assert head.headers["content-type"] == vendor.content_type
    assert int(head.headers["content-length"]) == len(encode(expected.body))
    assert head.body == b""
    wrong = _exchange(running, "TRACE", f"/{vendor.name}{path}", credentials)
    assert wrong.status == head.status
    assert json.loads(wrong.body) == vendor.render_error(RouteNotFound("TRACE", path)).body


def test_head_in_process_answers_as_get(client: TestClient, state: VendorSandbox) -> None:
    """The same over ASGI (the pytest plugin's in-process mode)."""
    target = "/retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"
    got = client.get(target, headers=state.credentials("retell"))
    head = client.head(target, headers=state.credentials("retell"))
    assert (head.status_code, dict(head.headers)) == (200, dict(got.headers))
    assert head.content == b""
