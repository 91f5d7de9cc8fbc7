"""Rate limits per key: each vendor's 429 with Retry-After, counted per credential, on a
wall-clock window that a client honouring Retry-After finds over when it comes back."""

from __future__ import annotations

from typing import Any

import pytest
import retell

from sandbox.dialect.vendor import Vendor
from sandbox.store.backend import finish
from sandbox.store.ratelimits import RateLimiter
from sandbox.store.records import LocalRecords
from sandbox.testing.handles import SandboxHandle
from sandbox.vendors import VENDORS
from tests.doubles import INJECTED, MODES, lookup, pick, send, state_of

DOCS_CALL = "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"


@pytest.fixture(params=MODES)
def handle(request: pytest.FixtureRequest, sandbox: SandboxHandle) -> SandboxHandle:
    return pick(request, sandbox)


class Limiter:
    """The rate limits of one process, called as the control plane and the pipeline do."""

    def __init__(self, clock: FakeClock) -> None:
        vendors = [vendor.name for vendor in VENDORS]
        self.book = RateLimiter(LocalRecords(now=clock), vendors=vendors)

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        return finish(self.book.add(body))

    def check(self, vendor: str, route: str, tenant: str) -> dict[str, Any] | None:
        return finish(self.book.check(vendor, route, tenant))

    def reset(self, tenant: str | None = None) -> None:
        finish(self.book.reset(tenant))

    def rules(self) -> list[dict[str, Any]]:
        return finish(self.book.rules())


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_fixed_window_per_key() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    assert limiter.add({"vendor": "retell", "limit": 2, "per_seconds": 10}) == {
        "id": 1,
        "vendor": "retell",
        "route": None,
        "tenant": None,
        "limit": 2,
        "per_seconds": 10,
    }
    assert limiter.check("retell", "get-call", "acme") is None
    clock.now += 3
    assert limiter.check("retell", "list-calls", "acme") is None
    clock.now += 0.5
    assert limiter.check("retell", "get-call", "acme") == {
        "source": "rate_limit",
        "rule": 1,
        "type": "status",
        "status": 429,
        "retry_after": 7,  # the window opened at 100 and ends at 110
    }
    assert limiter.check("retell", "get-call", "globex") is None  # another key, its own window
    assert limiter.check("callab", "get-call", "acme") is None  # another vendor's key
    clock.now = 109.9
    assert limiter.check("retell", "get-call", "acme")["retry_after"] == 1  # type: ignore[index]
    clock.now = 110.0
    assert limiter.check("retell", "get-call", "acme") is None  # a new window


def test_refused_requests_do_not_count_and_every_rule_must_allow() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    limiter.add({"limit": 3, "per_seconds": 60})
    limiter.add({"route": "get-call", "limit": 1, "per_seconds": 5})
    assert limiter.check("zudu", "get-call", "acme") is None
    refused = limiter.check("zudu", "get-call", "acme")
    assert refused is not None
    assert (refused["rule"], refused["retry_after"]) == (2, 5)
    # Rule 1 counted the first request only, so two more pass and the third is refused.
    assert limiter.check("zudu", "list-calls", "acme") is None
    assert limiter.check("zudu", "list-calls", "acme") is None
    assert limiter.check("zudu", "list-calls", "acme") is not None
    limiter.reset("acme")
    assert limiter.rules() == [limiter.rules()[0], limiter.rules()[1]]  # rules about any tenant
    assert limiter.check("zudu", "list-calls", "acme") is None  # acme's windows are gone


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_each_vendor_answers_its_own_429(
    handle: SandboxHandle, sandbox: SandboxHandle, vendor: Vendor
) -> None:
    state = state_of(sandbox)
    client = handle.httpx_client()
    example = lookup(vendor)
    # (The example's call is acme's: globex gets its own not-found, whatever the vendor's is.)
    globex = send(client, state, vendor, example, tenant="globex")
    handle.rate_limits.set(limit=1, per_seconds=60, vendor=vendor.name)
    assert send(client, state, vendor, example).status_code == 200
    before = state.store.snapshot()
    refused = send(client, state, vendor, example)
    assert refused.status_code == 429
    assert refused.json() == INJECTED[vendor.name][429]
    assert refused.headers["content-type"] == vendor.content_type
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-sandbox-hint"].startswith("rate limit 1 (GET /_sandbox/rate-limits)")
    assert state.store.snapshot() == before
    # Another tenant's key has a window of its own.
    again = send(client, state, vendor, example, tenant="globex")
    assert (again.status_code, again.content) == (globex.status_code, globex.content)
    entry = sandbox.journal.entries(tenant="acme")[-1]
    assert entry["status"] == 429
    assert entry["faults"][0]["source"] == "rate_limit"


