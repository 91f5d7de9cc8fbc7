"""The journal: every vendor request (and, later, every webhook delivery) the sandbox handled,
in a bounded ring, newest last.

Entries are JSON-ready dicts (schemas/sandbox/journal.json) so that the control plane, the
Python handles and the assertions all read the same thing. Order is the sequence number
(`seq`), never the wall clock; `at_ms` is the sandbox's virtual clock when the request arrived.
Credentials never reach an entry (sandbox.store.redaction).

Recording is on every request's path, reading is rare: a request's entry is kept as what it
was made of and written out (redacted, formatted) the first time the journal is read.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CAPACITY = 10_000
KINDS = ("request", "webhook")
BODY_LIMIT = 65_536  # bytes of JSON kept per body; larger bodies are recorded as null


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

    def matches(self, entry: Mapping[str, Any]) -> bool:
        return (
            (self.vendor is None or entry["vendor"] == self.vendor)
            and (self.route is None or entry["route"] == self.route)
            and (self.tenant is None or entry["tenant"] == self.tenant)
            and (self.kind is None or entry["kind"] == self.kind)
            and (self.since is None or entry["at_ms"] >= self.since)
            and (self.until is None or entry["at_ms"] < self.until)
            and (self.after is None or entry["seq"] > self.after)
        )


# An entry still to be written out: its number, its tenant, and how to write it.
_Later = tuple[int, str | None, Callable[[], dict[str, Any]]]


def _tenant(entry: dict[str, Any] | _Later) -> str | None:
    return entry[1] if isinstance(entry, tuple) else entry["tenant"]


def _written(entry: dict[str, Any] | _Later) -> dict[str, Any]:
    return {"seq": entry[0], **entry[2]()} if isinstance(entry, tuple) else entry


class Journal:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._entries: deque[dict[str, Any] | _Later] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = 0
        self._evicted = 0
        self._later = False  # some entries are still to be written out

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one entry (its `kind` and fields, without `seq`); returns it numbered."""
        if entry.get("kind") not in KINDS:
            raise ValueError(f"journal entry kind {entry.get('kind')!r}: use one of {KINDS}")
        with self._lock:
            self._seq += 1
            numbered = {"seq": self._seq, **entry}
            if len(self._entries) == self.capacity:
                self._evicted += 1
            self._entries.append(numbered)
        return numbered

    def record_later(self, tenant: str | None, write: Callable[[], dict[str, Any]]) -> None:
        """Append one entry now, numbered now, written out by `write()` when first read.
        `write` must give the same entry whenever it is called (its kind and fields,
        without `seq`)."""
        with self._lock:
            self._seq += 1
            if len(self._entries) == self.capacity:
                self._evicted += 1
            self._entries.append((self._seq, tenant, write))
            self._later = True

    def _written(self) -> list[dict[str, Any]]:
        """Every entry, written out once and for all (holding the lock)."""
        written = [_written(e) for e in self._entries]
        if self._later:
            self._entries = deque(written, maxlen=self.capacity)
            self._later = False
        return written

    def entries(self, query: JournalQuery | None = None) -> list[dict[str, Any]]:
        query = query or JournalQuery()
        with self._lock:
            found = [e for e in self._written() if query.matches(e)]
        if query.limit is not None:
            found = found[-query.limit :] if query.limit else []
        return found

    @property
    def evicted(self) -> int:
        """Entries dropped from the ring's far end since the last clear."""
        return self._evicted

    def clear(self) -> None:
        """Forget every entry; numbering starts again at 1, as in a fresh sandbox."""
        with self._lock:
            self._entries.clear()
            self._seq = 0
            self._evicted = 0

    def reset(self, tenant: str | None = None) -> None:
        """Forget everything, or one tenant's entries (numbering goes on)."""
        if tenant is None:
            self.clear()
            return
        with self._lock:
            kept = [e for e in self._entries if _tenant(e) != tenant]
            self._entries.clear()
            self._entries.extend(kept)
