"""The benchmark: `python -m bench.run` from the repository root (README, "Benchmark").

Load comes from wrk in another process on 127.0.0.1; every speed figure is a ratio against
bench/reference.py measured in the same run, with the same wrk script and a body of the same
size, because absolute figures drift between runs and machines. Each figure is measured
`--rounds` times, alternating with the reference, and the medians are compared. With two
CPUs or more, the servers run on CPU 0 and wrk on CPU 1, so that they never take turns on one.
Every loop is bounded in count and time, every server is stopped on the way out, and the
table goes to stdout and, with the command and versions, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from bench import inprocess, load, report
from bench.reference import make_app as reference_app
from bench.report import Row, ratio
from bench.servers import (
    HOST,
    Probe,
    free_port,
    pinned,
    python_command,
    redis_server,
    rss_mb,
    sandbox_command,
    served,
    start_seconds,
)
from sandbox import Settings, create_app
from sandbox.calls.generator import PLANS_KEPT
from sandbox.dialect.vendor import Vendor, VendorSandbox
from sandbox.http.answers import MAX_ANSWERS
from sandbox.http.inprocess import request
from sandbox.resources import fixtures_dir

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POPULATION = 1_000_000  # calls per tenant for the get-call and memory figures
HOT_IDS = 100
COLD_IDS = 40_000  # distinct ids per cold run: more than a run can ask for
SEED = 7  # of the benchmark's own choices (which ids), not of the sandbox
# A page of 100 through each vendor's list route: (method, path below the mount, JSON body).
LISTS: Mapping[str, tuple[str, str, str | None]] = {
    "retell": ("POST", "/v3/list-calls", '{"limit":100}'),
    "callab": ("GET", "/v1/calls/query?per_page=100", None),
    "contactship": ("GET", "/v1/calls?limit=100", None),
    "zudu": ("POST", "/api/calls", '{"limit":100}'),
}
FIGURES = ("start", "get-call", "lists", "in-process", "memory", "workers")
TARGET_HOT = 0.8
TARGET_COLD = 0.25
TARGET_IN_PROCESS = 0.8
TARGET_START = 2.5
TARGET_RSS_MB = 150.0
RSS_GROWTH_MB = 1.0  # what "no growth during the soak" tolerates (allocator noise)


@dataclass(frozen=True, slots=True)
class Options:
    duration: float
    rounds: int
    connections: int
    soak: float
    gets: int
    starts: int
    in_process: int
    only: frozenset[str]
    output: Path
    command: str


@dataclass
class Series:
    """The runs of one figure, and of the reference beside them."""

    sandbox: list[load.Load] = field(default_factory=list)
    reference: list[load.Load] = field(default_factory=list)

    def rates(self) -> tuple[float, float]:
        return (
            statistics.median(r.requests_per_s for r in self.sandbox),
            statistics.median(r.requests_per_s for r in self.reference),
        )

    def p99(self) -> tuple[float, float]:
        return (
            statistics.median(r.p99_ms for r in self.sandbox),
            statistics.median(r.p99_ms for r in self.reference),
        )


class World:
    """An in-process sandbox over the same fixtures as the served one: the ids, paths,
    credentials and answer sizes the load is made of."""

    def __init__(self, fixtures: Path) -> None:
        self.app = create_app(Settings(fixtures=fixtures, access_log=False))
        self.state: VendorSandbox = self.app.state.sandbox
        self.tenant = self.state.fixtures.default_tenant
        self.vendors: Mapping[str, Vendor] = self.state.vendors
        self.rng = random.Random(SEED)
        self._used: set[int] = set()

    def indices(self, count: int) -> list[int]:
        """`count` random indices of the population, never the same twice in a run."""
        size = self.state.generator.size(self.tenant)
        if len(self._used) + count > size * 3 // 4:  # (so that the loop below ends soon)
            raise ValueError(f"{count} more ids would use most of the {size:,} calls")
        found: list[int] = []
        while len(found) < count:
            index = self.rng.randrange(size)
            if index not in self._used:
                self._used.add(index)
                found.append(index)
        return found

    def path(self, vendor: Vendor, index: int) -> str:
        call_id = self.state.generator.ids.encode(self.tenant, index)
        return f"/{vendor.name}{vendor.lookup_path(vendor.format_id(call_id))}"

    def headers(self, vendor: Vendor) -> dict[str, str]:
        return self.state.credentials(vendor.name)

    def mean_size(self, vendor: Vendor, paths: Sequence[str], method: str = "GET") -> int:
        sizes = []
        for path in paths:
            answer = request(self.app, method, path, headers=self.headers(vendor))
            if answer.status != 200:
                raise RuntimeError(f"{path}: {answer.status} {answer.body[:200]!r}")
            sizes.append(len(answer.body))
        return round(statistics.fmean(sizes))


def big_fixtures(folder: Path) -> Path:
    """The embedded fixtures with POPULATION calls per tenant."""
    target = folder / "fixtures"
    shutil.copytree(fixtures_dir(), target)
    document = yaml.safe_load((target / "sandbox.yaml").read_text())
    document["population"]["size"] = POPULATION
    for tenant in document.get("tenants", []):
        tenant.pop("population", None)
    (target / "sandbox.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return target


def cpus() -> tuple[int | None, int | None]:
    """(the servers' CPU, wrk's CPU), or no pinning on a single CPU or without taskset."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None:
        return 0, 1
    return None, None


