"""`call-sandbox serve --workers N --store redis://...`: several processes, one sandbox.

The end-to-end test runs two workers over the session's redis-server and finds out which
worker answered each request (the server side of its connection, looked up in /proc), so
"created through one worker, read through the other" is checked literally."""

from __future__ import annotations

import http.client
import json
import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sandbox import Settings, create_app
from sandbox.calls.ids import uuid_from
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.connection import ServedConnections
from sandbox.serve.cli import main
from sandbox.serve.workers import (
    ENVIRONMENT,
    app_from_environment,
    settings_from_json,
    settings_to_json,
)
from tests.servers import Served, serve, wait_for

RETELL = {"Authorization": "Bearer key_127f60598b07bc1e334fd13b8d"}
ZUDU = {
    "X-API-KEY": "sk_yJFV30QbWdCoMWqYmNgJQvV9eCjGdJQd",
    "X-API-SECRET": "s3cr3t_AgG4sYZIt0NAxe6P6GvsbIJ2JOgQAZjHGqH9Jf8q",
}
NUMBERS = {"from_number": "+14155550142", "to_number": "+12125550101"}
ATTEMPTS = 100  # new connections tried to reach one given worker


# -- settings travel to the workers -------------------------------------------------------


def test_settings_travel_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        fixtures=Path("/somewhere/fixtures"),
        seed=7,
        vendor_at_root="zudu",
        open_tenancy=True,
        time_scale=2.5,
        access_log=False,
        store_url="redis://127.0.0.1:6379/3",
    )
    assert settings_from_json(settings_to_json(settings)) == settings
    assert settings_from_json(settings_to_json(Settings())) == Settings()
    monkeypatch.setenv(ENVIRONMENT, settings_to_json(Settings(seed=7, vendor_at_root="zudu")))
    served = app_from_environment()
    assert isinstance(served, ServedConnections)
    state: VendorSandbox = served.app.state.sandbox  # type: ignore[attr-defined]
    assert state.fixtures.seed == 7
    assert state.settings.vendor_at_root == "zudu"
    monkeypatch.delenv(ENVIRONMENT)
    with pytest.raises(RuntimeError, match=f"{ENVIRONMENT} is not set"):
        app_from_environment()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--workers", "2"],
            "--workers 2 needs a shared store: each worker would keep its own calls in memory; "
            "add --store redis://HOST:PORT/DB",
        ),
        (
            ["--workers", "2", "--reload", "--store", "redis://127.0.0.1:1/0"],
            "--reload serves one process; drop --workers or --reload",
        ),
        (["--workers", "0"], "--workers must be at least 1, not 0"),
        (
            ["--store", "memcached://127.0.0.1"],
            "--store 'memcached://127.0.0.1': use 'memory' (the default) or a Redis URL such as "
            "redis://127.0.0.1:6379/0",
        ),
    ],
)
def test_impossible_combinations_stop_before_listening(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", "9", *argv]) == 2
    assert capsys.readouterr().err == f"call-sandbox: {message}\n"


# -- which worker answered ----------------------------------------------------------------


def _hex_address(port: int) -> str:
    return f"0100007F:{port:04X}"  # 127.0.0.1 as /proc/net/tcp spells it


def _server_inode(server_port: int, client_port: int) -> str | None:
    local, remote = _hex_address(server_port), _hex_address(client_port)
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields[9]
    return None


def _owner(pids: set[int], server_port: int, client_port: int) -> int | None:
    inode = _server_inode(server_port, client_port)
    if inode is None:
        return None
    for pid in pids:
        folder = Path(f"/proc/{pid}/fd")
        for fd in folder.iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:  # closed meanwhile
                continue
    return None


def _workers_of(parent: int) -> set[int]:
    """The uvicorn worker processes (multiprocessing spawns) of `parent`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


class Cluster:
    """The server and its workers; every request on a new connection, and who answered it."""

    def __init__(self, server: Served, workers: set[int]) -> None:
        self.server = server
        self.workers = workers
        self.port = int(server.url.rsplit(":", 1)[1])
        self.answered_by: list[int] = []

    def send(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, int, bytes]:
        """(worker pid, status, body) of one request on a new connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            status, content = _exchange(connection, method, path, headers, body)
            # The worker keeps the connection open (keep-alive) until we close it.
            pid = self._holder(connection)
        finally:
            connection.close()
        self.answered_by.append(pid)
        return pid, status, content

    def through(
        self, worker: int, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, bytes]:
        """A request answered by `worker`: new connections, each asked for the health check,
        until that worker takes one; then the request on that connection (kept alive). The
        kernel hands a new connection to whichever worker waits in accept: often the one
        that finished last, so sending a slow request itself until it lands would keep
        landing on the other worker."""
        for _ in range(ATTEMPTS):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                _exchange(connection, "GET", "/_sandbox/health", {})
                if self._holder(connection) == worker:
                    status, content = _exchange(connection, method, path, headers, body)
                    assert self._holder(connection) == worker
                    self.answered_by.append(worker)
                    return status, content
            finally:
                connection.close()
        raise AssertionError(f"worker {worker} took none of {ATTEMPTS} connections")

    def _holder(self, connection: http.client.HTTPConnection) -> int:
        assert connection.sock is not None
        pid = _owner(self.workers, self.port, connection.sock.getsockname()[1])
        assert pid is not None, "no worker holds the connection"
        return pid


def _exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any = None,
) -> tuple[int, bytes]:
    """(status, body) of one request on `connection`, read whole so it can carry another."""
    payload = None if body is None else json.dumps(body)
    sent = {**headers, "content-type": "application/json"} if payload else headers
    connection.request(method, path, body=payload, headers=sent)
    response = connection.getresponse()
    return response.status, response.read()


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str) -> Any:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("finding which worker answered needs Linux's /proc")
    found: set[int] = set()
    with serve(tmp_path, "--workers", "2", "--store", redis_url) as server:
        try:

            def both() -> bool:
                found.update(_workers_of(server.process.pid))
                return len(found) == 2

            wait_for(both, 30.0, "two worker processes")
            cluster = Cluster(server, found)

            def answered_by_both() -> bool:
                cluster.send("GET", "/_sandbox/health", {})
                return set(cluster.answered_by) == found

            wait_for(answered_by_both, 30.0, "both workers to answer")  # both have started
            cluster.answered_by.clear()
            yield cluster
        finally:
            # SIGTERM, so the supervisor stops its workers (a SIGKILL could not).
            if server.process.poll() is None:
                server.terminate(timeout=15.0)
            for pid in found:
                if not _stopped(pid):
                    os.kill(pid, signal.SIGKILL)


