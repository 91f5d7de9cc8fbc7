"""Retell's registered calls: web calls (`POST /v3/create-web-call`, and the V2 endpoint its
OpenAPI document keeps) and phone calls on the client's own telephony
(`POST /v2/register-phone-call`).

Retell issues the call id and leaves the call `registered` until the web client (or the
client's telephony) joins it; if nobody does within 30 seconds it ends in `error`, with
`error_user_not_joined` (web) or `registered_call_timeout` (phone). The sandbox cannot carry
audio, so a client joins with `POST /_sandbox/calls/retell/{call_id}/join`, or at once with
`Prefer: scenario=` a connected outcome (completed, voicemail, transferred); any other
outcome there means nobody joins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sandbox.calls.created import new_call, placing_agent
from sandbox.calls.lifecycle import asked_outcome
from sandbox.calls.live import JOIN_WINDOW_MS, awaiting_join
from sandbox.calls.model import Agent, Call, CallType, Direction
from sandbox.dialect.vendor import Context, Reply
from sandbox.errors import InvalidRequest
from sandbox.http.params import whole_number
from sandbox.vendors.retell.render import access_token, agent_id, call_id, render_call

# Where a web client's browser would find Retell's media servers. Nothing answers there:
# 192.0.2.0/24 is TEST-NET-1 (RFC 5737), reserved for documentation.
ICE_SERVERS: tuple[Mapping[str, Any], ...] = ({"urls": ["stun:192.0.2.1:3478"]},)
NOT_JOINED = {"web_call": "error_user_not_joined", "phone_call": "registered_call_timeout"}


def _agent(context: Context, body: Mapping[str, Any]) -> Agent:
    agent = placing_agent(
        context.tenant.agents,
        wanted=body["agent_id"],
        spell=agent_id,
        from_number="",
        location="body.agent_id",
    )
    version = body.get("agent_version")
    if version is None:
        return agent
    # Retell's spec types it as an integer; SDKs also send it as a string of digits.
    number = version if isinstance(version, int) else whole_number(str(version))
    if isinstance(version, bool) or number is None or number < 0:
        raise InvalidRequest.one(
            "body.agent_version", f"must be a whole number of 0 or more, not {json.dumps(version)}"
        )
    return replace(agent, version=number)


def _register(
    context: Context,
    *,
    call_type: CallType,
    direction: Direction = "inbound",
    from_number: str | None = None,
    to_number: str | None = None,
) -> Call:
    """Store a registered call: joined at once when the client asked for a connected outcome,
    else waiting to be joined."""
    body = context.body
    agent = _agent(context, body)
    generator = context.sandbox.store.generator

    def build(cid: str, now: int) -> Call:
        request = new_call(
            cid,
            now,
            tenant=context.tenant.id,
            agent=agent,
            # A web call has no numbers; the canonical call keeps the agent's, which only
            # the vendors that have no call type show.
            from_number=from_number or agent.phone_number,
            to_number=to_number or agent.phone_number,
            direction=direction,
            call_type=call_type,
            metadata=body.get("metadata"),
            dynamic_variables=body.get("retell_llm_dynamic_variables"),
        )
        outcome = asked_outcome(request, context.prefer)
        if outcome is not None and outcome.connected:
            return generator.plan_created(request, outcome)
        return awaiting_join(request, NOT_JOINED[call_type])

    # The plan is whole when built: no fixture rule decides how a registered call goes.
    return context.sandbox.store.create(
        context.tenant.id, build, origin=context.vendor.name, outcome=lambda request: None
    )


def create_web_call_v2(context: Context) -> Reply:
    """V2: the whole V2 call object, `access_token` in it."""
    call = _register(context, call_type="web_call")
    return Reply(201, render_call(call), "retell/call.json")


def create_web_call(context: Context) -> Reply:
    """V3: what the browser needs to join, and nothing else."""
    call = _register(context, call_type="web_call")
    body = {
        "access_token": access_token(call),
        "call_id": call_id(call),
        # The token is good for as long as the call waits to be joined.
        "expires_at": call.created_ms + JOIN_WINDOW_MS,
        "ice_servers": [dict(server) for server in ICE_SERVERS],
        "transport": "gateway",
    }
    return Reply(201, body, "retell/create-web-call-v3.json")


def register_phone_call(context: Context) -> Reply:
    body = context.body
    call = _register(
        context,
        call_type="phone_call",
        direction=body.get("direction", "inbound"),
        from_number=body.get("from_number"),
        to_number=body.get("to_number"),
    )
    return Reply(201, render_call(call), "retell/call.json")
