"""Retell's phone numbers, read-only: `GET /get-phone-number/{phone_number}` and
`GET /v2/list-phone-numbers`, answered from the numbers the fixtures bind to agents (the
`from_number` of their outbound calls, the `to_number` of their inbound ones). The writes
answer a 501 (see `unemulated`)."""

from __future__ import annotations

from typing import Any

from sandbox.calls.fixtures import FixtureSet
from sandbox.calls.model import Agent
from sandbox.dialect.vendor import Context, Reply, Route
from sandbox.vendors.retell import paging
from sandbox.vendors.retell.assets import find_number, modified_ms, numbers
from sandbox.vendors.retell.render import agent_id


def pretty(number: str) -> str:
    """How Retell prints a number for people: `+1 (415) 555-0142` for the NANP."""
    if number.startswith("+1") and len(number) == 12:
        return f"+1 ({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def render_number(fixtures: FixtureSet, number: str, agent: Agent) -> dict[str, Any]:
    """A number bought through Retell (Twilio), its agent bound for inbound and outbound."""
    bound = [{"agent_id": agent_id(agent), "agent_version": agent.version, "weight": 1}]
    body: dict[str, Any] = {
        "phone_number": number,
        "phone_number_type": "retell-twilio",
        "phone_number_pretty": pretty(number),
    }
    if number.startswith("+1") and len(number) == 12:
        body["area_code"] = int(number[2:5])
    body |= {
        "nickname": agent.name,
        "inbound_agents": bound,
        "outbound_agents": [dict(b) for b in bound],
        "last_modification_timestamp": modified_ms(fixtures, agent),
    }
    return body


def get_phone_number(context: Context) -> Reply:
    number, agent = find_number(context.tenant.agents, context.path["phone_number"])
    return Reply(
        200, render_number(context.sandbox.fixtures, number, agent), "retell/phone-number.json"
    )


def list_phone_numbers(context: Context) -> Reply:
    fixtures = context.sandbox.fixtures
    items = [render_number(fixtures, n, a) for n, a in numbers(context.tenant.agents).items()]
    chunk, following = paging.page(
        items,
        paging.read(context.query),
        order=lambda i: (i["last_modification_timestamp"], i["phone_number"]),
        key=lambda i: str(i["phone_number"]),
    )
    return Reply(200, paging.paged(chunk, following), "retell/list-phone-numbers.json")


ROUTES = (
    Route(
        "GET",
        "/get-phone-number/{phone_number}",
        "get-phone-number",
        get_phone_number,
        response_schema="retell/phone-number.json",
    ),
    Route(
        "GET",
        "/v2/list-phone-numbers",
        "list-phone-numbers",
        list_phone_numbers,
        query=paging.PARAMS,
        response_schema="retell/list-phone-numbers.json",
    ),
)
