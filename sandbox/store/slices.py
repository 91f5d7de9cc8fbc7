"""Work that grows with the data, in bounded slices that never hold the event loop.

A list with a filter looks at every call of its tenant: a million calls are seconds of work,
and an event loop held that long answers nothing else meanwhile. Such work (`sliced`) runs in
a worker thread, in turns with the event loop, never beside it: the loop hands the work a
slice (the loop thread waits while it runs), the work gives the turn back at its next
`checkpoint()` once SLICE_S have passed, and the loop serves whatever else is waiting before it
hands over the next slice. So the work sees the same state as if it ran on the loop (nothing
changes under it during a slice), and no other request waits more than a slice for it.

`checkpoint()` is called by what the work iterates over (the store's lists, once per call);
outside sliced work it costs an attribute lookup.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")

SLICE_S = 0.005  # how long sliced work runs before the event loop has its turn
# Sliced works in progress at once, each on a thread of its own (one waiting for its turn
# holds its thread); more wait for a thread without holding the loop.
MAX_SLICED = 8

_EXECUTOR = ThreadPoolExecutor(max_workers=MAX_SLICED, thread_name_prefix="call-sandbox-slice")
_current = threading.local()


class Abandoned(Exception):
    """Raised in sliced work whose request went away (a client hung up)."""


class _Turns(Generic[T]):
    """The hand-over between the event loop and one piece of sliced work."""

    def __init__(self) -> None:
        self.work_turn = threading.Event()  # set: the work may run
        self.loop_turn = threading.Event()  # set: the work paused or finished
        self.finished = False
        self.abandoned = False  # the request went away: the work stops at its next checkpoint
        self.started = 0.0
        self.result: T | None = None
        self.error: BaseException | None = None

    def checkpoint(self) -> None:
        if time.perf_counter() - self.started < SLICE_S:
            return
        self.work_turn.clear()
        self.loop_turn.set()
        self.work_turn.wait()
        if self.abandoned:
            raise Abandoned
        self.started = time.perf_counter()


def checkpoint() -> None:
    """Give the event loop its turn if this slice has run SLICE_S (only inside `sliced`)."""
    turns: _Turns[object] | None = getattr(_current, "turns", None)
    if turns is not None:
        turns.checkpoint()


async def sliced(work: Callable[[], T]) -> T:
    """`work()`, run in slices of SLICE_S in turn with the event loop (see the module)."""
    loop = asyncio.get_running_loop()
    turns: _Turns[T] = _Turns()
    context = contextvars.copy_context()
    started: asyncio.Future[None] = loop.create_future()

    def run() -> None:
        _current.turns = turns
        loop.call_soon_threadsafe(_resolve, started)
        turns.work_turn.wait()
        turns.started = time.perf_counter()
        try:
            if turns.abandoned:
                raise Abandoned
            turns.result = context.run(work)
        except BaseException as error:  # (the vendor's error, raised where it is awaited)
            turns.error = error
        finally:
            _current.turns = None
            turns.finished = True
            turns.loop_turn.set()

    done = loop.run_in_executor(_EXECUTOR, run)
    try:
        await started  # (a thread may not be free at once: wait without holding the loop)
        while True:
            turns.loop_turn.clear()
            turns.work_turn.set()
            turns.loop_turn.wait()  # the loop thread waits out one slice: nothing runs beside
            if turns.finished:
                break
            await asyncio.sleep(0)  # whatever else is waiting runs now
    finally:
        if not turns.finished:  # (cancelled: the work must not wait for a turn for ever)
            turns.abandoned = True
            turns.work_turn.set()
    await done
    if turns.error is not None:
        raise turns.error
    return turns.result  # type: ignore[return-value]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
