"""RuleBook: rules numbered from 1, removed one by one, by tenant or all (numbers start again),
kept as records that another process's book (sharing them) reads the same."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.store.backend import finish
from sandbox.store.records import LocalRecords
from sandbox.store.rulebook import RuleBook, Target


@dataclass(frozen=True)
class _Rule:
    id: int
    target: Target
    counter: str

    def as_json(self, counts: Mapping[str, int]) -> dict[str, Any]:
        return {"id": self.id, **self.target.as_json(), "seen": counts.get("seen", 0)}


class _Book(RuleBook[_Rule]):
    kind = "tests"

    def _build(self, rule_id: int, record: Mapping[str, Any]) -> _Rule:
        return _Rule(rule_id, Target.of(record), record["counter"])


def _add(book: _Book, tenant: str | None) -> dict[str, Any]:
    return finish(book.add({"tenant": tenant}))


def test_rules_are_numbered_and_a_clear_starts_again() -> None:
    book = _Book(LocalRecords())
    assert [_add(book, t)["id"] for t in ("acme", None, "globex")] == [1, 2, 3]
    assert finish(book.remove(2)) == {
        "id": 2,
        "vendor": None,
        "route": None,
        "tenant": None,
        "seen": 0,
    }
    assert finish(book.remove(2)) is None
    assert finish(book.clear()) == 2
    assert finish(book.rules()) == []
    assert _add(book, None)["id"] == 1


def test_a_tenant_reset_keeps_other_tenants_rules_and_rules_about_any_tenant() -> None:
    book = _Book(LocalRecords())
    for tenant in ("acme", None, "globex", "acme"):
        _add(book, tenant)
    finish(book.reset("acme"))
    assert [(r["id"], r["tenant"]) for r in finish(book.rules())] == [(2, None), (3, "globex")]
    assert _add(book, "acme")["id"] == 5


def test_counts_go_with_their_rule() -> None:
    """A rule's counts live under a name of its own: rule 1 after a clear starts from 0."""
    records = LocalRecords()
    book = _Book(records)
    rule = book.matching("retell", "get-call", "acme") or None
    assert rule is None
    _add(book, None)
    (first,) = book.matching("retell", "get-call", "acme")
    assert finish(records.bump(first.counter, "seen")) == 1
    assert finish(book.rules())[0]["seen"] == 1
    finish(book.clear())
    _add(book, None)
    (again,) = book.matching("retell", "get-call", "acme")
    assert again.id == first.id
    assert again.counter != first.counter
    assert finish(book.rules())[0]["seen"] == 0


def test_a_book_loads_what_another_process_keeps() -> None:
    records = LocalRecords()
    book = _Book(records)
    _add(book, "acme")
    _add(book, None)
    kept = {str(rule.id): _record(rule) for rule in book.matching("v", "r", "acme")}
    other = _Book(LocalRecords())
    other.load(kept)
    assert finish(other.rules()) == finish(book.rules())
    other.drop(["1"])
    assert [r["id"] for r in finish(other.rules())] == [2]
    other.drop(None)
    assert finish(other.rules()) == []


def _record(rule: _Rule) -> str:
    import json

    return json.dumps({**rule.target.as_json(), "counter": rule.counter})
