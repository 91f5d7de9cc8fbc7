"""Journal entries written out when first read: numbered when recorded, written once, in
order with the entries recorded whole, and forgotten by a tenant's reset like any other."""

from __future__ import annotations

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
    def __init__(self, tenant: str, route: str = "get-call") -> None:
        self.tenant, self.route, self.calls = tenant, route, 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return _entry(self.tenant, self.route)


def test_entries_are_written_when_read_and_only_once() -> None:
    journal = Journal()
    writers = [Writer("a"), Writer("b")]
    journal.record_later("a", writers[0])
    journal.record(_entry("c", "list-calls"))
    journal.record_later("b", writers[1])
    assert [w.calls for w in writers] == [0, 0]
    entries = journal.entries()
    assert [(e["seq"], e["tenant"]) for e in entries] == [(1, "a"), (2, "c"), (3, "b")]
    assert journal.entries() == entries
    assert journal.entries(JournalQuery(route="get-call")) == [entries[0], entries[2]]
    assert [w.calls for w in writers] == [1, 1]


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
