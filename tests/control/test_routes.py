"""The control plane's keys endpoint: the headers a client of a remote sandbox should send."""

from __future__ import annotations

from starlette.testclient import TestClient

from sandbox.dialect.vendor import VendorSandbox


def test_keys_are_the_default_tenants_headers_per_vendor(
    client: TestClient, state: VendorSandbox
) -> None:
    response = client.get("/_sandbox/keys")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {name: state.credentials(name) for name in state.vendors}
    assert list(response.json()) == list(state.vendors)


def test_keys_of_another_tenant(client: TestClient, state: VendorSandbox) -> None:
    response = client.get("/_sandbox/keys", params={"tenant": "globex"})
    assert response.status_code == 200
    globex = state.fixtures.tenants["globex"]
    expected = {n: state.credentials(n, "globex") for n in state.vendors if n in globex.keys}
    assert response.json() == expected
    assert response.json() != client.get("/_sandbox/keys").json()


def test_keys_of_an_unknown_tenant_say_which_exist(client: TestClient) -> None:
    response = client.get("/_sandbox/keys", params={"tenant": "initech"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "message": "no tenant 'initech'; ask for one of acme, globex, or omit ?tenant= for the "
        "default",
    }


def test_keys_answer_get_only(client: TestClient) -> None:
    assert client.post("/_sandbox/keys").status_code == 405
