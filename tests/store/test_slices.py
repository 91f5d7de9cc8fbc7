"""Sliced work takes turns with the event loop: other tasks run between its slices, never
beside one, and work whose request went away stops at its next checkpoint."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from sandbox.store import slices
from sandbox.store.slices import Abandoned, checkpoint, sliced

# Enough work for several slices whatever the machine (each checkpoint spins a little).
SPINS = 200
SPIN_S = slices.SLICE_S / 20


def _spin() -> None:
    until = time.perf_counter() + SPIN_S
    while time.perf_counter() < until:
        pass


def test_the_work_s_answer_and_its_error_come_back() -> None:
    async def main() -> None:
        assert await sliced(lambda: 42) == 42

        def failing() -> int:
            checkpoint()
            raise ValueError("the vendor's 400")

        with pytest.raises(ValueError, match="the vendor's 400"):
            await sliced(failing)

    asyncio.run(main())


def test_other_tasks_run_between_slices_and_never_beside_one() -> None:
    inside = threading.Event()
    seen_inside: list[bool] = []
    ticks = 0

    def work() -> int:
        for _ in range(SPINS):
            inside.set()
            _spin()
            inside.clear()
            checkpoint()
        return SPINS

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            seen_inside.append(inside.is_set())
            ticks += 1
            await asyncio.sleep(0)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(stop))
        await asyncio.sleep(0)
        started = ticks
        assert await sliced(work) == SPINS
        during = ticks - started
        stop.set()
        await task
        # The work ran about SPINS * SPIN_S = 10 slices: the ticker had turns between them.
        assert during >= 2
        assert not any(seen_inside)

    asyncio.run(main())


def test_work_whose_request_went_away_stops_at_its_next_checkpoint() -> None:
    stopped = threading.Event()

    def endless() -> None:
        try:
            while True:
                _spin()
                checkpoint()
        except Abandoned:
            stopped.set()
            raise

    async def main() -> None:
        task = asyncio.create_task(sliced(endless))
        await asyncio.sleep(slices.SLICE_S * 4)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert stopped.wait(5)


def test_a_checkpoint_outside_sliced_work_does_nothing() -> None:
    checkpoint()
