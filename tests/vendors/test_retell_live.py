"""Retell's registered calls, live-call actions, analysis reruns and idempotent creates, through
the official retell-sdk with strict response validation, against the sandbox in-process.

Each method of `client.call` that issue 14 found answering 404 is driven here to success and
to its refusal, on the sandbox clock, with the webhooks each change sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from retell import AsyncRetell, BadRequestError, ConflictError
from retell.types import (
    CallListenLiveResponse,
    CreateWebCallResponse,
    PhoneCallResponse,
    WebCallResponse,
)
from starlette.applications import Starlette

from sandbox.calls.lifecycle import Transition, observe
from sandbox.calls.live import JOIN_WINDOW_MS
from sandbox.calls.model import Call, Scenario
from sandbox.dialect.vendor import VendorSandbox, find_plan
from sandbox.vendors.retell.render import call_id

pytestmark = pytest.mark.anyio

AGENT = "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"  # the docs' agent, which the default tenant has
Event = tuple[str, str, int]  # (event, canonical call id, at_ms)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def events(state: VendorSandbox) -> Iterator[list[Event]]:
    """Every lifecycle event the sandbox publishes (what its webhooks are sent for)."""
    seen: list[Event] = []

    def listen(tenant: str, call: Call, step: Transition) -> None:
        seen.append((step.event, call.id, step.at_ms))

    state.listeners.append(listen)
    yield seen
    state.listeners.remove(listen)


def _http(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test")


def _client(app: Starlette, state: VendorSandbox) -> AsyncRetell:
    return AsyncRetell(
        api_key=state.default_tenant.keys["retell"]["api_key"],
        base_url="http://sandbox.test/retell",
        http_client=_http(app),
        max_retries=0,
        _strict_response_validation=True,
    )


def _plan(state: VendorSandbox, external_id: str) -> Call:
    plan = find_plan(state, state.vendors["retell"], "acme", external_id)
    assert plan is not None
    return plan


def _ongoing(state: VendorSandbox) -> str:
    """The default tenant's generated call that is ongoing in a fresh sandbox."""
    now = state.clock.now_ms()
    plan = next(
        state.generator.plan("acme", i)
        for i in range(20)
        if observe(state.generator.plan("acme", i), now).scenario is Scenario.IN_PROGRESS
    )
    return call_id(plan)


def _completed(state: VendorSandbox) -> str:
    call = next(
        state.generator.call("acme", i)
        for i in range(20)
        if state.generator.call("acme", i).scenario is Scenario.COMPLETED
    )
    return call_id(call)


async def _join(app: Starlette, external_id: str, body: dict[str, Any]) -> httpx.Response:
    async with _http(app) as http:
        return await http.post(f"/_sandbox/calls/retell/{external_id}/join", json=body)


async def test_a_web_call_nobody_joins_ends_in_error(
    app: Starlette, state: VendorSandbox, events: list[Event]
) -> None:
    async with _client(app, state) as retell:
        made = await retell.call.create_web_call(agent_id=AGENT, metadata={"visitor": 7})
        assert isinstance(made, CreateWebCallResponse)
        assert made.transport == "gateway"
        assert made.ice_servers[0].urls == ["stun:192.0.2.1:3478"]
        created = _plan(state, made.call_id).created_ms
        assert made.expires_at == created + JOIN_WINDOW_MS

        waiting = await retell.call.retrieve(made.call_id)
        assert isinstance(waiting, WebCallResponse)
        assert waiting.call_status == "registered"
        assert waiting.access_token == made.access_token
        assert waiting.metadata == {"visitor": 7}

        state.advance(JOIN_WINDOW_MS - 1)
        assert (await retell.call.retrieve(made.call_id)).call_status == "registered"
        state.advance(1)
        ended = await retell.call.retrieve(made.call_id)
        assert ended.call_status == "error"
        assert ended.disconnection_reason == "error_user_not_joined"
        assert ended.transcript is None
    canonical = _plan(state, made.call_id).id
    assert [e for e in events if e[1] == canonical] == [
        ("call_ended", canonical, created + JOIN_WINDOW_MS)
    ]
    # Too late to join now.
    late = await _join(app, made.call_id, {})
    assert late.status_code == 400
    assert "join window is over" in late.json()["message"]


async def test_a_joined_web_call_talks_and_ends(
    app: Starlette, state: VendorSandbox, events: list[Event]
) -> None:
    async with _client(app, state) as retell:
        made = await retell.call.create_web_call(agent_id=AGENT)
        state.advance(5_000)
        joined = await _join(app, made.call_id, {"scenario": "completed"})
        assert joined.status_code == 200, joined.text
        body = joined.json()
        now = state.clock.now_ms()
        assert body["joined_ms"] == now
        assert body["scenario"] == "completed"
        live = await retell.call.retrieve(made.call_id)
        assert live.call_status == "ongoing"
        assert live.start_timestamp == now
        canonical = _plan(state, made.call_id).id
        assert ("call_started", canonical, now) in events

        state.advance(body["end_ms"] - now + 10_000)
        done = await retell.call.retrieve(made.call_id)
        assert isinstance(done, WebCallResponse)
        assert done.call_status == "ended"
        assert done.end_timestamp == body["end_ms"]
        assert done.call_analysis is not None
        assert done.transcript
    assert [e[0] for e in events if e[1] == canonical] == [
        "call_started",
        "call_ended",
        "call_analyzed",
    ]
    # Joined once is joined.
    again = await _join(app, made.call_id, {})
    assert again.status_code == 400


