"""What is kept of a call's rendering while the call stays as it was: bounded by count and by
bytes, the least recently used going first.

A rendering (a lookup's answer, a list item) depends on the call's plan and on where the clock
stands in its life (`lifecycle.phase`): kept under a key with the plan and the phase it was made
from, it is good for a later request only while the tenant's plan for that id is still the same
(an update or a delete makes a new one, or none) and the clock is still in the same phase.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from sandbox.calls.lifecycle import Phase
from sandbox.calls.model import Call


class Stamped(Protocol):
    """A rendering, with the plan and phase it was made from."""

    @property
    def plan(self) -> Call: ...

    @property
    def phase(self) -> Phase: ...


K = TypeVar("K", bound=Hashable)
V = TypeVar("V", bound=Stamped)


class PlanKept(Generic[K, V]):
    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._kept: OrderedDict[K, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def _size(self, value: V) -> int:
        """The bytes `value` counts against `max_bytes`."""
        raise NotImplementedError

    def _get(self, key: K, plan: Call, stage: Phase) -> V | None:
        """What is kept under `key`, if it was made from this plan in this phase."""
        with self._lock:
            kept = self._kept.get(key)
            # The same plan object, or (a plan generated again, once evicted) an equal one.
            if kept is None or kept.phase != stage or (kept.plan is not plan and kept.plan != plan):
                return None
            self._kept.move_to_end(key)
            return kept

    def _put(self, key: K, value: V) -> None:
        size = self._size(value)
        if size > self.max_bytes:
            return
        with self._lock:
            previous = self._kept.pop(key, None)
            if previous is not None:
                self._bytes -= self._size(previous)
            self._kept[key] = value
            self._bytes += size
            while len(self._kept) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= self._size(dropped)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def size(self) -> int:
        """Bytes of what is kept."""
        return self._bytes
