"""Generated calls: internally consistent, every scenario present, realistic talk."""

from __future__ import annotations

import itertools
import json
import random
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox import Settings, create_app
from sandbox.calls.generator import _between, _pick
from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.resources import fixtures_dir


def test_every_scenario_among_the_newest_nine(state: VendorSandbox) -> None:
    for tenant in state.fixtures.tenants:
        assert {state.generator.call(tenant, i).scenario for i in range(9)} == set(Scenario)


def test_created_instants_fall_strictly_with_the_index(state: VendorSandbox) -> None:
    times = [state.generator.created_ms("acme", i) for i in range(state.generator.size("acme"))]
    assert all(a > b for a, b in itertools.pairwise(times))
    assert times[0] < state.fixtures.reference_ms
    window = state.fixtures.population.window_days * 86_400_000
    assert state.fixtures.reference_ms - times[-1] <= window + 20 * 60_000


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_calls_are_consistent(state: VendorSandbox, tenant: str) -> None:
    reference = state.fixtures.reference_ms
    for index in range(state.generator.size(tenant)):
        call = state.generator.call(tenant, index)
        assert call.id == state.generator.ids.encode(tenant, index)
        assert state.generator.ids.decode(call.id) == (tenant, index)
        scenario = call.scenario
        if scenario.ended:
            assert call.start_ms is not None
            assert call.end_ms is not None
            assert call.created_ms <= call.start_ms < call.end_ms <= reference
            assert call.duration_ms == call.end_ms - call.start_ms
            assert call.disconnection_reason is not None
        else:
            assert call.end_ms is None
            assert call.disconnection_reason is None
        if scenario.connected:
            assert call.turns, (tenant, index)
            limit = (
                call.duration_ms
                if call.duration_ms is not None
                else reference - (call.start_ms or 0)
            )
            for turn in call.turns:
                assert " ".join(w.text for w in turn.words) == turn.text
                for word in turn.words:
                    assert 0 <= word.start_ms < word.end_ms <= limit
            starts = [t.start_ms for t in call.turns]
            assert starts == sorted(starts)
            for tool in call.tool_calls:  # every tool call happens during the call
                assert 0 <= tool.at_ms < limit
        else:
            assert not call.turns
            assert not call.tool_calls
            assert call.recording_url is None
        if scenario.connected and scenario.ended:
            assert call.analysis is not None
            assert call.analysis.in_voicemail is (scenario is Scenario.VOICEMAIL)
            seconds = (call.duration_ms or 0) / 1000
            for line in call.costs:
                assert line.cost == pytest.approx(line.unit_price * seconds, abs=1e-4)
            assert call.combined_cost == pytest.approx(sum(c.cost for c in call.costs), abs=1e-4)
            for series in call.latency.values():
                assert series.percentile(50) in series.values
                assert series.minimum <= series.percentile(90) <= series.maximum
        else:
            assert call.analysis is None
            assert not call.costs
        if scenario is Scenario.SCHEDULED:
            assert call.scheduled_ms is not None
            assert call.scheduled_ms > reference
        for tool in call.tool_calls:
            assert 0 <= tool.after_turn < len(call.turns)
            assert call.turns[tool.after_turn].end_ms <= tool.at_ms
            # The result as sent: a compact JSON object (the templates are written compact).
            assert isinstance(json.loads(tool.result), dict)
            assert compact(json.loads(tool.result)) == tool.result


def test_transcripts_read_like_calls(state: VendorSandbox) -> None:
    call = next(
        state.generator.call("acme", i)
        for i in range(50)
        if state.generator.call("acme", i).scenario is Scenario.COMPLETED
    )
    text = call.transcript
    assert call.agent.name.split()[0] in text
    assert "lorem" not in text.lower()
    assert text.startswith("Agent: ")
    # Every completed call's path needs the agent to look something up or change something.
    assert call.tool_calls
    assert all(t.name.isidentifier() and t.name.islower() for t in call.tool_calls)


def test_scenario_mix_is_followed(state: VendorSandbox) -> None:
    counts: dict[Scenario, int] = {}
    for index in range(9, state.generator.size("acme")):
        scenario = state.generator.head("acme", index).scenario
        counts[scenario] = counts.get(scenario, 0) + 1
    assert not any(s.live for s in counts)
    assert counts[Scenario.COMPLETED] > counts[Scenario.VOICEMAIL] > counts[Scenario.FAILED]


def test_generation_is_lazy_for_a_million_calls(tmp_path: Path) -> None:
    target = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), target)
    document = yaml.safe_load((target / "sandbox.yaml").read_text())
    document["population"]["size"] = 1_000_000
    (target / "sandbox.yaml").write_text(yaml.safe_dump(document))
    big = create_app(Settings(fixtures=target)).state.sandbox
    last = big.generator.call("acme", 999_999)
    assert big.store.get("acme", last.id) == last
    assert big.generator.plan.cache_info().currsize <= 2


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@given(st.integers(min_value=0, max_value=2**64), st.integers(-5, 5), st.integers(0, 40))
@settings(max_examples=200, deadline=None)
def test_draws_stay_in_range(seed: int, low: int, width: int) -> None:
    rng = random.Random(seed)
    high = low + width
    drawn = {_between(rng, low, high) for _ in range(200)}
    assert drawn <= set(range(low, high + 1))
    choices = tuple(range(width + 1))
    assert {_pick(rng, choices) for _ in range(200)} <= set(choices)


def test_draws_reach_both_ends() -> None:
    rng = random.Random(7)
    assert {_between(rng, 1, 9) for _ in range(2_000)} == set(range(1, 10))
    assert {_pick(rng, "ABC") for _ in range(200)} == {"A", "B", "C"}
