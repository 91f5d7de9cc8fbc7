"""Load from a second process: Debian's wrk, on 127.0.0.1, bounded in time, parsed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.servers import HOST, pinned

HERE = Path(__file__).resolve().parent
ROTATE = HERE / "rotate.lua"
THREADS = 2
TIMEOUT_S = 10  # wrk's per-request timeout: a slow answer is counted, not dropped


@dataclass(frozen=True, slots=True)
class Load:
    requests: int
    requests_per_s: float
    p99_ms: float


def available() -> bool:
    return shutil.which("wrk") is not None


def version() -> str:
    found = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
    first = (found.stdout or found.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def write_lines(path: Path, lines: Sequence[tuple[str, Mapping[str, str]]]) -> Path:
    """A file for rotate.lua: one request a line, its path and its own headers."""
    with path.open("w", encoding="utf-8") as out:
        for target, headers in lines:
            fields = [target, *(f"{k}: {v}" for k, v in headers.items())]
            out.write("\t".join(fields) + "\n")
    return path


@dataclass(frozen=True, slots=True)
class Target:
    """What one wrk process sends: the requests of `lines` in turn, or `method path` with
    `body` every time, to a server on 127.0.0.1:`port`."""

    port: int
    lines: Path | None = None
    path: str = "/"
    headers: Mapping[str, str] | None = None
    method: str = "GET"
    body: str | None = None


def run(
    port: int,
    *,
    duration: float,
    connections: int,
    lines: Path | None = None,
    path: str = "/",
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    body: str | None = None,
    cpu: int | None = None,
    threads: int = THREADS,
) -> Load:
    """One wrk run: the requests of `lines` in turn, or `method path` with `body` every time."""
    target = Target(port, lines, path, headers, method, body)
    return run_together(
        [target], duration=duration, connections=connections, cpu=cpu, threads=threads
    )


def run_together(
    targets: Sequence[Target],
    *,
    duration: float,
    connections: int,
    cpu: int | None = None,
    threads: int = THREADS,
) -> Load:
    """One wrk process per target, all started at once for the same duration, each with
    `connections` and `threads`: their requests and rates added, the worst p99."""
    with ExitStack() as stack:
        processes = []
        for target in targets:
            command = _command(target, duration, connections, threads, stack)
            processes.append(
                subprocess.Popen(
                    pinned(command, cpu),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        finished: list[tuple[int, str, str]] = []
        try:
            for process in processes:  # (every one waited for before any is judged)
                stdout, stderr = process.communicate(timeout=duration + 60)
                finished.append((process.returncode, stdout, stderr))
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
        outputs = []
        for code, stdout, stderr in finished:
            if code != 0:
                raise RuntimeError(f"wrk failed ({code}): {stderr or stdout}")
            outputs.append(parse(stdout))
    return Load(
        sum(o.requests for o in outputs),
        sum(o.requests_per_s for o in outputs),
        max(o.p99_ms for o in outputs),
    )


def _command(
    target: Target, duration: float, connections: int, threads: int, stack: ExitStack
) -> list[str]:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(round(duration), 1)}s",
        f"--timeout={TIMEOUT_S}s",
        "--latency",
    ]
    for name, value in (target.headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    url = f"http://{HOST}:{target.port}"
    if target.lines is not None:
        return [*command, "-s", str(ROTATE), f"{url}/", "--", str(target.lines), str(threads)]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(f"wrk.method = {json.dumps(target.method)}\n")
        if target.body is not None:
            handle.write(f"wrk.body = {json.dumps(target.body)}\n")
            handle.write('wrk.headers["Content-Type"] = "application/json"\n')
        script = Path(handle.name)
    stack.callback(script.unlink)
    return [*command, "-s", str(script), f"{url}{target.path}"]


_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_COUNT = re.compile(r"(\d+) requests in ")
_P99 = re.compile(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_BAD = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse(output: str) -> Load:
    """wrk's summary, or an error if any answer was not a 2xx or any request failed."""
    rate, count, p99 = _RATE.search(output), _COUNT.search(output), _P99.search(output)
    if rate is None or count is None or p99 is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    bad = _BAD.search(output)
    if bad is not None:
        raise RuntimeError(f"{bad.group(1)} answers were not 2xx:\n{output}")
    errors = _SOCKET.search(output)
    if errors is not None and any(int(n) for n in errors.groups()):
        raise RuntimeError(f"socket errors under load:\n{output}")
    p99_ms = float(p99.group(1)) * _UNIT_MS[p99.group(2)]
    return Load(int(count.group(1)), float(rate.group(1)), p99_ms)
