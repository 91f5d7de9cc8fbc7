"""Two replicas on one Redis, through real sockets: two separate `call-sandbox serve --store
redis://...` processes and a Debian `redis-server` this file starts, stops (SIGSTOP), resumes,
kills (SIGKILL) and restarts itself.

The replicas are one sandbox: a call created, patched or deleted through one is seen at once
through the other, and writes on both to one call all land. When Redis stops answering, every
vendor request gets the vendor's own 503 (`Retry-After: 1`) within a bounded time and `ready`
says not ready; when Redis is back, both replicas answer as before by themselves, having lost
nothing they acknowledged and kept nothing they refused.

Every wait is bounded in time and in count; the bounds are the store's own constants with a
margin (a bound on how long a client may be kept waiting, not a claim about speed)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.store.redis import COMMAND_TIMEOUT_S, DOWN_AFTER_S, PING_EVERY_S
from sandbox.vendors import VENDORS
from tests.doubles import INJECTED
from tests.redis_server import MISSING, stop
from tests.servers import Served, free_port, serve, wait_for

NUMBERS = {"from_number": "+14155550142", "to_number": "+12125550101"}
CREATE = "/retell/v2/create-phone-call"
# Retell's answer to a call id its tenant does not have (a deleted call included).
RETELL_NOT_FOUND = {
    "status": "error",
    "message": "Cannot find requested asset under given api key.",
}

# The store pings every PING_EVERY_S and calls the server down once a ping went unanswered
# for DOWN_AFTER_S, checking every PING_EVERY_S: a vendor request is answered 503 within
# DOWN_AFTER_S + 2 * PING_EVERY_S (1.5 s) of the server's last answer; one more PING_EVERY_S
# for the processes to be scheduled on a loaded machine.
OUTAGE_BOUND_S = DOWN_AFTER_S + 3 * PING_EVERY_S
# A write already waiting on the server gives up after COMMAND_TIMEOUT_S.
WRITE_BOUND_S = COMMAND_TIMEOUT_S + 2 * PING_EVERY_S
# How long Redis holds writes in the test of a write that timed out on a live server.
PAUSE_S = COMMAND_TIMEOUT_S + 0.5
# Reconnecting every RETRY_S and reading the whole state again: "within a few seconds".
RECOVERY_BOUND_S = 5.0
POLL_S = 0.02
REDIS_START_S = 15.0


# -- the Redis server: started, paused, killed and restarted by the test --------------------


class RedisServer:
    """Debian's redis-server on a free 127.0.0.1 port with its files in `folder`, keeping
    every acknowledged write (`appendonly yes`, `appendfsync always`), so that a SIGKILL and a
    restart on the same port and folder lose nothing Redis acknowledged."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = folder / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            self.binary,
            *("--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder)),
            *("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
            *("--protected-mode", "yes"),
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        wait_for(self._answers, REDIS_START_S, f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        import redis

        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"redis-server exited with {self.process.returncode}:\n{self.log.read_text()}"
            )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:  # (refused, or still loading its append-only file)
            return False
        finally:
            client.close()

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # (a paused server would not act on SIGTERM)
        stop(process)


# -- the replicas ----------------------------------------------------------------------------


class Replica:
    """One `call-sandbox serve` process; a kept-alive connection per thread that talks to it."""

    def __init__(self, name: str, served: Served) -> None:
        self.name = name
        self.served = served
        self.url = served.url
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(base_url=self.url, timeout=10.0)
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def send(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
    ) -> httpx.Response:
        return self._client().request(method, path, headers=headers, json=body)

    def timed(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        response = self.send(method, path, headers)
        return response, time.monotonic() - started


@dataclass
class Pair:
    redis: RedisServer
    a: Replica
    b: Replica
    keys: dict[str, dict[str, str]]

    @property
    def both(self) -> tuple[Replica, Replica]:
        return self.a, self.b

    def create(self, replica: Replica) -> httpx.Response:
        return replica.send("POST", CREATE, self.keys["retell"], NUMBERS)

    def created_ids(self, replica: Replica, generated: set[str]) -> set[str]:
        """The Retell ids of the calls clients created, as `replica` lists them."""
        response = replica.send(
            "POST", "/retell/v2/list-calls", self.keys["retell"], {"limit": 1000}
        )
        assert response.status_code == 200, response.text
        listed = [item["call_id"] for item in response.json()]
        assert len(listed) == len(set(listed))
        return set(listed) - generated

    def ready(self, replica: Replica) -> httpx.Response:
        return replica.send("GET", "/_sandbox/ready")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(MISSING)
    pytest.importorskip("redis", reason="the `redis` package is in the test extra")
    folder = tmp_path / "redis"
    folder.mkdir()
    redis_server = RedisServer(binary, folder)
    with ExitStack() as stack:
        stack.callback(redis_server.stop)
        redis_server.start()
        replicas = []
        for name in ("a", "b"):
            served = serve(tmp_path / name, "--store", redis_server.url, "--no-access-log")
            replica = Replica(name, stack.enter_context(served))
            stack.callback(replica.close)
            replicas.append(replica)
        keys = replicas[0].send("GET", "/_sandbox/keys").json()
        yield Pair(redis_server, replicas[0], replicas[1], keys)


def _lookups(call_id: str) -> dict[str, str]:
    """Each vendor's get-call path of a call Retell created (one canonical call, four ids)."""
    retell = next(v for v in VENDORS if v.name == "retell")
    canonical = retell.canonical_id(call_id)
    assert canonical is not None
    return {v.name: f"/{v.name}{v.lookup_path(v.format_id(canonical))}" for v in VENDORS}


def _within(timeout: float, what: str, attempts: int, check: Callable[[], bool]) -> float:
    """Poll `check` until it holds, at most `attempts` times and `timeout` seconds; the seconds
    it took."""
    started = time.monotonic()
    for _ in range(attempts):
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            break
        time.sleep(POLL_S)
    raise AssertionError(f"not within {timeout} s: {what}")


def _recovered(pair: Pair) -> float:
    """Seconds until both replicas are ready again (bounded by RECOVERY_BOUND_S)."""

    def both_ready() -> bool:
        return all(pair.ready(r).status_code == 200 for r in pair.both)

    return _within(RECOVERY_BOUND_S, "both replicas ready again", 1_000, both_ready)


def _assert_ready(pair: Pair, replica: Replica) -> None:
    response = pair.ready(replica)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    assert response.json()["store"] == {"url": pair.redis.url, "live": True}


def _assert_store_down(pair: Pair, replica: Replica, response: httpx.Response, vendor: str) -> None:
    """The vendor's own 503 body, `Retry-After: 1` and a hint naming the store."""
    assert response.status_code == 503, (replica.name, vendor, response.text)
    assert response.json() == INJECTED[vendor][503]
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"].startswith("application/json")
    assert pair.redis.url in response.headers["x-sandbox-hint"]


def _assert_not_ready(pair: Pair, replica: Replica) -> None:
    response = pair.ready(replica)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    store = body["store"]
    assert set(store) == {"url", "live", "message"}
    assert store["url"] == pair.redis.url
    assert store["live"] is False
    assert pair.redis.url in store["message"]
    # Liveness is the process's, not the store's: an orchestrator must not restart it.
    health = replica.send("GET", "/_sandbox/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


def _generated(pair: Pair) -> set[str]:
    """The generated calls' Retell ids (a fresh Redis: nothing created yet)."""
    response = pair.a.send("POST", "/retell/v2/list-calls", pair.keys["retell"], {"limit": 1000})
    assert response.status_code == 200
    return {item["call_id"] for item in response.json()}


# -- 1. read-your-writes ------------------------------------------------------------------


def test_a_change_through_one_replica_is_read_at_once_through_the_other(pair: Pair) -> None:
    retell = pair.keys["retell"]
    for index in range(100):
        writer, reader = (pair.a, pair.b) if index % 2 == 0 else (pair.b, pair.a)
        created = pair.create(writer)
        assert created.status_code == 201, created.text
        path = f"/retell/v2/get-call/{created.json()['call_id']}"
        read = reader.send("GET", path, retell)
        assert read.status_code == 200, (index, read.text)
        assert read.content == created.content, index

    call_id = created.json()["call_id"]
    path = f"/retell/v2/get-call/{call_id}"
    patched = pair.a.send(
        "PATCH", f"/retell/v2/update-call/{call_id}", retell, {"metadata": {"ticket": "T-1"}}
    )
    assert patched.status_code == 200, patched.text
    read = pair.b.send("GET", path, retell)
    assert read.status_code == 200
    assert read.json()["metadata"] == {"ticket": "T-1"}
    assert read.content == patched.content

    deleted = pair.b.send("DELETE", f"/retell/v2/delete-call/{call_id}", retell)
    assert deleted.status_code == 204
    for replica in pair.both:
        gone = replica.send("GET", path, retell)
        assert (gone.status_code, gone.json()) == (422, RETELL_NOT_FOUND), replica.name

    advanced = pair.a.send("POST", "/_sandbox/clock/advance", body={"seconds": 90})
    assert advanced.status_code == 200, advanced.text
    clock = pair.b.send("GET", "/_sandbox/clock")
    assert clock.status_code == 200
    assert clock.json()["elapsed_ms"] == advanced.json()["elapsed_ms"] == 90_000
    assert clock.json()["now_ms"] == advanced.json()["now_ms"]


# -- 2. concurrent writes ---------------------------------------------------------------


def test_concurrent_writes_through_both_replicas_all_land(pair: Pair) -> None:
    zudu = pair.keys["zudu"]
    count = 40

    def put(index: int) -> int:
        replica = pair.both[index % 2]
        body = {"metadata": {f"k{index}": index}}
        return replica.send("PUT", "/zudu/api/calls/call-456", zudu, body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(put, range(count))) == {200}
    merged = {f"k{i}": i for i in range(count)}
    for replica in pair.both:
        read = replica.send("GET", "/zudu/api/calls/call-456", zudu)
        assert read.status_code == 200
        assert merged.items() <= read.json()["data"]["metadata"].items(), replica.name

    def create(index: int) -> httpx.Response:
        return pair.create(pair.both[index % 2])

    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(create, range(count)))
    assert {r.status_code for r in made} == {201}, [
        (r.status_code, r.text, r.headers.get("x-sandbox-hint"))
        for r in made
        if r.status_code != 201
    ]
    ids = [r.json()["call_id"] for r in made]
    assert len(set(ids)) == count
    for response, call_id in zip(made, ids, strict=True):
        for replica in pair.both:
            read = replica.send("GET", f"/retell/v2/get-call/{call_id}", pair.keys["retell"])
            assert read.status_code == 200
            assert read.content == response.content


# -- 3. an outage: Redis stops answering, then answers again -------------------------------


def test_an_outage_answers_503_within_a_bound_and_recovers_by_itself(pair: Pair) -> None:
    created = pair.create(pair.a)
    assert created.status_code == 201
    lookups = _lookups(created.json()["call_id"])
    before = {}
    for replica in pair.both:
        _assert_ready(pair, replica)
        for vendor, path in lookups.items():
            response = replica.send("GET", path, pair.keys[vendor])
            assert response.status_code == 200, (replica.name, vendor, response.text)
            before[replica.name, vendor] = response.content

    pair.redis.signal(signal.SIGSTOP)
    stopped = time.monotonic()
    # Until the replicas notice, they answer from their mirror; from then on, 503.
    pending = {(r.name, v): (r, p) for r in pair.both for v, p in lookups.items()}
    refused: dict[tuple[str, str], tuple[httpx.Response, float, float]] = {}
    for _ in range(1_000):
        for key, (replica, path) in list(pending.items()):
            response, took = replica.timed("GET", path, pair.keys[key[1]])
            if response.status_code != 200:
                refused[key] = (response, took, time.monotonic() - stopped)
                del pending[key]
        if not pending or time.monotonic() - stopped > OUTAGE_BOUND_S:
            break
        time.sleep(POLL_S)
    assert not pending, f"still answering 200 {OUTAGE_BOUND_S} s into the outage: {pending}"
    for (name, vendor), (response, took, since) in refused.items():
        replica = pair.a if name == "a" else pair.b
        _assert_store_down(pair, replica, response, vendor)
        assert took <= WRITE_BOUND_S, (name, vendor, took)
        assert since <= OUTAGE_BOUND_S, (name, vendor, since)
    for replica in pair.both:
        _assert_not_ready(pair, replica)
        # Down, a replica answers at once (it does not wait on the store per request).
        for vendor, path in lookups.items():
            response, took = replica.timed("GET", path, pair.keys[vendor])
            _assert_store_down(pair, replica, response, vendor)
            assert took <= WRITE_BOUND_S
        # The control plane catches up with the store before it answers: refused too.
        clock = replica.send("GET", "/_sandbox/clock")
        assert clock.status_code == 503, clock.text
        assert clock.json()["error"] == "store_unavailable"

    pair.redis.signal(signal.SIGCONT)
    _recovered(pair)
    # Right away: a create on each replica (no lock, nothing left behind by the outage).
    for replica in pair.both:
        again = pair.create(replica)
        assert again.status_code == 201, (replica.name, again.text)
    for replica in pair.both:
        _assert_ready(pair, replica)
        for vendor, path in lookups.items():
            response = replica.send("GET", path, pair.keys[vendor])
            assert response.status_code == 200, (replica.name, vendor, response.text)
            assert response.content == before[replica.name, vendor]


def test_a_write_refused_during_an_outage_leaves_nothing(pair: Pair) -> None:
    """A create waiting on a paused Redis gives up with 503 ("nothing was changed; retry"):
    once Redis answers again, the refused call must not appear."""
    generated = _generated(pair)
    kept = {pair.create(r).json()["call_id"] for r in pair.both}  # (a first create is slow)
    assert len(kept) == 2
    pair.redis.signal(signal.SIGSTOP)
    try:
        # Sent at once: the replica still believes the store is up, so the write waits on it.
        started = time.monotonic()
        refused = pair.create(pair.b)
        took = time.monotonic() - started
        # Paused long enough for both replicas to find out by themselves (and reconnect).
        time.sleep(max(0.0, started + OUTAGE_BOUND_S - time.monotonic()))
        for replica in pair.both:
            _assert_not_ready(pair, replica)
    finally:
        pair.redis.signal(signal.SIGCONT)
    assert refused.status_code == 503, refused.text
    assert refused.json() == INJECTED["retell"][503]
    assert refused.headers["retry-after"] == "1"
    assert took <= WRITE_BOUND_S
    _recovered(pair)
    for replica in pair.both:
        assert pair.created_ids(replica, generated) == kept, replica.name


def test_a_write_that_timed_out_on_a_live_redis_does_not_leave_a_replica_down(
    pair: Pair,
) -> None:
    """Redis holds writes for longer than COMMAND_TIMEOUT_S (`CLIENT PAUSE ... WRITE`, as a
    failover does) while it answers everything else, the replicas' pings included: the
    create waiting on it gives up with 503, and the replica answers again within a few
    seconds, by itself, with nothing of the refused create left."""
    import redis

    generated = _generated(pair)
    kept = {pair.create(r).json()["call_id"] for r in pair.both}  # (a first create is slow)
    admin = redis.Redis.from_url(pair.redis.url, socket_timeout=5)
    try:
        admin.client_pause(int(PAUSE_S * 1000), all=False)  # (writes only: WRITE)
    finally:
        admin.close()
    started = time.monotonic()
    refused = pair.create(pair.b)
    took = time.monotonic() - started
    assert refused.status_code == 503, refused.text
    assert refused.json() == INJECTED["retell"][503]
    assert refused.headers["retry-after"] == "1"
    assert took <= WRITE_BOUND_S
    time.sleep(max(0.0, PAUSE_S - took))
    _recovered(pair)
    again = pair.create(pair.b)
    assert again.status_code == 201, again.text
    kept.add(again.json()["call_id"])
    for replica in pair.both:
        assert pair.created_ids(replica, generated) == kept, replica.name


def test_a_replica_held_up_for_a_while_does_not_call_a_live_redis_down(pair: Pair) -> None:
    """A replica whose event loop was held up for longer than DOWN_AFTER_S (here the whole
    process is paused, as a CPU-starved container is; a long first request holds the loop the
    same way) heard no answer to its pings only because it did not listen: Redis answered all
    along. It must ask again before it calls the store down, and answer as before."""
    created = pair.create(pair.a)
    assert created.status_code == 201
    path = f"/retell/v2/get-call/{created.json()['call_id']}"
    pair.a.served.process.send_signal(signal.SIGSTOP)
    try:
        time.sleep(OUTAGE_BOUND_S)
    finally:
        pair.a.served.process.send_signal(signal.SIGCONT)
    answers = [pair.a.send("GET", path, pair.keys["retell"]) for _ in range(10)]
    assert [r.status_code for r in answers] == [200] * 10, answers[0].text
    _assert_ready(pair, pair.a)


# -- 4. a restart: Redis killed, started again on the same port and folder ----------------


@dataclass
class Creator:
    """Creates a call every POLL_S through alternate replicas until told to stop, keeping
    every answer, so that some creates are in flight when Redis is killed."""

    pair: Pair
    answers: list[httpx.Response] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    limit: int = 1_000

    def run(self) -> None:
        for index in range(self.limit):
            if self.stop.is_set():
                return
            self.answers.append(self.pair.create(self.pair.both[index % 2]))
            time.sleep(POLL_S)

    def statuses(self) -> list[int]:
        return [r.status_code for r in list(self.answers)]


def test_a_killed_redis_restarted_loses_nothing_acknowledged(pair: Pair) -> None:
    generated = _generated(pair)
    acknowledged = []
    for index in range(20):
        created = pair.create(pair.both[index % 2])
        assert created.status_code == 201
        acknowledged.append(created)

    creator = Creator(pair)
    thread = threading.Thread(target=creator.run, name="creates through the kill")
    thread.start()
    try:
        _within(5.0, "creates before the kill", 1_000, lambda: len(creator.answers) >= 3)
        pair.redis.kill()
        killed = time.monotonic()
        # The subscription drops with the server: both replicas stop answering at once.
        _within(
            OUTAGE_BOUND_S,
            "both replicas not ready",
            1_000,
            lambda: all(pair.ready(r).status_code == 503 for r in pair.both),
        )
        assert time.monotonic() - killed <= OUTAGE_BOUND_S
        for replica in pair.both:
            _assert_not_ready(pair, replica)
            path = f"/retell/v2/get-call/{acknowledged[0].json()['call_id']}"
            response = replica.send("GET", path, pair.keys["retell"])
            _assert_store_down(pair, replica, response, "retell")
        _within(
            5.0, "a create refused while Redis is down", 1_000, lambda: 503 in creator.statuses()
        )

        pair.redis.start()
        _recovered(pair)
    finally:
        creator.stop.set()
        thread.join(30)
    assert not thread.is_alive()
    # Right away after recovery: a create through each replica.
    for replica in pair.both:
        created = pair.create(replica)
        assert created.status_code == 201, (replica.name, created.text)
        acknowledged.append(created)

    statuses = creator.statuses()
    assert set(statuses) <= {201, 503}, statuses
    assert 503 in statuses
    acknowledged += [r for r in creator.answers if r.status_code == 201]
    ids = {r.json()["call_id"] for r in acknowledged}
    assert len(ids) == len(acknowledged)
    for response in acknowledged:
        path = f"/retell/v2/get-call/{response.json()['call_id']}"
        reads = [replica.send("GET", path, pair.keys["retell"]) for replica in pair.both]
        assert [r.status_code for r in reads] == [200, 200], path
        assert reads[0].content == reads[1].content
    # What was refused left nothing: the created calls are exactly the acknowledged ones.
    for replica in pair.both:
        assert pair.created_ids(replica, generated) == ids, replica.name


# -- the test double's records: one set for both replicas ------------------------------------

DOCS_CALL = "/retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"


def test_faults_limits_journal_and_webhooks_are_one_sandbox_s(pair: Pair) -> None:
    """A fault rule added through one replica fires on requests the other serves, counted by
    both; a rate limit counts both; the journal read on either shows both; a subscription made
    on one gets each lifecycle event once, whichever replica publishes it."""
    a, b = pair.both
    retell = pair.keys["retell"]
    rule = {"vendor": "retell", "fault": {"type": "status", "status": 503}, "when": {"first": 2}}
    assert a.send("POST", "/_sandbox/faults", body=rule).status_code == 201
    statuses = [r.send("GET", DOCS_CALL, retell).status_code for r in (b, a, b, a)]
    assert statuses == [503, 503, 200, 200]
    for replica in pair.both:
        (listed,) = replica.send("GET", "/_sandbox/faults").json()["faults"]
        assert (listed["matched"], listed["applied"]) == (4, 2)
    assert b.send("DELETE", "/_sandbox/faults").json() == {"deleted": 1}

    limit = {"vendor": "retell", "limit": 2, "per_seconds": 60}
    assert b.send("POST", "/_sandbox/rate-limits", body=limit).status_code == 201
    statuses = [r.send("GET", DOCS_CALL, retell).status_code for r in (a, b, a)]
    assert statuses == [200, 200, 429]
    assert a.send("DELETE", "/_sandbox/rate-limits").json() == {"deleted": 1}

    # Seven get-calls so far, served in turn by both replicas: either journal shows all seven.
    for replica in pair.both:
        entries = replica.send("GET", "/_sandbox/journal", body=None).json()["entries"]
        gets = [e for e in entries if e["route"] == "get-call"]
        assert len(gets) == 7
        assert [e["status"] for e in gets] == [503, 503, 200, 200, 200, 200, 429]

    sink = {"vendor": "retell", "url": "sandbox://sink", "events": ["call_ended"]}
    assert b.send("PUT", "/_sandbox/webhooks", body=sink).status_code == 200
    made = a.send("POST", CREATE, {**retell, "Prefer": "scenario=completed"}, NUMBERS)
    assert made.status_code == 201
    call_id = made.json()["call_id"]
    for replica, seconds in ((a, 300), (b, 300), (a, 1200)):
        advanced = replica.send("POST", "/_sandbox/clock/advance", body={"seconds": seconds})
        assert advanced.status_code == 200
    for replica in pair.both:
        got = replica.send("GET", f"/_sandbox/webhooks/deliveries?call_id={call_id}").json()
        assert [d["event"] for d in got["deliveries"]] == ["call_ended"]

    assert a.send("POST", "/_sandbox/reset").status_code == 200
    for replica in pair.both:
        assert replica.send("GET", "/_sandbox/journal").json()["entries"] == []
        hooks = replica.send("GET", "/_sandbox/webhooks?vendor=retell").json()["subscriptions"]
        assert all(s["source"] == "agent" for s in hooks)
