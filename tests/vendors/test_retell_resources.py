"""What Retell calls point at, through the official retell-sdk with strict response validation:
agents, phone numbers and concurrency, answered from the fixtures and the live calls; the
agent and number writes answer a clear 501."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from retell import AsyncRetell, BadRequestError, InternalServerError, UnprocessableEntityError
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox.calls.lifecycle import observe
from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.retell.assets import modified_ms
from sandbox.vendors.retell.concurrency import ongoing
from sandbox.vendors.retell.render import agent_id

pytestmark = pytest.mark.anyio

DOCS_AGENT = "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"
DOCS_NUMBER = "+12137771235"
MISSING = {"status": "error", "message": "Cannot find requested asset under given api key."}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def retell(app: Starlette, state: VendorSandbox) -> AsyncIterator[AsyncRetell]:
    transport = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test/retell"
    )
    client = AsyncRetell(
        api_key=state.default_tenant.keys["retell"]["api_key"],
        base_url="http://sandbox.test/retell",
        http_client=transport,
        max_retries=0,
        _strict_response_validation=True,
    )
    async with client:
        yield client


async def test_get_agent(retell: AsyncRetell, state: VendorSandbox) -> None:
    agent = await retell.agent.retrieve(DOCS_AGENT)
    assert agent.agent_id == DOCS_AGENT
    assert agent.agent_name == "My Agent"
    assert agent.version == 1
    assert agent.is_published is True
    assert agent.response_engine.type == "retell-llm"
    assert agent.voice_id == "11labs-Adrian"
    assert agent.language == "en-US"
    fixture = next(a for a in state.default_tenant.agents if agent_id(a) == DOCS_AGENT)
    assert agent.last_modification_timestamp == modified_ms(state.fixtures, fixture)
    older = await retell.agent.retrieve(DOCS_AGENT, version=0)
    assert (older.version, older.is_published) == (0, False)
    with pytest.raises(UnprocessableEntityError) as missing:
        await retell.agent.retrieve(DOCS_AGENT, version=2)
    assert missing.value.body == MISSING
    with pytest.raises(UnprocessableEntityError) as unknown:
        await retell.agent.retrieve("agent_nobody")
    assert unknown.value.body == MISSING


async def test_every_call_points_at_an_agent_and_a_number(
    retell: AsyncRetell, state: VendorSandbox
) -> None:
    page = await retell.call.list(limit=40)
    for item in page.items:
        agent = await retell.agent.retrieve(item.agent_id)
        assert agent.agent_name == item.agent_name
        assert agent.version == item.agent_version
        if item.call_type == "phone_call":
            own = item.from_number if item.direction == "outbound" else item.to_number
            number = await retell.phone_number.retrieve(own)
            assert number.outbound_agents is not None
            assert number.outbound_agents[0].agent_id == item.agent_id


async def test_list_agents_pages_and_filters(retell: AsyncRetell, state: VendorSandbox) -> None:
    everyone = await retell.agent.list()
    assert {i.agent_id for i in everyone.items} == {
        agent_id(a) for a in state.default_tenant.agents
    }
    assert everyone.has_more is False
    assert everyone.pagination_key is None
    stamps = [i.user_modified_timestamp for i in everyone.items]
    assert stamps == sorted(stamps, reverse=True)
    assert all(i.channel == "voice" and not i.is_suspended for i in everyone.items)

    first = await retell.agent.list(limit=3, sort_order="ascending")
    assert first.has_more is True
    assert first.pagination_key == first.items[-1].agent_id
    rest = await retell.agent.list(
        limit=3, sort_order="ascending", pagination_key=first.pagination_key
    )
    assert [i.agent_id for i in first.items + rest.items] == [
        i.agent_id for i in reversed(everyone.items)
    ]
    assert rest.has_more is False

    found = await retell.agent.list(filter_criteria={"query": "RENEW"})
    assert [i.agent_name for i in found.items] == ["Rita Renewals"]
    chat = await retell.agent.list(
        filter_criteria={"channel": {"type": "string", "op": "eq", "value": "chat"}}
    )
    assert chat.items == []
    with pytest.raises(BadRequestError) as bad:
        await retell.agent.list(limit=0)
    assert bad.value.body == {
        "status": "error",
        "message": "query.limit: must be at least 1, not 0",
    }


async def test_list_agent_versions(retell: AsyncRetell) -> None:
    versions = await retell.agent.list_versions("agent_6f1d2c3b4a594e689d7c1b2a3c")
    assert [v.version for v in versions.items] == [3, 2, 1, 0]
    assert [v.is_published for v in versions.items] == [True, False, False, False]
    page = await retell.agent.list_versions(
        "agent_6f1d2c3b4a594e689d7c1b2a3c", limit=2, sort_order="ascending"
    )
    assert [v.version for v in page.items] == [0, 1]
    assert page.pagination_key == "1"


async def test_phone_numbers(retell: AsyncRetell, state: VendorSandbox) -> None:
    number = await retell.phone_number.retrieve(DOCS_NUMBER)
    assert number.phone_number == DOCS_NUMBER
    assert number.phone_number_type == "retell-twilio"
    assert number.phone_number_pretty == "+1 (213) 777-1235"
    assert number.area_code == 213
    assert number.inbound_agents is not None
    assert [(a.agent_id, a.weight) for a in number.inbound_agents] == [(DOCS_AGENT, 1.0)]
    listed = await retell.phone_number.list()
    assert {n.phone_number for n in listed.items} == {
        a.phone_number for a in state.default_tenant.agents
    }
    two = await retell.phone_number.list(limit=2)
    assert two.has_more is True
    assert two.pagination_key == two.items[-1].phone_number
    with pytest.raises(UnprocessableEntityError) as unknown:
        await retell.phone_number.retrieve("+15035550188")  # another tenant's number
    assert unknown.value.body == MISSING


async def test_concurrency_counts_the_calls_ongoing_now(
    retell: AsyncRetell, state: VendorSandbox
) -> None:
    answer = await retell.concurrency.retrieve()
    now = state.clock.now_ms()
    live = [state.generator.plan("acme", i) for i in range(3)]
    pinned = [c for c in state.fixtures.pinned if c.tenant == "acme"]
    expected = sum(1 for c in live + pinned if observe(c, now).scenario is Scenario.IN_PROGRESS)
    assert answer.current_concurrency == expected == ongoing(state, "acme", now)
    assert answer.concurrency_limit == 20
    assert answer.base_concurrency == 20
    assert answer.purchased_concurrency == 0
    assert answer.remaining_purchase_limit == 100
    assert answer.concurrency_burst_enabled is False
    assert answer.concurrency_burst_limit == 0

    created = await retell.call.create_phone_call(
        from_number="+14155550142", to_number="+12125550123"
    )
    plan = state.store.plan("acme", state.vendors["retell"].canonical_id(created.call_id) or "")
    assert plan is not None
    assert plan.start_ms is not None
    state.clock.advance(plan.start_ms - state.clock.now_ms() + 1)
    talking = await retell.concurrency.retrieve()
    assert talking.current_concurrency == ongoing(state, "acme", state.clock.now_ms())
    assert (await retell.call.retrieve(created.call_id)).call_status == "ongoing"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/create-agent"),
        ("PATCH", f"/update-agent/{DOCS_AGENT}"),
        ("DELETE", f"/delete-agent/{DOCS_AGENT}"),
        ("POST", f"/create-agent-version/{DOCS_AGENT}"),
        ("DELETE", f"/delete-agent-version/{DOCS_AGENT}"),
        ("POST", f"/publish-agent-version/{DOCS_AGENT}"),
        ("POST", f"/repair-agent/{DOCS_AGENT}"),
        ("POST", "/create-phone-number"),
        ("POST", "/import-phone-number"),
        ("PATCH", f"/update-phone-number/{DOCS_NUMBER}"),
        ("DELETE", f"/delete-phone-number/{DOCS_NUMBER}"),
    ],
)
def test_writes_are_not_emulated(
    client: TestClient, state: VendorSandbox, method: str, path: str
) -> None:
    response = client.request(
        method, f"/retell{path}", headers=state.credentials("retell"), json={}
    )
    assert response.status_code == 501
    assert response.headers["x-should-retry"] == "false"
    body = response.json()
    assert body["status"] == "error"
    assert body["message"].startswith(f"{method} {path} is a Retell endpoint the sandbox")
    assert "fixtures" in body["message"]
    state.schemas.check("retell/error.json", body)
    # Without a key it is the usual 401; an unknown path is still Retell's 404.
    assert client.request(method, f"/retell{path}").status_code == 401
    wrong = client.request(method, f"/retell{path}/x", headers=state.credentials("retell"))
    assert wrong.status_code == 404


async def test_sdk_writes_fail_once_with_the_message(app: Starlette, state: VendorSandbox) -> None:
    """The SDK retries a 5xx twice by default; `x-should-retry: false` stops it."""
    sent: list[str] = []

    async def count(request: httpx.Request) -> None:
        sent.append(request.url.path)

    transport = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sandbox.test/retell",
        event_hooks={"request": [count]},
    )
    key = state.default_tenant.keys["retell"]["api_key"]
    async with AsyncRetell(
        api_key=key,
        base_url="http://sandbox.test/retell",
        http_client=transport,
        _strict_response_validation=True,
    ) as retell:
        with pytest.raises(InternalServerError) as refused:
            await retell.agent.update(DOCS_AGENT, agent_name="New name")
        assert refused.value.status_code == 501
        with pytest.raises(InternalServerError):
            await retell.phone_number.import_(phone_number="+14155550199", termination_uri="x.y")
    assert sent == [f"/retell/update-agent/{DOCS_AGENT}", "/retell/import-phone-number"]
