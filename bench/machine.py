"""What else the machine did while a run was measured: CPU time of processes that are not the
benchmark's, read from /proc.

On a machine of two CPUs, any other busy process (a test suite, a build, another benchmark)
takes CPU time from the server or from wrk, and a ratio measured then says more about that
process than about the sandbox. The benchmark counts, over each measured run, the CPU time
the whole machine spent in user and system mode, less what the benchmark's own processes
spent (this process and every process started under it, wrk included once it has exited),
and the time the hypervisor took from the virtual CPUs (steal), and repeats a run during
which that was more than a small share of a CPU.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def available() -> bool:
    return (PROC / "stat").exists()


@dataclass(frozen=True, slots=True)
class Sample:
    """Seconds, cumulative: the wall clock, the machine's CPU time (user, nice, system), its
    steal, and the benchmark's own CPU time."""

    wall_s: float
    machine_s: float
    steal_s: float
    ours_s: float


def _machine() -> tuple[float, float]:
    fields = (PROC / "stat").read_text().splitlines()[0].split()
    user, nice, system = (int(fields[i]) for i in (1, 2, 3))
    steal = int(fields[8]) if len(fields) > 8 else 0
    return (user + nice + system) / TICKS_PER_S, steal / TICKS_PER_S


def _children() -> dict[int, list[int]]:
    """Every live process's children, by parent pid."""
    found: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # (it exited while the list was read)
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        found.setdefault(parent, []).append(int(entry.name))
    return found


def _process_s(pid: int) -> float:
    """User and system time of a process and of its children it has waited for."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS_PER_S


def _ours() -> float:
    """CPU time of this process, of the children it has waited for (wrk, finished servers),
    and of every live process under it (servers, their workers, redis-server)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime
    tree = _children()
    queue = list(tree.get(os.getpid(), []))
    while queue:
        pid = queue.pop()
        total += _process_s(pid)
        queue.extend(tree.get(pid, []))
    return total


def sample() -> Sample:
    machine, steal = _machine()
    return Sample(time.monotonic(), machine, steal, _ours())


def foreign_cpu(before: Sample, after: Sample) -> float:
    """Share of one CPU that was not the benchmark's between two samples (0.25: a quarter of
    a CPU on average), steal included; never below zero (the counters tick at different
    instants)."""
    wall = after.wall_s - before.wall_s
    if wall <= 0:
        return 0.0
    theirs = (after.machine_s - before.machine_s) - (after.ours_s - before.ours_s)
    steal = after.steal_s - before.steal_s
    return max(theirs + steal, 0.0) / wall
