"""Where the test double's records live: the fault rules, the rate limits and the webhook
subscriptions, what counts their use, and the answers to questions about what each process
keeps (the journal, webhook attempts).

A book of records (`Book`) is the same object in every process: it holds its records by key
as text and rebuilds what it needs from them. Its records change only through `Records`, which
applies a change here (`LocalRecords`, one process) or commits it to the shared store and
applies it in every process that follows it (`sandbox.store.redis`), before answering. The
counts behind "the first N requests", "every Nth" and rate-limit windows are kept where the
records are, so replicas count together. Questions (`gather`) are asked of every process that
shares the store, each answering from what it keeps, so a journal read on one replica shows
the requests every replica served.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread


class Book(Protocol):
    def load(self, records: Mapping[str, str]) -> None:
        """Replace every record (what the shared store holds, read anew)."""
        ...

    def put(self, key: str, value: str) -> None: ...

    def drop(self, keys: Sequence[str] | None) -> None:
        """Remove the records of `keys` (None: every record)."""
        ...


@dataclass(frozen=True, slots=True)
class Window:
    """A fixed counting window: at most `limit` requests per `per_seconds` under `key`,
    opened by the first request it counts."""

    key: str
    limit: int
    per_seconds: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """The window of `index` (in the order asked) is full; it reopens in `retry_after` s."""

    index: int
    retry_after: int


Answerer = Callable[[Mapping[str, Any]], Any]


class Records(Protocol):
    def follow(self, kind: str, book: Book) -> None:
        """`book` keeps the records of `kind` in this process from now on."""
        ...

    async def next_id(self, kind: str) -> int:
        """A new record number of `kind`: 1, 2, ... again after every record was dropped."""
        ...

    async def put(self, kind: str, key: str, value: str) -> None: ...

    async def drop(self, kind: str, keys: Sequence[str] | None) -> None:
        """Remove records (None: every one of `kind`, and numbers start again at 1)."""
        ...

    async def bump(self, name: str, field: str) -> int:
        """Add one to a count; answer the new value."""
        ...

    async def counts(self, names: Sequence[str]) -> list[dict[str, int]]: ...

    async def forget(self, names: Sequence[str]) -> None:
        """Drop counts and windows by name."""
        ...

    async def windows(self, windows: Sequence[Window]) -> Refusal | None:
        """Count one request in every window, unless one of them is full (then in none)."""
        ...

    def answer(self, question: str, answerer: Answerer, *, off_loop: bool = False) -> None:
        """How this process answers `question` (its own share of the answer); `off_loop`:
        on a worker thread, for work that grows with what the process keeps (the journal)."""
        ...

    async def gather(self, question: str, args: Mapping[str, Any]) -> list[Any]:
        """Every process's answer to `question` (this process's only, when none shares)."""
        ...


class LocalRecords:
    """One process's records: applied at once, counted in memory."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._books: dict[str, Book] = {}
        self._next: dict[str, int] = {}
        self._counts: dict[str, dict[str, int]] = {}
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (opened at, count)
        self._answerers: dict[str, tuple[Answerer, bool]] = {}
        self._lock = threading.Lock()  # (the in-process test client serves from threads)

    def follow(self, kind: str, book: Book) -> None:
        self._books[kind] = book

    async def next_id(self, kind: str) -> int:
        number = self._next.get(kind, 0) + 1
        self._next[kind] = number
        return number

    async def put(self, kind: str, key: str, value: str) -> None:
        self._books[kind].put(key, value)

    async def drop(self, kind: str, keys: Sequence[str] | None) -> None:
        if keys is None:
            self._next.pop(kind, None)
        self._books[kind].drop(keys)

    async def bump(self, name: str, field: str) -> int:
        with self._lock:
            counts = self._counts.setdefault(name, {})
            counts[field] = counts.get(field, 0) + 1
            return counts[field]

    async def counts(self, names: Sequence[str]) -> list[dict[str, int]]:
        return [dict(self._counts.get(name, {})) for name in names]

    async def forget(self, names: Sequence[str]) -> None:
        for name in names:
            self._counts.pop(name, None)
            self._windows.pop(name, None)

    async def windows(self, windows: Sequence[Window]) -> Refusal | None:
        now = self._now()
        opened: dict[str, tuple[float, int]] = {}
        with self._lock:
            for index, window in enumerate(windows):
                start, count = self._windows.get(window.key, (now, 0))
                if now >= start + window.per_seconds:
                    start, count = now, 0
                if count >= window.limit:
                    return Refusal(index, max(1, math.ceil(start + window.per_seconds - now)))
                opened[window.key] = (start, count + 1)
            self._windows.update(opened)
        return None

    def answer(self, question: str, answerer: Answerer, *, off_loop: bool = False) -> None:
        self._answerers[question] = (answerer, off_loop)

    async def gather(self, question: str, args: Mapping[str, Any]) -> list[Any]:
        answerer, off_loop = self._answerers[question]
        if off_loop:
            return [await anyio.to_thread.run_sync(answerer, args)]
        return [answerer(args)]
