"""The store's backends keep one contract: what one worker changes, every worker sees, in the
same bytes; creation numbers never collide; one tenant's read-modify-writes never interleave;
the clock and the published lifecycle events are shared.

Every contract test runs on both backends. With `memory` the two "workers" are one sandbox (an
in-memory store is one process's); with `redis` they are two sandboxes built apart, sharing a
real redis-server that the session started (tests/redis_server.py)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.ids import uuid_from
from sandbox.calls.lifecycle import Transition
from sandbox.calls.model import Call
from sandbox.dialect.vendor import VendorSandbox
from sandbox.store.backend import StoreUnavailable
from sandbox.store.redis import masked
from sandbox.vendors import VENDORS
from tests.servers import free_port

RETELL_CREATE = {"from_number": "+14155550142", "to_number": "+12125550101"}


def _url(request: pytest.FixtureRequest, backend: str) -> str:
    return "memory" if backend == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> str:
    return _url(request, request.param)


@pytest.fixture
def workers(store_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    """Two clients, each on its own "worker" sandbox sharing `store_url`."""
    first = create_app(Settings(raise_on_schema_error=True, store_url=store_url))
    second = first if store_url == "memory" else _app(store_url)
    with TestClient(first) as a, TestClient(second) as b:
        yield a, b


def _app(store_url: str, **options: Any) -> Starlette:
    return create_app(Settings(raise_on_schema_error=True, store_url=store_url, **options))


def _state(client: TestClient) -> VendorSandbox:
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    return state


def _keys(client: TestClient, vendor: str = "retell", tenant: str | None = None) -> dict[str, str]:
    return _state(client).credentials(vendor, tenant)


def _create(client: TestClient, tenant: str | None = None, **headers: str) -> str:
    answer = client.post(
        "/retell/v2/create-phone-call",
        headers={**_keys(client, tenant=tenant), **headers},
        json=RETELL_CREATE,
    )
    assert answer.status_code == 201, answer.text
    call_id: str = answer.json()["call_id"]
    return call_id


def _get(client: TestClient, call_id: str) -> tuple[int, bytes]:
    answer = client.get(f"/retell/v2/get-call/{call_id}", headers=_keys(client))
    return answer.status_code, answer.content


def _listed(client: TestClient, limit: int = 1000) -> list[str]:
    answer = client.post("/retell/v3/list-calls", headers=_keys(client), json={"limit": limit})
    assert answer.status_code == 200, answer.text
    return [item["call_id"] for item in answer.json()["items"]]


def _retell_id(state: VendorSandbox, tenant: str, sequence: int) -> str:
    return state.vendors["retell"].format_id(
        uuid_from(state.fixtures.seed, "created", tenant, sequence)
    )


# -- what one worker changes, the other sees ------------------------------------------------


def test_a_change_through_one_worker_is_seen_by_the_other(
    workers: tuple[TestClient, TestClient],
) -> None:
    a, b = workers
    call_id = _create(a)
    assert _get(b, call_id) == _get(a, call_id)
    assert _get(b, call_id)[0] == 200
    assert call_id in _listed(b)

    patched = b.patch(
        f"/retell/v2/update-call/{call_id}", headers=_keys(b), json={"metadata": {"ticket": 7}}
    )
    assert patched.status_code == 200
    status, body = _get(a, call_id)
    assert status == 200
    assert body == patched.content
    # A generated call patched through one worker, too.
    generated = _listed(a, 20)[-1]
    b.patch(f"/retell/v2/update-call/{generated}", headers=_keys(b), json={"metadata": {"x": 1}})
    assert _get(a, generated) == _get(b, generated)
    assert b'"metadata":{"x":1}' in _get(a, generated)[1]

    key = _state(a).store.key_of(
        _state(a).default_tenant.id, _state(a).vendors["retell"].canonical_id(call_id) or ""
    )
    assert b.delete(f"/retell/v2/delete-call/{call_id}", headers=_keys(b)).status_code == 204
    assert _get(a, call_id)[0] == 422
    assert call_id not in _listed(a)
    assert _listed(a) == _listed(b)
    # A deleted call keeps its place in list order, for a pagination key that names it.
    tenant = _state(b).default_tenant.id
    assert (
        _state(b).store.key_of(tenant, _state(b).vendors["retell"].canonical_id(call_id) or "")
        == key
    )


def test_both_backends_answer_the_same_bytes(request: pytest.FixtureRequest) -> None:
    """The same requests against an in-memory store and a Redis store: the same answers."""
    answers = []
    for backend in ("memory", "redis"):
        with TestClient(_app(_url(request, backend))) as client:
            answers.append(_script(client))
    assert answers[0] == answers[1]
    assert len([s for s, _ in answers[0] if s < 300]) >= 15


def _script(client: TestClient) -> list[tuple[int, bytes]]:
    state = _state(client)
    seen = []
    for vendor in VENDORS:
        routes = {r.name: r for r in vendor.routes}
        for example in vendor.examples:
            method = routes[example.route].method
            path = f"/{vendor.name}{example.path}"
            if "{call_id}" in path:
                continue
            answer = client.request(
                method, path, headers=state.credentials(vendor.name), json=example.body
            )
            seen.append((answer.status_code, answer.content))
    first = _retell_id(state, state.default_tenant.id, 1)
    for method, path, body in (
        ("PATCH", f"/retell/v2/update-call/{first}", {"metadata": {"k": "v"}}),
        ("GET", f"/retell/v2/get-call/{first}", None),
        ("DELETE", f"/retell/v2/delete-call/{first}", None),
        ("GET", f"/retell/v2/get-call/{first}", None),
        ("POST", "/retell/v3/list-calls", {"limit": 30}),
    ):
        answer = client.request(method, path, headers=_keys(client), json=body)
        seen.append((answer.status_code, answer.content))
    return seen


# -- creation numbers ---------------------------------------------------------------------


def test_concurrent_creates_are_numbered_without_collision(
    workers: tuple[TestClient, TestClient],
) -> None:
    a, b = workers
    state = _state(a)
    tenant = state.default_tenant.id

    def create(index: int) -> str:
        return _create(a if index % 2 else b)

    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(create, range(60)))
    assert len(set(made)) == 60
    assert set(made) == {_retell_id(state, tenant, n) for n in range(1, 61)}
    for client in (a, b):
        listed = _listed(client)
        assert sorted(c for c in listed if c in set(made)) == sorted(made)
        assert len(listed) == len(set(listed))


def test_a_rejected_create_leaves_the_numbering_as_it_was(
    workers: tuple[TestClient, TestClient],
) -> None:
    a, b = workers
    state = _state(a)
    rejected = a.post(
        "/retell/v2/create-phone-call",
        headers={**_keys(a), "Prefer": "scenario=lost"},
        json=RETELL_CREATE,
    )
    assert rejected.status_code == 400
    assert state.store.snapshot()[state.default_tenant.id] == 0
    assert _create(b) == _retell_id(state, state.default_tenant.id, 1)


def test_reset_of_one_tenant_or_of_all(workers: tuple[TestClient, TestClient]) -> None:
    a, b = workers
    state = _state(a)
    acme, globex = state.default_tenant.id, "globex"
    _create(a)
    _create(a)
    other = _create(a, tenant=globex)
    assert b.post("/_sandbox/reset", params={"tenant": acme}).status_code == 200
    a.get("/_sandbox/clock")  # (a control request: worker a has caught up)
    assert _state(a).store.snapshot() == {acme: 0, globex: 1}
    assert _create(a) == _retell_id(state, acme, 1)  # its numbering starts again
    get = a.get(f"/retell/v2/get-call/{other}", headers=_keys(a, tenant=globex))
    assert get.status_code == 200
    assert b.post("/_sandbox/reset").status_code == 200
    a.get("/_sandbox/clock")
    assert _state(a).store.snapshot() == {acme: 0, globex: 0}


# -- one tenant's read-modify-writes ------------------------------------------------------


def test_concurrent_merges_into_one_call_lose_nothing(
    workers: tuple[TestClient, TestClient],
) -> None:
    """Zudu's PUT merges metadata: read, merge, write. Forty of them from eight threads over
    both workers must all land."""
    a, b = workers
    target = "call-456"  # Zudu's docs call
    keys = _keys(a, "zudu")

    def put(index: int) -> int:
        client = a if index % 2 else b
        answer = client.put(
            f"/zudu/api/calls/{target}", headers=keys, json={"metadata": {f"k{index}": index}}
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(put, range(40))) == {200}
    metadata = a.get(f"/zudu/api/calls/{target}", headers=keys).json()["data"]["metadata"]
    assert {f"k{i}": i for i in range(40)}.items() <= metadata.items()


def test_mutation_is_reentrant_within_a_thread() -> None:
    state: VendorSandbox = _app("memory").state.sandbox
    tenant = state.default_tenant.id
    with state.store.mutation(tenant), state.store.mutation(tenant):
        call = state.store.create(
            tenant,
            lambda call_id, now: _request(state, call_id, now),
            origin="retell",
            outcome=lambda request: None,
        )
    assert state.store.get(tenant, call.id) == call
    # Released: another thread gets in.
    done = threading.Event()

    def other() -> None:
        with state.store.mutation(tenant):
            done.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    assert done.is_set()


def test_a_shared_store_changes_only_inside_a_transaction(redis_url: str) -> None:
    """A change to a shared store is committed when its request is done: one made anywhere
    else would never reach the server, so it is refused, saying where changes are made."""
    state: VendorSandbox = _app(redis_url).state.sandbox
    tenant = state.default_tenant.id
    with pytest.raises(RuntimeError, match=r"is made inside `transaction\(tenant\)`"):
        state.store.create(
            tenant,
            lambda call_id, now: _request(state, call_id, now),
            origin="retell",
            outcome=lambda request: None,
        )
    assert state.store.snapshot()[tenant] == 0


def _request(state: VendorSandbox, call_id: str, now: int) -> Call:
    from sandbox.calls.created import new_call

    tenant = state.default_tenant
    return new_call(
        call_id,
        now,
        tenant=tenant.id,
        agent=tenant.agents[0],
        from_number="+14155550142",
        to_number="+12125550101",
    )


def test_a_tenant_that_keeps_changing_elsewhere_is_a_503_and_nothing_is_written(
    redis_url: str,
) -> None:
    """Writes take no lock (nothing a request cut off half way could leave behind): a commit
    finds whether the tenant changed since its handler read it, and runs again if so. One
    that keeps losing, ATTEMPTS times in a row, is the vendor's 503 saying so."""
    import redis

    app = _app(redis_url)
    state: VendorSandbox = app.state.sandbox
    tenant = state.default_tenant.id
    server = redis.Redis.from_url(redis_url)
    prefix = f"call-sandbox:seed-{state.fixtures.seed}:"
    with TestClient(app) as client:
        # As if another replica changed the tenant at a version this one will never catch up to.
        server.set(f"{prefix}t:{tenant}:at", 10**12)
        answer = client.post(
            "/retell/v2/create-phone-call", headers=_keys(client), json=RETELL_CREATE
        )
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert answer.json() == {"status": "error", "message": "Service Unavailable"}
        assert answer.headers["x-sandbox-hint"] == (
            f"tenant {tenant}'s calls changed under this request 8 times in a row (other "
            "clients keep changing them): retry"
        )
        assert state.store.snapshot()[tenant] == 0
        server.delete(f"{prefix}t:{tenant}:at")
        made = client.post(
            "/retell/v2/create-phone-call", headers=_keys(client), json=RETELL_CREATE
        )
        assert made.status_code == 201
        assert made.json()["call_id"] == _retell_id(state, tenant, 1)
    server.close()


