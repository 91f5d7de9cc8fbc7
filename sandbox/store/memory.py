"""The default backend: the overlays live in this process, guarded by locks.

One process only: with `--workers N` each worker would hold its own, so the CLI refuses that
combination. With `--state FILE` a `Recorder` is attached: every write (and every move of the
clock) becomes a `Change` that is recorded (written to the change log and flushed to disk)
before it is applied, so a change a client saw answered survives the process being killed.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)

from sandbox.calls.clock import ClockState, LocalClockState
from sandbox.calls.model import Call
from sandbox.store.backend import NOTHING, Entry, Overlay
from sandbox.store.changes import (
    Change,
    ClockAdvanced,
    ClockReset,
    Created,
    Deleted,
    Patched,
    Recorder,
    Reset,
)
from sandbox.store.records import LocalRecords

# Revisions are unique in the process, so an overlay loaded anew never repeats an old one's.
_REVISIONS = itertools.count(1)
# What a tenant without changes reads (never written: changes go to the tenant's own).
_EMPTY = Overlay()


def _copy(overlay: Overlay) -> Overlay:
    return Overlay(
        created=dict(overlay.created),
        patched=dict(overlay.patched),
        deleted=set(overlay.deleted),
        counter=overlay.counter,
    )


class MemoryBackend:
    url = "memory"
    live = True  # (this process's own memory is always the state now)

    def __init__(self) -> None:
        self._overlays: dict[str, Overlay] = {}
        self._lock = threading.Lock()  # the dicts themselves; held for microseconds
        self._mutations: dict[str, threading.RLock] = {}
        self._clock = LocalClockState()
        self._published: int | None = None
        # Held from recording a change until it is applied: the log's order is the order the
        # changes were applied in, and a snapshot taken under it matches the log's end.
        self._writing = threading.RLock()
        self._recorder: Recorder | None = None
        # The test double's records (fault rules, rate limits, webhooks): this process's.
        self.records = LocalRecords()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def catch_up(self) -> None:
        pass

    async def ensure(self) -> None:
        pass

    # -- changes, and where they are recorded ---------------------------------------------

    @property
    def recorder(self) -> Recorder | None:
        return self._recorder

    def record_to(self, recorder: Recorder | None) -> None:
        """Record every later change to `recorder` before applying it (None: stop)."""
        with self._writing:
            self._recorder = recorder

    def writing(self) -> AbstractContextManager[None]:
        """Hold off every change meanwhile (to take a snapshot that matches the log)."""
        return _holding(self._writing)

    def _commit(self, change: Change) -> None:
        with self._writing:
            recorder = self._recorder
            if recorder is None:
                self.restore(change)
                return
            recorder.record(change)  # raises when it cannot: then nothing changes
            self.restore(change)
            recorder.settle()

    def restore(self, change: Change) -> None:
        """Apply one change without recording it (a replay of the change log)."""
        if isinstance(change, ClockAdvanced):
            self._clock.add(change.ms)
            return
        if isinstance(change, ClockReset):
            self._clock.reset()
            return
        with self._lock:
            if isinstance(change, Reset):
                if change.tenant is None:
                    self._overlays.clear()
                else:
                    self._overlays.pop(change.tenant, None)
                return
            overlay = self._overlay(change.tenant)
            overlay.revision = next(_REVISIONS)
            if isinstance(change, Created):
                overlay.created[change.call.id] = (change.sequence, change.call)
                overlay.counter = max(overlay.counter, change.counter, change.sequence)
            elif isinstance(change, Patched):
                overlay.patched[change.call.id] = change.call
            else:
                overlay.deleted.add(change.call_id)
                overlay.patched.pop(change.call_id, None)

    def _overlay(self, tenant: str) -> Overlay:
        found = self._overlays.get(tenant)
        if found is None:
            found = self._overlays[tenant] = Overlay()
        return found

    def entry(self, tenant: str, call_id: str) -> Entry:
        # Read on every request, without the lock: a dict lookup is atomic, and a change to
        # the tenant is applied whole before the request that made it is answered.
        overlay = self._overlays.get(tenant)
        return overlay.entry(call_id) if overlay is not None else NOTHING

    def overlay(self, tenant: str) -> Overlay:
        # The live object: a list reads it without copying the tenant's every change.
        overlay = self._overlays.get(tenant)
        return overlay if overlay is not None else _EMPTY

    def overlays(self) -> Mapping[str, Overlay]:
        with self._lock:
            return {t: o for t, o in self._overlays.items() if o.size or o.counter}

    def load(self, overlays: Mapping[str, Overlay]) -> None:
        """Replace every overlay (what `--state FILE` saved)."""
        with self._lock:
            self._overlays = {t: _copy(o) for t, o in overlays.items()}
            for overlay in self._overlays.values():
                overlay.revision = next(_REVISIONS)

    def next_sequence(self, tenant: str) -> int:
        with self._lock:
            overlay = self._overlay(tenant)
            overlay.counter += 1
            return overlay.counter

    def release_sequence(self, tenant: str, sequence: int) -> None:
        with self._lock:
            overlay = self._overlay(tenant)
            if overlay.counter == sequence:
                overlay.counter -= 1

    def put_created(self, tenant: str, sequence: int, call: Call) -> None:
        with self._lock:
            found = self._overlays.get(tenant)
            counter = found.counter if found is not None else 0
            new = found is None or call.id not in found.created  # (else: an update)
        try:
            self._commit(Created(tenant, sequence, counter, call))
        except BaseException:
            if new:  # not recorded, so not made: the numbering goes on as if never asked for
                self.release_sequence(tenant, sequence)
            raise

    def put_patched(self, tenant: str, call: Call) -> None:
        self._commit(Patched(tenant, call))

    def put_deleted(self, tenant: str, call_id: str) -> None:
        self._commit(Deleted(tenant, call_id))

    async def reset(self, tenant: str | None = None) -> None:
        self._commit(Reset(tenant))

    def mutation(self, tenant: str) -> AbstractContextManager[None]:
        with self._lock:
            lock = self._mutations.get(tenant)
            if lock is None:
                lock = self._mutations[tenant] = threading.RLock()
        return _holding(lock)

    def transaction(self, tenant: str) -> AbstractAsyncContextManager[None]:
        # Each change is applied (and recorded) as it is made, under the tenant's lock; the
        # lock is uncontended on one event loop, and waited for only by another thread's loop.
        return self._transaction(tenant)

    @asynccontextmanager
    async def _transaction(self, tenant: str) -> AsyncIterator[None]:
        with self.mutation(tenant):
            yield

    async def move_clock(self, ms: int) -> None:
        self._commit(ClockAdvanced(ms))

    async def reset_clock(self) -> None:
        self._commit(ClockReset())

    def clock_state(self, *, timed: bool) -> ClockState:
        return _RecordedClock(self)

    def start_events(self, at: int) -> None:
        with self._lock:
            if self._published is None:
                self._published = at

    async def claim_events(self, until: int) -> int:
        with self._lock:
            previous = self._published if self._published is not None else until
            self._published = max(previous, until)
            return previous

    async def restart_events(self, at: int) -> None:
        with self._lock:
            self._published = at

    def close(self) -> None:
        pass


class _RecordedClock:
    """The clock's offset is state too: its moves are changes like any other."""

    def __init__(self, backend: MemoryBackend) -> None:
        self._backend = backend

    def read(self) -> tuple[int, float]:
        return self._backend._clock.read()

    def add(self, ms: int) -> None:
        self._backend._commit(ClockAdvanced(ms))

    def reset(self) -> None:
        self._backend._commit(ClockReset())


@contextmanager
def _holding(lock: threading.RLock) -> Iterator[None]:
    with lock:
        yield
