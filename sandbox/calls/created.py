"""Building calls that clients create through a vendor's API."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sandbox.calls.ids import digest_int, uuid_from
from sandbox.calls.model import Agent, Call, CallType, Contact, Direction, Scenario
from sandbox.errors import InvalidRequest

# A number as the vendors' telephony providers take it: +, a country code, up to 15 digits.
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def require_e164(body: Mapping[str, Any], *fields: str) -> None:
    """A 400 naming the first of `fields` whose number is not in E.164 form."""
    for field in fields:
        if not E164.match(body[field]):
            raise InvalidRequest.one(
                f"body.{field}", f"{body[field]!r} is not an E.164 number like +14155550123"
            )


def new_call(
    call_id: str,
    now_ms: int,
    *,
    tenant: str,
    agent: Agent,
    from_number: str,
    to_number: str,
    direction: Direction = "outbound",
    call_type: CallType = "phone_call",
    scenario: Scenario = Scenario.QUEUED,
    scheduled_ms: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    dynamic_variables: Mapping[str, str] | None = None,
    contact: Contact | None = None,
    campaign_id: str | None = None,
    vendor_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    webhook_url: str | None = None,
) -> Call:
    """A call just accepted by the API: registered or queued, nothing said or billed yet."""
    return Call(
        id=call_id,
        tenant=tenant,
        source="created",
        agent=agent,
        call_type=call_type,
        direction=direction,
        from_number=from_number,
        to_number=to_number,
        scenario=scenario,
        created_ms=now_ms,
        start_ms=None,
        end_ms=None,
        scheduled_ms=scheduled_ms,
        disconnection_reason=None,
        turns=(),
        tool_calls=(),
        analysis=None,
        costs=(),
        latency={},
        recording_url=None,
        contact=contact
        or Contact(id=uuid_from("contact", tenant, call_id), full_name="", email="", country="US"),
        campaign_id=campaign_id,
        telephony_sid="CA" + f"{digest_int('sid', call_id):064x}"[:32],
        metadata=dict(metadata or {}),
        dynamic_variables=dict(dynamic_variables or {}),
        updated_ms=now_ms,
        vendor_overrides=dict(vendor_overrides or {}),
        webhook_url=webhook_url,
    )


def placing_agent(
    agents: Sequence[Agent],
    *,
    wanted: str | None,
    spell: Callable[[Agent], str],
    from_number: str,
    location: str = "body.override_agent_id",
) -> Agent:
    """The agent that places a created phone call, as Retell and its clones choose it: the one
    named by an override (by its id as the vendor spells it), else the agent bound to the
    calling number, else (the sandbox has no number inventory) the tenant's first agent."""
    if wanted is not None:
        for agent in agents:
            if spell(agent) == wanted:
                return agent
        known = ", ".join(spell(a) for a in agents)
        raise InvalidRequest.one(location, f"no agent {wanted!r}; use one of {known}")
    return next((a for a in agents if a.phone_number == from_number), agents[0])