# -- the clock and the lifecycle events ---------------------------------------------------


def test_the_clock_is_shared(workers: tuple[TestClient, TestClient]) -> None:
    a, b = workers
    first, second = _state(a), _state(b)
    assert a.post("/_sandbox/clock/advance", json={"seconds": 90}).status_code == 200
    assert b.get("/_sandbox/clock").json()["elapsed_ms"] == 90_000
    assert second.clock.now_ms() == second.clock.reference_ms + 90_000
    assert b.post("/_sandbox/reset").status_code == 200
    assert a.get("/_sandbox/clock").json()["elapsed_ms"] == 0
    assert first.clock.now_ms() == first.clock.reference_ms


def test_time_scaled_clocks_of_two_workers_agree(redis_url: str) -> None:
    """With a time scale, "now" comes from the Redis server's clock: a worker started later
    does not lag behind one started earlier (60x: the build of the second app alone is
    seconds of sandbox time)."""
    first: VendorSandbox = _app(redis_url, time_scale=60.0).state.sandbox
    second: VendorSandbox = _app(redis_url, time_scale=60.0).state.sandbox
    readings = [first.clock.now_ms(), second.clock.now_ms(), first.clock.now_ms()]
    # Each process knows the server's clock to within half a local round trip (a fraction of
    # a millisecond): at 60x, a few ms of sandbox time at most.
    assert readings[0] <= readings[1] + 30
    assert readings[1] <= readings[2] + 30
    assert readings[0] > first.clock.reference_ms


