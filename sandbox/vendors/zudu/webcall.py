"""POST /api/calls/create-web-call: a browser call in a LiveKit room.

Zudu's page (docs.zudu.ai/api-reference/calls/create-web-call) takes `{agent_id, metadata?}`
and answers "Web call created successfully" with a short call record (REGISTERED, WEB_CALL),
`web_call_info` (the room, an access token, `call_status: "ongoing"`) and
`livekit_connection` (`wss://communication.zudu.ai`, the token, the room). The call is a
canonical call like any other: registered now, joined and talked through on the sandbox
clock, visible through every vendor. The token is a JWT-shaped string made from the call's
id (same call, same token); the sandbox runs no LiveKit server, so it opens no room.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.calls.created import new_call
from sandbox.calls.ids import digest_int
from sandbox.calls.model import Agent, Call
from sandbox.dialect.vendor import Context, Reply
from sandbox.errors import InvalidRequest
from sandbox.vendors.zudu.envelope import success
from sandbox.vendors.zudu.render import agent_id, call_id, organization_id, render_call

MESSAGE = "Web call created successfully"
SCHEMA = "zudu/create-web-call.json"
LIVEKIT_URL = "wss://communication.zudu.ai"
# The docs show the room's session as "ongoing" as soon as it is created, while the call
# itself is still REGISTERED: the room is open, nobody has joined it yet.
ROOM_STATUS = "ongoing"
TOKEN_TTL_S = 3600  # how long the token is valid (Zudu does not say; the sandbox's choice)
AGENT_PREFIX = "agent_"
_JWT_HEADER = {"typ": "JWT", "alg": "HS256"}  # as the docs' token starts (eyJ0eXAiOiJKV1Qi...)
_AREAS = ("202", "212", "305", "312", "415", "503", "512", "617", "702", "919")


def find_agent(agents: Sequence[Agent], wanted: str) -> Agent:
    """The agent named by `agent_id`; like Zudu's agent paths, the `agent_` prefix is
    optional ("it will be added automatically if not provided")."""
    spellings = {wanted, AGENT_PREFIX + wanted}
    for agent in agents:
        if agent_id(agent) in spellings:
            return agent
    known = ", ".join(agent_id(a) for a in agents)
    raise InvalidRequest.one("body.agent_id", f"no agent {wanted!r}; use one of {known}")


def browser_number(call_id: str) -> str:
    """A web caller has no phone number; the canonical call needs one for the vendors that
    show the caller's side (Callab's call_from, ContactShip's contact), so it gets a number
    from the fiction range +1 AAA 555-01XX, fixed by the call's id."""
    value = digest_int("zudu-web-caller", call_id)
    return f"+1{_AREAS[value % len(_AREAS)]}5550{100 + value // 10 % 100}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token(call: Call, room: str, identity: str) -> str:
    """A LiveKit-style access token (a JWT with a `video` grant for the room), signed with a
    key made from the call's id, so the same call always carries the same token."""
    claims = {
        "iss": "zudu-sandbox",
        "sub": identity,
        "nbf": call.created_ms // 1000,
        "exp": call.created_ms // 1000 + TOKEN_TTL_S,
        "video": {"room": room, "roomJoin": True},
    }
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (_JWT_HEADER, claims)
    )
    key = hashlib.sha256(f"zudu-web-call:{call.id}".encode()).digest()
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _short_call(call: Call) -> dict[str, Any]:
    """The call record of the docs' answer: the six fields it shows, as GET renders them."""
    full = render_call(call)
    keys = ("call_id", "agent_id", "organization_id", "call_status", "call_type", "created_at")
    return {key: full[key] for key in keys}


def answer(call: Call) -> dict[str, Any]:
    """The answer to the request that created web call `call`, as it stands at creation."""
    room = call_id(call)
    token = access_token(call, room, identity=f"web_{room}")
    agent = agent_id(call.agent)
    data = {
        "organization_id": organization_id(call.tenant),
        "call_type": "web_call",
        "call": _short_call(call),
        "web_call_info": {
            "room_name": room,
            "access_token": token,
            "call_status": ROOM_STATUS,
            "agent_id": agent,
        },
        "livekit_connection": {"server_url": LIVEKIT_URL, "token": token, "room_name": room},
    }
    return success(MESSAGE, data)


def create_web_call(context: Context) -> Reply:
    body: Mapping[str, Any] = context.body
    agent = find_agent(context.tenant.agents, body["agent_id"])
    tenant = context.tenant.id
    call = context.create_call(
        lambda cid, now: new_call(
            cid,
            now,
            tenant=tenant,
            agent=agent,
            from_number=browser_number(cid),
            to_number=agent.phone_number,
            direction="inbound",
            call_type="web_call",
            metadata=body.get("metadata"),
        ),
    )
    return Reply(200, answer(call), SCHEMA)
