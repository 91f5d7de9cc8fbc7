"""Retell's call endpoints, declared as data, and their handlers."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from sandbox.calls.created import new_call, placing_agent, require_e164
from sandbox.calls.model import Agent, Call
from sandbox.dialect.vendor import Context, Reply, Route
from sandbox.errors import CallNotFound, InvalidRequest
from sandbox.store.store import Order, SortKey
from sandbox.vendors.retell.filters import Predicate, v2_predicate, v3_predicate
from sandbox.vendors.retell.idempotency import (
    IDEMPOTENCY_KEY,
    idempotency_record,
    idempotent_call,
)
from sandbox.vendors.retell.live_routes import CONFLICT, LIVE_ROUTES
from sandbox.vendors.retell.render import agent_id, call_id, render_call
from sandbox.vendors.retell.storage import storage_overrides

_ORDER: Mapping[str, Order] = {"descending": "desc", "ascending": "asc"}


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


def _items(
    context: Context, order: Order, after: SortKey | None, matches: Predicate, transcripts: bool
) -> Iterator[tuple[Call, dict[str, Any]]]:
    for call in context.sandbox.store.calls(context.tenant.id, order=order, after=after):
        item = render_call(call, transcripts=transcripts)
        if matches(call, item):
            yield call, item


def _whole(body: Mapping[str, Any], name: str, default: int) -> int:
    """An integer field: JSON Schema's integers include 5.0, which Node reads as 5."""
    return int(body.get(name, default))


def list_calls_v3(context: Context) -> Reply:
    body = context.body
    order = _ORDER[body.get("sort_order", "descending")]
    limit = _whole(body, "limit", 50)
    matches = v3_predicate(body.get("filter_criteria", {}))
    after = _cursor(context, body["pagination_key"]) if "pagination_key" in body else None
    found = _items(context, order, after, matches, transcripts=False)
    # A skip past any list's end is an empty page (islice takes nothing above sys.maxsize).
    skip = min(_whole(body, "skip", 0), sys.maxsize - limit - 1)
    page = list(itertools.islice(found, skip, skip + limit + 1))
    has_more = len(page) > limit
    page = page[:limit]
    response: dict[str, Any] = {"items": [item for _, item in page], "has_more": has_more}
    if has_more:
        response["pagination_key"] = call_id(page[-1][0])
    if body.get("include_total", False):
        response["total"] = sum(1 for _ in _items(context, order, None, matches, False))
    return Reply(200, response, "retell/list-v3.json")


def list_calls_v2(context: Context) -> Reply:
    body = context.body
    order = _ORDER[body.get("sort_order", "descending")]
    after = _cursor(context, body["pagination_key"]) if "pagination_key" in body else None
    matches = v2_predicate(body.get("filter_criteria", {}))
    page = itertools.islice(_items(context, order, after, matches, True), _whole(body, "limit", 50))
    return Reply(200, [item for _, item in page], "retell/list-v2.json")


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
    ),
    Route(
        "POST",
        "/v2/list-calls",
        "list-calls-v2",
        list_calls_v2,
        "retell/list-calls-v2.request.json",
        response_schema="retell/list-v2.json",
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