def test_lifecycle_events_are_published_once(workers: tuple[TestClient, TestClient]) -> None:
    a, b = workers
    heard: list[tuple[str, str, str]] = []

    def listen(tenant: str, call: Call, step: Transition) -> None:
        heard.append((tenant, call.id, step.event))

    listeners = {id(_state(a)): _state(a), id(_state(b)): _state(b)}
    for state in listeners.values():
        state.listeners.append(listen)
    created = _state(a).vendors["retell"].canonical_id(_create(a, Prefer="scenario=completed"))
    assert a.post("/_sandbox/clock/advance", json={"seconds": 30 * 60}).status_code == 200
    first = list(heard)
    assert (_state(a).default_tenant.id, created, "call_ended") in first
    assert b.portal is not None
    b.portal.call(_state(b).apublish)  # nothing new since the other worker published
    assert b.post("/_sandbox/clock/advance", json={"seconds": 60}).status_code == 200
    assert heard[: len(first)] == first
    assert len(heard) == len(set(heard))


# -- tenants made on first use ------------------------------------------------------------


def test_a_tenant_made_on_first_use_is_shared(redis_url: str) -> None:
    key = {"Authorization": "Bearer key_" + "ab12" * 6 + "cd"}
    with (
        TestClient(_app(redis_url, open_tenancy=True)) as a,
        TestClient(_app(redis_url, open_tenancy=True)) as b,
    ):
        made = a.post("/retell/v2/create-phone-call", headers=key, json=RETELL_CREATE)
        assert made.status_code == 201, made.text
        call_id = made.json()["call_id"]
        # The second worker meets the key for the first time, after the first created with it.
        got = b.get(f"/retell/v2/get-call/{call_id}", headers=key)
        assert got.status_code == 200
        assert got.content == a.get(f"/retell/v2/get-call/{call_id}", headers=key).content


