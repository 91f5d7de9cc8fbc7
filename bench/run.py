"""The benchmark: `python -m bench.run` from the repository root (README, "Benchmark").

Load comes from wrk in another process on 127.0.0.1; every speed figure is a ratio against
bench/reference.py measured in the same run, with the same wrk script and a body of the same
size (or against another set-up of the sandbox: the memory store, one worker, a fresh
tenant), because absolute figures drift between runs and machines. Each figure is measured
in `--rounds` rounds, the order of the sides turned every round, each run after the same
warm-up, runs on a busy machine repeated or reported, and the figure is the median of the
rounds' ratios (bench/rounds.py). With two CPUs or more, the servers run on CPU 0 and wrk on
CPU 1, so that they never take turns on one (the workers and replicas figures excepted).
Every loop is bounded in count and time, every server is stopped on the way out, and the
table goes to stdout and, with the command and versions, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from bench import inprocess, load, machine, report
from bench.pages import CREATE_CONCURRENCY, Page, create, create_calls, open_key, page
from bench.reference import make_app as reference_app
from bench.report import Row, ratio
from bench.rounds import (
    MAX_FOREIGN_CPU,
    QUIET_SAMPLE_S,
    QUIET_WAIT_S,
    Measured,
    Side,
    busy_note,
    measure,
)
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
COLD_IDS = 15_000  # distinct ids per cold run: more than a run can ask for
SEED = 7  # of the benchmark's own choices (which ids), not of the sandbox
LIST_PAGE = 100  # calls in the page compared with a bare endpoint
SMALL_PAGE = 20  # calls in the page compared between a loaded and a fresh tenant
# wrk's connections for the tenant pages: enough to keep one worker busy, few enough that a
# page taking seconds is answered within wrk's timeout.
PAGE_CONNECTIONS = 2
FIGURES = ("start", "get-call", "lists", "pages", "in-process", "memory", "redis")
TARGET_HOT = 0.8
TARGET_LIST = 0.10
TARGET_LOADED_PAGE = 1.5  # at most this many times slower than in a fresh tenant
TARGET_REDIS = 0.8  # one worker on Redis against the same on the memory store
TARGET_SCALE = 1.0  # two workers, or two replicas, against one worker on Redis
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
    creates: int
    only: frozenset[str]
    output: Path
    command: str


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

    def sizes(self, vendor: Vendor, paths: Sequence[str], method: str = "GET") -> list[int]:
        """The size of the body each of `paths` answers (in this process, the same bytes)."""
        sizes = []
        for path in paths:
            answer = request(self.app, method, path, headers=self.headers(vendor))
            if answer.status != 200:
                raise RuntimeError(f"{path}: {answer.status} {answer.body[:200]!r}")
            sizes.append(len(answer.body))
        return sizes

    def mean_size(self, vendor: Vendor, paths: Sequence[str], method: str = "GET") -> int:
        return round(statistics.fmean(self.sizes(vendor, paths, method)))

    def answer_size(self, vendor: Vendor, listed: Page) -> int:
        """The size of the body a list request answers (in this process, the same bytes)."""
        raw = b"" if listed.body is None else listed.body.encode()
        headers = {**self.headers(vendor), "content-type": "application/json"}
        path = f"/{vendor.name}{listed.path}"
        answer = request(self.app, listed.method, path, headers=headers, body=raw)
        if answer.status != 200:
            raise RuntimeError(f"{path}: {answer.status} {answer.body[:200]!r}")
        return len(answer.body)


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
        self.busy: dict[str, Measured] = {}  # every figure's runs, for how busy the machine was
        self.failed: list[str] = []  # figures that raised

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
            ref_port, port = free_port(), free_port()
            reference = self.reference_command(ref_port)
            command = sandbox_command("serve", "--host", HOST, "--port", str(port))
            command.append("--no-access-log")

            ref_probe, probe = Probe(ref_port, "/ref", {}), self.docs_probe(port)
            # (the one started first alternates, as in every figure)
            if round_ % 2:
                mine = start_seconds(command, probe, env=self.env())
                theirs = start_seconds(reference, ref_probe, env=self.env())
            else:
                theirs = start_seconds(reference, ref_probe, env=self.env())
                mine = start_seconds(command, probe, env=self.env())
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
            each = world.sizes(vendor, paths)
            sizes[vendor.name] = size = round(statistics.fmean(each))
            hot[vendor.name] = load.write_lines(
                self.scratch / f"{vendor.name}-hot.txt", [(p, headers) for p in paths]
            )
            # Each hot request of the reference answers as many bytes as the sandbox's answer
            # to the same request: answers of 1 to 60 KB cost a socket more than their mean
            # size would (a large one takes more than one write).
            hot_ref[vendor.name] = load.write_lines(
                self.scratch / f"{vendor.name}-hot-ref.txt",
                [(f"/{n}{p}", headers) for p, n in zip(paths, each, strict=True)],
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
        hot_runs = {name: Measured() for name in world.vendors}
        cold_runs = {name: Measured() for name in world.vendors}
        planned_runs = {name: Measured() for name in world.vendors}
        with self.reference() as ref_port, self.sandbox(self.fixtures) as port:
            for name in world.vendors:  # warm: every hot answer made once, lazy imports done
                self.wrk(port, 1, lines=hot[name])
                self.wrk(ref_port, 1, lines=hot_ref[name])
            # Hot rounds first, then cold ones: a cold run leaves the caches full of other
            # calls, and what it made for the collector to look at. Before every hot run, of
            # either server, one pass over its 100 requests, one at a time: every answer of
            # the run made before it starts, and both servers equally just used.
            for round_ in range(options.rounds):
                for name in world.vendors:
                    sides = [
                        self.side("reference", ref_port, hot_ref[name], warm_first=True),
                        self.side("sandbox", port, hot[name], warm_first=True),
                    ]
                    measure(sides, 1, hot_runs[name], start=round_)
            for round_ in range(options.rounds):
                for name in world.vendors:
                    sides = [
                        self.side("reference", ref_port, cold_ref[name, round_]),
                        self.side("sandbox", port, cold[name, round_]),
                    ]
                    measure(sides, 1, cold_runs[name], start=round_)
            for name in world.vendors:
                warm(port, planned[name])  # (every plan of the run made before it starts)
                warm(ref_port, planned_ref[name])
                sides = [
                    self.side("reference", ref_port, planned_ref[name]),
                    self.side("sandbox", port, planned[name]),
                ]
                measure(sides, options.rounds, planned_runs[name])
        self.busy.update({f"hot get-call ({n})": m for n, m in hot_runs.items()})
        self.busy.update({f"cold get-call ({n})": m for n, m in cold_runs.items()})
        self.busy.update({f"planned get-call ({n})": m for n, m in planned_runs.items()})
        for name, runs in hot_runs.items():
            figure = f"{name}: hot get-call, same 100 ids"
            label = f"each id's own size, {sizes[name]:,} B mean"
            self.rows.append(self._rate_row(figure, runs, TARGET_HOT, sizes[name], reference=label))
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

    def side(
        self,
        name: str,
        port: int,
        lines: Path,
        *,
        warm_first: bool = False,
        connections: int | None = None,
    ) -> Side:
        """A server measured with the requests of `lines`; `warm_first`: after one pass over
        them, one at a time."""
        count = self.options.connections if connections is None else connections

        def run() -> load.Load:
            return load.run(
                port,
                duration=self.options.duration,
                connections=count,
                lines=lines,
                cpu=self.load_cpu,
            )

        return Side(name, run, (lambda: warm(port, lines)) if warm_first else _nothing)

    def lists(self) -> None:
        """A page of 100 of every vendor's list (default fixtures: a 500-call tenant) against
        the bare endpoint answering as many bytes."""
        default = World(fixtures_dir())
        runs = {name: Measured() for name in default.vendors}
        sizes = {}
        for name, vendor in default.vendors.items():
            listed = page(name, LIST_PAGE)
            sizes[name] = default.answer_size(vendor, listed)
        with self.reference() as ref_port, self.sandbox(None) as port:
            for round_ in range(self.options.rounds):
                for name, vendor in default.vendors.items():
                    listed = page(name, LIST_PAGE)
                    headers = default.headers(vendor)
                    reference = load.Target(
                        ref_port,
                        path=f"/{sizes[name]}/list",
                        method=listed.method,
                        body=listed.body,
                    )
                    mine = load.Target(
                        port,
                        path=f"/{name}{listed.path}",
                        headers=headers,
                        method=listed.method,
                        body=listed.body,
                    )
                    sides = [
                        self.target_side("reference", reference),
                        self.target_side("sandbox", mine),
                    ]
                    measure(sides, 1, runs[name], start=round_)
        self.busy.update({f"list page of {LIST_PAGE} ({n})": m for n, m in runs.items()})
        for name, measured in runs.items():
            listed = page(name, LIST_PAGE)
            figure = (
                f"{name}: list-calls, page of {LIST_PAGE} (`{listed.method} {listed.path}`"
                f"{' ' + listed.body if listed.body else ''}, 500-call tenant)"
            )
            self.rows.append(self._rate_row(figure, measured, TARGET_LIST, sizes[name]))

    def target_side(self, name: str, target: load.Target, connections: int | None = None) -> Side:
        count = self.options.connections if connections is None else connections

        def run() -> load.Load:
            return load.run_together(
                [target], duration=self.options.duration, connections=count, cpu=self.load_cpu
            )

        return Side(name, run)

    def pages(self) -> None:
        """A page of 20 in a tenant that has had `--creates` calls created, against the same
        page in a fresh tenant that has had 20 created (so both pages hold 20 created calls
        of the same size): open tenants, one pair per vendor, in one server."""
        default = World(fixtures_dir())
        tenant = default.state.tenants[default.tenant]
        creates = self.options.creates
        runs = {name: Measured() for name in default.vendors}
        sizes: dict[str, tuple[int, int]] = {}
        targets: dict[str, tuple[load.Target, load.Target]] = {}
        with self.sandbox(None, "--open-tenancy") as port:
            for name, vendor in default.vendors.items():
                keys = tenant.keys[name]
                fresh = open_key(vendor, keys, "benchfresh")
                loaded = open_key(vendor, keys, "benchloads")
                made = create(name, tenant)
                create_calls(port, vendor, fresh, made, SMALL_PAGE)
                create_calls(port, vendor, loaded, made, creates)
                listed = page(name, SMALL_PAGE)
                both = tuple(
                    load.Target(
                        port,
                        path=f"/{name}{listed.path}",
                        headers=headers,
                        method=listed.method,
                        body=listed.body,
                    )
                    for headers in (fresh, loaded)
                )
                targets[name] = both[0], both[1]
                sizes[name] = (_served_size(both[0]), _served_size(both[1]))
            for round_ in range(self.options.rounds):
                for name in default.vendors:
                    fresh_target, loaded_target = targets[name]
                    sides = [
                        self.target_side("fresh", fresh_target, PAGE_CONNECTIONS),
                        self.target_side("loaded", loaded_target, PAGE_CONNECTIONS),
                    ]
                    measure(sides, 1, runs[name], start=round_)
        self.busy.update({f"page of {SMALL_PAGE} ({n})": m for n, m in runs.items()})
        for name, measured in runs.items():
            listed = page(name, SMALL_PAGE)
            slower = measured.ratio("fresh", "loaded")
            fresh_size, loaded_size = sizes[name]
            self.rows.append(
                Row(
                    f"{name}: page of {SMALL_PAGE} (`{listed.method} {listed.path}`"
                    f"{' ' + listed.body if listed.body else ''}) after {creates:,} creates, "
                    f"against a fresh tenant",
                    f"{measured.rate('loaded'):,.1f} req/s, p99 {measured.p99('loaded'):.1f} ms"
                    f" ({loaded_size:,} B)",
                    f"{measured.rate('fresh'):,.1f} req/s, p99 {measured.p99('fresh'):.1f} ms"
                    f" ({fresh_size:,} B, fresh tenant)",
                    f"{slower:.2f}x slower ({_spread(measured, 'fresh', 'loaded')})",
                    f"<= {TARGET_LOADED_PAGE}x slower",
                    slower <= TARGET_LOADED_PAGE,
                )
            )

    def _rate_row(
        self,
        figure: str,
        measured: Measured,
        target: float | None,
        size: int,
        side: str = "sandbox",
        against: str = "reference",
        reference: str | None = None,
    ) -> Row:
        """A req/s figure against another side's (by default the reference's): the median of
        the rounds' ratios, and their range; `target` None: reported, no target."""
        value = measured.ratio(side, against)
        label = f"{size:,} B" if reference is None else reference
        rates = (
            figure,
            f"{measured.rate(side):,.0f} req/s, p99 {measured.p99(side):.1f} ms",
            f"{measured.rate(against):,.0f} req/s, p99 {measured.p99(against):.1f} ms ({label})",
            f"{ratio(value)} ({_spread(measured, side, against)})"
            if len(measured.runs[side]) > 1
            else ratio(value),
        )
        if target is None:
            return Row(*rates, "report")
        return Row(*rates, f">= {target}x", value >= target)

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
            mine: list[float] = []
            theirs: list[float] = []
            for round_ in range(max(self.options.rounds, 3)):
                count, seconds = self.options.in_process, self.options.duration
                for app_, rates in ((bare, theirs), (app, mine))[:: 1 if round_ % 2 else -1]:
                    rates.append(inprocess.rate(app_, paths, headers, count=count, seconds=seconds))
            value = statistics.median([m / t for m, t in zip(mine, theirs, strict=True)])
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

    def redis(self) -> None:
        """Hot get-call (Retell) on a Redis store that this figure starts: one worker against
        the same on the memory store (pinned as the other figures are), then one worker, two
        workers and two replicas, all unpinned on the machine's CPUs."""
        why = _redis_unavailable()
        if why is not None:
            for figure in ("one worker on Redis", "2 workers on Redis", "2 replicas on Redis"):
                self.rows.append(Row(f"{figure}: hot get-call (retell)", f"skipped: {why}"))
            return
        world = self.world
        retell = world.vendors["retell"]
        paths = [world.path(retell, i) for i in world.indices(HOT_IDS)]
        size = world.mean_size(retell, paths)
        headers = world.headers(retell)
        hot = load.write_lines(self.scratch / "redis-hot.txt", [(p, headers) for p in paths])
        pinned_runs, spread_runs = Measured(), Measured()
        with ExitStack() as stack:
            # Redis stands for a service of its own: on wrk's CPU, so that its work is not
            # charged to the worker's CPU (the worker's own cost of each round trip is).
            redis_port = stack.enter_context(redis_server(self.log, self.scratch, self.load_cpu))
            store = f"redis://{HOST}:{redis_port}/0"
            memory = stack.enter_context(self.sandbox(self.fixtures, "--store", "memory"))
            on_redis = stack.enter_context(self.sandbox(self.fixtures, "--store", store))
            for port in (memory, on_redis):
                self.wrk(port, 1, lines=hot)
            sides = [
                self.side("memory", memory, hot, warm_first=True),
                self.side("redis", on_redis, hot, warm_first=True),
            ]
            measure(sides, self.options.rounds, pinned_runs)
        with ExitStack() as stack:
            # Several workers need several CPUs: here every process (servers, wrk, Redis)
            # runs where the kernel puts it, the single workers too, for the same treatment.
            redis_port = stack.enter_context(redis_server(self.log, self.scratch, None))
            store = f"redis://{HOST}:{redis_port}/0"
            ports = {
                "memory": stack.enter_context(
                    self.sandbox(self.fixtures, "--store", "memory", cpu=None)
                ),
                "redis": stack.enter_context(
                    self.sandbox(self.fixtures, "--store", store, cpu=None)
                ),
                "workers": stack.enter_context(
                    self.sandbox(self.fixtures, "--workers", "2", "--store", store, cpu=None)
                ),
                "replica 1": stack.enter_context(
                    self.sandbox(self.fixtures, "--store", store, cpu=None)
                ),
                "replica 2": stack.enter_context(
                    self.sandbox(self.fixtures, "--store", store, cpu=None)
                ),
            }
            for port in ports.values():  # (every worker has made the answers: 4 s of load)
                self.wrk_unpinned([port], 4, lines=hot)
            replicas = [ports["replica 1"], ports["replica 2"]]
            sides = [
                self.unpinned_side("memory", [ports["memory"]], hot),
                self.unpinned_side("redis", [ports["redis"]], hot),
                self.unpinned_side("workers", [ports["workers"]], hot),
                self.unpinned_side("replicas", replicas, hot),
            ]
            measure(sides, self.options.rounds, spread_runs)
        self.busy["redis, pinned"] = pinned_runs
        self.busy["redis, unpinned"] = spread_runs
        label = f"{size:,} B"
        self.rows += [
            self._rate_row(
                "one worker on Redis (`--store redis://`): hot get-call (retell), against "
                "the same on `--store memory` (pinned)",
                pinned_runs,
                TARGET_REDIS,
                size,
                "redis",
                "memory",
                f"`--store memory`, {label}",
            ),
            self._rate_row(
                "2 workers (`--workers 2 --store redis://`): hot get-call (retell), against "
                "one worker on Redis (unpinned)",
                spread_runs,
                TARGET_SCALE,
                size,
                "workers",
                "redis",
                "one worker, Redis",
            ),
            self._rate_row(
                "2 workers (`--workers 2 --store redis://`), against one worker on "
                "`--store memory` (unpinned)",
                spread_runs,
                None,
                size,
                "workers",
                "memory",
                "one worker, memory",
            ),
            self._rate_row(
                "2 replicas (two `serve --store redis://` on one Redis, a wrk each): hot "
                "get-call (retell), against one worker on Redis (unpinned)",
                spread_runs,
                TARGET_SCALE,
                size,
                "replicas",
                "redis",
                "one worker, Redis",
            ),
            self._rate_row(
                "2 replicas, against one worker on `--store memory` (unpinned)",
                spread_runs,
                None,
                size,
                "replicas",
                "memory",
                "one worker, memory",
            ),
        ]

    def wrk_unpinned(self, ports: Sequence[int], duration: float, lines: Path) -> load.Load:
        """wrk on no CPU in particular: one process with `--connections`, or one a port with
        its share of the connections and of the threads, all at once."""
        count = len(ports)
        return load.run_together(
            [load.Target(port, lines) for port in ports],
            duration=duration,
            connections=max(self.options.connections // count, load.THREADS),
            threads=max(load.THREADS // count, 1),
        )

    def unpinned_side(self, name: str, ports: Sequence[int], lines: Path) -> Side:
        def run() -> load.Load:
            return self.wrk_unpinned(ports, self.options.duration, lines)

        def warm_all() -> None:
            for port in ports:
                warm(port, lines)

        return Side(name, run, warm_all)

    def method(self) -> list[str]:
        pinning = (
            f"servers on CPU {self.server_cpu}, wrk (and the pinned figure's Redis) on CPU "
            f"{self.load_cpu} (taskset)"
            if self.server_cpu is not None
            else "no CPU pinning"
        )
        options = self.options
        lines = [
            f"Load: {load.version()}, `wrk -t{load.THREADS} -c{options.connections} "
            f"-d{options.duration:.0f}s --latency` from another process on 127.0.0.1, "
            f"{pinning}.",
            f"Rounds: each figure is measured in {options.rounds} rounds; a round measures "
            "every side once (the sandbox and its reference, or the set-ups compared), in an "
            "order turned by one every round, each run after the same warm-up for every side "
            "(hot figures: one pass over the run's requests, one at a time). The ratio is the "
            "median of the rounds' ratios (the range in parentheses); rates and p99 are "
            "medians of the runs.",
            "Quiet machine: over every run the benchmark counts the CPU time the machine "
            "spent outside the benchmark's own processes (/proc/stat, steal included); a run "
            f"during which that was over {MAX_FOREIGN_CPU:.0%} of a CPU is measured once "
            f"more if the machine is quiet for {QUIET_SAMPLE_S} s within the next "
            f"{QUIET_WAIT_S:.0f} s, and the quieter run is kept; the notes below name the "
            "figures whose kept runs were still disturbed.",
            "Servers: uvicorn, one worker, uvloop and httptools, no access log: "
            "`call-sandbox serve --no-access-log` and `python -m uvicorn bench.reference:app`.",
            "Reference: a bare Starlette endpoint answering pre-rendered bytes as large as the "
            "sandbox's answers in that figure: in hot get-call, each request's as large as the "
            "sandbox's answer to the same request; elsewhere their mean size (in the reference "
            "column).",
            f"Get-call figures: fixtures with {POPULATION:,} calls per tenant, random ids; "
            "hot: the same 100 ids over and over; cold: a new id every request.",
            f"Tenant pages: `serve --open-tenancy` (embedded fixtures), two open tenants per "
            f"vendor, one given {SMALL_PAGE} creates and one {options.creates:,} (the vendor's "
            f"create route over HTTP, {CREATE_CONCURRENCY} at a time), so that the first page "
            f"of {SMALL_PAGE} in the default order holds {SMALL_PAGE} created calls in both; "
            f"wrk with {PAGE_CONNECTIONS} connections.",
            "Redis figures: Debian's `redis-server` started by the benchmark (free port, a "
            "temporary folder, `--save '' --appendonly no`). One worker on Redis against one "
            "on `--store memory`: pinned as above, Redis on wrk's CPU (a service of its own). "
            "Workers and replicas: every process unpinned, the single workers they are "
            "compared with too; two replicas are two `call-sandbox serve` processes on one "
            f"Redis, each loaded by its own wrk (`-t1 -c{options.connections // 2}`) started "
            "at the same moment for the same duration, their rates added (p99: the worse). "
            f"This machine has {os.cpu_count()} CPUs, shared there by the workers, wrk and "
            "Redis.",
            "Every answer is checked: a run with any non-2xx answer or socket error fails.",
            "Bodies stay validated against their schemas on every path; the cold figure "
            "generates, renders, validates and encodes each answer.",
        ]
        return lines + busy_note(self.busy)

    def run(self) -> list[Row]:
        figures = {
            "start": self.cold_start,
            "get-call": self.throughput,
            "lists": self.lists,
            "pages": self.pages,
            "in-process": self.in_process,
            "memory": self.memory,
            "redis": self.redis,
        }
        for name, figure in figures.items():
            if name not in self.options.only:
                continue
            started = time.monotonic()
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            try:
                figure()
                print(f"bench: {name}: {time.monotonic() - started:.0f} s", file=sys.stderr)
            except Exception as error:  # (the other figures are still measured and written)
                traceback.print_exc()
                self.failed.append(name)
                self.rows.append(Row(f"{name}: failed", _one_line(error), met=False))
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


def _one_line(error: BaseException) -> str:
    """An error for a table cell: its type and first line, no pipes."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300].replace("|", "/")


def _busy_now() -> float:
    """Share of a CPU other processes use, over a second."""
    if not machine.available():
        return 0.0
    before = machine.sample()
    time.sleep(1)
    return machine.foreign_cpu(before, machine.sample())


def _nothing() -> None:
    pass


def _spread(measured: Measured, side: str, against: str) -> str:
    found = measured.spread(side, against)
    return f"rounds {found}" if found else "one round"


def _served_size(target: load.Target) -> int:
    """The size of the body a list target answers (one request, a 200)."""
    connection = http.client.HTTPConnection(HOST, target.port, timeout=60)
    try:
        headers = dict(target.headers or {})
        if target.body is not None:
            headers["content-type"] = "application/json"
        connection.request(target.method, target.path, body=target.body, headers=headers)
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    if answer.status != 200:
        raise RuntimeError(f"{target.path}: {answer.status} {body[:200]!r}")
    return len(body)


def _redis_unavailable() -> str | None:
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
    parser.add_argument("--duration", type=float, default=2, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of each figure")
    parser.add_argument("--connections", type=int, default=50, help="wrk's connections")
    parser.add_argument("--soak", type=float, default=60, help="seconds of the memory soak")
    parser.add_argument("--gets", type=int, default=10_000, help="random gets before the soak")
    parser.add_argument("--starts", type=int, default=5, help="cold starts of each server")
    parser.add_argument(
        "--in-process", type=int, default=5_000, help="requests per in-process run (at most)"
    )
    parser.add_argument(
        "--creates", type=int, default=5_000, help="calls created in the loaded tenant (pages)"
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
        creates=max(args.creates, SMALL_PAGE),
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
    busy = _busy_now()
    if busy > MAX_FOREIGN_CPU:
        print(
            f"bench: other processes are using {busy:.0%} of a CPU; runs taken while they do "
            "are measured again (see the table's notes)",
            file=sys.stderr,
        )
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
    if bench.failed:
        print(f"bench: failed: {', '.join(bench.failed)} (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
