"""Callab's call endpoints (below its `/v1` base path), declared as data, and their handlers."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sandbox.calls.created import new_call
from sandbox.calls.model import Agent, Call, Contact, Direction
from sandbox.dialect.vendor import Context, Reply, Route
from sandbox.errors import CallNotFound, InvalidRequest
from sandbox.http import pages
from sandbox.http.pages import Item, items_of
from sandbox.store.listing import window
from sandbox.store.store import Order
from sandbox.vendors.callab import query as call_query
from sandbox.vendors.callab.render import agent_id, envelope, render_call
from sandbox.vendors.callab.uuids import parse_uuid


def get_call(context: Context) -> Reply:
    found = context.find_call(context.path["id"])
    if found is None:
        raise CallNotFound(context.path["id"])
    return Reply(200, envelope(render_call(found)), "callab/get-call.json")


# What a list item is rendered as, for the kept items (`sandbox.http.pages`).
_ITEM = "callab/call"


def _items(context: Context, plans: Iterable[Call]) -> list[Item]:
    """`plans` as kept list items (rendered, or read from what is kept)."""
    tenant = context.tenant.id
    kept = items_of(context.sandbox.store)
    now = context.sandbox.clock.now_ms()
    return [kept.item(_ITEM, tenant, plan, now, render_call) for plan in plans]


def _bodies(context: Context, order: Order) -> Iterator[tuple[Call, dict[str, Any]]]:
    """Every call of the tenant with its item's body, lazily, for a filter or a sort: the
    items rendered are kept only while the tenant's calls fit among the kept items."""
    store, tenant = context.sandbox.store, context.tenant.id
    kept = items_of(store)
    now = context.sandbox.clock.now_ms()
    keep = kept.keeps_all(store.count(tenant))
    for plan in store.plans(tenant, order=order):
        yield plan, kept.body(_ITEM, tenant, plan, now, render_call, keep)


def query_calls(context: Context) -> Reply:
    wanted = call_query.parse(context.query)
    start = wanted.page * wanted.per_page
    store, tenant = context.sandbox.store, context.tenant.id
    chosen: Iterable[Call]
    if wanted.streams and not wanted.filtered:
        # Creation order, no filter: the calls before the page need no rendering.
        chosen = window(store.plans(tenant, order=wanted.order), start, wanted.per_page)
    elif wanted.streams:
        matching = (plan for plan, body in _bodies(context, wanted.order) if wanted.matches(body))
        chosen = window(matching, start, wanted.per_page)
    else:
        # Any other column needs every matching call before the first page is known: a full
        # scan of the tenant's calls (fine for the default population of 500; slow for millions).
        found = [(plan, body) for plan, body in _bodies(context, "desc") if wanted.matches(body)]
        key = call_query.sort_key(wanted.sort_column)
        found.sort(key=lambda pair: key(pair[1]), reverse=wanted.order == "desc")
        chosen = [plan for plan, _ in found[start : start + wanted.per_page]]
    page = _items(context, chosen)
    return pages.page(context.sandbox.schemas, "callab/query-calls.json", page, envelope)


def _agent(context: Context, wanted: str | None) -> Agent:
    agents = context.tenant.agents
    if wanted is None:
        return agents[0]
    parsed = parse_uuid(wanted)
    for agent in agents:
        if agent_id(agent) == parsed:
            return agent
    known = ", ".join(agent_id(a) for a in agents)
    raise InvalidRequest.one("body.ai_agent_id", f"no agent {wanted!r}; use one of {known}")


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _create(
    context: Context,
    *,
    agent: Agent,
    from_number: str,
    to_number: str,
    direction: Direction,
    dynamic_variables: Mapping[str, Any],
    metadata: Mapping[str, Any] | None,
    campaign_id: str | None,
    contact_id: str | None,
    call_sid: str | None,
    overrides: Mapping[str, Any],
) -> Call:
    tenant = context.tenant.id

    def build(call_id: str, now_ms: int) -> Call:
        call = new_call(
            call_id,
            now_ms,
            tenant=tenant,
            agent=agent,
            from_number=from_number,
            to_number=to_number,
            direction=direction,
            metadata=metadata,
            # The canonical model holds string variables (Retell's type); Callab's are any
            # JSON, kept verbatim in the Callab overrides so they render back unchanged.
            dynamic_variables={k: _as_text(v) for k, v in dynamic_variables.items()},
            contact=Contact(id=contact_id, full_name="", email="", country="US")
            if contact_id
            else None,
            campaign_id=campaign_id,
            vendor_overrides={"callab": dict(overrides)},
        )
        return dataclasses.replace(call, telephony_sid=call_sid) if call_sid else call

    return context.create_call(build)