async def test_prefer_scenario_joins_at_once(app: Starlette, state: VendorSandbox) -> None:
    async with _client(app, state) as retell:
        made = await retell.call.create_web_call(
            agent_id=AGENT, extra_headers={"Prefer": "scenario=completed"}
        )
        state.advance(5_000)
        assert (await retell.call.retrieve(made.call_id)).call_status == "ongoing"
        # A scenario that never connects means nobody joins.
        lost = await retell.call.create_web_call(
            agent_id=AGENT, extra_headers={"Prefer": "scenario=failed"}
        )
        state.advance(JOIN_WINDOW_MS)
        gone = await retell.call.retrieve(lost.call_id)
        assert (gone.call_status, gone.disconnection_reason) == ("error", "error_user_not_joined")


async def test_the_v2_create_web_call_answers_the_call_object(
    app: Starlette, state: VendorSandbox
) -> None:
    async with _client(app, state) as retell:
        made = await retell.post(
            "/v2/create-web-call",
            body={"agent_id": AGENT, "retell_llm_dynamic_variables": {"name": "Ada"}},
            cast_to=WebCallResponse,
        )
        assert made.call_type == "web_call"
        assert made.call_status == "registered"
        assert made.agent_id == AGENT
        assert made.retell_llm_dynamic_variables == {"name": "Ada"}
        with pytest.raises(BadRequestError) as unknown:
            await retell.call.create_web_call(agent_id="agent_nobody")
        assert unknown.value.status_code == 400
        assert "body.agent_id" in unknown.value.body["message"]  # type: ignore[index]


async def test_a_web_call_renders_through_every_vendor(
    app: Starlette, state: VendorSandbox
) -> None:
    async with _client(app, state) as retell:
        made = await retell.call.create_web_call(agent_id=AGENT)
    plan = _plan(state, made.call_id)
    async with _http(app) as http:
        for moment in (0, JOIN_WINDOW_MS):
            state.advance(moment)
            for vendor in state.vendors.values():
                path = vendor.lookup_path(vendor.external_id(plan))
                headers = state.credentials(vendor.name)
                answer = await http.get(f"/{vendor.name}{path}", headers=headers)
                # The app checks every body against its vendor's schema, and raises if not.
                assert answer.status_code == 200, (vendor.name, answer.text)


async def test_a_registered_phone_call_times_out_unless_joined(
    app: Starlette, state: VendorSandbox
) -> None:
    async with _client(app, state) as retell:
        lost = await retell.call.register_phone_call(
            agent_id=AGENT, from_number="+14155550142", to_number="+12137771235"
        )
        assert isinstance(lost, PhoneCallResponse)
        assert lost.call_status == "registered"
        assert (lost.from_number, lost.direction) == ("+14155550142", "inbound")
        kept = await retell.call.register_phone_call(agent_id=AGENT, direction="outbound")
        assert kept.direction == "outbound"
        state.advance(10_000)
        assert (await _join(app, kept.call_id, {"scenario": "voicemail"})).status_code == 200
        state.advance(JOIN_WINDOW_MS)
        timed_out = await retell.call.retrieve(lost.call_id)
        assert timed_out.call_status == "error"
        assert timed_out.disconnection_reason == "registered_call_timeout"
        # Joined in time: a voicemail greeting and message, then the agent hangs up.
        answered = await retell.call.retrieve(kept.call_id)
        assert answered.call_status == "ended"
        assert answered.disconnection_reason == "voicemail_reached"


async def test_stop_ends_an_ongoing_call_now(
    app: Starlette, state: VendorSandbox, events: list[Event]
) -> None:
    ongoing = _ongoing(state)
    async with _client(app, state) as retell:
        before = await retell.call.retrieve(ongoing)
        assert before.call_status == "ongoing"
        await retell.call.stop(ongoing)  # 204: the SDK answers None
        now = state.clock.now_ms()
        stopped = await retell.call.retrieve(ongoing)
        assert stopped.call_status == "ended"
        assert stopped.disconnection_reason == "manual_stopped"
        assert stopped.end_timestamp == now
        assert stopped.duration_ms == now - (before.start_timestamp or 0)
        assert stopped.call_cost is not None
        total = sum(line.cost for line in stopped.call_cost.product_costs)
        assert stopped.call_cost.combined_cost == pytest.approx(total)
        canonical = _plan(state, ongoing).id
        assert ("call_ended", canonical, now) in events

        with pytest.raises(BadRequestError) as twice:
            await retell.call.stop(ongoing)
        assert twice.value.body == {
            "status": "error",
            "message": f"Call {ongoing} is ended; stop-call needs a call that is ongoing.",
        }
        state.advance(10_000)
        assert ("call_analyzed", canonical, now + 10_000) in events


