"""The servers a benchmark runs: started as processes on 127.0.0.1, awaited until they answer,
measured from outside (/proc), and always stopped, whatever happened in between."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def pinned(command: Sequence[str], cpu: int | None) -> list[str]:
    """`command` on one CPU (taskset), when asked for and possible."""
    if cpu is None or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", str(cpu), *command]


@dataclass(frozen=True, slots=True)
class Probe:
    """A request that answers 200 once a server is ready."""

    port: int
    path: str
    headers: Mapping[str, str]

    def ok(self, timeout: float = 1.0) -> bool:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request("GET", self.path, headers=dict(self.headers))
            answer = connection.getresponse()
            answer.read()
            return answer.status == 200
        except OSError:
            return False
        finally:
            connection.close()


def wait_ready(process: subprocess.Popen[bytes], probe: Probe, timeout: float) -> float:
    """Seconds from now until `probe` answers 200; raises if the process dies or time runs out."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it was ready")
        if probe.ok():
            return time.perf_counter() - started
        time.sleep(0.005)
    raise RuntimeError(f"no 200 from 127.0.0.1:{probe.port}{probe.path} within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL; the process's own group too (uvicorn's worker processes)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
    # Its group too: it was started in a session of its own, with any workers it started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def served(
    command: Sequence[str],
    probe: Probe,
    *,
    env: Mapping[str, str] | None = None,
    cpu: int | None = None,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, ready to answer `probe`, stopped on the way out."""
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        pinned(command, cpu),
        env={**os.environ, **(env or {})},
        stdout=output,
        stderr=output,
        start_new_session=True,
    )
    try:
        wait_ready(process, probe, READY_TIMEOUT_S)
        yield process
    finally:
        stop(process)
        if log is not None and not isinstance(output, int):
            output.close()


def start_seconds(
    command: Sequence[str], probe: Probe, *, env: Mapping[str, str] | None = None
) -> float:
    """Seconds from starting `command` to its first 200 on `probe`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ready(process, probe, READY_TIMEOUT_S)
        return time.perf_counter() - started
    finally:
        stop(process)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def python_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def sandbox_command(*args: str) -> list[str]:
    """`call-sandbox ARGS`: the installed console script, as users run it."""
    script = Path(sys.executable).with_name("call-sandbox")
    if script.exists():
        return [str(script), *args]
    return python_command("sandbox", *args)


@contextmanager
def redis_server(log: Path, folder: Path, cpu: int | None = None) -> Iterator[int]:
    """A throwaway redis-server (Debian's) on a free 127.0.0.1 port, working in a folder of
    its own under `folder`, nothing saved to disk; on `cpu` if given."""
    port = free_port()
    home = folder / f"redis-{port}"
    home.mkdir()
    command = ["redis-server", "--bind", HOST, "--port", str(port), "--dir", str(home)]
    command += ["--save", "", "--appendonly", "no"]
    with log.open("ab") as output:
        process = subprocess.Popen(
            pinned(command, cpu), stdout=output, stderr=output, start_new_session=True
        )
        try:
            _wait_redis(process, port, timeout=30.0)
            yield port
        finally:
            stop(process)


def _wait_redis(process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("redis-server exited at start (see the servers' log)")
        try:
            with socket.create_connection((HOST, port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer within {timeout} s")