# -- a store that cannot be used ----------------------------------------------------------


def test_an_unusable_store_stops_start_up_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StoreUnavailable, match=r"^--store 'mysql://db': use 'memory'"):
        create_app(Settings(store_url="mysql://db"))
    closed = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(StoreUnavailable, match=rf"^cannot use the Redis store {closed}: "):
        create_app(Settings(store_url=closed))
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(StoreUnavailable, match=r"pip install 'call-sandbox\[redis\]'"):
        create_app(Settings(store_url=closed))


def test_a_password_never_shows() -> None:
    assert masked("redis://app:s3cret@cache:6380/2") == "redis://app:***@cache:6380/2"
    assert masked("redis://:s3cret@cache/0") == "redis://:***@cache/0"
    assert masked("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert masked("redis://:s3cret@[::1]:6379/0") == "redis://:***@[::1]:6379/0"


def test_a_damaged_record_stops_start_up_with_the_reason(redis_url: str) -> None:
    import redis

    state: VendorSandbox = _app(redis_url).state.sandbox
    server = redis.Redis.from_url(redis_url)
    prefix = f"call-sandbox:seed-{state.fixtures.seed}:"
    server.hset(f"{prefix}t:{state.default_tenant.id}:created", "x", b'{"sequence": 1}')
    server.sadd(f"{prefix}tenants", state.default_tenant.id)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            _app(redis_url)
        assert str(raised.value) == (
            f"the Redis store {redis_url} holds a damaged call: created: expected an object "
            "with sequence and call"
        )
    finally:
        server.delete(f"{prefix}t:{state.default_tenant.id}:created", f"{prefix}tenants")
        server.close()
