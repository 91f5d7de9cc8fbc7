"""ContactShip's call endpoints, declared as data, and the two read handlers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from sandbox.calls.model import Call
from sandbox.dialect.vendor import Context, Param, Reply, Route
from sandbox.errors import CallNotFound, InvalidRequest
from sandbox.http import pages, params
from sandbox.http.pages import Item, items_of
from sandbox.store.listing import window
from sandbox.store.store import Order
from sandbox.vendors.contactship import formats
from sandbox.vendors.contactship.contacts import (
    CALL_HISTORY_SCHEMA,
    CONTACT_CALLS_PARAMS,
    CONTACT_CALLS_SCHEMA,
    call_history,
    contact_calls,
)
from sandbox.vendors.contactship.create import single_contact_call, single_phone_call
from sandbox.vendors.contactship.errors import ContactNotFound
from sandbox.vendors.contactship.query import formatted, only
from sandbox.vendors.contactship.render import (
    ALL_CALL_RESULTS,
    ALL_CALL_STATUSES,
    render_call,
)
from sandbox.vendors.contactship.transcript import FLAG_NAMES, FLAG_PARAMS, Flags, read_flags

# The docs give no maximum for `limit`; the sandbox caps a page at 100 calls.
MAX_LIMIT = 100
_INSTANT = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
}
LIST_PARAMS: tuple[Param, ...] = (
    Param("limit", {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT, "default": 20}),
    Param("offset", {"type": "integer", "minimum": 0, "default": 0}),
    Param("order", {"enum": ["asc", "desc"], "default": "desc"}),
    Param("date_from", _INSTANT, description="created_at on or after (a date: its UTC day)"),
    Param("date_to", _INSTANT, description="created_at on or before (a date: its UTC day)"),
    Param("call_status", {"enum": list(ALL_CALL_STATUSES)}),
    Param("call_result", {"enum": list(ALL_CALL_RESULTS)}),
    Param("agent_id", {"type": "string", "pattern": formats.UUID}),
    Param("campaign_id", {"type": "string", "pattern": formats.UUID}),
    Param(
        "phoneNumber",
        {"type": "string", "pattern": formats.E164},
        description="the contact's number, E.164 (send + as %2B)",
    ),
    *FLAG_PARAMS,
)
LIST_NAMES = tuple(p.name for p in LIST_PARAMS)
_ORDERS: Mapping[str, Order] = {"asc": "asc", "desc": "desc"}


def get_call(context: Context) -> Reply:
    only(context.query, FLAG_NAMES)
    flags = read_flags(context.query, transcript_default=True)
    call = context.find_call(context.path["callId"])
    if call is None:
        # Unknown, malformed or another organisation's: the docs' one 404 for all three.
        raise CallNotFound(context.path["callId"])
    return Reply(200, render_call(call, flags), "contactship/call.json")


Check = Callable[[Call, Mapping[str, Any]], bool]


def _equals(field: str, wanted: str) -> Check:
    # UUIDs compare case-blind, as Postgres compares them; the enums are lowercase anyway.
    return lambda _, item: str(item[field]).lower() == wanted.lower()


def _filters(context: Context) -> list[Check]:
    query = context.query
    checks: list[Check] = []
    since = params.instant(query, "date_from")
    until = params.instant(query, "date_to", end_of_day=True)
    if since is not None:
        checks.append(lambda call, _: call.created_ms >= since)
    if until is not None:
        checks.append(lambda call, _: call.created_ms <= until)
    equal: dict[str, Any] = {
        "call_status": params.choice(query, "call_status", None, ALL_CALL_STATUSES),
        "call_result": params.choice(query, "call_result", None, ALL_CALL_RESULTS),
        "agent_id": formatted(query, "agent_id", formats.UUID),
        "campaign_id": formatted(query, "campaign_id", formats.UUID),
    }
    checks += [_equals(field, wanted) for field, wanted in equal.items() if wanted is not None]
    number = formatted(query, "phoneNumber", formats.E164)
    if number is not None:
        checks.append(lambda _, item: item["contact"]["phone_number"] == number)
    return checks


def _form(flags: Flags) -> str:
    """What a list item is rendered as, for the kept items (`sandbox.http.pages`)."""
    return f"contactship/list/{flags.transcript}/{flags.words}/{flags.tools}/{flags.format}"


def _renderer(flags: Flags) -> Callable[[Call], dict[str, Any]]:
    return lambda call: render_call(call, flags, list_item=True)


def _items(context: Context, plans: Iterable[Call], flags: Flags) -> Iterator[Item]:
    """`plans` as kept list items, lazily: a page renders the calls on it and no others."""
    tenant = context.tenant.id
    kept = items_of(context.sandbox.store)
    now = context.sandbox.clock.now_ms()
    form, render = _form(flags), _renderer(flags)
    for plan in plans:
        yield kept.item(form, tenant, plan, now, render)


def _page(items: list[Any], count: int) -> dict[str, Any]:
    return {"data": items, "count": count}


def list_calls(context: Context) -> Reply:
    query = context.query
    only(query, LIST_NAMES)
    limit = params.integer(query, "limit", 20, minimum=0, maximum=MAX_LIMIT)
    offset = params.integer(query, "offset", 0, minimum=0)
    order = _ORDERS[params.choice(query, "order", "desc", tuple(_ORDERS)) or "desc"]
    checks = _filters(context)
    flags = read_flags(query, transcript_default=False)
    store, tenant = context.sandbox.store, context.tenant.id
    plans = store.plans(tenant, order=order)
    chosen: Iterable[Call]
    if not checks:
        # `count` is the total before paging: without a filter, the tenant's size, so only
        # the page is looked at.
        count = store.count(tenant)
        chosen = window(plans, offset, limit)
    else:
        # With one, every call of the tenant is looked at once (its item's body: kept, or
        # rendered, and kept only while the tenant's calls fit among the kept items).
        kept, now = items_of(store), context.sandbox.clock.now_ms()
        form, render = _form(flags), _renderer(flags)
        keep = kept.keeps_all(store.count(tenant))
        chosen, count = [], 0
        for plan in plans:
            body = kept.body(form, tenant, plan, now, render, keep)
            if all(check(plan, body) for check in checks):
                if offset <= count < offset + limit:
                    chosen.append(plan)
                count += 1
    page = list(_items(context, chosen, flags))
    return pages.page(
        context.sandbox.schemas,
        "contactship/list.json",
        page,
        lambda items: _page(items, count),
    )


ROUTES = (
    Route(
        "GET",
        "/v1/calls/{callId}",
        "get-call",
        get_call,
        query=FLAG_PARAMS,
        response_schema="contactship/call.json",
    ),
    Route(
        "GET",
        "/v1/calls",
        "list-calls",
        list_calls,
        query=LIST_PARAMS,
        response_schema="contactship/list.json",
        scans=True,
    ),
    Route(
        "POST",
        "/v1/calls/single-phone-call",
        "single-phone-call",
        single_phone_call,
        "contactship/single-phone-call.request.json",
        status=201,
        response_schema="contactship/create-call.json",
    ),
    Route(
        "POST",
        "/v1/calls/single-contact-call",
        "single-contact-call",
        single_contact_call,
        "contactship/single-contact-call.request.json",
        status=201,
        response_schema="contactship/create-call.json",
        raises=(ContactNotFound("c1d2e3f4-a5b6-7890-cdef-123456789012"),),
    ),
    Route(
        "GET",
        "/v1/contacts/{contactId}/calls",
        "contact-calls",
        contact_calls,
        query=CONTACT_CALLS_PARAMS,
        response_schema=CONTACT_CALLS_SCHEMA,
        raises=(ContactNotFound("c1d2e3f4-a5b6-7890-cdef-123456789012"),),
        scans=True,
    ),
    Route(
        "GET",
        "/v1/contacts/{phoneNumber}/call-history",
        "contact-call-history",
        call_history,
        response_schema=CALL_HISTORY_SCHEMA,
        scans=True,
        raises=(
            InvalidRequest.one("path.phoneNumber", "must be a valid phone number"),
            ContactNotFound("+14155552678", by="phone number"),
        ),
    ),
)