def _stopped(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"  # ended, waiting to be reaped


def _retell_ids(count: int) -> list[str]:
    state: VendorSandbox = create_app(Settings()).state.sandbox
    tenant = state.default_tenant.id
    retell = state.vendors["retell"]
    return [
        retell.format_id(uuid_from(state.fixtures.seed, "created", tenant, n))
        for n in range(1, count + 1)
    ]


def _listed(cluster: Cluster, worker: int) -> list[str]:
    status, content = cluster.through(
        worker, "POST", "/retell/v3/list-calls", RETELL, {"limit": 1000}
    )
    assert status == 200
    return [item["call_id"] for item in json.loads(content)["items"]]


def test_two_workers_share_one_sandbox(cluster: Cluster) -> None:
    first, second = sorted(cluster.workers)
    # Concurrent creates, each on a new connection, spread over both workers.
    create: Callable[[int], tuple[int, int, bytes]] = lambda _: cluster.send(  # noqa: E731
        "POST", "/retell/v2/create-phone-call", RETELL, NUMBERS
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(create, range(40)))
    assert {status for _, status, _ in made} == {201}
    ids = [json.loads(body)["call_id"] for _, _, body in made]
    # Numbered without collision: exactly the first forty creation numbers.
    assert sorted(ids) == sorted(_retell_ids(40))

    # Every call, whichever worker created it, reads the same through both.
    for call_id in ids:
        path = f"/retell/v2/get-call/{call_id}"
        one = cluster.through(first, "GET", path, RETELL)
        other = cluster.through(second, "GET", path, RETELL)
        assert one[0] == 200
        assert one == other
    for worker in (first, second):
        listed = _listed(cluster, worker)
        assert sorted(c for c in listed if c in set(ids)) == sorted(ids)
        assert len(listed) == len(set(listed))

    # A delete through one worker is seen by the other (and by itself).
    gone = ids[:5]
    for call_id in gone:
        _, status, _ = cluster.send("DELETE", f"/retell/v2/delete-call/{call_id}", RETELL)
        assert status == 204
    for call_id in gone:
        for worker in (first, second):
            path = f"/retell/v2/get-call/{call_id}"
            assert cluster.through(worker, "GET", path, RETELL)[0] == 422
    for worker in (first, second):
        assert not set(gone) & set(_listed(cluster, worker))

    # Read-modify-writes of one call from both workers at once: none is lost.
    put: Callable[[int], tuple[int, int, bytes]] = lambda index: cluster.send(  # noqa: E731
        "PUT", "/zudu/api/calls/call-456", ZUDU, {"metadata": {f"k{index}": index}}
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert {status for _, status, _ in pool.map(put, range(30))} == {200}
    for worker in (first, second):
        status, content = cluster.through(worker, "GET", "/zudu/api/calls/call-456", ZUDU)
        metadata = json.loads(content)["data"]["metadata"]
        assert {f"k{i}": i for i in range(30)}.items() <= metadata.items()

    # A reset through one worker resets the sandbox of both.
    status, _ = cluster.through(first, "POST", "/_sandbox/reset", {})
    assert status == 200
    assert cluster.through(second, "GET", f"/retell/v2/get-call/{ids[-1]}", RETELL)[0] == 422
    assert set(cluster.answered_by) == cluster.workers


def test_one_banner_fast_loop_and_parser_and_a_clean_stop(cluster: Cluster) -> None:
    stdout = cluster.server.stdout()
    assert sum(line.startswith("call-sandbox 0.1.0  seed ") for line in stdout.splitlines()) == 1
    assert "workers: 2" in stdout
    maps = [Path(f"/proc/{pid}/maps").read_text() for pid in cluster.workers]
    for module in ("uvloop", "httptools"):
        try:
            __import__(module)
        except ImportError:
            continue
        assert all(f"/{module}/" in text for text in maps), f"a worker runs without {module}"
    code, _ = cluster.server.terminate()
    assert code == 0, cluster.server.output()
    wait_for(lambda: all(_stopped(pid) for pid in cluster.workers), 10.0, "the workers to stop")
    assert cluster.server.output().count("Finished server process") == 2


def test_workers_stop_when_their_supervisor_is_killed(cluster: Cluster) -> None:
    cluster.server.process.send_signal(signal.SIGKILL)
    cluster.server.process.wait(10)
    wait_for(lambda: all(_stopped(pid) for pid in cluster.workers), 15.0, "the workers to stop")
