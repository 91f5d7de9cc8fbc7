"""List pages joined from kept items (sandbox.http.pages): the joined bytes are the bytes the
whole body encodes to; an item is rendered once while its plan and phase stay the same, and
again when either moves; a page with anything unusual is left to the pipeline whole."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.calls.lifecycle import observe, phase
from sandbox.calls.model import Call
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http import pages
from sandbox.http.encoding import Encoded, encode
from sandbox.http.pages import Item, Items
from sandbox.vendors.retell import routes as retell_routes
from sandbox.vendors.retell.render import render_call

TENANT = "acme"
V3 = "retell/list-v3.json"


def _v3(call: Call) -> dict[str, Any]:
    return render_call(call, transcripts=False)


def _items(state: VendorSandbox, count: int) -> list[Item]:
    kept = Items()
    now = state.clock.now_ms()
    return [
        kept.item("v3", TENANT, state.store.generator.plan(TENANT, i), now, _v3)
        for i in range(count)
    ]


def _build(items: list[Any]) -> dict[str, Any]:
    return {"items": items, "has_more": True, "pagination_key": "call_x", "total": 9}


def test_a_joined_page_is_the_bytes_of_the_whole_body(
    client: TestClient,
    state: VendorSandbox,
) -> None:
    items = _items(state, 12)
    reply = pages.page(state.schemas, V3, items, _build)
    assert reply.schema is None
    assert isinstance(reply.body, Encoded)
    assert encode(reply.body) == encode(_build([i.body for i in items]))
    assert all(V3 in i.checked for i in items)
    empty = pages.page(state.schemas, V3, [], _build)
    assert encode(empty.body) == encode(_build([]))


def test_an_item_that_breaks_the_schema_leaves_the_page_to_the_pipeline(
    client: TestClient,
    state: VendorSandbox,
) -> None:
    items = _items(state, 3)
    plan = state.store.generator.plan(TENANT, 5)
    broken = Item.rendered(plan, phase(plan, state.clock.now_ms()), {"call_id": 5})
    reply = pages.page(state.schemas, V3, [*items, broken], _build)
    assert reply.schema == V3
    assert reply.body == _build([*(i.body for i in items), {"call_id": 5}])
    assert V3 not in broken.checked


def test_an_envelope_orjson_spells_otherwise_is_left_to_the_pipeline(
    client: TestClient,
    state: VendorSandbox,
) -> None:
    items = _items(state, 2)

    def build(found: list[Any]) -> list[Any]:
        return [*found, 1e-05]  # (not a valid page: the whole body goes to the pipeline)

    reply = pages.page(state.schemas, "retell/list-v2.json", items, build)
    assert reply.schema == "retell/list-v2.json"
    assert reply.body == build([i.body for i in items])


def test_items_are_kept_until_their_plan_or_phase_moves(
    client: TestClient,
    state: VendorSandbox,
) -> None:
    kept = Items()
    rendered: list[str] = []

    def render(call: Call) -> dict[str, Any]:
        rendered.append(call.id)
        return _v3(call)

    now = state.clock.now_ms()
    live = state.store.generator.plan(TENANT, 0)  # the newest generated call is in progress
    first = kept.item("v3", TENANT, live, now, render)
    again = kept.item("v3", TENANT, live, now, render)
    assert again.encoded is first.encoded
    assert again.checked is first.checked
    assert again.body == first.body  # (read back from the bytes: what is kept holds no body)
    assert kept.peek("v3", TENANT, live, now) is again
    assert kept.peek("v2", TENANT, live, now) is None
    assert len(rendered) == 1
    later = now + 3_600_000  # an hour on: the call has ended, its phase moved
    assert phase(live, later) != phase(live, now)
    assert kept.peek("v3", TENANT, live, later) is None
    moved = kept.item("v3", TENANT, live, later, render)
    assert moved is not first
    assert moved.body != first.body
    changed = replace(live, metadata={"changed": True})  # (an update makes a new plan)
    assert kept.item("v3", TENANT, changed, later, render).body["metadata"] == {"changed": True}
    assert len(rendered) == 3


def test_items_are_bounded_in_count_and_bytes(client: TestClient, state: VendorSandbox) -> None:
    now = state.clock.now_ms()
    plans = [state.store.generator.plan(TENANT, i) for i in range(10)]
    few = Items(max_items=4)
    for plan in plans:
        few.item("v3", TENANT, plan, now, _v3)
    assert len(few) == 4
    assert few.peek("v3", TENANT, plans[-1], now) is not None
    assert few.peek("v3", TENANT, plans[0], now) is None
    small = Items(max_bytes=5_000)
    for plan in plans:
        small.item("v3", TENANT, plan, now, _v3)
    assert 0 < small.size <= 5_000


def test_a_page_renders_each_call_once(
    client: TestClient, state: VendorSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = state.credentials("retell")
    rendered: list[str] = []

    def counting(call: Call, *, transcripts: bool = True) -> dict[str, Any]:
        rendered.append(call.id)
        return render_call(call, transcripts=transcripts)

    monkeypatch.setattr(retell_routes, "render_call", counting)
    first = client.post("/retell/v3/list-calls", headers=auth, json={"limit": 100})
    assert len(rendered) == 101  # the page, and the next call (has_more)
    again = client.post("/retell/v3/list-calls", headers=auth, json={"limit": 100})
    assert len(rendered) == 101
    assert again.content == first.content
    # A skip renders no call before the page.
    client.post("/retell/v3/list-calls", headers=auth, json={"limit": 10, "skip": 300})
    assert len(rendered) == 101 + 11


def test_a_scan_keeps_what_it_renders_only_while_the_tenant_fits(
    client: TestClient,
    state: VendorSandbox,
) -> None:
    now = state.clock.now_ms()
    plans = [state.store.generator.plan(TENANT, i) for i in range(6)]
    kept = Items(max_items=8)
    assert kept.keeps_all(4)
    assert not kept.keeps_all(5)
    for plan in plans:
        assert kept.body("v3", TENANT, plan, now, _v3, keep=False) == _v3(observe(plan, now))
    assert len(kept) == 0  # a large tenant's scan evicts no page
    page = kept.item("v3", TENANT, plans[0], now, _v3)
    assert kept.body("v3", TENANT, plans[0], now, _v3, keep=False) == page.body
    kept.body("v3", TENANT, plans[1], now, _v3, keep=True)
    assert len(kept) == 2


@pytest.mark.parametrize(
    ("vendor", "method", "path", "body", "empty"),
    [
        ("zudu", "POST", "/zudu/api/calls", {"page": 2**63, "limit": 5}, ("data", "calls")),
        (
            "callab",
            "GET",
            "/callab/v1/calls/query?page=9007199254740991&per_page=100",
            None,
            ("data",),
        ),
        (
            "contactship",
            "GET",
            "/contactship/v1/calls?offset=9007199254740991&limit=100",
            None,
            ("data",),
        ),
    ],
)
def test_a_page_past_any_list_s_end_is_empty(
    client: TestClient,
    state: VendorSandbox,
    vendor: str,
    method: str,
    path: str,
    body: Any,
    empty: tuple[str, ...],
) -> None:
    """The page is taken lazily from the tenant's calls: a start beyond what `islice` can
    count (page 2**63 of Zudu's JSON body) is still an empty page, never a 500."""
    answer = client.request(method, path, headers=state.credentials(vendor), json=body)
    assert answer.status_code == 200
    found: Any = answer.json()
    for name in empty:
        found = found[name]
    assert found == []