def _uuid(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    return parse_uuid(value) if isinstance(value, str) else None


def create_call(context: Context) -> Reply:
    body = context.body
    agent = _agent(context, body.get("ai_agent_id"))
    dynamic = body.get("agent_dynamic_variables") or {}
    overrides: dict[str, Any] = {
        # A record created without a contact has none, even though the canonical call
        # carries a placeholder contact for the vendors that always show one.
        "contact_id": _uuid(body, "contact_id"),
        "is_test": body.get("is_test") or False,
        "notes": body.get("notes"),
        "agent_dynamic_variables": dict(dynamic),
    }
    if body.get("call_provider") is not None:
        overrides["call_provider"] = body["call_provider"]
    if body.get("company_id") is not None:
        overrides["company_id"] = _uuid(body, "company_id")
    # The second variant of Callab's create page names the field `workspace`.
    workspace = body.get("workspace_id") or body.get("workspace")
    if workspace is not None:
        overrides["workspace_id"] = workspace
    call = _create(
        context,
        agent=agent,
        from_number=body["call_from"],
        to_number=body["call_to"],
        direction=body.get("call_direction") or "outbound",
        dynamic_variables=dynamic,
        metadata=body.get("metadata"),
        campaign_id=_uuid(body, "campaign_id"),
        contact_id=_uuid(body, "contact_id"),
        call_sid=body.get("call_sid"),
        overrides=overrides,
    )
    return Reply(200, envelope(render_call(call)), "callab/create-call.json")


def make_call(context: Context) -> Reply:
    body = context.body
    agent = _agent(context, body["ai_agent_id"])
    variables = {entry["name"]: entry["value"] for entry in body.get("dynamic_variables") or []}
    overrides: dict[str, Any] = {"contact_id": None, "is_test": True}
    if body.get("workspace") is not None:
        overrides["workspace_id"] = body["workspace"]
    call = _create(
        context,
        agent=agent,
        # A test call rings from the agent's own number unless the body names another.
        from_number=body.get("call_from") or agent.phone_number,
        to_number=body["call_to"],
        direction="outbound",
        dynamic_variables=variables,
        metadata=None,
        campaign_id=None,
        contact_id=None,
        call_sid=None,
        overrides=overrides,
    )
    return Reply(200, envelope(render_call(call)), "callab/create-call.json")


VERSIONED = (
    # /calls/query before /calls/{id}: "query" is no UUID, but the literal route must win.
    Route(
        "GET",
        "/v1/calls/query",
        "query-calls",
        query_calls,
        query=call_query.PARAMS,
        response_schema="callab/query-calls.json",
        scans=True,
    ),
    Route("GET", "/v1/calls/{id}", "get-call", get_call, response_schema="callab/get-call.json"),
    Route(
        "POST",
        "/v1/calls",
        "create-call",
        create_call,
        "callab/create-call.request.json",
        response_schema="callab/create-call.json",
    ),
    Route(
        "POST",
        "/v1/calls/make-call",
        "make-call",
        make_call,
        "callab/make-call.request.json",
        response_schema="callab/create-call.json",
    ),
)
# Callab's reference blocks use https://api.callab.ai/v1, but the get-call page's own cURL,
# JavaScript and Python examples call https://api.callab.ai/calls/{id}, without /v1. Both
# spellings are served, every route under each, so a request copied from any example works
# and /calls/query never falls through to /calls/{id} as an id of "query".
UNVERSIONED_SUFFIX = "-unversioned"
UNVERSIONED = tuple(
    dataclasses.replace(
        route,
        path=route.path.removeprefix("/v1"),
        name=route.name + UNVERSIONED_SUFFIX,
    )
    for route in VERSIONED
)
ROUTES = VERSIONED + UNVERSIONED
