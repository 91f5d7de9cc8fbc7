"""Helpers for tests that run a real server: `call-sandbox serve` subprocesses, free ports,
bounded waits. Every wait has a deadline and every process is killed when the test ends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def call_sandbox(bin_dir: Path | None = None) -> list[str]:
    """The `call-sandbox` console script of an environment (default: the one running tests)."""
    script = (bin_dir or Path(sys.executable).parent) / "call-sandbox"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sandbox"]


def get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Served:
    """One server subprocess; its stdout and stderr go to files (no pipe can fill up)."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, logs: Path) -> None:
        self.process = process
        self.url = url
        self.logs = logs

    def output(self) -> str:
        out = (self.logs / "stdout.txt").read_text(errors="replace")
        err = (self.logs / "stderr.txt").read_text(errors="replace")
        return out + err

    def stdout(self) -> str:
        return (self.logs / "stdout.txt").read_text(errors="replace")

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"the server exited with {self.process.returncode}:\n{self.output()}"
            )
        try:
            return bool(get_json(self.url + "/_sandbox/health", timeout=1.0)["status"] == "ok")
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> None:
        wait_for(self.healthy, timeout, f"{self.url}/_sandbox/health")

    def terminate(self, timeout: float = 5.0) -> tuple[int, float]:
        """SIGTERM, then wait: (exit code, seconds it took)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        return code, time.monotonic() - started


@contextmanager
def served(
    argv: Sequence[str],
    *,
    url: str,
    logs: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Served]:
    """Start `argv`; always kill it (and wait for it) on the way out."""
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "stdout.txt").open("wb") as out, (logs / "stderr.txt").open("wb") as err:
        process = subprocess.Popen(
            list(argv), stdout=out, stderr=err, cwd=cwd, env={**os.environ, **(env or {})}
        )
        try:
            yield Served(process, url, logs)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)


@contextmanager
def serve(
    logs: Path, *args: str, bin_dir: Path | None = None, cwd: Path | None = None
) -> Iterator[Served]:
    """`call-sandbox serve --port <free> ARGS` on 127.0.0.1, healthy before it is yielded."""
    port = free_port()
    argv = [*call_sandbox(bin_dir), "serve", "--port", str(port), *args]
    with served(argv, url=f"http://127.0.0.1:{port}", logs=logs, cwd=cwd) as server:
        server.wait_healthy()
        yield server
