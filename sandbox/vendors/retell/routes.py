"""Retell's call endpoints, declared as data, and their handlers."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from sandbox.calls.created import new_call, placing_agent, require_e164
from sandbox.calls.lifecycle import observe
from sandbox.calls.model import Agent, Call
from sandbox.dialect.vendor import Context, Reply, Route
from sandbox.errors import CallNotFound, InvalidRequest
from sandbox.http import pages
from sandbox.http.pages import Item, items_of
from sandbox.store.listing import SortKey
from sandbox.store.store import Order
from sandbox.vendors.retell.filters import (
    Predicate,
    v2_predicate,
    v2_reads_call,
    v3_predicate,
    v3_reads_call,
)
from sandbox.vendors.retell.idempotency import (
    IDEMPOTENCY_KEY,
    idempotency_record,
    idempotent_call,
)
from sandbox.vendors.retell.live_routes import CONFLICT, LIVE_ROUTES
from sandbox.vendors.retell.render import agent_id, call_id, render_call
from sandbox.vendors.retell.storage import storage_overrides

_ORDER: Mapping[str, Order] = {"descending": "desc", "ascending": "asc"}
# A filter of a list: the call as planned, and the body of its list item.
Match = Callable[[Call, Any], bool]


def _call(context: Context) -> Call:
    found = context.find_call(context.path["call_id"])
    if found is None:
        raise CallNotFound(context.path["call_id"])
    return found


def get_call(context: Context) -> Reply:
    return Reply(200, render_call(_call(context)), "retell/call.json")


def _agent(context: Context, body: Mapping[str, Any]) -> Agent:
    return placing_agent(
        context.tenant.agents,
        wanted=body.get("override_agent_id"),
        spell=agent_id,
        from_number=body["from_number"],
    )


def create_phone_call(context: Context) -> Reply:
    body = context.body
    if not body.get("ignore_e164_validation", False):
        require_e164(body, "from_number", "to_number")
    agent = _agent(context, body)
    key = body.get("idempotency_key")
    remembered = {IDEMPOTENCY_KEY: idempotency_record(key, body)} if key is not None else None
    # Looking for the key's call and creating one hold the tenant, so that two retries sent
    # at once make one call.
    with context.sandbox.store.mutation(context.tenant.id):
        if key is not None:
            earlier = idempotent_call(context, key, body)
            if earlier is not None:
                return Reply(201, render_call(earlier), "retell/call.json")
        call = context.create_call(
            lambda cid, now: new_call(
                cid,
                now,
                tenant=context.tenant.id,
                agent=agent,
                from_number=body["from_number"],
                to_number=body["to_number"],
                metadata=body.get("metadata"),
                dynamic_variables=body.get("retell_llm_dynamic_variables"),
                vendor_overrides=remembered,
            ),
        )
    return Reply(201, render_call(call), "retell/call.json")


def update_call(context: Context) -> Reply:
    current = _call(context)
    body = context.body
    changes: dict[str, Any] = {}
    if "metadata" in body:
        changes["metadata"] = body["metadata"]
    if "data_storage_setting" in body:
        changes["vendor_overrides"] = storage_overrides(
            current, body["data_storage_setting"], "body.data_storage_setting"
        )
    # custom_attributes must name org-level attributes; the sandbox has none, and Retell
    # ignores unknown keys, so they are accepted and dropped.
    updated = context.sandbox.store.update(context.tenant.id, current.id, **changes)
    assert updated is not None
    return Reply(200, render_call(updated), "retell/call.json")


def delete_call(context: Context) -> Reply:
    current = _call(context)
    context.sandbox.store.delete(context.tenant.id, current.id)
    return Reply(204, None, None)


def _cursor(context: Context, key: str) -> SortKey:
    call = context.find_call(key)
    cursor = context.sandbox.store.key_of(context.tenant.id, call.id) if call else None
    if cursor is None:
        raise InvalidRequest.one(
            "body.pagination_key", f"{key!r} is not a pagination_key from a previous page"
        )
    return cursor


# What a list item is rendered as, for the kept items (`sandbox.http.pages`).
_V3_ITEM, _V2_ITEM = "retell/list-v3", "retell/list-v2"


def _v3_item(call: Call) -> dict[str, Any]:
    return render_call(call, transcripts=False)


def _matcher(context: Context, predicate: Predicate, reads_call: bool) -> Match:
    """The filter over item bodies; the call as it is now is made only for filters that read
    what the item does not show (tool calls, batch ids)."""
    if not reads_call:
        return predicate
    now = context.sandbox.clock.now_ms()
    return lambda plan, item: predicate(observe(plan, now), item)


def _form(v2: bool) -> tuple[str, Callable[[Call], dict[str, Any]]]:
    return (_V2_ITEM, render_call) if v2 else (_V3_ITEM, _v3_item)


def _plans(context: Context, order: Order, after: SortKey | None) -> Iterator[Call]:
    return context.sandbox.store.plans(context.tenant.id, order=order, after=after)


def _items(context: Context, plans: Iterable[Call], v2: bool) -> Iterator[tuple[Call, Item]]:
    """`plans` as kept list items, lazily: a page renders the calls on it and no others."""
    tenant = context.tenant.id
    kept = items_of(context.sandbox.store)
    now = context.sandbox.clock.now_ms()
    form, render = _form(v2)
    for plan in plans:
        yield plan, kept.item(form, tenant, plan, now, render)


def _matching(
    context: Context, order: Order, after: SortKey | None, matches: Match | None, v2: bool
) -> Iterator[Call]:
    """The calls from `after` on whose item `matches` keeps (None: every call), lazily. A scan
    keeps the items it renders only while the tenant's calls fit among the kept items
    (`Items.keeps_all`); without a filter, nothing is rendered here."""
    if matches is None:
        yield from _plans(context, order, after)
        return
    store, tenant = context.sandbox.store, context.tenant.id
    kept = items_of(store)
    now = context.sandbox.clock.now_ms()
    form, render = _form(v2)
    keep = kept.keeps_all(store.count(tenant))
    for plan in _plans(context, order, after):
        if matches(plan, kept.body(form, tenant, plan, now, render, keep)):
            yield plan


def _whole(body: Mapping[str, Any], name: str, default: int) -> int:
    """An integer field: JSON Schema's integers include 5.0, which Node reads as 5."""
    return int(body.get(name, default))


