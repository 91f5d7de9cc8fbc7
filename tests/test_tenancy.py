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
