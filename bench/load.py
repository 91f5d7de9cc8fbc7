"""Load from a second process: Debian's wrk, on 127.0.0.1, bounded in time, parsed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
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
) -> Load:
    """One wrk run: the requests of `lines` in turn, or `method path` with `body` every time."""
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{connections}",
        f"-d{max(round(duration), 1)}s",
        f"--timeout={TIMEOUT_S}s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    script: Path | None = None
    try:
        if lines is not None:
            command += ["-s", str(ROTATE), f"http://{HOST}:{port}/", "--", str(lines), str(THREADS)]
        else:
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
                handle.write(f"wrk.method = {json.dumps(method)}\n")
                if body is not None:
                    handle.write(f"wrk.body = {json.dumps(body)}\n")
                    handle.write('wrk.headers["Content-Type"] = "application/json"\n')
                script = Path(handle.name)
            command += ["-s", str(script), f"http://{HOST}:{port}{path}"]
        done = subprocess.run(
            pinned(command, cpu),
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
    finally:
        if script is not None:
            script.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(done.stdout)


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
