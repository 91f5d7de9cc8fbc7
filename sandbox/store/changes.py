"""What clients change, one change at a time, as data.

The in-memory backend makes every write it keeps one of these changes and applies it; with
`--state FILE` each change is first handed to a `Recorder`, which writes it to the change log
and makes it durable before the backend applies it, so before the request that made it is
answered. Replaying the same changes in the same order onto the state they followed gives
the same state: that is how a start after a crash gets back what was acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeAlias

from sandbox.calls.model import Call


@dataclass(frozen=True, slots=True)
class Created:
    """A created call stored (made, or changed later: it keeps its creation number)."""

    tenant: str
    sequence: int
    counter: int  # the tenant's creation counter when it was stored
    call: Call


@dataclass(frozen=True, slots=True)
class Patched:
    """A changed copy of a generated or pinned call."""

    tenant: str
    call: Call


@dataclass(frozen=True, slots=True)
class Deleted:
    tenant: str
    call_id: str


@dataclass(frozen=True, slots=True)
class Reset:
    """Every change of one tenant dropped, or of every tenant (None)."""

    tenant: str | None


@dataclass(frozen=True, slots=True)
class ClockAdvanced:
    ms: int


@dataclass(frozen=True, slots=True)
class ClockReset:
    """The clock back at the fixtures' reference instant."""


Change: TypeAlias = Created | Patched | Deleted | Reset | ClockAdvanced | ClockReset


class Recorder(Protocol):
    """Where a backend's changes go before they are applied (`--state`: the change log)."""

    def record(self, change: Change) -> None:
        """Make `change` durable; raises (a `ServerError`: nothing is applied) when it cannot."""
        ...

    def settle(self) -> None:
        """The change was applied: a moment to fold a long log into a snapshot."""
        ...
