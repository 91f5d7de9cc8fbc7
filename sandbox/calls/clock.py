"""The sandbox's "now": the fixtures' reference instant, moved on purpose.

Virtual by default: it stands still until someone advances it (`POST /_sandbox/clock/advance`,
`sandbox.clock.advance(seconds=...)`), so the same requests give the same bytes. With a time
scale (`--time-scale 60`: a minute of calls per real second) it also moves with real time, for
a dev server whose calls should ring, talk and end on their own.

How far it was moved lives in a `ClockState`: this process's own by default, or the shared
store's (Redis), so that every worker and replica agrees on "now".
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class ClockState(Protocol):
    def read(self) -> tuple[int, float]:
        """(ms the clock was advanced by, real seconds since it was last reset)."""
        ...

    def add(self, ms: int) -> None: ...

    def reset(self) -> None: ...


class LocalClockState:
    """One process's clock state: an offset, and a monotonic anchor for the time scale."""

    def __init__(self) -> None:
        # (offset, anchor), replaced whole on a change: every request reads it, without a lock.
        self._state = (0, time.monotonic())
        self._lock = threading.Lock()  # (changes)

    def read(self) -> tuple[int, float]:
        offset, anchor = self._state
        return offset, time.monotonic() - anchor

    def add(self, ms: int) -> None:
        with self._lock:
            offset, anchor = self._state
            self._state = (offset + ms, anchor)

    def reset(self) -> None:
        with self._lock:
            self._state = (0, time.monotonic())


class Clock:
    def __init__(
        self, reference_ms: int, *, scale: float = 0.0, state: ClockState | None = None
    ) -> None:
        self._reference = reference_ms
        self._scale = scale
        self._state = state if state is not None else LocalClockState()

    @property
    def reference_ms(self) -> int:
        return self._reference

    @property
    def scale(self) -> float:
        return self._scale

    def now_ms(self) -> int:
        offset, elapsed = self._state.read()
        scaled = int(elapsed * 1000 * self._scale) if self._scale else 0
        return self._reference + offset + scaled

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._state.add(ms)

    def reset(self) -> None:
        self._state.reset()
