"""RuleBook: rules numbered from 1, removed one by one, by tenant or all (numbers start again)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.store.rulebook import RuleBook, Target


@dataclass(frozen=True)
class _Rule:
    id: int
    target: Target

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.target.as_json()}


class _Book(RuleBook[_Rule]):
    def add(self, tenant: str | None) -> dict[str, Any]:
        return self._add(lambda rule_id: _Rule(rule_id, Target(tenant=tenant)))


def test_rules_are_numbered_and_a_clear_starts_again() -> None:
    book = _Book()
    assert [book.add(t)["id"] for t in ("acme", None, "globex")] == [1, 2, 3]
    assert book.remove(2) == {"id": 2, "vendor": None, "route": None, "tenant": None}
    assert book.remove(2) is None
    assert book.clear() == 2
    assert book.rules() == []
    assert book.add(None)["id"] == 1


def test_a_tenant_reset_keeps_other_tenants_rules_and_rules_about_any_tenant() -> None:
    book = _Book()
    for tenant in ("acme", None, "globex", "acme"):
        book.add(tenant)
    book.reset("acme")
    assert [(r["id"], r["tenant"]) for r in book.rules()] == [(2, None), (3, "globex")]
    assert book.add("acme")["id"] == 5
