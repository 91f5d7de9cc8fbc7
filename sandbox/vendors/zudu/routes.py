"""Zudu's call endpoints under /api/calls, declared as data, and their handlers.

Every answer is Zudu's envelope `{message, status: "success", error: null, data}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.calls.created import new_call, placing_agent, require_e164
from sandbox.calls.model import Agent, Call, Scenario
from sandbox.dialect.vendor import Context, Reply, Route
from sandbox.errors import CallNotFound, InvalidRequest
from sandbox.http import pages
from sandbox.http.pages import items_of
from sandbox.store.listing import window
from sandbox.vendors.zudu.envelope import success
from sandbox.vendors.zudu.listing import (
    QUERY_PARAMS,
    Facts,
    Listing,
    from_body,
    from_query,
    pagination,
    select,
)
from sandbox.vendors.zudu.render import (
    VENDOR,
    agent_id,
    call_id,
    facts,
    organization_id,
    render_call,
)
from sandbox.vendors.zudu.webcall import create_web_call

CANCELLED = "Scheduled call cancelled - converted to regular call"


def _call(context: Context, organization: str = "") -> Call:
    wanted = context.path["callId"]
    found = context.find_call(wanted)
    if found is None:
        raise CallNotFound(wanted, organization)
    return found


def get_call(context: Context) -> Reply:
    body = success("Call retrieved successfully", render_call(_call(context)))
    return Reply(200, body, "zudu/get.json")


# What a list item is rendered as, for the kept items (`sandbox.http.pages`).
_ITEM, _FACTS = "zudu/call", "zudu/facts"


def _list(context: Context, listing: Listing) -> Reply:
    store, tenant = context.sandbox.store, context.tenant.id
    kept = items_of(store)
    now = context.sandbox.clock.now_ms()
    plans = store.plans(tenant, order="asc" if listing.sort_order == "ascending" else "desc")
    start = listing.page * listing.limit
    chosen: Iterable[Call]
    if not listing.filters and listing.sort_by == "created_at":
        # The store's own order, every call: the total is the tenant's size, and only the
        # page is looked at.
        total = store.count(tenant)
        chosen = window(plans, start, listing.limit)
    else:
        keep = kept.keeps_all(store.count(tenant))

        def read(plan: Call) -> Facts:
            # The facts alone (not the whole item, whose transcript has every word), kept
            # as an item of their own while the tenant's calls fit (`Items.keeps_all`).
            found: Facts = kept.body(_FACTS, tenant, plan, now, facts, keep)
            return found

        found = select(plans, listing, read)
        total = len(found)
        chosen = found[start : start + listing.limit]
    page = [kept.item(_ITEM, tenant, plan, now, render_call) for plan in chosen]

    def build(calls: list[Any]) -> dict[str, Any]:
        data = {
            "organization_id": organization_id(tenant),
            "calls": calls,
            "pagination": pagination(listing, total),
            "returned_count": len(page),
            "sort_order": listing.sort_order,
            "sort_by": listing.sort_by,
            "applied_filters": dict(listing.filters),
        }
        return success("Calls retrieved successfully", data)

    return pages.page(context.sandbox.schemas, "zudu/list.json", page, build)


def list_calls(context: Context) -> Reply:
    return _list(context, from_body(context.body))


def list_calls_get(context: Context) -> Reply:
    return _list(context, from_query(context.query))


def _overrides(call: Call, **changes: Any) -> dict[str, Mapping[str, Any]]:
    """The call's per-vendor overrides with Zudu's own entries changed (None: removed)."""
    mine = {**call.vendor_overrides.get(VENDOR, {}), **changes}
    return {
        **call.vendor_overrides,
        VENDOR: {k: v for k, v in mine.items() if v is not None},
    }


def update_call(context: Context) -> Reply:
    current = _call(context)
    body = context.body
    changes: dict[str, Any] = {}
    if "from_number" in body:
        if current.call_type == "web_call":
            raise InvalidRequest.one("body.from_number", "a web call has no phone numbers")
        require_e164(body, "from_number")
        changes["from_number"] = body["from_number"]
    if "direction" in body:
        changes["direction"] = body["direction"].lower()
    if "metadata" in body:
        # Zudu merges metadata updates into what the call has (top-level keys replaced).
        changes["metadata"] = {**current.metadata, **body["metadata"]}
    if "call_status" in body:
        # The status a client sets is Zudu's own field; it does not move the canonical
        # lifecycle, so the other vendors keep showing the call's scenario.
        changes["vendor_overrides"] = _overrides(current, call_status=body["call_status"])
    updated = current
    if changes:
        stored = context.sandbox.store.update(context.tenant.id, current.id, **changes)
        assert stored is not None
        updated = stored
    data = {
        "operation": "update",
        "organization_id": organization_id(context.tenant.id),
        "call": render_call(updated),
    }
    return Reply(200, success("Call updated successfully", data), "zudu/update.json")


def _cancel_schedule(context: Context, current: Call, organization: str) -> Reply:
    """DELETE on a scheduled call only cancels the schedule: the call stays, as a regular
    registered call that is no longer due at any time; a second DELETE removes it."""
    assert current.scheduled_ms is not None
    now = context.sandbox.clock.now_ms()
    previous = current.scheduled_ms // 1000
    log = [
        *render_call(current)["events"],
        {
            "timestamp": now,
            "event": CANCELLED,
            "data": {
                "previous_scheduled_timestamp": previous,
                "cancelled_at": now // 1000,
                "endpoint_used": "/schedule DELETE",
            },
        },
    ]
    updated = context.sandbox.store.update(
        context.tenant.id,
        current.id,
        scenario=Scenario.QUEUED,
        scheduled_ms=None,
        # "Converted to regular call": registered, whoever created it (not dialling).
        vendor_overrides=_overrides(current, events=log, call_status="REGISTERED"),
    )
    assert updated is not None
    rendered = render_call(updated)
    cid = call_id(updated)
    data = {
        "operation": "schedule_cancelled",
        "organization_id": organization,
        "call_id": cid,
        "cancelled_scheduled_timestamp": previous,
        "call": {"call_id": cid, "metadata": rendered["metadata"], "events": rendered["events"]},
    }
    message = "Scheduled call cancelled successfully - converted to regular call"
    return Reply(200, success(message, data), "zudu/delete.json")


def delete_call(context: Context) -> Reply:
    organization = organization_id(context.tenant.id)
    current = _call(context, organization)
    if facts(current)["call_status"] == "SCHEDULED" and current.scheduled_ms is not None:
        return _cancel_schedule(context, current, organization)
    context.sandbox.store.delete(context.tenant.id, current.id)
    data = {"call_id": call_id(current), "organization_id": organization}
    return Reply(200, success("Call deleted successfully", data), "zudu/delete.json")


def _agent(context: Context, body: Mapping[str, Any]) -> Agent:
    return placing_agent(
        context.tenant.agents,
        wanted=body.get("override_agent_id"),
        spell=agent_id,
        from_number=body["from_number"],
    )


def create_phone_call(context: Context) -> Reply:
    body = context.body
    require_e164(body, "from_number", "to_number")
    agent = _agent(context, body)
    call = context.create_call(
        lambda cid, now: new_call(
            cid,
            now,
            tenant=context.tenant.id,
            agent=agent,
            from_number=body["from_number"],
            to_number=body["to_number"],
            metadata=body.get("metadata"),
        ),
    )
    rendered = render_call(call)
    data = {
        "organization_id": organization_id(context.tenant.id),
        "call_type": "phone_call",
        "status": "call_initiated",
        "call": rendered,
        "phone_call_info": {
            "from_number": call.from_number,
            "to_number": call.to_number,
            "direction": "outbound",
            # Zudu mirrors the call's status here in lowercase.
            "call_status": rendered["call_status"].lower(),
        },
    }
    message = "Phone call created and initiated successfully"
    return Reply(200, success(message, data), "zudu/create-phone-call.json")


ROUTES = (
    Route(
        "POST",
        "/api/calls/create-web-call",
        "create-web-call",
        create_web_call,
        "zudu/create-web-call.request.json",
        response_schema="zudu/create-web-call.json",
    ),
    Route("GET", "/api/calls/{callId}", "get-call", get_call, response_schema="zudu/get.json"),
    Route(
        "POST",
        "/api/calls",
        "list-calls",
        list_calls,
        "zudu/list-calls.request.json",
        response_schema="zudu/list.json",
        reads_only=True,
        scans=True,
    ),
    Route(
        "GET",
        "/api/calls",
        "list-calls-get",
        list_calls_get,
        query=QUERY_PARAMS,
        response_schema="zudu/list.json",
        scans=True,
    ),
    Route(
        "PUT",
        "/api/calls/{callId}",
        "update-call",
        update_call,
        "zudu/update-call.request.json",
        response_schema="zudu/update.json",
    ),
    Route(
        "DELETE",
        "/api/calls/{callId}",
        "delete-call",
        delete_call,
        response_schema="zudu/delete.json",
    ),
    Route(
        "POST",
        "/api/calls/create-phone-call",
        "create-phone-call",
        create_phone_call,
        "zudu/create-phone-call.request.json",
        response_schema="zudu/create-phone-call.json",
    ),
)
