"""The journal: every vendor request (and every webhook delivery attempt) the sandbox handled,
in a bounded ring, newest last.

Entries are JSON-ready dicts (schemas/sandbox/journal.json) so that the control plane, the
Python handles and the assertions all read the same thing. Order is the sequence number
(`seq`), never the wall clock; `at_ms` is the sandbox's virtual clock when the request arrived.
Credentials never reach an entry (sandbox.store.redaction).

Memory is bounded whatever clients send: the ring keeps the newest CAPACITY entries and at most
BUDGET bytes of them, counted as what each entry keeps (its path, query, headers and body, and
ENTRY_BYTES for the rest); the oldest go first, counted in `evicted`. An entry keeps at most
TEXT_LIMIT bytes of its path, of its query string and of each header value (the rest is cut,
and the entry says so: `...[truncated N bytes]`), at most HEADERS_LIMIT bytes of headers in all,
and its body only up to BODY_LIMIT bytes of JSON (a larger one is kept as null).

Recording is on every request's path, reading is rare: a request's entry is kept as what it
was made of (`Later`) and written out (redacted, formatted) each time the journal is read, only
for the entries a read asks for; the filters look at what was kept, not at the written entry.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, AnyStr, Protocol

from sandbox.store.redaction import MAX_SECRET_LENGTH

CAPACITY = 10_000
BUDGET = 32 * 1024 * 1024  # bytes of kept entries
KINDS = ("request", "webhook")
BODY_LIMIT = 65_536  # bytes of JSON kept per body; larger bodies are recorded as null
TEXT_LIMIT = 4_096  # bytes of a path, of a query string, of a header value
HEADERS_LIMIT = 16_384  # bytes of one entry's headers (names and values) in all
ENTRY_BYTES = 256  # what an entry's other fields take, counted against the budget
# Kept past a limit, so that a credential the limit cuts through is still hidden whole (it is
# hidden first, then the text is cut).
MARGIN = MAX_SECRET_LENGTH
TRUNCATED = "[truncated]"  # the name under which headers past HEADERS_LIMIT are counted


def kept(text: AnyStr, limit: int = TEXT_LIMIT) -> AnyStr:
    """What an entry keeps of a text `limit` bounds (see `shown`)."""
    return text if len(text) <= limit else text[: limit + MARGIN]


def shown(text: str, size: int, limit: int = TEXT_LIMIT) -> str:
    """A kept text, once redacted, as the entry shows it: cut to `limit`, saying how much of
    the `size` bytes sent is missing."""
    if size <= limit:
        return text
    return f"{text[:limit]}...[truncated {size - limit} bytes]"


class Fields(Protocol):
    def __getitem__(self, name: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class JournalQuery:
    """Which entries to return: every given criterion must hold. `since`/`until` are virtual
    epoch ms (inclusive, exclusive); `after` a sequence number; `limit` keeps the newest."""

    vendor: str | None = None
    route: str | None = None
    tenant: str | None = None
    kind: str | None = None
    since: int | None = None
    until: int | None = None
    after: int | None = None
    limit: int | None = None

    def matches(self, entry: Fields) -> bool:
        return (
            (self.vendor is None or entry["vendor"] == self.vendor)
            and (self.route is None or entry["route"] == self.route)
            and (self.tenant is None or entry["tenant"] == self.tenant)
            and (self.kind is None or entry["kind"] == self.kind)
            and (self.since is None or entry["at_ms"] >= self.since)
            and (self.until is None or entry["at_ms"] < self.until)
            and (self.after is None or entry["seq"] > self.after)
        )


class Later(Protocol):
    """An entry still to be written out: what the filters look at, how many bytes it keeps,
    and how to write it (its kind and fields, without `seq`; the same whenever called, but
    for the credentials known then)."""

    @property
    def kind(self) -> str: ...
    @property
    def vendor(self) -> str: ...
    @property
    def route(self) -> str | None: ...
    @property
    def tenant(self) -> str | None: ...
    @property
    def at_ms(self) -> int: ...
    @property
    def size(self) -> int: ...

    def __call__(self) -> dict[str, Any]: ...


@dataclass(slots=True, eq=False)
class _Slot:
    """One place in the ring."""

    seq: int
    kind: str
    vendor: str
    route: str | None
    tenant: str | None
    at_ms: int
    size: int
    content: dict[str, Any] | Later | None  # None: forgotten (its tenant was reset)

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)


class Journal:
    def __init__(
        self, capacity: int = CAPACITY, budget: int = BUDGET, *, timed: bool = False
    ) -> None:
        self.capacity = capacity
        self.budget = budget
        # Shared by several processes (a shared store), each keeps its own entries and a read
        # merges them: numbers are the wall clock's time in microseconds, strictly rising in
        # each process, so entries of all of them sort by when they were recorded (a request
        # answered by one process and the next one, sent to another, are a round trip apart:
        # within one millisecond, often, and never within one microsecond).
        self._timed = timed
        self._slots: deque[_Slot] = deque()
        # Each tenant's slots, oldest first, so that forgetting a tenant (a reset, or open
        # tenancy evicting it) costs its own entries, not the whole ring.
        self._by_tenant: dict[str, deque[_Slot]] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self._evicted = 0
        self._live = 0  # slots not forgotten
        self._bytes = 0  # of the slots not forgotten

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one entry (its `kind` and fields, without `seq`); returns it numbered.
        Its path and header values are cut to TEXT_LIMIT."""
        kind = entry.get("kind")
        if kind not in KINDS:
            raise ValueError(f"journal entry kind {kind!r}: use one of {KINDS}")
        entry = _bounded(entry)
        size = len(json.dumps(entry, separators=(",", ":"), default=str))
        with self._lock:
            self._seq = self._next()
            numbered = {"seq": self._seq, **entry}
            self._append(
                _Slot(
                    self._seq,
                    str(kind),
                    entry.get("vendor", ""),
                    entry.get("route"),
                    entry.get("tenant"),
                    entry.get("at_ms", 0),
                    size,
                    numbered,
                )
            )
        return numbered

    def record_later(self, tenant: str | None, write: Later) -> None:
        """Append one entry now, numbered now, written out by `write()` when read."""
        with self._lock:
            self._seq = self._next()
            self._append(
                _Slot(
                    self._seq,
                    write.kind,
                    write.vendor,
                    write.route,
                    tenant,
                    write.at_ms,
                    write.size,
                    write,
                )
            )

    def _next(self) -> int:
        """(holding the lock)"""
        if self._timed:
            return max(self._seq + 1, time.time_ns() // 1000)
        return self._seq + 1

    def _append(self, slot: _Slot) -> None:
        """(holding the lock)"""
        self._slots.append(slot)
        tenant = slot.tenant
        if tenant is not None:
            mine = self._by_tenant.get(tenant)
            if mine is None:
                mine = self._by_tenant[tenant] = deque()
            mine.append(slot)
        self._live += 1
        self._bytes += slot.size
        # The newest entry stays, whatever its size (no entry is near the budget).
        while self._live > self.capacity or (self._bytes > self.budget and self._live > 1):
            self._pop_oldest()

    def _pop_oldest(self) -> None:
        oldest = self._slots.popleft()
        if oldest.content is None:  # (forgotten: already uncounted)
            return
        self._evicted += 1
        self._live -= 1
        self._bytes -= oldest.size
        if oldest.tenant is not None:
            mine = self._by_tenant[oldest.tenant]
            mine.popleft()
            if not mine:
                del self._by_tenant[oldest.tenant]

    def entries(self, query: JournalQuery | None = None) -> list[dict[str, Any]]:
        """The entries that match, oldest first, each written out now."""
        query = query or JournalQuery()
        with self._lock:
            found = [
                (s.seq, s.content)
                for s in self._slots
                if s.content is not None and query.matches(s)
            ]
        if query.limit is not None:
            found = found[-query.limit :] if query.limit else []
        # Written out without the lock (redacting is the slow part of a read): what an entry
        # holds never changes, and it was taken before any reset could forget it.
        return [_written(seq, content) for seq, content in found]

    def __len__(self) -> int:
        return self._live

    @property
    def bytes(self) -> int:
        """What the entries kept now take, counted as BUDGET counts it."""
        return self._bytes

    @property
    def evicted(self) -> int:
        """Entries dropped from the ring's far end since the last clear."""
        return self._evicted

    def clear(self) -> int:
        """Forget every entry; numbering starts again at 1, as in a fresh sandbox. Returns how
        many entries there were."""
        with self._lock:
            removed = self._live
            self._slots.clear()
            self._by_tenant.clear()
            self._seq = self._evicted = self._live = self._bytes = 0
        return removed

    def reset(self, tenant: str | None = None) -> None:
        """Forget everything, or one tenant's entries (numbering goes on)."""
        if tenant is None:
            self.clear()
            return
        with self._lock:
            for slot in self._by_tenant.pop(tenant, ()):
                slot.content = None
                self._live -= 1
                self._bytes -= slot.size
            # Forgotten slots leave the ring as it turns; when they are most of it, at once.
            if len(self._slots) > 2 * self._live + 64:
                self._slots = deque(s for s in self._slots if s.content is not None)


def _written(seq: int, content: dict[str, Any] | Later | None) -> dict[str, Any]:
    if isinstance(content, dict):
        return content
    assert content is not None
    return {"seq": seq, **content()}


def _bounded(entry: dict[str, Any]) -> dict[str, Any]:
    """A whole entry with its path and header values cut to TEXT_LIMIT (a webhook's URL and
    headers are the sandbox's own, but the URL is a client's)."""
    path = entry.get("path")
    headers = entry.get("headers")
    long_path = isinstance(path, str) and len(path) > TEXT_LIMIT
    long_headers = isinstance(headers, Mapping) and any(
        len(v) > TEXT_LIMIT for v in headers.values() if isinstance(v, str)
    )
    if not (long_path or long_headers):
        return entry
    entry = dict(entry)
    if long_path:
        entry["path"] = shown(str(path), len(str(path)))
    if long_headers:
        assert isinstance(headers, Mapping)
        entry["headers"] = {
            k: shown(v, len(v)) if isinstance(v, str) else v for k, v in headers.items()
        }
    return entry
