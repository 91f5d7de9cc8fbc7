"""The benchmark's parts still work (no figure is judged here: timings belong in RESULTS.md,
never in a test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette

from bench import inprocess, load, machine, pages, report, rounds, run
from bench.reference import body_of, make_app
from bench.servers import Probe, free_port, sandbox_command, served
from sandbox import Settings, create_app, resources
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.inprocess import Answer, request

ROOT = Path(__file__).resolve().parents[1]
WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:8080/
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   210.00us   50.00us   1.20ms   90.00%
    Req/Sec     9.50k   500.00     10.00k    70.00%
  Latency Distribution
     50%  200.00us
     75%  230.00us
     90%  260.00us
     99%    1.10ms
  19000 requests in 1.00s, 20.00MB read
Requests/sec:  18999.50
Transfer/sec:     20.00MB
"""


def test_the_reference_answers_a_body_of_the_size_asked() -> None:
    app = make_app(100)
    assert len(body_of(5_000)) == 5_000
    assert request(app, "GET", "/5000/retell/v2/get-call/x").body == body_of(5_000)
    assert request(app, "POST", "/anything").body == body_of(100)


def test_wrk_s_summary_is_read_and_failures_are_refused() -> None:
    found = load.parse(WRK_OUTPUT)
    assert (found.requests, found.requests_per_s, found.p99_ms) == (19_000, 18_999.5, 1.1)
    with pytest.raises(RuntimeError, match="not 2xx"):
        load.parse(WRK_OUTPUT + "  Non-2xx or 3xx responses: 3\n")
    with pytest.raises(RuntimeError, match="socket errors"):
        load.parse(WRK_OUTPUT + "  Socket errors: connect 0, read 1, write 0, timeout 0\n")


def test_the_in_process_part_runs() -> None:
    app = create_app(Settings(raise_on_schema_error=True))
    state: VendorSandbox = app.state.sandbox
    retell = state.vendors["retell"]
    call = state.generator.call(state.fixtures.default_tenant, 7)
    paths = [f"/retell{retell.lookup_path(retell.external_id(call))}"]
    headers = state.credentials("retell")
    assert inprocess.rate(app, paths, headers, count=20, seconds=10) > 0
    assert inprocess.rate(make_app(1_000), ["/1000/x"], {}, count=20, seconds=10) > 0


def test_rounds_turn_the_order_and_compare_runs_of_the_same_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(machine, "foreign_cpu", lambda before, after: 0.0)  # (quiet)
    order: list[str] = []
    rates = {"a": iter([100.0, 200.0, 300.0]), "b": iter([50.0, 50.0, 200.0])}

    def side(name: str) -> rounds.Side:
        def run() -> load.Load:
            order.append(name)
            return load.Load(1, next(rates[name]), 1.0)

        return rounds.Side(name, run, lambda: order.append(f"warm {name}"))

    measured = rounds.measure([side("a"), side("b")], 3)
    assert order == [
        *("warm a", "a", "warm b", "b"),
        *("warm b", "b", "warm a", "a"),
        *("warm a", "a", "warm b", "b"),
    ]
    assert measured.ratios("a", "b") == [2.0, 4.0, 1.5]
    assert measured.ratio("a", "b") == 2.0  # the median of the rounds' ratios
    assert (measured.rate("a"), measured.spread("a", "b")) == (200.0, "1.50-4.00")
    assert len(measured.foreign) == 6
    later = rounds.measure([side("a"), side("b")], 0, start=1)
    assert later.runs == {"a": [], "b": []}


def test_a_run_on_a_busy_machine_is_measured_again_and_the_quietest_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    busy = iter([0.9, 0.05, 0.3])  # a busy run, a quiet moment, a quieter run
    monkeypatch.setattr(machine, "foreign_cpu", lambda before, after: next(busy))
    monkeypatch.setattr(rounds, "QUIET_SAMPLE_S", 0.0)
    rates = iter([10.0, 20.0])
    side = rounds.Side("a", lambda: load.Load(1, next(rates), 1.0))
    measured = rounds.measure([side], 1)
    assert (measured.rate("a"), measured.foreign, measured.repeated) == (20.0, [0.3], 1)
    assert rounds.busy_note({"hot": measured}) == [
        "hot: other processes used up to 30% of a CPU during a run kept (after 1 repeats); "
        "its figures are less reliable."
    ]


def test_the_machine_s_other_work_is_a_share_of_a_cpu() -> None:
    before = machine.Sample(wall_s=10, machine_s=100, steal_s=1, ours_s=50)
    after = machine.Sample(wall_s=12, machine_s=103, steal_s=1.5, ours_s=52)
    assert machine.foreign_cpu(before, after) == pytest.approx(0.75)  # (1 + 0.5) s over 2 s
    assert machine.foreign_cpu(after, after) == 0.0
    sample = machine.sample()
    assert sample.machine_s >= 0
    assert sample.ours_s > 0


