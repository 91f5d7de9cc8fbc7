"""How a speed figure is measured: sides (the sandbox, its reference, or several set-ups of the
sandbox) measured in rounds, each side once a round, each run preceded by the same warm-up
for every side, the order of the sides turned by one every round (so that no side is always
first, right after a pause or after a particular other side), and every run repeated while
processes other than the benchmark's took more than a small share of the CPUs.

A figure is then the median over rounds of the ratio of two sides *in the same round*: runs
seconds apart share the machine's state of the moment (another tenant of the host, the
CPUs' clock), which the median of all the sandbox's runs over the median of all the
reference's would not cancel.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bench import machine
from bench.load import Load

MAX_FOREIGN_CPU = 0.10  # of one CPU, over a run, taken by processes not the benchmark's
REPEATS = 2  # runs of a side in one round at most, while the machine is busy
QUIET_WAIT_S = 2.0  # longest wait for a quiet moment before a repeat
QUIET_SAMPLE_S = 0.5


@dataclass(frozen=True, slots=True)
class Side:
    """One set-up measured: `run` measures it once, after `warm` (the same for every side)."""

    name: str
    run: Callable[[], Load]
    warm: Callable[[], None] = lambda: None


@dataclass
class Measured:
    """Every side's runs, round by round, and how busy the machine was in each."""

    runs: dict[str, list[Load]] = field(default_factory=dict)
    foreign: list[float] = field(default_factory=list)  # per run kept, share of a CPU
    repeated: int = 0  # runs measured again because the machine was busy

    def rate(self, side: str) -> float:
        return statistics.median(r.requests_per_s for r in self.runs[side])

    def p99(self, side: str) -> float:
        return statistics.median(r.p99_ms for r in self.runs[side])

    def ratios(self, side: str, against: str) -> list[float]:
        """`side`'s rate over `against`'s, round by round."""
        return [
            mine.requests_per_s / theirs.requests_per_s
            for mine, theirs in zip(self.runs[side], self.runs[against], strict=True)
        ]

    def ratio(self, side: str, against: str) -> float:
        return statistics.median(self.ratios(side, against))

    def spread(self, side: str, against: str) -> str:
        """The lowest and highest ratio of a round, when there are several rounds."""
        found = self.ratios(side, against)
        return f"{min(found):.2f}-{max(found):.2f}" if len(found) > 1 else ""


def measure(
    sides: Sequence[Side], rounds: int, into: Measured | None = None, *, start: int = 0
) -> Measured:
    """`rounds` rounds of every side, the order turned by one each round (round `start`
    first: a figure measured one round at a time, between others, says which round)."""
    measured = into if into is not None else Measured()
    for side in sides:
        measured.runs.setdefault(side.name, [])
    for round_ in range(start, start + rounds):
        shift = round_ % len(sides)
        for side in [*sides[shift:], *sides[:shift]]:
            load, foreign, repeats = guarded(side)
            measured.runs[side.name].append(load)
            measured.foreign.append(foreign)
            measured.repeated += repeats
    return measured


def guarded(side: Side) -> tuple[Load, float, int]:
    """A run of `side` during which other processes used at most MAX_FOREIGN_CPU of a CPU, or
    the quietest of up to REPEATS runs (a run is repeated once the machine has been quiet for
    a moment, if that comes within QUIET_WAIT_S: a machine that stays busy is reported, not
    waited for): (its load, that share, how many runs were repeated)."""
    tried: list[tuple[float, Load]] = []
    for attempt in range(REPEATS):
        if attempt and not quiet_within(QUIET_WAIT_S):
            break
        side.warm()
        before = machine.sample()
        load = side.run()
        foreign = machine.foreign_cpu(before, machine.sample())
        tried.append((foreign, load))
        if foreign <= MAX_FOREIGN_CPU or not machine.available():
            break
    foreign, load = min(tried, key=lambda pair: pair[0])
    return load, foreign, len(tried) - 1


def quiet_within(limit_s: float) -> bool:
    """Whether other processes use at most MAX_FOREIGN_CPU over some QUIET_SAMPLE_S within
    `limit_s` (bounded: at most `limit_s` of sampling)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = machine.sample()
        time.sleep(QUIET_SAMPLE_S)
        if machine.foreign_cpu(before, machine.sample()) <= MAX_FOREIGN_CPU:
            return True
    return False


def busy_note(figures: Mapping[str, Measured]) -> list[str]:
    """What the table should say about runs measured on a busy machine."""
    notes = []
    for figure, measured in figures.items():
        worst = max(measured.foreign, default=0.0)
        if worst > MAX_FOREIGN_CPU:
            notes.append(
                f"{figure}: other processes used up to {worst:.0%} of a CPU during a run kept "
                f"(after {measured.repeated} repeats); its figures are less reliable."
            )
    return notes
