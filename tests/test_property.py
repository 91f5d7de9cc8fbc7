"""Random requests at every vendor (hypothesis): random methods, paths under the vendor's mount,
headers (keys right, wrong, partial or missing), query strings and bodies (JSON or not). Every
answer is either the vendor's documented error shape, with a hint, and then the store is
exactly as it was; or, when the random request happens to be valid, the route's success
status and schema. Never a 5xx. The app raises on any body that breaks its own schema.

`SANDBOX_FUZZ=1` multiplies the number of requests (bench/CI); the default run is bounded.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.model import Call
from sandbox.dialect.vendor import Route, Vendor, VendorSandbox
from sandbox.errors import Unauthorized
from sandbox.vendors import VENDORS

EXAMPLES = 2000 if os.environ.get("SANDBOX_FUZZ") == "1" else 500
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Headers that steer the sandbox itself (`Prefer: code=500` asks for a 5xx) are left out.
STEERING = ("prefer", "x-sandbox")


@pytest.fixture(scope="module")
def sandbox_app() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(raise_on_schema_error=True))) as client:
        yield client


def _state(client: TestClient) -> VendorSandbox:
    assert isinstance(client.app, Starlette)
    state: VendorSandbox = client.app.state.sandbox
    return state


def _ids(state: VendorSandbox, vendor: Vendor) -> list[str]:
    tenant = state.fixtures.default_tenant
    return [vendor.external_id(state.generator.call(tenant, i)) for i in range(10)] + [
        vendor.external_id(c) for c in state.fixtures.pinned if c.tenant == tenant
    ]


# -- strategies ---------------------------------------------------------------------------

TEXT = st.text(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Z", "Cc")), max_size=24
)
# (A literal `.` or `..` segment is resolved by the client before sending, as RFC 3986 asks,
# so it could leave the vendor's mount; the encoded forms reach the server as they are.)
ODD_SEGMENTS = ("", "%2E", "%2E%2E", "%", "%zz", "%00", "%0A", "%2F", "a%2Fb", "%20", "~", "query")


def _segment(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(ODD_SEGMENTS),
        TEXT.map(lambda t: quote(t, safe="")),
        st.text(string.ascii_letters + string.digits + "-_.", max_size=40),
    )


@st.composite
def targets(draw: st.DrawFn, vendor: Vendor, ids: list[str]) -> tuple[str, str]:
    """A method and path: mostly a route's, its ids filled in (real or not); or segments that
    match nothing, with any method."""
    words = sorted({w for r in vendor.routes for w in r.path.split("/") if w and "{" not in w})
    segment = _segment(ids + words)
    if draw(st.integers(0, 3)):
        route = draw(st.sampled_from(vendor.routes))
        parts = [draw(segment) if "{" in p else p for p in route.path.split("/")]
        method = route.method if draw(st.integers(0, 3)) else draw(st.sampled_from(METHODS))
        return method, f"/{vendor.name}" + "/".join(parts)
    path = "/" + "/".join(draw(st.lists(segment, max_size=5)))
    return draw(st.sampled_from(METHODS)), f"/{vendor.name}{path}"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def bodies(draw: st.DrawFn, vendor: Vendor) -> bytes | None:
    """No body, random bytes, random JSON, or one of the vendor's working bodies with a field
    dropped, changed or added."""
    kind = draw(st.sampled_from(("none", "bytes", "json", "example")))
    if kind == "none":
        return None
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    examples = [e.body for e in vendor.examples if isinstance(e.body, Mapping)]
    body = dict(draw(st.sampled_from(examples)))
    if body and not draw(st.integers(0, 2)):
        body.pop(draw(st.sampled_from(sorted(body))))
    if not draw(st.integers(0, 2)):
        body[draw(st.sampled_from([*sorted(body), "extra", "metadata", "limit"]))] = draw(JSON)
    return json.dumps(body).encode()


HEADER_NAME = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=16)
HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@st.composite
def headers(draw: st.DrawFn, state: VendorSandbox, vendor: Vendor) -> dict[str, str]:
    """The default tenant's keys, another tenant's, some of them, mangled ones or none; plus
    random headers."""
    own = state.credentials(vendor.name)
    other = state.credentials(vendor.name, "globex")
    chosen = draw(st.sampled_from(("own", "own", "own", "other", "some", "mangled", "none")))
    sent: dict[str, str] = {}
    if chosen in ("own", "other"):
        sent = dict(own if chosen == "own" else other)
    elif chosen == "some":
        sent = {k: v for k, v in own.items() if draw(st.booleans())}
    elif chosen == "mangled":
        sent = {k: draw(st.sampled_from((v[:-1], v + "x", v.lower(), ""))) for k, v in own.items()}
    extra = draw(st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=4))
    for name, value in extra.items():
        if not name.startswith(STEERING) and name not in {k.lower() for k in sent}:
            sent[name] = value
    if draw(st.booleans()):
        sent["content-type"] = draw(st.sampled_from(("application/json", "text/plain", "")))
    return sent


@st.composite
def queries(draw: st.DrawFn, vendor: Vendor) -> str:
    """Declared parameters with random or declared values, and undeclared ones."""
    declared = sorted({p.name for r in vendor.routes for p in r.query})
    names = st.sampled_from(declared) | TEXT if declared else TEXT
    values = st.sampled_from(("", "0", "-1", "1.5", "true", "asc", "ENDED", "toon")) | TEXT
    pairs = draw(st.lists(st.tuples(names, values), max_size=4)) if draw(st.booleans()) else []
    return urlencode(pairs) if pairs else ""


# -- checks ---------------------------------------------------------------------------------


def _route(vendor: Vendor, method: str, path: str) -> Route | None:
    raw = path.split("?", 1)[0][len(vendor.name) + 1 :]
    return next((r for r in vendor.routes if r.method == method and r.match(raw) is not None), None)


def _plans(state: VendorSandbox, vendor: Vendor, ids: list[str]) -> dict[str, Call | None]:
    tenant = state.fixtures.default_tenant
    found: dict[str, Call | None] = {}
    for external in ids:
        canonical = state.store.alias(vendor.name, external) or vendor.canonical_id(external)
        if canonical is not None:
            found[external] = state.store.plan(tenant, canonical)
    return found


def _check(
    client: TestClient, vendor: Vendor, method: str, path: str, request: dict[str, Any]
) -> None:
    state = _state(client)
    ids = _ids(state, vendor)
    before = (dict(state.store.snapshot()), _plans(state, vendor, ids))
    response = client.request(method, path, **request)
    assert response.status_code < 500, response.text
    if response.status_code == 204:
        assert response.content == b""
        return
    assert response.headers["content-type"] == vendor.content_type
    if method == "HEAD":  # no route takes HEAD: the not-found's headers, without its body
        assert response.headers["x-sandbox-hint"]
        assert (dict(state.store.snapshot()), _plans(state, vendor, ids)) == before
        return
    body = response.json()
    error_schema = vendor.render_error(Unauthorized("x")).schema
    assert error_schema is not None
    if not state.schemas.problems(error_schema, body):
        # Refused: the vendor's error shape, a hint saying why, and nothing changed.
        assert response.headers["x-sandbox-hint"]
        assert (dict(state.store.snapshot()), _plans(state, vendor, ids)) == before
        return
    route = _route(vendor, method, path)
    assert route is not None, (method, path, body)
    assert response.status_code == route.status
    assert route.response_schema is not None
    state.schemas.check(route.response_schema, body)


@st.composite
def requests(draw: st.DrawFn, state: VendorSandbox) -> tuple[Vendor, str, str, dict[str, Any]]:
    vendor = draw(st.sampled_from(VENDORS))
    method, path = draw(targets(vendor, _ids(state, vendor)))
    query = draw(queries(vendor))
    request: dict[str, Any] = {"headers": draw(headers(state, vendor))}
    body = draw(bodies(vendor))
    if body is not None:
        request["content"] = body
    return vendor, method, f"{path}?{query}" if query else path, request


def test_random_requests_get_documented_answers(sandbox_app: TestClient) -> None:
    state = _state(sandbox_app)

    @given(sent=requests(state))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    def check(sent: tuple[Vendor, str, str, dict[str, Any]]) -> None:
        _check(sandbox_app, *sent)

    check()


# Requests that once answered 500, found by the fuzzers; each is now the vendor's own answer.
CALLAB_UUID = "550e8400-e29b-41d4-a716-446655440000"
REGRESSIONS: list[tuple[str, str, str, Any]] = [
    # A UUID with a trailing line break matched Callab's id pattern (`$` takes one) and then
    # broke uuid.UUID.
    ("callab", "GET", f"/callab/v1/calls/{CALLAB_UUID}%0A", None),
    (
        "callab",
        "POST",
        "/callab/v1/calls",
        {"call_from": "1", "call_to": "2", "campaign_id": CALLAB_UUID + "\n"},
    ),
    # An id holding a line break matched no mount (Starlette's patterns stop at one).
    ("retell", "PATCH", "/retell/v2/update-call/a%0Ab", {"metadata": {}}),
    ("zudu", "GET", "/zudu/api/calls/a%0A%0Ab", None),
    # JSON Schema's integers include 5.0, which Python cannot slice or islice with.
    ("retell", "POST", "/retell/v3/list-calls", {"limit": 2.0, "skip": 1.0}),
    ("retell", "POST", "/retell/v2/list-calls", {"limit": 2.0}),
    ("zudu", "POST", "/zudu/api/calls", {"page": 1.0, "limit": 3.0}),
    # A skip beyond sys.maxsize.
    ("retell", "POST", "/retell/v3/list-calls", {"skip": 10**30}),
]


@pytest.mark.parametrize(("vendor_name", "method", "path", "body"), REGRESSIONS)
def test_fuzzer_findings_stay_fixed(
    sandbox_app: TestClient, vendor_name: str, method: str, path: str, body: Any
) -> None:
    vendor = next(v for v in VENDORS if v.name == vendor_name)
    request: dict[str, Any] = {"headers": _state(sandbox_app).credentials(vendor_name)}
    if body is not None:
        request["json"] = body
    _check(sandbox_app, vendor, method, path, request)