def _send(app: Starlette, vendor: str, page: pages.Page, headers: dict[str, str]) -> Answer:
    """One of the benchmark's requests, in this process."""
    body = (page.body or "").encode()
    return request(app, page.method, f"/{vendor}{page.path}", headers=headers, body=body)


def test_open_tenants_fill_the_same_page_with_created_calls() -> None:
    """The pages figure's requests: each vendor's create, in open tenants whose keys keep the
    vendor's form, so that the first page of 20 is 20 created calls of the same size."""
    app = create_app(Settings(open_tenancy=True, raise_on_schema_error=True))
    state: VendorSandbox = app.state.sandbox
    tenant = state.tenants[state.fixtures.default_tenant]
    for name, vendor in state.vendors.items():
        sizes = []
        for tag in ("benchfresh", "benchloads"):
            headers = pages.open_key(vendor, tenant.keys[name], tag)
            assert headers != state.credentials(name)
            made = pages.create(name, tenant)
            sent = {**headers, "content-type": "application/json"}
            for _ in range(3):
                answer = _send(app, name, made, sent)
                assert answer.status in (200, 201), answer.body
            answer = _send(app, name, pages.page(name, 3), sent)
            assert answer.status == 200, answer.body
            sizes.append(len(answer.body))
        assert abs(sizes[0] - sizes[1]) <= 10, (name, sizes)
    with pytest.raises(ValueError, match="letters and digits"):
        pages.open_key(state.vendors["retell"], tenant.keys["retell"], "bench-1")


def test_options_and_the_table() -> None:
    options = run.parse_options(["--duration", "1", "--rounds", "1", "--only", "start"])
    assert (options.duration, options.rounds, options.only) == (1, 1, frozenset({"start"}))
    assert (options.creates, run.parse_options(["--creates", "3"]).creates) == (5_000, 20)
    assert options.command == "python -m bench.run --duration 1 --rounds 1 --only start"
    rows = [report.Row("figure", "1 req/s", "2 req/s", report.ratio(0.5), ">= 0.8x", False)]
    text = report.document(rows, command="python -m bench.run", versions_line="v", method=["m"])
    assert "| figure | 1 req/s | 2 req/s | 0.50x | >= 0.8x | **missed** |" in text


@pytest.mark.skipif(not load.available(), reason="wrk is not installed (apt-get install wrk)")
def test_a_second_of_wrk_against_the_sandbox(tmp_path: Path) -> None:
    app = create_app(Settings())
    state: VendorSandbox = app.state.sandbox
    retell = state.vendors["retell"]
    tenant = state.fixtures.default_tenant
    calls = [state.generator.call(tenant, i) for i in range(10)]
    lines: list[tuple[str, dict[str, str]]] = [
        (f"/retell{retell.lookup_path(retell.external_id(c))}", {}) for c in calls
    ]
    headers = state.credentials("retell")
    port = free_port()
    docs = "/retell" + retell.lookup_path("Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6")
    command = sandbox_command("serve", "--port", str(port), "--no-access-log")
    with served(command, Probe(port, docs, headers), env={"PYTHONPATH": str(ROOT)}):
        result = load.run(
            port,
            duration=1,
            connections=4,
            lines=load.write_lines(tmp_path / "lines.txt", lines),
            headers=headers,
        )
        target = load.Target(port, load.write_lines(tmp_path / "lines.txt", lines), headers=headers)
        together = load.run_together([target, target], duration=1, connections=2, threads=1)
    assert result.requests > 0
    assert together.requests > 0


def test_a_machine_that_stays_busy_is_reported_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(machine, "foreign_cpu", lambda before, after: 0.9)
    monkeypatch.setattr(rounds, "QUIET_WAIT_S", 0.05)
    monkeypatch.setattr(rounds, "QUIET_SAMPLE_S", 0.01)
    side = rounds.Side("a", lambda: load.Load(1, 10.0, 1.0))
    measured = rounds.measure([side], 2)
    assert (measured.runs["a"], measured.repeated) == ([load.Load(1, 10.0, 1.0)] * 2, 0)


def test_a_figure_that_fails_is_a_row_saying_why() -> None:
    error = RuntimeError("the server exited with 1 | before it was ready\ntraceback")
    assert run._one_line(error) == "RuntimeError: the server exited with 1 / before it was ready"


def test_the_world_knows_each_answer_s_size_and_their_mean() -> None:
    """Hot get-call's reference answers each request with the size of the sandbox's answer to
    it: the sizes are the bodies' own, in order."""
    world = run.World(resources.fixtures_dir())
    retell = world.vendors["retell"]
    paths = [world.path(retell, i) for i in (0, 1, 2)]
    bodies = [request(world.app, "GET", p, headers=world.headers(retell)).body for p in paths]
    sizes = world.sizes(retell, paths)
    assert sizes == [len(b) for b in bodies]
    assert len(set(sizes)) > 1  # (calls differ in length: a mean would not do)
    assert world.mean_size(retell, paths) == round(sum(sizes) / 3)
