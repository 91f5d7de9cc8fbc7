"""A real Redis for the store's tests: Debian's `redis-server`, started on a free 127.0.0.1
port once per session, with no persistence, and always stopped. Without the binary the tests
that need it skip and say which package to install."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for

MISSING = (
    "redis-server is not installed: `apt-get install redis-server` (Debian package "
    "redis-server) to run the Redis store's tests"
)


def _answers(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    import redis

    if process.poll() is not None:
        raise AssertionError(f"redis-server exited with {process.returncode}:\n{log.read_text()}")
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Redis server this session started (database 0)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(MISSING)
    pytest.importorskip("redis", reason="the `redis` package is in the test extra")
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = folder / "redis.log"
    argv = [
        binary,
        *("--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)),
        *("--save", "", "--appendonly", "no", "--protected-mode", "yes"),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for(lambda: _answers(url, process, log), 15.0, f"redis-server on port {port}")
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a redis-server this session started: politely, then for good."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server