async def test_listen_then_take_over(app: Starlette, state: VendorSandbox) -> None:
    ongoing = _ongoing(state)
    async with _client(app, state) as retell:
        listening = await retell.call.listen_live(ongoing)
        assert isinstance(listening, CallListenLiveResponse)
        assert listening.room_name == ongoing
        assert listening.transport == "gateway"
        assert listening.expires_at == state.clock.now_ms() + JOIN_WINDOW_MS
        second = await retell.call.listen_live(ongoing)
        assert second.participant_id != listening.participant_id

        with pytest.raises(BadRequestError) as stranger:
            await retell.call.take_over_live(ongoing, participant_id="listener_nobody")
        assert "body.participant_id" in stranger.value.body["message"]  # type: ignore[index]

        taken = await retell.call.take_over_live(ongoing, participant_id=second.participant_id)
        assert taken.success is True
        after = await retell.call.retrieve(ongoing)
        assert (after.call_status, after.disconnection_reason) == ("ended", "call_take_over")
        with pytest.raises(BadRequestError):
            await retell.call.listen_live(ongoing)


async def test_update_live_changes_what_the_docs_allow(
    app: Starlette, state: VendorSandbox
) -> None:
    ongoing = _ongoing(state)
    async with _client(app, state) as retell:
        first = await retell.call.retrieve(ongoing)
        updated = await retell.call.update_live(
            ongoing,
            call_control={"additional_context": "The caller is a VIP.", "trigger_response": True},
            fields_to_override={
                "metadata": {"tier": "vip"},
                "data_storage_setting": "everything_except_pii",
                "override_dynamic_variables": {"discount": "15%"},
            },
        )
        assert updated.success is True
        now = await retell.call.retrieve(ongoing)
        assert now.metadata == {"tier": "vip"}
        assert now.data_storage_setting == "everything_except_pii"
        assert now.retell_llm_dynamic_variables == {
            **(first.retell_llm_dynamic_variables or {}),
            "discount": "15%",
        }
        assert now.call_status == "ongoing"

        await retell.call.update_live(
            ongoing, fields_to_override={"override_dynamic_variables": None}
        )
        reverted = await retell.call.retrieve(ongoing)
        assert reverted.retell_llm_dynamic_variables == first.retell_llm_dynamic_variables

        with pytest.raises(BadRequestError) as looser:
            await retell.call.update_live(
                ongoing, fields_to_override={"data_storage_setting": "everything"}
            )
        assert "cannot be downgraded" in looser.value.body["message"]  # type: ignore[index]
        with pytest.raises(BadRequestError):
            await retell.call.update_live(_completed(state), fields_to_override={"metadata": {}})


async def test_rerun_analysis_sends_call_analyzed_again(
    app: Starlette, state: VendorSandbox, events: list[Event]
) -> None:
    completed = _completed(state)
    async with _client(app, state) as retell:
        rerun = await retell.call.rerun_analysis(completed)
        assert rerun.call_status == "ended"
        assert rerun.call_analysis is not None
        now = state.clock.now_ms()
        state.advance(10_000)
        canonical = _plan(state, completed).id
        assert ("call_analyzed", canonical, now + 10_000) in events

        with pytest.raises(BadRequestError) as live:
            await retell.call.rerun_analysis(_ongoing(state))
        assert "is ongoing" in live.value.body["message"]  # type: ignore[index]


async def test_idempotency_key_answers_the_first_call_again(
    app: Starlette, state: VendorSandbox
) -> None:
    async with _client(app, state) as retell:

        async def create(key: str, n: int = 1) -> PhoneCallResponse:
            return await retell.call.create_phone_call(
                from_number="+14155550142",
                to_number="+12125550123",
                metadata={"n": n},
                idempotency_key=key,
            )

        first = await create("order-42")
        state.advance(1_000)
        again = await create("order-42")
        assert again.call_id == first.call_id
        listed = await retell.call.list(limit=3)
        assert [i.call_id for i in listed.items].count(first.call_id) == 1

        with pytest.raises(ConflictError) as conflict:
            await create("order-42", n=2)
        assert conflict.value.status_code == 409
        assert "order-42" in conflict.value.body["message"]  # type: ignore[index]

        other = await create("order-43")
        assert other.call_id != first.call_id
        # The key is kept for an hour (on the sandbox clock) from the first request.
        state.advance(3_600_000 - 1_000 - 1)
        assert (await create("order-42")).call_id == first.call_id
        state.advance(1)
        assert (await create("order-42")).call_id != first.call_id
