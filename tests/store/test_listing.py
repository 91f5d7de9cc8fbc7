"""Lists in proportion to the page: `Store.plans` walks the tenant lazily (a page generates
the calls on it and one more), in the order a full sort would give, with creates, updates,
deletes and pagination keys; `Store.count` is what a walk would count; the kept index of
created calls grows with creates, is made anew after a reset, and is kept for a bounded number
of tenants."""

from __future__ import annotations

import itertools

import pytest
from starlette.testclient import TestClient

from sandbox.calls.model import Call
from sandbox.dialect.vendor import VendorSandbox
from sandbox.store.backend import Overlay
from sandbox.store.listing import MadeIndexes, SortKey, sort_key
from sandbox.store.store import Order, Store

TENANT = "acme"


def _create(client: TestClient, state: VendorSandbox, count: int) -> list[str]:
    auth = state.credentials("retell")
    made = []
    for n in range(count):
        answer = client.post(
            "/retell/v2/create-phone-call",
            headers=auth,
            json={"from_number": "+14155550142", "to_number": f"+1212555{n:04d}"},
        )
        assert answer.status_code == 201
        made.append(answer.json()["call_id"])
        if n % 3 == 0:
            state.clock.advance(1_000)  # some in the same millisecond, some not
    return made


def _everything(store: Store, tenant: str, order: Order) -> list[tuple[SortKey, Call]]:
    """The tenant's calls by brute force: every one made, sorted whole."""
    overlay = store.backend.overlay(tenant)
    found: list[tuple[SortKey, Call]] = []
    for index in range(store.generator.size(tenant)):
        call = store.generator.plan(tenant, index)
        found.append((sort_key(call), call))
    found += [(sort_key(c), c) for c in store._pinned.get(tenant, {}).values()]
    found += [(sort_key(c, seq), c) for seq, c in overlay.created.values()]
    found = [(k, overlay.patched.get(c.id, c)) for k, c in found if c.id not in overlay.deleted]
    return sorted(found, key=lambda pair: pair[0], reverse=order == "desc")


def _changed(client: TestClient, state: VendorSandbox) -> list[str]:
    made = _create(client, state, 12)
    auth = state.credentials("retell")
    listed = client.post("/retell/v3/list-calls", headers=auth, json={"limit": 40}).json()
    generated = [i["call_id"] for i in listed["items"] if i["call_id"] not in made]
    client.delete(f"/retell/v2/delete-call/{made[4]}", headers=auth)
    client.delete(f"/retell/v2/delete-call/{generated[2]}", headers=auth)
    client.patch(f"/retell/v2/update-call/{generated[5]}", headers=auth, json={"metadata": {}})
    client.patch(f"/retell/v2/update-call/{made[7]}", headers=auth, json={"metadata": {"x": 1}})
    return made


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_plans_come_in_the_order_a_whole_sort_gives(
    client: TestClient, state: VendorSandbox, order: Order
) -> None:
    _changed(client, state)
    store = state.store
    expected = _everything(store, TENANT, order)
    assert [c.id for c in store.plans(TENANT, order=order)] == [c.id for _, c in expected]
    assert list(store.plans(TENANT, order=order)) == [c for _, c in expected]
    # After any key, the rest; the key of a deleted call still places the page.
    for at in (0, 1, 11, 12, 13, 250, len(expected) - 2, len(expected) - 1):
        after = expected[at][0]
        rest = [c.id for c in store.plans(TENANT, order=order, after=after)]
        assert rest == [c.id for _, c in expected[at + 1 :]], at
    overlay = store.backend.overlay(TENANT)
    gone = next(iter(overlay.deleted))
    key = store.key_of(TENANT, gone)
    assert key is not None
    rest = [c.id for c in store.plans(TENANT, order=order, after=key)]
    place = [k for k, _ in expected]
    later = [k for k in place if (k < key if order == "desc" else k > key)]
    assert rest == [c.id for k, c in expected if k in later]


def test_count_is_what_a_walk_counts(client: TestClient, state: VendorSandbox) -> None:
    assert state.store.count(TENANT) == sum(1 for _ in state.store.plans(TENANT))
    _changed(client, state)
    assert state.store.count(TENANT) == sum(1 for _ in state.store.plans(TENANT))
    assert state.store.count("globex") == sum(1 for _ in state.store.plans("globex"))


