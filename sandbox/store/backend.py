"""Where the store keeps what clients changed: in this process, or in a shared Redis server.

The generated population and the pinned calls are the same in every process (a pure function
of the fixtures and the seed), so they never leave it. What clients made through the API
does: the calls they created (each with its creation number), the copies they patched, the
ids they deleted, the per-tenant creation counter, the clock's offset, and how far lifecycle
events were published. A `Backend` holds exactly that; `Store` does everything else.

`sandbox.store.opening.open_backend(url)` chooses one.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from sandbox.calls.clock import ClockState
from sandbox.calls.model import Call
from sandbox.store.records import Records


class StoreUnavailable(ValueError):
    """The store cannot be used: a bad URL, an unreachable server, a missing client package."""


class Conflict(Exception):
    """Another worker or replica changed the tenant after this transaction read it: nothing
    was written; the transaction's reads are brought up to date, and it is run again."""


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
    counter: int = 0  # the last creation number given out
    # Bumped by every change to the tenant: what was computed from the overlay (a sorted
    # index for lists) stays good while the revision does.
    revision: int = 0

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
    """The overlays of every tenant. Reads are local and never wait on a socket. A
    read-modify-write of a tenant (a create, an update, a vendor handler that merges fields)
    runs inside `mutation(tenant)`; a request makes its changes inside `transaction(tenant)`,
    which the in-memory store holds as a lock and the shared store commits atomically, once,
    when the request's handler is done (or not at all: it raises `Conflict`, and the request
    is run again on the newer state)."""

    url: str  # what `--store` said, for messages (no password: redis:// URLs are shown masked)

    @property
    def records(self) -> Records:
        """The test double's records: fault rules, rate limits, webhooks, and questions to
        every process (the journal)."""
        ...

    @property
    def live(self) -> bool:
        """Whether what this process reads is the store's state now (the shared store: while
        its server answers). When not, requests are answered 503 rather than from stale data."""
        ...

    async def start(self) -> None:
        """Be ready to answer on the running event loop (the shared store: subscribe to
        changes and read the state); raises `StoreDown` when the server does not answer."""
        ...

    async def ensure(self) -> None:
        """Start if not started on this event loop; raise `StoreDown` unless `live`."""
        ...

    async def stop(self) -> None: ...

    async def catch_up(self) -> None:
        """Wait until this process has seen every change committed anywhere so far (one round
        trip to a shared store; nothing to do for the in-memory one)."""
        ...

    def entry(self, tenant: str, call_id: str) -> Entry: ...

    def overlay(self, tenant: str) -> Overlay:
        """The tenant's overlays: the live object, read-only, good until the next `await`."""
        ...

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

    async def reset(self, tenant: str | None = None) -> None:
        """Drop the changes of one tenant, or of every tenant (None)."""
        ...

    def mutation(self, tenant: str) -> AbstractContextManager[None]:
        """Read, change and write one tenant (re-entrant). The in-memory store holds the
        tenant's lock; the shared store joins the request's `transaction`."""
        ...

    def transaction(self, tenant: str) -> AbstractAsyncContextManager[None]:
        """A request's changes to one tenant, made whole or not at all (see the class)."""
        ...

    def clock_state(self, *, timed: bool) -> ClockState:
        """Where the clock keeps its offset (`timed`: and when it was reset, for a time scale)."""
        ...

    async def move_clock(self, ms: int) -> None:
        """Advance the clock by `ms` (every worker and replica sees it)."""
        ...

    async def reset_clock(self) -> None: ...

    def start_events(self, at: int) -> None:
        """Lifecycle events are published from `at` on, unless another worker already said so."""
        ...

    async def claim_events(self, until: int) -> int:
        """Move the published-events mark on to `until` and answer where it was, so that of
        several workers only one publishes each lifecycle event."""
        ...

    async def restart_events(self, at: int) -> None:
        """Lifecycle events are published from `at` on (after a reset)."""
        ...

    def close(self) -> None: ...


T = TypeVar("T")


def finish(step: Coroutine[Any, Any, T]) -> T:
    """Run, without an event loop, a coroutine of a backend that never waits (the in-memory
    one: its async methods are async only to share the shared store's signature). A coroutine
    that does wait (the shared store's) is one to `await`: this says so."""
    try:
        step.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    step.close()
    raise RuntimeError(
        "the shared store answers over the network: await this from the event loop "
        "(a control endpoint, or a request) instead"
    )
