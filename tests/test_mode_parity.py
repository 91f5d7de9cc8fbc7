"""Mode parity: the same requests through the in-process app and through `call-sandbox serve`
(the container's command) get byte-identical bodies, the same statuses, content types and
vendor headers. The requests are built for every vendor registered at run time: each
documented example, the vendors' own documentation calls, and the errors (no key, a wrong key,
an unknown id, a malformed body, an unknown route), then the control plane."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sandbox import Settings, create_app
from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import Vendor, VendorSandbox
from sandbox.testing.transport import SyncASGITransport
from sandbox.vendors import VENDORS
from tests.servers import Served, serve

# Headers only a network server adds; everything else must match.
SERVER_ONLY = {"date", "server"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _generated_id(state: VendorSandbox, vendor: Vendor) -> str:
    call = next(
        state.generator.call(state.default_tenant.id, i)
        for i in range(50)
        if state.generator.call(state.default_tenant.id, i).scenario is Scenario.COMPLETED
    )
    return vendor.external_id(call)


def vendor_calls(state: VendorSandbox, vendor: Vendor) -> list[Call]:
    keys = state.credentials(vendor.name)
    wrong = {header: value + "x" for header, value in keys.items()}
    json_type = {"content-type": "application/json"}
    mount = f"/{vendor.name}"
    call_id = _generated_id(state, vendor)
    calls = [
        Call("GET", mount + vendor.lookup_path(c.vendor_ids[vendor.name]), keys)
        for c in state.fixtures.pinned
        if vendor.name in c.vendor_ids
    ]
    calls.append(Call("GET", mount + vendor.lookup_path(call_id), keys))
    routes = {route.name: route for route in vendor.routes}
    for example in vendor.examples:
        route = routes[example.route]
        path = mount + example.path.replace("{call_id}", call_id)
        body = None if example.body is None else json.dumps(example.body).encode()
        headers = {**keys, **json_type} if body is not None else keys
        calls += [
            Call(route.method, path, {}, body),  # no key
            Call(route.method, path, {**wrong, **json_type}, body),  # a key of nobody
        ]
        if route.body_schema:
            calls.append(Call(route.method, path, {**keys, **json_type}, b'{"unterminated": '))
        calls.append(Call(route.method, path, headers, body))  # the example itself
    calls += [
        Call("GET", mount + vendor.lookup_path(call_id), keys),  # after update and delete
        Call("GET", mount + vendor.lookup_path("00000000-0000-4000-8000-000000000000"), keys),
        Call("GET", mount + "/no/such/route", keys),
        Call("GET", mount, keys),
    ]
    return calls


CONTROL = [
    Call("GET", "/_sandbox/health"),
    Call("GET", "/_sandbox/ready"),
    Call("GET", "/_sandbox/keys"),
    Call("GET", "/_sandbox/keys?tenant=globex"),
    Call("GET", "/_sandbox/keys?tenant=nobody"),
    Call("POST", "/_sandbox/reset?tenant=nobody"),
    Call("POST", "/_sandbox/reset"),
    Call("GET", "/nowhere/at/all"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("parity")) as served:
        yield served


@pytest.fixture(scope="module")
def in_process() -> Iterator[httpx.Client]:
    app = create_app(Settings())  # what `call-sandbox serve` builds: no raising, the default seed
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox.test") as client:
        yield client


@pytest.fixture(scope="module")
def over_http(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        yield client


def _answer(client: httpx.Client, call: Call) -> tuple[int, list[tuple[str, str]], bytes]:
    response = client.request(call.method, call.path, headers=call.headers, content=call.body)
    headers = [(k, v) for k, v in response.headers.items() if k not in SERVER_ONLY]
    return response.status_code, headers, response.content


def _compare(calls: list[Call], in_process: httpx.Client, over_http: httpx.Client) -> list[int]:
    for client in (in_process, over_http):
        assert client.post("/_sandbox/reset").status_code == 200
    statuses = []
    for call in calls:
        here, there = _answer(in_process, call), _answer(over_http, call)
        assert here[0] == there[0], f"{call}: status {here[0]} in-process, {there[0]} served"
        assert here[1] == there[1], f"{call}: headers differ"
        assert here[2] == there[2], f"{call}: bodies differ"
        statuses.append(here[0])
    return statuses


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_every_vendor_answers_the_same_in_both_modes(
    vendor: Vendor, in_process: httpx.Client, over_http: httpx.Client, state: VendorSandbox
) -> None:
    calls = vendor_calls(state, vendor)
    statuses = _compare(calls, in_process, over_http)
    assert any(s < 300 for s in statuses), "no request succeeded: the list tests nothing"
    assert len({s for s in statuses if s >= 400}) >= 2, "the list must include errors"


def test_the_control_plane_answers_the_same_in_both_modes(
    in_process: httpx.Client, over_http: httpx.Client
) -> None:
    statuses = _compare(CONTROL, in_process, over_http)
    assert statuses == [200, 200, 200, 200, 400, 400, 200, 404]


def test_the_server_logged_each_request_once(server: Served, state: VendorSandbox) -> None:
    paths = {c.path.split("?")[0] for v in VENDORS for c in vendor_calls(state, v)}
    logged = server.stdout()
    assert all(f" {path} " in logged for path in paths)


def test_served_from_this_checkout(server: Served) -> None:
    assert (Path(__file__).parents[1] / "fixtures").as_posix() in server.stdout().splitlines()[0]
