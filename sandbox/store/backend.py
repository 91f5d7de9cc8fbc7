"""Where the store keeps what clients changed: in this process, or in a shared Redis server.

The generated population and the pinned calls are the same in every process (a pure function
of the fixtures and the seed), so they never leave it. What clients made through the API
does: the calls they created (each with its creation number), the copies they patched, the
ids they deleted, the per-tenant creation counter, the clock's offset, and how far lifecycle
events were published. A `Backend` holds exactly that; `Store` does everything else.

`sandbox.store.opening.open_backend(url)` chooses one.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from sandbox.calls.clock import ClockState
from sandbox.calls.model import Call


class StoreUnavailable(ValueError):
    """The store cannot be used: a bad URL, an unreachable server, a missing client package."""


@dataclass(frozen=True, slots=True)
class Entry:
    """What the overlays say about one call id of one tenant."""

    deleted: bool = False
    patched: Call | None = None
    created: tuple[int, Call] | None = None  # (creation number, call)


NOTHING = Entry()


@dataclass(slots=True)
class Overlay:
    """One tenant's client-made changes: a copy, safe to read while others write."""

    created: dict[str, tuple[int, Call]] = field(default_factory=dict)
    patched: dict[str, Call] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    counter: int = 0  # the last creation number given out (kept by the in-memory store)

    def entry(self, call_id: str) -> Entry:
        deleted = call_id in self.deleted
        patched = self.patched.get(call_id)
        created = self.created.get(call_id)
        if not deleted and patched is None and created is None:
            return NOTHING
        return Entry(deleted, patched, created)

    @property
    def size(self) -> int:
        return len(self.created) + len(self.patched) + len(self.deleted)


class Backend(Protocol):
    """The overlays of every tenant. Writes are atomic one by one; a read-modify-write of a
    tenant (a create, an update, a vendor handler that merges fields) runs inside
    `mutation(tenant)`, which no other thread, worker or replica enters meanwhile."""

    url: str  # what `--store` said, for messages (no password: redis:// URLs are shown masked)

    def entry(self, tenant: str, call_id: str) -> Entry: ...

    def overlay(self, tenant: str) -> Overlay: ...

    def overlays(self) -> Mapping[str, Overlay]:
        """Every tenant that has changes, for the lifecycle events of created calls."""
        ...

    def next_sequence(self, tenant: str) -> int:
        """The tenant's next creation number, never given out twice (Redis: INCR)."""
        ...

    def release_sequence(self, tenant: str, sequence: int) -> None:
        """Give `sequence` back if it is still the last one given out (the create that took it
        was rejected), so a rejected request leaves the numbering, and so the ids, as they were."""
        ...

    def put_created(self, tenant: str, sequence: int, call: Call) -> None: ...

    def put_patched(self, tenant: str, call: Call) -> None: ...

    def put_deleted(self, tenant: str, call_id: str) -> None:
        """Mark deleted (and drop its patched copy; a created call keeps its creation number,
        which pagination keys still need)."""
        ...

    def reset(self, tenant: str | None = None) -> None:
        """Drop the changes of one tenant, or of every tenant (None)."""
        ...

    def mutation(self, tenant: str) -> AbstractContextManager[None]:
        """Hold the tenant's write lock (re-entrant within a thread)."""
        ...

    def clock_state(self, *, timed: bool) -> ClockState:
        """Where the clock keeps its offset (`timed`: and when it was reset, for a time scale)."""
        ...

    def start_events(self, at: int) -> None:
        """Lifecycle events are published from `at` on, unless another worker already said so."""
        ...

    def claim_events(self, until: int) -> int:
        """Move the published-events mark on to `until` and answer where it was, so that of
        several workers only one publishes each lifecycle event."""
        ...

    def restart_events(self, at: int) -> None:
        """Lifecycle events are published from `at` on (after a reset)."""
        ...

    def close(self) -> None: ...
