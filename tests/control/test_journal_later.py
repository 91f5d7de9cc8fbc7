"""Journal entries written out when read: numbered when recorded, written only for the entries
a read asks for, in order with the entries recorded whole, and forgotten by a tenant's reset
like any other."""

from __future__ import annotations

import time
from typing import Any

from sandbox.store.journal import Journal, JournalQuery


def _entry(tenant: str, route: str = "get-call") -> dict[str, Any]:
    return {
        "kind": "request",
        "at": "2026-03-20T12:00:00.000Z",
        "at_ms": 0,
        "vendor": "retell",
        "route": route,
        "tenant": tenant,
    }


class Writer:
    kind = "request"
    vendor = "retell"
    at_ms = 0

    def __init__(self, tenant: str, route: str = "get-call", size: int = 300) -> None:
        self.tenant: str | None = tenant
        self.route: str | None = route
        self.size, self.calls = size, 0
        self._entry = _entry(tenant, route)

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return self._entry


def test_entries_are_written_when_read_and_only_those_asked_for() -> None:
    journal = Journal()
    writers = [Writer("a"), Writer("b")]
    journal.record_later("a", writers[0])
    journal.record(_entry("c", "list-calls"))
    journal.record_later("b", writers[1])
    assert [w.calls for w in writers] == [0, 0]
    entries = journal.entries()
    assert [(e["seq"], e["tenant"]) for e in entries] == [(1, "a"), (2, "c"), (3, "b")]
    assert [w.calls for w in writers] == [1, 1]
    assert journal.entries(JournalQuery(route="get-call", limit=1)) == [entries[2]]
    assert journal.entries(JournalQuery(tenant="c")) == [entries[1]]
    assert [w.calls for w in writers] == [1, 2]  # (the filters look at what was kept)


def test_a_tenant_s_reset_forgets_its_entries_written_or_not() -> None:
    journal = Journal()
    journal.record_later("a", Writer("a"))
    journal.record_later("b", Writer("b"))
    assert len(journal.entries()) == 2
    journal.record_later("a", Writer("a"))
    journal.reset("a")
    assert [(e["seq"], e["tenant"]) for e in journal.entries()] == [(2, "b")]


def test_the_ring_stays_bounded() -> None:
    journal = Journal(capacity=3)
    for n in range(5):
        journal.record_later(str(n), Writer(str(n)))
    assert [e["seq"] for e in journal.entries()] == [3, 4, 5]
    assert journal.evicted == 2


def test_timed_journals_of_two_processes_merge_in_the_order_of_recording() -> None:
    """On a shared store each process numbers its entries by the wall clock: entries recorded
    in turn by two processes, a fraction of a millisecond apart (as a request answered by one
    replica and the next one, sent to the other), sort in the order they were recorded."""
    first, second = Journal(timed=True), Journal(timed=True)
    for n in range(20):
        journal = (first, second)[n % 2]
        journal.record({**_entry("t"), "route": f"r{n}"})
        time.sleep(0.0002)
    merged = sorted(first.entries() + second.entries(), key=lambda e: e["seq"])
    assert [e["route"] for e in merged] == [f"r{n}" for n in range(20)]
