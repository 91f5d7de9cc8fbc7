"""lifecycle.phase: two instants in the same phase observe the same call, so an answer made
in a phase can be reused in it; and the phases follow each other in time."""

from __future__ import annotations

from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS, observe, phase
from sandbox.calls.model import Call
from sandbox.dialect.vendor import VendorSandbox


def _moments(plan: Call, reference: int) -> list[int]:
    """Instants around every boundary of the plan's life, and the reference instant."""
    marks = [reference, plan.created_ms]
    if plan.scheduled_ms is not None:
        marks.append(plan.scheduled_ms)
    if plan.start_ms is not None:
        marks.append(plan.start_ms)
        marks += [plan.start_ms + t.end_ms for t in plan.turns]
        marks += [plan.start_ms + t.at_ms for t in plan.tool_calls]
    if plan.end_ms is not None:
        marks += [plan.end_ms, plan.end_ms + ANALYSIS_DELAY_MS]
    return sorted({m + d for m in marks for d in (-1, 0, 1, 250)})


def _plans(state: VendorSandbox) -> list[Call]:
    generated = [state.generator.plan("acme", i) for i in range(0, 60)]
    return generated + list(state.fixtures.pinned)


def test_the_same_phase_observes_the_same_call(state: VendorSandbox) -> None:
    reference = state.fixtures.reference_ms
    for plan in _plans(state):
        seen: dict[tuple[str | int, ...], Call] = {}
        for now in _moments(plan, reference):
            observed = observe(plan, now)
            stage = phase(plan, now)
            assert seen.setdefault(stage, observed) == observed, (plan.id, stage, now)


def test_a_phase_never_comes_back(state: VendorSandbox) -> None:
    reference = state.fixtures.reference_ms
    for plan in _plans(state):
        order: list[tuple[str | int, ...]] = []
        for now in _moments(plan, reference):
            stage = phase(plan, now)
            if not order or order[-1] != stage:
                assert stage not in order, (plan.id, stage)
                order.append(stage)


def test_a_call_in_progress_has_a_phase_per_turn(state: VendorSandbox) -> None:
    plan = state.generator.plan("acme", 0)  # the tenant's newest call is in progress
    assert plan.start_ms is not None
    stages = {phase(plan, plan.start_ms + t.end_ms) for t in plan.turns}
    assert len(stages) == len(plan.turns)
