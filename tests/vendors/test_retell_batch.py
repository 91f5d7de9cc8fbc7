"""Retell batch calls through the official retell-sdk with strict response validation: the
batch's tasks become calls on the sandbox clock, carrying its batch_call_id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from retell import AsyncRetell, BadRequestError
from retell.types.batch_call_create_batch_call_params import Task
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox.calls.lifecycle import observe
from sandbox.calls.model import Call, Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.retell.concurrency import ongoing

pytestmark = pytest.mark.anyio

FROM = "+14155550142"  # Ava Appointments' number


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


def _tasks(count: int, **more: object) -> list[Task]:
    return [Task(to_number=f"+1212555{1000 + i}", **more) for i in range(count)]  # type: ignore[typeddict-item]


def _plans(state: VendorSandbox, batch: str) -> list[Call]:
    created = state.store.backend.overlay("acme").created.values()
    return [c for _, c in sorted(created, key=lambda p: p[0]) if c.batch_call_id == batch]


async def _batch_items(retell: AsyncRetell, batch: str) -> list[str]:
    page = await retell.call.list(
        filter_criteria={"batch_call_id": {"type": "string", "op": "eq", "value": batch}},
        sort_order="ascending",
    )
    return [i.call_id for i in page.items]


async def test_a_batch_places_its_tasks_now(retell: AsyncRetell, state: VendorSandbox) -> None:
    now = state.clock.now_ms()
    batch = await retell.batch_call.create_batch_call(
        from_number=FROM,
        name="Spring reminders",
        tasks=[
            {"to_number": "+12125550101", "metadata": {"row": 1}},
            {
                "to_number": "+12125550102",
                "retell_llm_dynamic_variables": {"first_name": "Ada"},
                "override_agent_id": "agent_2b3c4d5e6f70481293a4b5c6d7",
            },
        ],
    )
    assert batch.batch_call_id.startswith("batch_call_")
    assert len(batch.batch_call_id) == 32
    assert batch.name == "Spring reminders"
    assert batch.from_number == FROM
    assert batch.scheduled_timestamp == now
    assert batch.total_task_count == 2
    assert batch.call_time_window is None

    ids = await _batch_items(retell, batch.batch_call_id)
    assert len(ids) == 2
    first, second = [await retell.call.retrieve(i) for i in ids]
    assert first.call_status == second.call_status == "registered"
    assert first.metadata == {"row": 1}
    assert (first.agent_name, second.agent_name) == ("Ava Appointments", "Rita Renewals")
    assert second.retell_llm_dynamic_variables == {"first_name": "Ada"}
    assert [first.to_number, second.to_number] == ["+12125550101", "+12125550102"]  # type: ignore[union-attr]

    # The legacy list filters on the same id; another batch's id, or none, finds nothing.
    legacy = await retell.post(
        "/v2/list-calls",
        body={"filter_criteria": {"batch_call_id": [batch.batch_call_id]}},
        cast_to=object,
    )
    assert isinstance(legacy, list)
    assert sorted(c["call_id"] for c in legacy) == sorted(ids)
    assert await _batch_items(retell, "batch_call_000000000000000000000") == []
    others = await retell.call.list(
        filter_criteria={"batch_call_id": {"type": "string", "op": "ne", "value": "x"}},
        limit=1000,
    )
    assert set(ids) <= {i.call_id for i in others.items}

    # The calls live on the clock: they end, and the batch id stays on them.
    plans = _plans(state, batch.batch_call_id)
    state.clock.advance(max(p.end_ms or 0 for p in plans) - now + 60_000)
    for call_id in ids:
        ended = await retell.call.retrieve(call_id)
        assert ended.call_status in {"ended", "not_connected", "error"}
    assert await _batch_items(retell, batch.batch_call_id) == ids


async def test_the_trigger_timestamp_schedules_the_batch(
    retell: AsyncRetell, state: VendorSandbox
) -> None:
    later = state.clock.now_ms() + 3_600_000
    batch = await retell.batch_call.create_batch_call(
        from_number=FROM, tasks=_tasks(3), trigger_timestamp=later
    )
    assert batch.scheduled_timestamp == later
    plans = _plans(state, batch.batch_call_id)
    assert [p.scheduled_ms for p in plans] == [later] * 3
    assert all(p.start_ms is not None and p.start_ms >= later for p in plans)
    assert all(observe(p, later - 1).scenario is Scenario.SCHEDULED for p in plans)
    state.clock.advance(later - state.clock.now_ms() - 1)
    for call_id in await _batch_items(retell, batch.batch_call_id):
        assert (await retell.call.retrieve(call_id)).call_status == "registered"


async def test_the_batch_keeps_to_its_lines(retell: AsyncRetell, state: VendorSandbox) -> None:
    """reserved_concurrency 18 of the 20 leaves the batch two lines: a task waits for one."""
    batch = await retell.batch_call.create_batch_call(
        from_number=FROM,
        tasks=_tasks(5, metadata={"sandbox_scenario": "completed"}),
        reserved_concurrency=18,
    )
    plans = _plans(state, batch.batch_call_id)
    assert len(plans) == 5
    spans = [(p.scheduled_ms or p.created_ms, p.end_ms or 0) for p in plans]
    for dial, _ in spans:
        busy = sum(1 for start, end in spans if start <= dial < end)
        assert busy <= 2
    assert spans[2][0] == min(spans[0][1], spans[1][1])
    for p in plans:
        assert p.start_ms is not None
        talking = [q for q in plans if observe(q, p.start_ms).scenario is Scenario.IN_PROGRESS]
        assert 1 <= len(talking) <= 2
        assert ongoing(state, "acme", p.start_ms) >= len(talking)


async def test_the_call_time_window(retell: AsyncRetell, state: VendorSandbox) -> None:
    # The clock stands at 2026-03-20T12:00Z, 05:00 in Los Angeles (PDT, UTC-7): a window of
    # 09:00-17:00 opens at 16:00Z; a window on Mondays only opens on 2026-03-23.
    batch = await retell.batch_call.create_batch_call(
        from_number=FROM,
        tasks=_tasks(2),
        call_time_window={"windows": [{"start": 540, "end": 1020}]},
    )
    assert batch.call_time_window is not None
    assert batch.call_time_window.timezone == "America/Los_Angeles"
    assert [(w.start, w.end) for w in batch.call_time_window.windows] == [(540, 1020)]
    opens = int(datetime(2026, 3, 20, 16, tzinfo=UTC).timestamp() * 1000)
    assert [p.scheduled_ms for p in _plans(state, batch.batch_call_id)] == [opens, opens]

    monday = await retell.batch_call.create_batch_call(
        from_number=FROM,
        tasks=_tasks(1),
        call_time_window={
            "windows": [{"start": 600, "end": 660}, {"start": 0, "end": 60}],
            "timezone": "Europe/London",
            "day": ["Monday"],
        },
    )
    assert monday.call_time_window is not None
    assert [(w.start, w.end) for w in monday.call_time_window.windows] == [(0, 60), (600, 660)]
    assert monday.call_time_window.day == ["Monday"]
    midnight = int(datetime(2026, 3, 23, tzinfo=UTC).timestamp() * 1000)  # GMT in March
    assert [p.scheduled_ms for p in _plans(state, monday.batch_call_id)] == [midnight]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"from_number": FROM, "tasks": [{"to_number": "+12125550101"}, {"to_number": "555"}]},
            "body.tasks[1].to_number: '555' is not an E.164 number like +14155550123",
        ),
        (
            {"from_number": "4155550142", "tasks": [{"to_number": "+12125550101"}]},
            "body.from_number: '4155550142' is not an E.164 number like +14155550123",
        ),
        (
            {
                "from_number": FROM,
                "tasks": [{"to_number": "+12125550101", "override_agent_id": "agent_x"}],
            },
            "body.tasks[0].override_agent_id: no agent 'agent_x'; use one of",
        ),
        (
            {
                "from_number": FROM,
                "tasks": [
                    {"to_number": "+12125550101"},
                    {"to_number": "+12125550102", "metadata": {"sandbox_scenario": "bogus"}},
                ],
            },
            "body.tasks[1].metadata.sandbox_scenario: scenario must be one of",
        ),
        (
            {
                "from_number": FROM,
                "tasks": [{"to_number": "+12125550101"}],
                "call_time_window": {"windows": [{"start": 1320, "end": 60}]},
            },
            "body.call_time_window.windows[0]: start (1320) must be below end (60)",
        ),
        (
            {
                "from_number": FROM,
                "tasks": [{"to_number": "+12125550101"}],
                "call_time_window": {
                    "windows": [{"start": 0, "end": 60}],
                    "timezone": "Mars/Olympus",
                },
            },
            "body.call_time_window.timezone: must be an IANA time zone",
        ),
        ({"from_number": FROM, "tasks": []}, "body.tasks"),
        ({"tasks": [{"to_number": "+12125550101"}]}, "from_number"),
    ],
)
def test_a_bad_batch_places_nothing(
    client: TestClient, state: VendorSandbox, body: dict[str, object], message: str
) -> None:
    before = state.store.snapshot()
    response = client.post(
        "/retell/create-batch-call", headers=state.credentials("retell"), json=body
    )
    assert response.status_code == 400, response.text
    assert response.json()["status"] == "error"
    assert message in response.json()["message"]
    assert state.store.snapshot() == before


async def test_a_batch_from_a_pseudo_number(retell: AsyncRetell) -> None:
    batch = await retell.batch_call.create_batch_call(
        from_number="1001", tasks=[{"to_number": "2002", "ignore_e164_validation": True}]
    )
    assert batch.total_task_count == 1
    with pytest.raises(BadRequestError):
        await retell.batch_call.create_batch_call(from_number="1001", tasks=[{"to_number": "2002"}])


def test_a_batch_is_journaled_and_faultable(client: TestClient, state: VendorSandbox) -> None:
    body = {"from_number": FROM, "tasks": _tasks(1)}
    headers = {**state.credentials("retell"), "Prefer": "code=503"}
    before = state.store.snapshot()
    refused = client.post("/retell/create-batch-call", headers=headers, json=body)
    assert refused.status_code == 503
    assert refused.json()["status"] == "error"
    assert state.store.snapshot() == before
    placed = client.post(
        "/retell/create-batch-call",
        headers={**state.credentials("retell"), "Prefer": "scenario=busy"},
        json=body,
    )
    assert placed.status_code == 201
    plans = _plans(state, placed.json()["batch_call_id"])
    assert [p.scenario.value for p in plans] == ["busy"]
