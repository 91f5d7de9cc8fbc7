"""The sandbox's "now": the fixtures' reference instant, moved on purpose.

Virtual by default: it stands still until someone advances it (`POST /_sandbox/clock/advance`,
`sandbox.clock.advance(seconds=...)`), so the same requests give the same bytes. With a time
scale (`--time-scale 60`: a minute of calls per real second) it also moves with real time, for
a dev server whose calls should ring, talk and end on their own.
"""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self, reference_ms: int, *, scale: float = 0.0) -> None:
        self._reference = reference_ms
        self._scale = scale
        self._offset = 0
        self._anchor = time.monotonic()
        self._lock = threading.Lock()

    @property
    def reference_ms(self) -> int:
        return self._reference

    @property
    def scale(self) -> float:
        return self._scale

    def now_ms(self) -> int:
        with self._lock:
            scaled = (
                int((time.monotonic() - self._anchor) * 1000 * self._scale) if self._scale else 0
            )
            return self._reference + self._offset + scaled

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += ms

    def reset(self) -> None:
        with self._lock:
            self._offset = 0
            self._anchor = time.monotonic()