class Bench:
    def __init__(self, options: Options, scratch: Path) -> None:
        self.options = options
        self.scratch = scratch
        self.server_cpu, self.load_cpu = cpus()
        self.fixtures = big_fixtures(scratch)
        self.world = World(self.fixtures)
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.log = scratch / "servers.log"
        self._compile()
        self.sandbox_pid = 0  # (of the sandbox server running, for its RSS)

    # -- servers ---------------------------------------------------------------------------

    def _compile(self) -> None:
        """Byte-code for every module of this checkout the servers load, before any is
        measured (compiling takes time, and leaves memory behind)."""
        import sandbox

        folders = [str(Path(sandbox.__file__).parent), str(HERE)]
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", *folders],
            env={**os.environ, **self.env()},
            check=True,
            timeout=300,
            stdout=subprocess.DEVNULL,
        )

    def reference_command(self, port: int) -> list[str]:
        return python_command(
            "uvicorn",
            "bench.reference:app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
        )

    def env(self) -> dict[str, str]:
        """The servers' environment: this checkout on the path, and byte-code cached as an
        installed package has it (in __pycache__, whatever PYTHONDONTWRITEBYTECODE says
        here): a start must not be spent compiling the sandbox's modules, nor memory."""
        path = os.environ.get("PYTHONPATH")
        return {
            "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "",
        }

    @contextmanager
    def reference(self) -> Iterator[int]:
        port = free_port()
        probe = Probe(port, "/ref", {})
        with served(
            self.reference_command(port),
            probe,
            env=self.env(),
            cpu=self.server_cpu,
            log=self.log,
        ):
            yield port

    @contextmanager
    def sandbox(self, fixtures: Path | None, *extra: str, cpu: int | None = -1) -> Iterator[int]:
        port = free_port()
        args = ["serve", "--host", HOST, "--port", str(port), "--no-access-log", *extra]
        if fixtures is not None:
            args += ["--fixtures", str(fixtures)]
        with served(
            sandbox_command(*args),
            self.docs_probe(port),
            env=self.env(),
            cpu=self.server_cpu if cpu == -1 else cpu,
            log=self.log,
        ) as process:
            self.sandbox_pid = process.pid
            yield port

    def docs_probe(self, port: int) -> Probe:
        """README's first request: Retell's docs call, with the default tenant's key."""
        retell = self.world.vendors["retell"]
        path = "/retell" + retell.lookup_path("Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6")
        return Probe(port, path, self.world.headers(retell))

    def wrk(self, port: int, duration: float | None = None, **kwargs: object) -> load.Load:
        return load.run(
            port,
            duration=self.options.duration if duration is None else duration,
            connections=self.options.connections,
            cpu=self.load_cpu,
            **kwargs,  # type: ignore[arg-type]
        )

    # -- figures ---------------------------------------------------------------------------

    def cold_start(self) -> None:
        """`call-sandbox serve` to its first 200 against `python -m uvicorn` on the bare app,
        started alternately, medians of `--starts` each."""
        sandbox_times, reference_times = [], []
        for round_ in range(self.options.starts + 1):  # (the first compiles the byte-code)
            port = free_port()
            reference = self.reference_command(port)
            theirs = start_seconds(reference, Probe(port, "/ref", {}), env=self.env())
            port = free_port()
            command = sandbox_command("serve", "--host", HOST, "--port", str(port))
            command.append("--no-access-log")
            mine = start_seconds(command, self.docs_probe(port), env=self.env())
            if round_:
                reference_times.append(theirs)
                sandbox_times.append(mine)
        mine, theirs = statistics.median(sandbox_times), statistics.median(reference_times)
        self.rows.append(
            Row(
                "cold start: `call-sandbox serve` to its first 200 (Retell's docs call)",
                f"{mine:.2f} s",
                f"{theirs:.2f} s (`python -m uvicorn`)",
                ratio(mine / theirs),
                f"<= {TARGET_START}x",
                mine / theirs <= TARGET_START,
            )
        )

    def throughput(self) -> None:
        """Hot and cold get-call per vendor over the million-call population, and a page of
        100 of every list (over the default population: lists count the calls they match)."""
        world, options = self.world, self.options
        hot: dict[str, Path] = {}
        hot_ref: dict[str, Path] = {}
        cold: dict[tuple[str, int], Path] = {}
        cold_ref: dict[tuple[str, int], Path] = {}
        planned: dict[str, Path] = {}
        planned_ref: dict[str, Path] = {}
        sizes: dict[str, int] = {}
        for vendor in world.vendors.values():
            headers = world.headers(vendor)
            paths = [world.path(vendor, i) for i in world.indices(HOT_IDS)]
            sizes[vendor.name] = size = world.mean_size(vendor, paths)
            hot[vendor.name] = load.write_lines(
                self.scratch / f"{vendor.name}-hot.txt", [(p, headers) for p in paths]
            )
            hot_ref[vendor.name] = load.write_lines(
                self.scratch / f"{vendor.name}-hot-ref.txt",
                [(f"/{size}{p}", headers) for p in paths],
            )
            # As many ids as the sandbox keeps plans of, twice as many as it keeps answers of:
            # asked for in turn, each is planned already and answered anew (rendered,
            # validated, encoded), which shows what of a cold answer is generation.
            planned_paths = [world.path(vendor, i) for i in world.indices(PLANS_KEPT)]
            planned[vendor.name] = load.write_lines(
                self.scratch / f"{vendor.name}-planned.txt", [(p, headers) for p in planned_paths]
            )
            planned_ref[vendor.name] = load.write_lines(
                self.scratch / f"{vendor.name}-planned-ref.txt",
                [(f"/{size}{p}", headers) for p in planned_paths],
            )
            for round_ in range(options.rounds):
                cold_paths = [world.path(vendor, i) for i in world.indices(COLD_IDS)]
                cold[vendor.name, round_] = load.write_lines(
                    self.scratch / f"{vendor.name}-cold-{round_}.txt",
                    [(p, headers) for p in cold_paths],
                )
                cold_ref[vendor.name, round_] = load.write_lines(
                    self.scratch / f"{vendor.name}-cold-ref-{round_}.txt",
                    [(f"/{size}{p}", headers) for p in cold_paths],
                )
        hot_runs = {name: Series() for name in world.vendors}
        cold_runs = {name: Series() for name in world.vendors}
        planned_runs = {name: Series() for name in world.vendors}
        with self.reference() as ref_port, self.sandbox(self.fixtures) as port:
            for name in world.vendors:  # warm: every hot answer made once, lazy imports done
                self.wrk(port, 1, lines=hot[name])
                self.wrk(ref_port, 1, lines=hot_ref[name])
            # Hot rounds first, then cold ones: a cold run leaves the caches full of other
            # calls, and what it made for the collector to look at.
            for _ in range(options.rounds):
                for name in world.vendors:
                    hot_runs[name].reference.append(self.wrk(ref_port, lines=hot_ref[name]))
                    warm(port, hot[name])  # (every answer of the run made before it starts)
                    hot_runs[name].sandbox.append(self.wrk(port, lines=hot[name]))
            for round_ in range(options.rounds):
                for name in world.vendors:
                    cold_runs[name].reference.append(
                        self.wrk(ref_port, lines=cold_ref[name, round_])
                    )
                    cold_runs[name].sandbox.append(self.wrk(port, lines=cold[name, round_]))
            for name in world.vendors:
                warm(port, planned[name])  # (every plan of the run made before it starts)
                for _ in range(options.rounds):
                    planned_runs[name].reference.append(self.wrk(ref_port, lines=planned_ref[name]))
                    planned_runs[name].sandbox.append(self.wrk(port, lines=planned[name]))
        for name, runs in hot_runs.items():
            figure = f"{name}: hot get-call, same 100 ids"
            self.rows.append(self._rate_row(figure, runs, TARGET_HOT, sizes[name]))
        for name, runs in cold_runs.items():
            self.rows.append(
                self._rate_row(
                    f"{name}: cold get-call, each id new of {POPULATION:,} calls",
                    runs,
                    TARGET_COLD,
                    sizes[name],
                )
            )
        for name, runs in planned_runs.items():
            figure = (
                f"{name}: cold get-call, plan already generated "
                f"({PLANS_KEPT:,} ids in turn; {MAX_ANSWERS:,} answers kept)"
            )
            self.rows.append(self._rate_row(figure, runs, None, sizes[name]))

    def lists(self) -> None:
        default = World(fixtures_dir())
        runs = {name: Series() for name in LISTS}
        sizes = {}
        for name, (method, path, body) in LISTS.items():
            vendor = default.vendors[name]
            raw = b"" if body is None else body.encode()
            headers = default.headers(vendor)
            answer = request(default.app, method, f"/{name}{path}", headers=headers, body=raw)
            if answer.status != 200:
                raise RuntimeError(f"{name} list: {answer.status} {answer.body[:200]!r}")
            sizes[name] = len(answer.body)
        with self.reference() as ref_port, self.sandbox(None) as port:
            for _ in range(self.options.rounds):
                for name, (method, path, body) in LISTS.items():
                    headers = default.headers(default.vendors[name])
                    runs[name].reference.append(
                        self.wrk(ref_port, path=f"/{sizes[name]}/list", method=method, body=body)
                    )
                    page = self.wrk(
                        port, path=f"/{name}{path}", headers=headers, method=method, body=body
                    )
                    runs[name].sandbox.append(page)
        for name, series in runs.items():
            method, path, _ = LISTS[name]
            figure = f"{name}: list-calls, page of 100 (`{method} {path}`, 500-call tenant)"
            self.rows.append(self._rate_row(figure, series, None, sizes[name]))

    def _rate_row(self, figure: str, series: Series, target: float | None, size: int) -> Row:
        """A req/s figure against the reference's; `target` None: reported, no target."""
        mine, theirs = series.rates()
        p99, ref_p99 = series.p99()
        rates = (
            figure,
            f"{mine:,.0f} req/s, p99 {p99:.1f} ms",
            f"{theirs:,.0f} req/s, p99 {ref_p99:.1f} ms ({size:,} B)",
            ratio(mine / theirs),
        )
        if target is None:
            return Row(*rates, "report")
        return Row(
            *rates,
            f">= {target}x",
            mine / theirs >= target,
        )

    def in_process(self) -> None:
        """get-call through httpx's ASGITransport, the sandbox app against the bare app,
        in this process (on wrk's CPU, idle by now)."""
        if self.load_cpu is not None:
            os.sched_setaffinity(0, {self.load_cpu})
        try:
            self._in_process()
        finally:
            os.sched_setaffinity(0, range(os.cpu_count() or 1))

    def _in_process(self) -> None:
        app = create_app(Settings(fixtures=self.fixtures, raise_on_schema_error=True))
        state: VendorSandbox = app.state.sandbox
        for vendor in state.vendors.values():
            paths = [self.world.path(vendor, i) for i in self.world.indices(HOT_IDS)]
            size = self.world.mean_size(vendor, paths)
            bare = reference_app(size)
            headers = state.credentials(vendor.name)
            mine, theirs = [], []
            for _ in range(max(self.options.rounds, 3)):
                count, seconds = self.options.in_process, self.options.duration
                theirs.append(inprocess.rate(bare, paths, headers, count=count, seconds=seconds))
                mine.append(inprocess.rate(app, paths, headers, count=count, seconds=seconds))
            value = statistics.median(mine) / statistics.median(theirs)
            self.rows.append(
                Row(
                    f"{vendor.name}: in-process get-call, httpx ASGITransport",
                    f"{statistics.median(mine):,.0f} req/s",
                    f"{statistics.median(theirs):,.0f} req/s (bare app, {size:,} B)",
                    ratio(value),
                    f">= {TARGET_IN_PROCESS}x",
                    value >= TARGET_IN_PROCESS,
                )
            )

    def memory(self) -> None:
        """RSS after `--gets` random gets over the million calls (all vendors in turn), then
        during a `--soak` of random gets under wrk, sampled every second."""
        world = self.world
        vendors = list(world.vendors.values())
        lines = [
            (world.path(vendors[n % len(vendors)], index), world.headers(vendors[n % len(vendors)]))
            for n, index in enumerate(world.indices(self.options.gets + 200_000))
        ]
        gets, soak = lines[: self.options.gets], lines[self.options.gets :]
        soak_file = load.write_lines(self.scratch / "soak.txt", soak)
        with self.sandbox(self.fixtures) as port:
            pid = self.sandbox_pid
            started = rss_mb(pid)
            asyncio.run(_gets(port, gets, concurrency=8, deadline_s=600))
            after_gets = rss_mb(pid)
            samples = _soak(self, port, soak_file, pid)
        first, last, peak = samples[0], samples[-1], max(samples)
        # Growth once the soak's connections are open: over its last two thirds.
        settled = samples[len(samples) // 3]
        self.rows.append(
            Row(
                f"RSS after {len(gets):,} random gets over {POPULATION:,} calls",
                f"{after_gets:.0f} MB",
                f"{started:.0f} MB at start",
                "",
                f"<= {TARGET_RSS_MB:.0f} MB",
                after_gets <= TARGET_RSS_MB,
            )
        )
        growth = last - settled
        self.rows.append(
            Row(
                f"RSS during a {self.options.soak:.0f} s soak of random gets (wrk, all vendors)",
                f"{first:.1f} MB at its start, {settled:.1f} after a third, {last:.1f} at its end"
                f" (peak {peak:.1f})",
                "",
                f"{growth:+.1f} MB over its last two thirds",
                f"<= {TARGET_RSS_MB:.0f} MB, no growth",
                peak <= TARGET_RSS_MB and growth <= RSS_GROWTH_MB,
            )
        )

    def two_workers(self) -> None:
        """Hot get-call (Retell) on `--workers 2 --store redis://...`, Redis started here."""
        why = _workers_unavailable()
        if why is not None:
            self.rows.append(Row("2 workers: hot get-call (retell)", f"skipped: {why}"))
            return
        world = self.world
        retell = world.vendors["retell"]
        paths = [world.path(retell, i) for i in world.indices(HOT_IDS)]
        size = world.mean_size(retell, paths)
        headers = world.headers(retell)
        hot = load.write_lines(self.scratch / "workers-hot.txt", [(p, headers) for p in paths])
        hot_ref = load.write_lines(
            self.scratch / "workers-hot-ref.txt", [(f"/{size}{p}", headers) for p in paths]
        )
        series = Series()
        with ExitStack() as stack:
            redis_port = stack.enter_context(redis_server(self.log))
            store = f"redis://{HOST}:{redis_port}/0"
            ref_port = stack.enter_context(self.reference())
            # Two workers take both CPUs; wrk takes its turn with them (no pinning here).
            port = stack.enter_context(
                self.sandbox(self.fixtures, "--workers", "2", "--store", store, cpu=None)
            )
            self.wrk(port, 1, lines=hot)
            for _ in range(self.options.rounds):
                series.reference.append(self.wrk(ref_port, lines=hot_ref))
                series.sandbox.append(
                    load.run(
                        port,
                        duration=self.options.duration,
                        connections=self.options.connections,
                        lines=hot,
                    )
                )
        mine, theirs = series.rates()
        p99, _ = series.p99()
        self.rows.append(
            Row(
                "2 workers (`--workers 2 --store redis://`): hot get-call (retell)",
                f"{mine:,.0f} req/s, p99 {p99:.1f} ms",
                f"{theirs:,.0f} req/s (one worker, pinned)",
                ratio(mine / theirs),
                "report",
            )
        )

    def method(self) -> list[str]:
        pinning = (
            f"servers on CPU {self.server_cpu}, wrk on CPU {self.load_cpu} (taskset)"
            if self.server_cpu is not None
            else "no CPU pinning"
        )
        return [
            f"Load: {load.version()}, `wrk -t{load.THREADS} -c{self.options.connections} "
            f"-d{self.options.duration:.0f}s --latency` from another process on 127.0.0.1, "
            f"{pinning}; each figure measured {self.options.rounds} times, alternating with "
            "the reference, medians compared.",
            "Servers: uvicorn, one worker, uvloop and httptools, no access log: "
            "`call-sandbox serve --no-access-log` and `python -m uvicorn bench.reference:app`.",
            "Reference: a bare Starlette endpoint answering pre-rendered bytes as large as the "
            "sandbox's answers in that figure (their mean size, in the reference column).",
            f"Get-call figures: fixtures with {POPULATION:,} calls per tenant, random ids; "
            "hot: the same 100 ids over and over; cold: a new id every request.",
            "Every answer is checked: a run with any non-2xx answer or socket error fails.",
            "Bodies stay validated against their schemas on every path; the cold figure "
            "generates, renders, validates and encodes each answer.",
        ]

    def run(self) -> list[Row]:
        figures = {
            "start": self.cold_start,
            "get-call": self.throughput,
            "lists": self.lists,
            "in-process": self.in_process,
            "memory": self.memory,
            "workers": self.two_workers,
        }
        for name, figure in figures.items():
            if name in self.options.only:
                figure()
        return self.rows


def warm(port: int, lines: Path) -> None:
    """Every request of a lines file once, one after the other (bounded: one pass)."""
    for line in lines.read_text().splitlines():
        path, *fields = line.split("\t")
        headers = dict(field.split(": ", 1) for field in fields)
        if not Probe(port, path, headers).ok(timeout=10):
            raise RuntimeError(f"{path}: not a 200")


def _soak(bench: Bench, port: int, lines: Path, pid: int) -> list[float]:
    """RSS every second while wrk sends `lines` for `--soak` seconds (bounded)."""
    command = [
        "wrk",
        f"-t{load.THREADS}",
        f"-c{bench.options.connections}",
        f"-d{max(int(bench.options.soak), 1)}s",
        "--latency",
        "-s",
        str(load.ROTATE),
        f"http://{HOST}:{port}/",
        "--",
        str(lines),
        str(load.THREADS),
    ]
    samples = [rss_mb(pid)]
    process = subprocess.Popen(
        pinned(command, bench.load_cpu), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + bench.options.soak + 60
    try:
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
            samples.append(rss_mb(pid))
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate(timeout=30)[0].decode()
    load.parse(output)  # (every answer was a 2xx)
    return samples


Lines = Sequence[tuple[str, Mapping[str, str]]]


async def _gets(port: int, lines: Lines, *, concurrency: int, deadline_s: float) -> None:
    """Every request of `lines`, `concurrency` at a time, each a 200, within `deadline_s`."""
    queue = iter(lines)

    async def worker(client: httpx.AsyncClient) -> None:
        for path, headers in queue:
            answer = await client.get(path, headers=dict(headers))
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: {answer.status_code}")

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", limits=limits) as client:
        await asyncio.wait_for(
            asyncio.gather(*(worker(client) for _ in range(concurrency))), deadline_s
        )


def _workers_unavailable() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (apt-get install redis-server)"
    if importlib.util.find_spec("redis") is None:
        return "the redis client is not installed (pip install 'call-sandbox[redis]')"
    done = subprocess.run(
        sandbox_command("serve", "--help"), capture_output=True, text=True, timeout=60, check=False
    )
    if "--workers" not in done.stdout or "--store" not in done.stdout:
        return "this call-sandbox has no `serve --workers N --store URL`"
    return None


def _preconditions() -> str | None:
    if not load.available():
        return "wrk is missing: apt-get install wrk"
    for module in ("uvloop", "httptools"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is missing: pip install -e '.[fast]'"
    return None


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--duration", type=float, default=5, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each figure")
    parser.add_argument("--connections", type=int, default=50, help="wrk's connections")
    parser.add_argument("--soak", type=float, default=60, help="seconds of the memory soak")
    parser.add_argument("--gets", type=int, default=10_000, help="random gets before the soak")
    parser.add_argument("--starts", type=int, default=5, help="cold starts of each server")
    parser.add_argument(
        "--in-process", type=int, default=5_000, help="requests per in-process run (at most)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=FIGURES,
        help="measure only these figures (repeatable; default: all)",
    )
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    shown = list(argv) if argv is not None else sys.argv[1:]
    return Options(
        duration=args.duration,
        rounds=max(args.rounds, 1),
        connections=args.connections,
        soak=args.soak,
        gets=args.gets,
        starts=max(args.starts, 1),
        in_process=args.in_process,
        only=frozenset(args.only or FIGURES),
        output=args.output,
        command=" ".join(["python -m bench.run", *shown]),
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    problem = _preconditions()
    if problem is not None:
        print(f"bench: {problem}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="call-sandbox-bench-") as scratch:
        bench = Bench(options, Path(scratch))
        rows = bench.run()
        method = bench.method()
    text = report.document(
        rows,
        command=options.command,
        versions_line=report.versions([load.version()]),
        method=method,
    )
    options.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
