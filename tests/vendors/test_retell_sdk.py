"""The official retell-sdk, with strict response validation, against the sandbox in-process.

`_strict_response_validation=True` makes the SDK check every body against its pydantic
models, so a missing required field or a misspelt enum fails here as it would in a client.
"""

from __future__ import annotations

import httpx
import pytest
from retell import AsyncRetell, AuthenticationError, UnprocessableEntityError
from retell.types import PhoneCallResponse
from starlette.applications import Starlette

from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.retell.render import call_id

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _client(app: Starlette, key: str) -> AsyncRetell:
    transport = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test/retell"
    )
    return AsyncRetell(
        api_key=key,
        base_url="http://sandbox.test/retell",
        http_client=transport,
        max_retries=0,
        _strict_response_validation=True,
    )


async def test_sdk_round_trip(app: Starlette, state: VendorSandbox) -> None:
    key = state.default_tenant.keys["retell"]["api_key"]
    async with _client(app, key) as retell:
        for index in range(9):
            call = state.generator.call("acme", index)
            found = await retell.call.retrieve(call_id(call))
            assert found.call_id == call_id(call)
            assert found.call_type == call.call_type
        docs = await retell.call.retrieve("Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6")
        assert isinstance(docs, PhoneCallResponse)
        assert docs.transcript_object is not None
        assert docs.transcript_object[0].words[0].word == "hi"

        page = await retell.call.list(limit=10, include_total=True)
        assert len(page.items) == 10
        assert page.has_more is True
        pinned = sum(1 for c in state.fixtures.pinned if c.tenant == "acme")
        assert page.total == state.generator.size("acme") + pinned
        assert page.pagination_key is not None
        following = await retell.call.list(limit=10, pagination_key=page.pagination_key)
        assert {i.call_id for i in following.items}.isdisjoint(i.call_id for i in page.items)
        ended = await retell.call.list(
            filter_criteria={"call_status": {"type": "enum", "op": "in", "value": ["ended"]}},
            limit=50,
        )
        assert ended.items
        assert all(i.call_status == "ended" for i in ended.items)

        created = await retell.call.create_phone_call(
            from_number="+14155550142", to_number="+12125550123", metadata={"ticket": 7}
        )
        assert created.call_status == "registered"
        assert created.metadata == {"ticket": 7}
        listed = await retell.call.list(limit=1)
        assert listed.items[0].call_id == created.call_id

        updated = await retell.call.update(created.call_id, metadata={"ticket": 8})
        assert updated.metadata == {"ticket": 8}
        assert (await retell.call.retrieve(created.call_id)).metadata == {"ticket": 8}

        await retell.call.delete(created.call_id)
        with pytest.raises(UnprocessableEntityError) as gone:
            await retell.call.retrieve(created.call_id)
        assert gone.value.status_code == 422
        assert gone.value.body == {
            "status": "error",
            "message": "Cannot find requested asset under given api key.",
        }


async def test_sdk_errors(app: Starlette, state: VendorSandbox) -> None:
    async with _client(app, "key_not_a_sandbox_key") as retell:
        with pytest.raises(AuthenticationError) as denied:
            await retell.call.retrieve("call_x")
        assert denied.value.body == {"status": "error", "message": "API key is missing or invalid."}
    key = state.default_tenant.keys["retell"]["api_key"]
    async with _client(app, key) as retell:
        with pytest.raises(UnprocessableEntityError):
            await retell.call.retrieve("call_" + "0" * 32)
        with pytest.raises(UnprocessableEntityError):
            await retell.call.retrieve("a/b")


async def test_every_scenario_passes_strict_validation(
    app: Starlette, state: VendorSandbox
) -> None:
    key = state.default_tenant.keys["retell"]["api_key"]
    seen = set()
    async with _client(app, key) as retell:
        for index in range(60):
            call = state.generator.call("acme", index)
            await retell.call.retrieve(call_id(call))
            seen.add(call.scenario)
    assert seen == set(Scenario)