def _v3_page(
    found: list[tuple[Call, Item]], has_more: bool, total: int | None
) -> Callable[[list[Any]], dict[str, Any]]:
    def build(items: list[Any]) -> dict[str, Any]:
        response: dict[str, Any] = {"items": items, "has_more": has_more}
        if has_more:
            response["pagination_key"] = call_id(found[-1][0])
        if total is not None:
            response["total"] = total
        return response

    return build


def list_calls_v3(context: Context) -> Reply:
    body = context.body
    order = _ORDER[body.get("sort_order", "descending")]
    limit = _whole(body, "limit", 50)
    criteria = body.get("filter_criteria", {})
    matches = (
        _matcher(context, v3_predicate(criteria), v3_reads_call(criteria)) if criteria else None
    )
    after = _cursor(context, body["pagination_key"]) if "pagination_key" in body else None
    # A skip past any list's end is an empty page (islice takes nothing above sys.maxsize).
    skip = min(_whole(body, "skip", 0), sys.maxsize - limit - 1)
    found = _matching(context, order, after, matches, v2=False)
    page = list(_items(context, itertools.islice(found, skip, skip + limit + 1), v2=False))
    has_more = len(page) > limit
    page = page[:limit]
    total: int | None = None
    if body.get("include_total", False):
        if matches is None:  # (every call: the tenant's size, no scan)
            total = context.sandbox.store.count(context.tenant.id)
        else:
            total = sum(1 for _ in _matching(context, order, None, matches, v2=False))
    build = _v3_page(page, has_more, total)
    return pages.page(context.sandbox.schemas, "retell/list-v3.json", [i for _, i in page], build)


def list_calls_v2(context: Context) -> Reply:
    body = context.body
    order = _ORDER[body.get("sort_order", "descending")]
    after = _cursor(context, body["pagination_key"]) if "pagination_key" in body else None
    criteria = body.get("filter_criteria", {})
    matches = (
        _matcher(context, v2_predicate(criteria), v2_reads_call(criteria)) if criteria else None
    )
    found = _matching(context, order, after, matches, v2=True)
    chosen = _items(context, itertools.islice(found, _whole(body, "limit", 50)), v2=True)
    page = [item for _, item in chosen]
    return pages.page(context.sandbox.schemas, "retell/list-v2.json", page, lambda items: items)


ROUTES = (
    Route(
        "GET", "/v2/get-call/{call_id}", "get-call", get_call, response_schema="retell/call.json"
    ),
    Route(
        "POST",
        "/v3/list-calls",
        "list-calls",
        list_calls_v3,
        "retell/list-calls-v3.request.json",
        response_schema="retell/list-v3.json",
        reads_only=True,
        scans=True,
    ),
    Route(
        "POST",
        "/v2/list-calls",
        "list-calls-v2",
        list_calls_v2,
        "retell/list-calls-v2.request.json",
        response_schema="retell/list-v2.json",
        reads_only=True,
        scans=True,
    ),
    Route(
        "POST",
        "/v2/create-phone-call",
        "create-phone-call",
        create_phone_call,
        "retell/create-phone-call.request.json",
        status=201,
        response_schema="retell/call.json",
        raises=(CONFLICT,),
    ),
    Route(
        "PATCH",
        "/v2/update-call/{call_id}",
        "update-call",
        update_call,
        "retell/update-call.request.json",
        response_schema="retell/call.json",
    ),
    Route("DELETE", "/v2/delete-call/{call_id}", "delete-call", delete_call, status=204),
    *LIVE_ROUTES,
)
