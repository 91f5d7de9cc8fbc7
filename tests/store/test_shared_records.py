"""Two sandboxes on one Redis are one test double: a fault rule or a rate limit added through
one applies to requests served by the other and is counted by both, the journal read on either
shows both's requests, a webhook subscription made on one is delivered by whichever publishes
the event, once, and a reset through one forgets what both keep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.dialect.vendor import VendorSandbox

DOCS_CALL = "/retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"
RETELL_CREATE = {"from_number": "+14155550142", "to_number": "+12125550101"}


@pytest.fixture
def pair(redis_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    first = create_app(Settings(raise_on_schema_error=True, store_url=redis_url))
    second = create_app(Settings(raise_on_schema_error=True, store_url=redis_url))
    with TestClient(first) as a, TestClient(second) as b:
        assert a.post("/_sandbox/reset").status_code == 200
        yield a, b
        a.post("/_sandbox/reset")


def _keys(client: TestClient) -> dict[str, str]:
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    return state.credentials("retell")


def test_a_fault_rule_added_on_one_fires_on_the_other_counted_by_both(
    pair: tuple[TestClient, TestClient],
) -> None:
    a, b = pair
    rule = {"vendor": "retell", "fault": {"type": "status", "status": 503}, "when": {"first": 3}}
    added = a.post("/_sandbox/faults", json=rule)
    assert added.status_code == 201
    assert added.json()["id"] == 1
    statuses = [c.get(DOCS_CALL, headers=_keys(c)).status_code for c in (b, a, b, a, b)]
    # The first three matching requests, whichever sandbox served them.
    assert statuses == [503, 503, 503, 200, 200]
    for client in (a, b):
        (listed,) = client.get("/_sandbox/faults").json()["faults"]
        assert (listed["matched"], listed["applied"]) == (5, 3)
    assert b.delete("/_sandbox/faults/1").status_code == 200
    assert a.get("/_sandbox/faults").json() == {"faults": []}
    assert a.post("/_sandbox/faults", json=rule).json()["id"] == 2


def test_a_rate_limit_counts_both(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    limit = {"vendor": "retell", "limit": 3, "per_seconds": 60}
    assert b.post("/_sandbox/rate-limits", json=limit).status_code == 201
    statuses = [c.get(DOCS_CALL, headers=_keys(c)).status_code for c in (a, b, a, b)]
    assert statuses == [200, 200, 200, 429]
    refused = a.get(DOCS_CALL, headers=_keys(a))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert a.post("/_sandbox/reset").status_code == 200
    assert b.get(DOCS_CALL, headers=_keys(b)).status_code == 200


def test_the_journal_on_either_shows_both(pair: tuple[TestClient, TestClient]) -> None:
    a, b = pair
    for client in (a, b, a):
        assert client.get(DOCS_CALL, headers=_keys(client)).status_code == 200
    for client in (a, b):
        entries = client.get("/_sandbox/journal", params={"route": "get-call"}).json()["entries"]
        assert len(entries) == 3
        assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    newest = b.get("/_sandbox/journal", params={"limit": 1}).json()["entries"]
    assert len(newest) == 1
    assert b.delete("/_sandbox/journal").json() == {"deleted": 3}
    assert a.get("/_sandbox/journal").json()["entries"] == []


def test_a_subscription_is_shared_and_each_event_delivered_once(
    pair: tuple[TestClient, TestClient],
) -> None:
    a, b = pair
    put = a.put("/_sandbox/webhooks", json={"vendor": "retell", "url": "sandbox://sink"})
    assert put.status_code == 200
    listed = b.get("/_sandbox/webhooks", params={"vendor": "retell"}).json()["subscriptions"]
    assert {"url": "sandbox://sink", "source": "control"}.items() <= listed[0].items()
    made = b.post(
        "/retell/v2/create-phone-call",
        headers={**_keys(b), "Prefer": "scenario=completed"},
        json=RETELL_CREATE,
    )
    assert made.status_code == 201
    call_id = made.json()["call_id"]
    # Both move the clock on: each instant's events are published by one of them.
    assert a.post("/_sandbox/clock/advance", json={"seconds": 600}).status_code == 200
    assert b.post("/_sandbox/clock/advance", json={"seconds": 1200}).status_code == 200
    events: list[str] = []
    for client in (a, b):
        got = client.get("/_sandbox/webhooks/deliveries", params={"call_id": call_id}).json()
        events = [d["event"] for d in got["deliveries"]]
        assert events == ["call_started", "call_ended", "call_analyzed"]
    assert a.delete("/_sandbox/webhooks").json() == {"deleted": 1}
    left = b.get("/_sandbox/webhooks", params={"vendor": "retell"}).json()["subscriptions"]
    assert [s["source"] for s in left] == ["agent"] * len(left)  # (the fixtures' agents' URLs)
