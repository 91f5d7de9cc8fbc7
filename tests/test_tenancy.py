"""Open tenancy: a key no fixture names gets a tenant of its own, seeded from the key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.dialect.vendor import VendorSandbox


@pytest.fixture
def open_client() -> Iterator[TestClient]:
    app = create_app(Settings(open_tenancy=True, raise_on_schema_error=True))
    with TestClient(app) as client:
        yield client


def _ids(client: TestClient, key: str) -> list[str]:
    page = client.post(
        "/retell/v3/list-calls", headers={"Authorization": f"Bearer {key}"}, json={"limit": 20}
    )
    assert page.status_code == 200, page.text
    return [item["call_id"] for item in page.json()["items"]]


def test_each_key_gets_its_own_world(open_client: TestClient) -> None:
    worker_a, worker_b = _ids(open_client, "key_worker_a"), _ids(open_client, "key_worker_b")
    assert set(worker_a).isdisjoint(worker_b)
    assert _ids(open_client, "key_worker_a") == worker_a  # seeded from the key: stable
    created = open_client.post(
        "/retell/v2/create-phone-call",
        headers={"Authorization": "Bearer key_worker_a"},
        json={"from_number": "+14155550142", "to_number": "+12125550123"},
    ).json()
    assert created["call_id"] in _ids(open_client, "key_worker_a")
    assert created["call_id"] not in _ids(open_client, "key_worker_b")
    theirs = open_client.get(
        f"/retell/v2/get-call/{created['call_id']}",
        headers={"Authorization": "Bearer key_worker_b"},
    )
    assert theirs.status_code == 422


def test_the_same_key_is_the_same_world_in_a_fresh_app(open_client: TestClient) -> None:
    again = create_app(Settings(open_tenancy=True))
    with TestClient(again) as other:
        assert _ids(other, "key_worker_a") == _ids(open_client, "key_worker_a")


def test_fixture_tenants_keep_working(open_client: TestClient) -> None:
    state: VendorSandbox = open_client.app.state.sandbox  # type: ignore[attr-defined]
    response = open_client.get(
        "/retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6", headers=state.credentials("retell")
    )
    assert response.status_code == 200


def test_open_tenancy_is_off_by_default(client: TestClient) -> None:
    response = client.post(
        "/retell/v3/list-calls", headers={"Authorization": "Bearer key_nobody"}, json={}
    )
    assert response.status_code == 401


def test_malformed_credentials_are_still_refused(open_client: TestClient) -> None:
    assert open_client.post("/retell/v3/list-calls", json={}).status_code == 401
    response = open_client.get(
        "/zudu/api/calls", headers={"X-API-KEY": "nope", "X-API-SECRET": "x"}
    )
    assert response.status_code == 401


# -- keys it takes -----------------------------------------------------------------------------


def test_a_short_key_is_an_unknown_key_and_hides_nothing(open_client: TestClient) -> None:
    state: VendorSandbox = open_client.app.state.sandbox  # type: ignore[attr-defined]
    before = len(state.tenants)
    response = open_client.get(
        "/retell/v2/get-call/call_retell_tell", headers={"Authorization": "Bearer e"}
    )
    assert response.status_code == 401
    keyless = open_client.get("/retell/v2/get-call/call_retell_tell")
    assert response.json() == keyless.json()  # Retell's own 401, as for any unknown key
    hint = response.headers["x-sandbox-hint"]
    assert "open tenancy takes keys of 8 to 256 characters, not 1" in hint
    assert len(state.tenants) == before
    assert not state.open_tenants
    assert not state.redactor.hides("e")
    entry = state.journal.entries()[0]
    assert (entry["path"], entry["tenant"]) == ("/retell/v2/get-call/call_retell_tell", None)
    seven = {"Authorization": "Bearer 1234567"}
    assert open_client.post("/retell/v3/list-calls", headers=seven, json={}).status_code == 401
    eight = {"Authorization": "Bearer 12345678"}
    assert open_client.post("/retell/v3/list-calls", headers=eight, json={}).status_code == 200
    too_long = {"Authorization": "Bearer " + "k" * 257}
    assert open_client.post("/retell/v3/list-calls", headers=too_long, json={}).status_code == 401


def test_the_same_short_key_is_refused_alike_without_open_tenancy(client: TestClient) -> None:
    response = client.post("/retell/v3/list-calls", headers={"Authorization": "Bearer e"}, json={})
    assert response.status_code == 401
    assert "open tenancy" not in response.headers["x-sandbox-hint"]


# -- how many live at once -----------------------------------------------------------------------


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _create(client: TestClient, key: str) -> str:
    created = client.post(
        "/retell/v2/create-phone-call",
        headers=_bearer(key),
        json={"from_number": "+14155550142", "to_number": "+12125550123"},
    )
    assert created.status_code == 201, created.text
    call_id: str = created.json()["call_id"]
    return call_id


def test_the_least_recently_used_open_tenant_goes_and_comes_back(
    open_client: TestClient,
) -> None:
    state: VendorSandbox = open_client.app.state.sandbox  # type: ignore[attr-defined]
    state.open_tenant_cap = 3
    made = _create(open_client, "key_tenant_b")
    _ids(open_client, "key_tenant_a")
    _ids(open_client, "key_tenant_c")
    _ids(open_client, "key_tenant_b")  # b is used again: a is now the least recent
    a, c, b = state.open_tenants
    _ids(open_client, "key_tenant_d")
    assert list(state.open_tenants)[:2] == [c, b]
    assert a not in state.tenants
    assert not state.redactor.hides("key_tenant_a")
    assert state.redactor.hides("key_tenant_b")
    assert made in _ids(open_client, "key_tenant_b")  # b kept what it created
    _ids(open_client, "key_tenant_a")  # a's key makes a again (and c goes)
    assert list(state.open_tenants)[-1] == a
    assert c not in state.tenants
    assert len(state.tenants) == len(state.fixtures.tenants) + 3


def test_an_evicted_tenant_loses_its_calls_rules_and_journal_entries(
    open_client: TestClient,
) -> None:
    state: VendorSandbox = open_client.app.state.sandbox  # type: ignore[attr-defined]
    state.open_tenant_cap = 2
    generated = _ids(open_client, "key_evicted_1")
    made = _create(open_client, "key_evicted_1")
    (tenant,) = state.open_tenants
    rule = {"tenant": tenant, "fault": {"type": "status", "status": 503}}
    assert open_client.post("/_sandbox/faults", json=rule).status_code == 201
    assert open_client.get(f"/_sandbox/journal?tenant={tenant}").json()["entries"]
    _ids(open_client, "key_evicted_2")
    _ids(open_client, "key_evicted_3")  # key_evicted_1 goes
    assert tenant not in state.tenants
    assert open_client.get(f"/_sandbox/journal?tenant={tenant}").json()["entries"] == []
    assert open_client.get("/_sandbox/faults").json()["faults"] == []
    assert _ids(open_client, "key_evicted_1") == generated  # reborn: seeded, not faulted
    lookup = open_client.get(f"/retell/v2/get-call/{made}", headers=_bearer("key_evicted_1"))
    assert lookup.status_code == 422
    again = open_client.get(f"/retell/v2/get-call/{generated[0]}", headers=_bearer("key_evicted_1"))
    assert again.status_code == 200


def test_a_reset_of_everything_unmakes_every_open_tenant(open_client: TestClient) -> None:
    state: VendorSandbox = open_client.app.state.sandbox  # type: ignore[attr-defined]
    first = _ids(open_client, "key_reset_one")
    _ids(open_client, "key_reset_two")
    assert len(state.open_tenants) == 2
    answer = open_client.post("/_sandbox/reset")
    assert answer.status_code == 200
    assert answer.json() == {"reset": list(state.fixtures.tenants)}
    assert not state.open_tenants
    assert state.tenants == dict(state.fixtures.tenants)
    assert not state.redactor.hides("key_reset_one")
    assert all(len(ring) == len(state.fixtures.tenants) for ring in state.keyrings.values())
    assert _ids(open_client, "key_reset_one") == first  # made again on its next use


def test_a_reset_of_one_open_tenant_keeps_it(open_client: TestClient) -> None:
    state: VendorSandbox = open_client.app.state.sandbox  # type: ignore[attr-defined]
    made = _create(open_client, "key_reset_mine")
    (tenant,) = state.open_tenants
    assert open_client.post(f"/_sandbox/reset?tenant={tenant}").status_code == 200
    assert tenant in state.tenants
    assert state.redactor.hides("key_reset_mine")
    assert made not in _ids(open_client, "key_reset_mine")


def test_two_vendors_sharing_one_key_keep_it_hidden_until_both_go(
    open_client: TestClient,
) -> None:
    state: VendorSandbox = open_client.app.state.sandbox  # type: ignore[attr-defined]
    state.open_tenant_cap = 2
    _ids(open_client, "key_shared_x")
    open_client.get("/callab/v1/calls/nothing", headers=_bearer("key_shared_x"))
    assert len(state.open_tenants) == 2
    _ids(open_client, "key_other_y")  # the Retell tenant of key_shared_x goes
    assert len(state.open_tenants) == 2
    assert state.redactor.hides("key_shared_x")
    _ids(open_client, "key_other_z")  # and now the Callab one
    assert not state.redactor.hides("key_shared_x")


def test_a_flood_of_keys_leaves_at_most_the_cap_of_tenants_and_tokens(
    open_client: TestClient,
) -> None:
    state: VendorSandbox = open_client.app.state.sandbox  # type: ignore[attr-defined]
    state.open_tenant_cap = 50
    fixture_tokens = len(state.redactor)
    for n in range(600):
        answer = open_client.post(
            "/retell/v3/list-calls", headers=_bearer(f"key_flood_{n:06d}"), json={"limit": 1}
        )
        assert answer.status_code == 200
    assert len(state.open_tenants) == 50
    assert len(state.tenants) == len(state.fixtures.tenants) + 50
    assert len(state.redactor) == fixture_tokens + 50
    assert len(state.journal) == 50  # the entries of the tenants that went, went with them
    assert sorted(state.keyrings["retell"].values(), key=lambda t: t.id) == sorted(
        (t for t in state.tenants.values() if "retell" in t.keys), key=lambda t: t.id
    )
