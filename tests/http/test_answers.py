"""Kept answers of the lookup routes: the same bytes as a fresh render, for as long as the call
stays as it was, and never in the way of auth, faults, rate limits or the journal."""

from __future__ import annotations

from dataclasses import replace

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.lifecycle import phase
from sandbox.calls.model import Call
from sandbox.dialect.vendor import Vendor, VendorSandbox
from sandbox.http.answers import Answer, AnswerCache

TENANT = "acme"


def _path(vendor: Vendor, call: Call) -> str:
    return f"/{vendor.name}{vendor.lookup_path(vendor.external_id(call))}"


def _calls(state: VendorSandbox) -> list[Call]:
    generated = [state.generator.call(TENANT, i) for i in (0, 1, 2, 5, 9, 40, 333)]
    return generated + [c for c in state.fixtures.pinned if c.tenant == TENANT]


def _uncached() -> tuple[Starlette, TestClient]:
    app = create_app(Settings(raise_on_schema_error=True))
    app.state.answers.max_answers = 0  # (keeps nothing)
    return app, TestClient(app)


def test_a_kept_answer_is_the_first_answer_byte_for_byte(
    app: Starlette, client: TestClient, state: VendorSandbox
) -> None:
    for name, vendor in state.vendors.items():
        for call in _calls(state):
            path = _path(vendor, call)
            first = client.get(path, headers=state.credentials(name))
            kept = len(app.state.answers)
            again = client.get(path, headers=state.credentials(name))
            assert first.status_code == again.status_code == 200
            assert again.content == first.content
            assert again.headers == first.headers
            assert len(app.state.answers) == kept  # (answered from what was kept)
    assert len(app.state.answers) == len(state.vendors) * len(_calls(state))


def test_kept_answers_follow_the_clock_as_fresh_renders_do(
    client: TestClient, state: VendorSandbox
) -> None:
    """The call in progress says more turn by turn, the queued one dials and ends: a kept
    answer never outlives its phase."""
    fresh_app, fresh = _uncached()
    fresh_state: VendorSandbox = fresh_app.state.sandbox
    calls = _calls(state)
    for step in (0, 700, 1_500, 4_000, 30_000, 90_000, 600_000, 2 * 86_400_000):
        state.advance(step)
        fresh_state.advance(step)
        for name, vendor in state.vendors.items():
            for call in calls:
                path = _path(vendor, call)
                for _ in range(2):
                    mine = client.get(path, headers=state.credentials(name))
                    theirs = fresh.get(path, headers=fresh_state.credentials(name))
                    assert (mine.status_code, mine.content) == (theirs.status_code, theirs.content)
    assert len(fresh_app.state.answers) == 0


def test_every_flag_set_is_its_own_answer(client: TestClient, state: VendorSandbox) -> None:
    vendor = state.vendors["contactship"]
    call = next(c for c in (state.generator.call(TENANT, i) for i in range(3, 99)) if c.turns)
    headers = state.credentials("contactship")
    base = _path(vendor, call)
    bodies = {
        query: client.get(base + query, headers=headers).content
        for query in ("", "?include_words=true", "?include_tools=true&transcript_format=toon")
    }
    assert len(set(bodies.values())) == 3
    for query, body in bodies.items():
        assert client.get(base + query, headers=headers).content == body


def test_an_update_a_delete_and_a_reset_show_at_once(
    client: TestClient, state: VendorSandbox
) -> None:
    retell = state.vendors["retell"]
    headers = state.credentials("retell")
    call = state.generator.call(TENANT, 40)
    cid = retell.external_id(call)
    path = _path(retell, call)
    before = client.get(path, headers=headers).content
    assert client.get(path, headers=headers).content == before
    update = f"/retell/v2/update-call/{cid}"
    patched = client.patch(update, json={"metadata": {"k": "v"}}, headers=headers)
    assert patched.status_code == 200
    after = client.get(path, headers=headers)
    assert after.json()["metadata"] == {"k": "v"}
    assert client.get(path, headers=headers).content == after.content
    assert client.delete(f"/retell/v2/delete-call/{cid}", headers=headers).status_code == 204
    assert client.get(path, headers=headers).status_code == 422
    assert client.post("/_sandbox/reset").status_code in (200, 204)
    assert client.get(path, headers=headers).content == before


def test_another_tenant_never_gets_a_kept_answer(client: TestClient, state: VendorSandbox) -> None:
    retell = state.vendors["retell"]
    path = _path(retell, state.generator.call(TENANT, 9))
    assert client.get(path, headers=state.credentials("retell")).status_code == 200
    other = client.get(path, headers=state.credentials("retell", "globex"))
    assert other.status_code == 422
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_faults_and_the_journal_still_see_every_request(
    client: TestClient, state: VendorSandbox
) -> None:
    retell = state.vendors["retell"]
    headers = state.credentials("retell")
    path = _path(retell, state.generator.call(TENANT, 9))
    body = client.get(path, headers=headers).content
    assert client.get(path, headers=headers).content == body
    forced = client.get(path, headers={**headers, "Prefer": "code=503"})
    assert forced.status_code == 503
    assert forced.json() != client.get(path, headers=headers).json()
    delayed = client.get(path, headers={**headers, "Prefer": "delay=1"})
    assert (delayed.status_code, delayed.content) == (200, body)
    assert delayed.headers["preference-applied"] == "delay=1"
    statuses = [e["status"] for e in state.journal.entries() if e["route"] == "get-call"]
    assert statuses == [200, 200, 503, 200, 200]


# -- the cache itself ---------------------------------------------------------------------


def _answer(size: int) -> Answer:
    return Answer(200, {}, b"x" * size, ((b"content-length", str(size).encode()),))


@pytest.fixture
def plan(state: VendorSandbox) -> Call:
    return state.generator.plan(TENANT, 7)


def test_an_answer_is_kept_for_its_plan_and_phase_only(state: VendorSandbox, plan: Call) -> None:
    cache = AnswerCache()
    stage = phase(plan, state.clock.now_ms())
    key = ("retell", "/v2/get-call/x", b"", TENANT)
    cache.put(key, plan, stage, _answer(10))
    kept = cache.get(key, plan, stage)
    assert kept is not None
    assert kept.payload == b"x" * 10
    assert cache.get(key, replace(plan), stage) == kept  # an equal plan read back from a store
    assert cache.get(key, replace(plan, metadata={"k": "v"}), stage) is None
    assert cache.get(key, plan, ("talking", 1, 0)) is None
    assert cache.get(("retell", "/v2/get-call/x", b"", "globex"), plan, stage) is None


def test_the_cache_is_bounded_by_count_and_by_bytes(state: VendorSandbox, plan: Call) -> None:
    stage = phase(plan, state.clock.now_ms())
    by_count = AnswerCache(max_answers=3)
    for n in range(5):
        by_count.put(("v", str(n), b"", TENANT), plan, stage, _answer(1))
    assert len(by_count) == 3
    assert by_count.get(("v", "0", b"", TENANT), plan, stage) is None
    assert by_count.get(("v", "4", b"", TENANT), plan, stage) is not None
    by_bytes = AnswerCache(max_bytes=25)
    for n in range(5):
        by_bytes.put(("v", str(n), b"", TENANT), plan, stage, _answer(10))
    assert (len(by_bytes), by_bytes.size) == (2, 20)
    by_bytes.put(("v", "big", b"", TENANT), plan, stage, _answer(26))  # (larger than it all)
    assert by_bytes.get(("v", "big", b"", TENANT), plan, stage) is None
    by_bytes.clear()
    assert (len(by_bytes), by_bytes.size) == (0, 0)
