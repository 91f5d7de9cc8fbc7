"""The default backend: the overlays live in this process, guarded by locks.

One process only: with `--workers N` each worker would hold its own, so the CLI refuses that
combination. `--state FILE` saves these overlays at shutdown and loads them at start.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

from sandbox.calls.clock import ClockState, LocalClockState
from sandbox.calls.model import Call
from sandbox.store.backend import NOTHING, Entry, Overlay


def _copy(overlay: Overlay) -> Overlay:
    return Overlay(
        created=dict(overlay.created),
        patched=dict(overlay.patched),
        deleted=set(overlay.deleted),
        counter=overlay.counter,
    )


class MemoryBackend:
    url = "memory"

    def __init__(self) -> None:
        self._overlays: dict[str, Overlay] = {}
        self._lock = threading.Lock()  # the dicts themselves; held for microseconds
        self._mutations: dict[str, threading.RLock] = {}
        self._clock = LocalClockState()
        self._published: int | None = None

    def _overlay(self, tenant: str) -> Overlay:
        found = self._overlays.get(tenant)
        if found is None:
            found = self._overlays[tenant] = Overlay()
        return found

    def entry(self, tenant: str, call_id: str) -> Entry:
        with self._lock:
            overlay = self._overlays.get(tenant)
            return overlay.entry(call_id) if overlay is not None else NOTHING

    def overlay(self, tenant: str) -> Overlay:
        with self._lock:
            overlay = self._overlays.get(tenant)
            return _copy(overlay) if overlay is not None else Overlay()

    def overlays(self) -> Mapping[str, Overlay]:
        with self._lock:
            return {t: _copy(o) for t, o in self._overlays.items() if o.size or o.counter}

    def load(self, overlays: Mapping[str, Overlay]) -> None:
        """Replace every overlay (what `--state FILE` saved)."""
        with self._lock:
            self._overlays = {t: _copy(o) for t, o in overlays.items()}

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
            self._overlay(tenant).created[call.id] = (sequence, call)

    def put_patched(self, tenant: str, call: Call) -> None:
        with self._lock:
            self._overlay(tenant).patched[call.id] = call

    def put_deleted(self, tenant: str, call_id: str) -> None:
        with self._lock:
            overlay = self._overlay(tenant)
            overlay.deleted.add(call_id)
            overlay.patched.pop(call_id, None)

    def reset(self, tenant: str | None = None) -> None:
        with self._lock:
            if tenant is None:
                self._overlays.clear()
            else:
                self._overlays.pop(tenant, None)

    def mutation(self, tenant: str) -> AbstractContextManager[None]:
        with self._lock:
            lock = self._mutations.get(tenant)
            if lock is None:
                lock = self._mutations[tenant] = threading.RLock()
        return _holding(lock)

    def clock_state(self, *, timed: bool) -> ClockState:
        return self._clock

    def start_events(self, at: int) -> None:
        with self._lock:
            if self._published is None:
                self._published = at

    def claim_events(self, until: int) -> int:
        with self._lock:
            previous = self._published if self._published is not None else until
            self._published = max(previous, until)
            return previous

    def restart_events(self, at: int) -> None:
        with self._lock:
            self._published = at

    def close(self) -> None:
        pass


@contextmanager
def _holding(lock: threading.RLock) -> Iterator[None]:
    with lock:
        yield