def test_a_page_generates_only_the_calls_on_it(
    client: TestClient, state: VendorSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _create(client, state, 30)
    store = state.store
    asked: list[int] = []
    plan = store.generator.plan

    def counting(tenant: str, index: int) -> Call:
        asked.append(index)
        return plan(tenant, index)

    monkeypatch.setattr(store.generator, "plan", counting)
    page = list(itertools.islice(store.plans(TENANT), 40))  # 30 created, then 10 generated
    assert len(page) == 40
    assert sorted(asked) == list(range(10))
    asked.clear()
    oldest = list(itertools.islice(store.plans(TENANT, order="asc"), 5))
    generated = [store.generator.ids.decode(c.id) for c in oldest]
    assert asked == [found[1] for found in generated if found is not None]
    asked.clear()
    # `calls` (the calls as they are now) is as lazy.
    list(itertools.islice(store.calls(TENANT, after=store.key_of(TENANT, page[-1].id)), 3))
    assert sorted(asked) == [10, 11, 12]


def test_the_index_grows_with_creates_and_is_made_anew_after_a_reset(
    client: TestClient,
    state: VendorSandbox,
) -> None:
    store = state.store
    _create(client, state, 5)
    first = store._made.keys(TENANT, store.backend.overlay(TENANT), store._pinned[TENANT])
    _create(client, state, 3)
    overlay = store.backend.overlay(TENANT)
    grown = store._made.keys(TENANT, overlay, store._pinned[TENANT])
    assert len(grown) == len(first) + 3
    assert grown == sorted(grown)
    assert [k[2] for k in grown[-3:]] == list(overlay.created)[-3:]
    # The list answered before is left as it was (a listing may still be reading it).
    assert len(first) == len(grown) - 3
    client.post("/_sandbox/reset")
    assert store._made.keys(TENANT, store.backend.overlay(TENANT), store._pinned[TENANT]) == [
        sort_key(c) for c in sorted(store._pinned[TENANT].values(), key=sort_key)
    ]
    _create(client, state, 2)
    overlay = store.backend.overlay(TENANT)
    newest = [c.id for c in itertools.islice(store.plans(TENANT), 2)]
    assert newest == list(reversed(overlay.created))


def _overlay(*calls: tuple[int, Call], revision: int) -> Overlay:
    made = {c.id: (seq, c) for seq, c in calls}
    return Overlay(created=made, revision=revision)  # type: ignore[call-arg,unused-ignore]


def test_the_index_is_reused_by_revision_and_kept_for_so_many_tenants(
    client: TestClient,
    state: VendorSandbox,
) -> None:
    if "revision" not in Overlay.__dataclass_fields__:
        pytest.skip("this store's overlays carry no revision: indexes are made on every list")
    calls = [state.store.generator.plan(TENANT, i) for i in range(4)]
    indexes = MadeIndexes(max_tenants=2)
    live = _overlay((1, calls[0]), (2, calls[1]), revision=7)
    keys = indexes.keys("a", live, {})
    assert keys == sorted([sort_key(calls[0], 1), sort_key(calls[1], 2)])
    # A copy of the same state (a transaction's) is answered the same index.
    copy = _overlay((1, calls[0]), (2, calls[1]), revision=7)
    assert indexes.keys("a", copy, {}) is keys
    # The live overlay grew: the new key goes in its place.
    live.created[calls[2].id] = (3, calls[2])
    live.revision = 8  # type: ignore[attr-defined,unused-ignore]
    grown = indexes.keys("a", live, {})
    assert grown == sorted([*keys, sort_key(calls[2], 3)])
    # A copy with calls of its own (a transaction that created one) is indexed anew.
    mine = _overlay((1, calls[0]), (2, calls[1]), (3, calls[2]), (4, calls[3]), revision=8)
    assert len(indexes.keys("a", mine, {})) == 4
    indexes.keys("b", live, {})
    indexes.keys("c", live, {})
    assert len(indexes) == 2