def test_a_limit_on_one_tenant_and_route(sandbox: SandboxHandle) -> None:
    state = state_of(sandbox)
    retell_vendor = VENDORS[0]
    sandbox.rate_limits.set(limit=1, per_seconds=60, tenant="globex", route="get-call")
    client = sandbox.httpx_client()
    example = lookup(retell_vendor)
    assert [send(client, state, retell_vendor, example).status_code for _ in range(3)] == [200] * 3
    globex = [
        send(client, state, retell_vendor, example, tenant="globex").status_code for _ in range(2)
    ]
    assert globex == [422, 429]  # (the example's call is acme's: globex's own answer is a 422)


def test_retell_sdk_retries_after_retry_after_and_succeeds(handle: SandboxHandle) -> None:
    handle.rate_limits.set(limit=1, per_seconds=1, vendor="retell")
    key = handle.keys("retell")["Authorization"].removeprefix("Bearer ")
    client = retell.Retell(
        api_key=key,
        base_url=handle.base_url("retell"),
        http_client=handle.httpx_client(),
        max_retries=2,
    )
    assert client.call.retrieve(DOCS_CALL).call_id == DOCS_CALL
    assert client.call.retrieve(DOCS_CALL).call_id == DOCS_CALL  # a 429, a 1 s sleep, a 200
    statuses = [e["status"] for e in handle.journal.entries(vendor="retell")]
    assert statuses == [200, 429, 200]


def test_limits_are_listed_removed_cleared_and_reset(handle: SandboxHandle) -> None:
    handle.rate_limits.set(limit=5, per_seconds=1, vendor="retell", tenant="acme")
    handle.rate_limits.set(limit=1, per_seconds=0.5)
    assert [r["id"] for r in handle.rate_limits.rules()] == [1, 2]
    assert handle.rate_limits.remove(2) == {
        "id": 2,
        "vendor": None,
        "route": None,
        "tenant": None,
        "limit": 1,
        "per_seconds": 0.5,
    }
    with pytest.raises(ValueError, match="no rate limit 2"):
        handle.rate_limits.remove(2)
    handle.reset("acme")
    assert handle.rate_limits.rules() == []
    handle.rate_limits.set(limit=1, per_seconds=1)
    assert handle.rate_limits.clear() == 1
    handle.rate_limits.set(limit=1, per_seconds=1)
    handle.reset()
    assert handle.rate_limits.rules() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"per_seconds": 1}, 'body: "limit" is a required property'),
        ({"limit": 0, "per_seconds": 1}, "body.limit: 0 is less than the minimum of 1"),
        (
            {"limit": 1, "per_seconds": 0},
            "body.per_seconds: 0 is less than or equal to the minimum of 0",
        ),
        (
            {"limit": 1, "per_seconds": 1, "vendor": "vapi"},
            "body.vendor: no vendor 'vapi' here; use one of retell, callab, contactship, zudu",
        ),
        (
            {"limit": 1, "per_seconds": 1, "route": "nope"},
            "body.route: no vendor has a route 'nope'; route names: contact-call-history, "
            "contact-calls,",
        ),
        ({"limit": 1, "per_seconds": 1, "key": "x"}, "body: additional properties are not"),
    ],
)
def test_a_bad_limit_is_refused_naming_the_field(
    sandbox: SandboxHandle, body: dict[str, Any], message: str
) -> None:
    response = sandbox.httpx_client().post("/_sandbox/rate-limits", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert response.json()["message"].startswith(message)
    assert sandbox.rate_limits.rules() == []
