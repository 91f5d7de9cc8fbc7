"""Zudu's POST /api/calls/create-web-call through HTTP: the docs' answer shape, the call's
life on the sandbox clock, the same call through the other vendors, errors, faults, journal."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors import VENDORS
from sandbox.vendors.zudu import VENDOR as ZUDU

PATH = "/zudu/api/calls/create-web-call"
AGENT = "agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f"


@pytest.fixture
def auth(state: VendorSandbox) -> dict[str, str]:
    return state.credentials("zudu")


def _decode(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _create(client: TestClient, auth: dict[str, str], body: Any) -> Any:
    response = client.post(PATH, headers=auth, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_answers_the_docs_shape(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    now = state.clock.now_ms()
    body = _create(client, auth, {"agent_id": AGENT, "metadata": {"session_type": "support"}})
    cid = body["data"]["call"]["call_id"]
    token = body["data"]["web_call_info"]["access_token"]
    assert body == {
        "message": "Web call created successfully",
        "status": "success",
        "error": None,
        "data": {
            "organization_id": "org_acme",
            "call_type": "web_call",
            "call": {
                "call_id": cid,
                "agent_id": AGENT,
                "organization_id": "org_acme",
                "call_status": "REGISTERED",
                "call_type": "WEB_CALL",
                "created_at": now,
            },
            "web_call_info": {
                "room_name": cid,
                "access_token": token,
                "call_status": "ongoing",
                "agent_id": AGENT,
            },
            "livekit_connection": {
                "server_url": "wss://communication.zudu.ai",
                "token": token,
                "room_name": cid,
            },
        },
    }
    header, claims, _ = token.split(".")
    assert _decode(header) == {"typ": "JWT", "alg": "HS256"}
    assert _decode(claims)["video"] == {"room": cid, "roomJoin": True}
    assert _decode(claims)["exp"] - _decode(claims)["nbf"] == 3600


def test_the_agent_prefix_is_optional(client: TestClient, auth: dict[str, str]) -> None:
    bare = AGENT.removeprefix("agent_")
    body = _create(client, auth, {"agent_id": bare})
    assert body["data"]["call"]["agent_id"] == AGENT


def test_the_call_lives_on_the_clock_and_through_every_vendor(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    created = _create(client, auth, {"agent_id": AGENT, "metadata": {"k": "v"}})
    cid = created["data"]["call"]["call_id"]
    fetched = client.get(f"/zudu/api/calls/{cid}", headers=auth).json()["data"]
    assert {k: fetched[k] for k in created["data"]["call"]} == created["data"]["call"]
    assert (fetched["from_number"], fetched["to_number"]) == (None, None)
    assert (fetched["direction"], fetched["metadata"]) == ("INBOUND", {"k": "v"})
    assert fetched["telephony_identifier"] is None
    plan = state.store.plan("acme", ZUDU.canonical_id(cid) or "")
    assert plan is not None
    assert plan.start_ms is not None
    assert plan.end_ms is not None
    state.clock.advance(plan.start_ms - state.clock.now_ms())
    talking = client.get(f"/zudu/api/calls/{cid}", headers=auth).json()["data"]
    assert talking["call_status"] == "ONGOING"
    state.clock.advance(plan.end_ms + ANALYSIS_DELAY_MS - state.clock.now_ms())
    ended = client.get(f"/zudu/api/calls/{cid}", headers=auth).json()["data"]
    assert plan.disconnection_reason is not None
    assert (ended["call_status"], ended["disconnection_reason"]) == (
        "ENDED",
        plan.disconnection_reason.upper(),
    )
    assert ended["call_cost"]["total_duration_seconds"] == round(ended["call_duration"] / 1000)
    assert ended["transcript"]
    # The same call, through every other vendor, at the same instant.
    seen = {}
    for vendor in VENDORS:
        if vendor is ZUDU:
            continue
        path = f"/{vendor.name}{vendor.lookup_path(vendor.external_id(plan))}"
        response = client.get(path, headers=state.credentials(vendor.name))
        assert response.status_code == 200, (vendor.name, response.text)
        seen[vendor.name] = response.json()
    assert seen["retell"]["call_type"] == "web_call"
    assert seen["retell"]["call_status"] == "ended"
    assert seen["callab"]["data"]["call_status"] == "completed"
    assert seen["contactship"]["call_status"] == "completed"


def test_bad_bodies_are_zudus_400(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    known = ", ".join(
        a.vendor_ids.get("zudu") or f"agent_{a.id}" for a in state.fixtures.tenants["acme"].agents
    )
    before = state.store.snapshot()
    unknown = client.post(PATH, headers=auth, json={"agent_id": "agent_nobody"})
    assert (unknown.status_code, unknown.json()) == (
        400,
        {
            "message": "Invalid request",
            "status": "error",
            "error": f"body.agent_id: no agent 'agent_nobody'; use one of {known}",
        },
    )
    missing = client.post(PATH, headers=auth, json={"metadata": {}})
    assert missing.status_code == 400
    assert missing.json()["error"].startswith('body: "agent_id" is a required property')
    extra = client.post(PATH, headers=auth, json={"agent_id": AGENT, "from_number": "+1"})
    assert extra.status_code == 400
    assert state.store.snapshot() == before


def test_faulted_and_journaled(client: TestClient, auth: dict[str, str]) -> None:
    rule = {"fault": {"type": "status", "status": 503}, "route": "create-web-call"}
    assert client.post("/_sandbox/faults", json=rule).status_code in (200, 201)
    faulted = client.post(PATH, headers=auth, json={"agent_id": AGENT})
    assert faulted.status_code == 503
    assert faulted.json()["status"] == "error"
    journal = client.get("/_sandbox/journal?route=create-web-call").json()["entries"]
    assert [(e["route"], e["status"]) for e in journal] == [("create-web-call", 503)]


def test_same_request_same_bytes() -> None:
    answers = []
    for _ in range(2):
        app = create_app(Settings(raise_on_schema_error=True))
        with TestClient(app) as client:
            headers = app.state.sandbox.credentials("zudu")
            answers.append(client.post(PATH, headers=headers, json={"agent_id": AGENT}).content)
    assert answers[0] == answers[1]
