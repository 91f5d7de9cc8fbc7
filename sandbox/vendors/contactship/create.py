"""POST /v1/calls/single-phone-call and /v1/calls/single-contact-call.

The request schemas check every field's type and format first (all problems at once, as
ValidationPipe reports them); what needs the organisation's data is checked here. A call
with `schedule` or a positive `delay` is created `scheduled`; any other waits `in-queue`.
Both answer 201 (NestJS's default for POST) with the newer docs page's
`{call_id, agent_id, contact_id, created_at}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sandbox.calls.created import new_call
from sandbox.calls.ids import uuid_from
from sandbox.calls.instants import iso_seconds
from sandbox.calls.model import Agent, Call, Contact, Scenario
from sandbox.dialect.vendor import Context, Reply
from sandbox.errors import InvalidRequest, Problem
from sandbox.vendors.contactship import formats
from sandbox.vendors.contactship.errors import ContactNotFound
from sandbox.vendors.contactship.render import VENDOR, agent_id, base, call_id
from sandbox.webhooks.urls import refusal

SCHEMA = "contactship/create-call.json"


def _agent(context: Context, wanted: str) -> Agent:
    # `agent-<uuid>`, as the docs' example bodies spell it, names the agent <uuid>.
    wanted = wanted.removeprefix(formats.AGENT_PREFIX)
    for agent in context.tenant.agents:
        if agent_id(agent).lower() == wanted.lower():
            return agent
    known = ", ".join(agent_id(a) for a in context.tenant.agents)
    raise InvalidRequest.one("body.agent_id", f"must be one of your organisation's agents: {known}")


@cache
def _zones() -> frozenset[str]:
    """The IANA zone names (from the system's tz database, or the tzdata package)."""
    return frozenset(available_timezones())


def _when(context: Context, body: Mapping[str, Any]) -> int | None:
    """When a scheduled call is to be placed (epoch ms), or None to queue it now."""
    now = context.sandbox.clock.now_ms()
    schedule, delay = body.get("schedule"), body.get("delay")
    if schedule is not None and delay is not None:
        raise InvalidRequest.one("body", "send either delay or schedule, not both")
    if delay:
        return int(now + delay * 60_000)
    if schedule is None:
        return None
    problems: list[Problem] = []
    if schedule["timezone"] not in _zones():
        problems.append(
            Problem(
                "body.schedule.timezone",
                f"must be an IANA time zone like America/New_York, not {schedule['timezone']!r}",
            )
        )
    try:
        local = datetime.strptime(schedule["date"], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        problems.append(
            Problem("body.schedule.date", f"is not a calendar date: {schedule['date']!r}")
        )
    if problems:
        raise InvalidRequest(problems)
    when = int(local.replace(tzinfo=ZoneInfo(schedule["timezone"])).timestamp() * 1000)
    if when <= now:
        raise InvalidRequest.one(
            "body.schedule.date", f"must be in the future (the sandbox's now is {iso_seconds(now)})"
        )
    return when


def _create(
    context: Context,
    *,
    agent: Agent,
    from_number: str,
    to_number: str,
    contact: Contact,
    body: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    webhook_url: str | None = None,
) -> Call:
    scheduled = _when(context, body)
    tenant = context.tenant.id
    # additional_data is what Retell calls dynamic variables: values the agent's prompt reads.
    variables = {str(d["key"]): _text(d["value"]) for d in body.get("additional_data", [])}
    return context.create_call(
        lambda cid, now: new_call(
            cid,
            now,
            tenant=tenant,
            agent=agent,
            from_number=from_number,
            to_number=to_number,
            scenario=Scenario.SCHEDULED if scheduled is not None else Scenario.QUEUED,
            scheduled_ms=scheduled,
            metadata=body.get("metadata"),
            dynamic_variables=variables,
            contact=contact,
            vendor_overrides={VENDOR: overrides} if overrides else None,
            webhook_url=webhook_url,
        ),
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _answer(call: Call, contact_id: str | None) -> Reply:
    body = {
        "call_id": call_id(call),
        "agent_id": agent_id(call.agent),
        "contact_id": contact_id,
        "created_at": iso_seconds(call.created_ms),
    }
    return Reply(201, body, SCHEMA)


def _webhook_url(context: Context, body: Mapping[str, Any]) -> str | None:
    """The call's webhook_url, if the sandbox may send to it (sandbox.webhooks.urls): the
    schema checked its form; link-local and cloud metadata addresses are a 400 unless the
    sandbox runs with --webhook-allow-link-local, as a validator on the DTO would refuse them
    (*inferred*: ContactShip documents no rule), before the agent is looked up."""
    url: str | None = body.get("webhook_url")
    if url is None:
        return None
    allow = context.sandbox.settings.webhook_allow_link_local
    refused = refusal(url, allow_link_local=allow)
    if refused is not None:
        raise InvalidRequest.one("body.webhook_url", refused)
    return url


def single_phone_call(context: Context) -> Reply:
    body = context.body
    webhook_url = _webhook_url(context, body)
    agent = _agent(context, body["agent_id"])
    contact = Contact(
        id=uuid_from(
            context.sandbox.fixtures.seed,
            "contactship-contact",
            context.tenant.id,
            body["to_number"],
        ),
        full_name=body["full_name"],
        email=body.get("email", ""),
        country=body.get("country", ""),
    )
    # The call is made for a bare number, not a saved contact: the answer's contact_id is
    # null, and so is the call's contact.id when it is read back.
    call = _create(
        context,
        agent=agent,
        from_number=body["from_number"],
        to_number=body["to_number"],
        contact=contact,
        body=body,
        overrides={"contact": {"id": None}},
        # This call's events go there (sandbox/vendors/contactship/webhooks.py).
        webhook_url=webhook_url,
    )
    return _answer(call, None)


def _find_contact(context: Context, contact_id: str) -> tuple[Contact, str]:
    """A contact of the organisation (as shown on any of its calls) and its phone number."""
    wanted = contact_id.lower()
    for call in context.sandbox.store.calls(context.tenant.id):
        shown = base(call)["contact"]
        if (shown["id"] or "").lower() == wanted:
            return call.contact, shown["phone_number"]
    raise ContactNotFound(contact_id)


def single_contact_call(context: Context) -> Reply:
    body = context.body
    agent = _agent(context, body["agent_id"])
    contact, number = _find_contact(context, body["contact_id"])
    # The sandbox keeps no phone-number records, so any from_number_id UUID is accepted and
    # the call is placed from the agent's own number.
    call = _create(
        context,
        agent=agent,
        from_number=agent.phone_number,
        to_number=number,
        contact=contact,
        body=body,
    )
    return _answer(call, contact.id)
