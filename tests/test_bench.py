"""The benchmark's parts still work (no figure is judged here: timings belong in RESULTS.md,
never in a test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import inprocess, load, report, run
from bench.reference import body_of, make_app
from bench.servers import Probe, free_port, sandbox_command, served
from sandbox import Settings, create_app
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.inprocess import request

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


def test_options_and_the_table() -> None:
    options = run.parse_options(["--duration", "1", "--rounds", "1", "--only", "start"])
    assert (options.duration, options.rounds, options.only) == (1, 1, frozenset({"start"}))
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
    assert result.requests > 0
