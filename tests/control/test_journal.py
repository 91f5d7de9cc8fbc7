"""The journal: every vendor request recorded (bounded, credentials redacted), filterable over
HTTP and in Python, and `assert_called` with near misses, in-process and over a socket."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.store.journal import Journal, JournalQuery
from sandbox.testing.handles import SandboxHandle
from sandbox.vendors import VENDORS
from tests.doubles import MODES, call_id, lookup, pick, route_of, send, state_of, vendor_examples

RETELL = VENDORS[0]
DOCS_CALL = "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"


@pytest.fixture(params=MODES)
def handle(request: pytest.FixtureRequest, sandbox: SandboxHandle) -> SandboxHandle:
    return pick(request, sandbox)


def _get_call(handle: SandboxHandle, tenant: str | None = None, **extra: str) -> int:
    client = handle.httpx_client()
    response = client.get(
        f"/retell/v2/get-call/{DOCS_CALL}", headers={**handle.keys("retell", tenant), **extra}
    )
    return response.status_code


def test_every_example_request_is_recorded(handle: SandboxHandle, sandbox: SandboxHandle) -> None:
    state = state_of(sandbox)
    client = handle.httpx_client()
    sent = []
    for vendor, example in vendor_examples():
        response = send(client, state, vendor, example)
        sent.append((vendor, example, response.status_code))
    entries = handle.journal.entries()
    assert [e["seq"] for e in entries] == list(range(1, len(sent) + 1))
    for entry, (vendor, example, status) in zip(entries, sent, strict=True):
        route = route_of(vendor, example)
        path, _, query = example.path.replace("{call_id}", call_id(state, vendor)).partition("?")
        assert entry["kind"] == "request"
        assert entry["vendor"] == vendor.name
        assert entry["route"] == example.route
        assert entry["method"] == route.method
        assert entry["path"] == f"/{vendor.name}{path}"
        assert entry["query"] == ([p.split("=", 1) for p in query.split("&")] if query else [])
        assert entry["tenant"] == "acme"
        assert entry["status"] == status  # what the client got
        assert entry["body"] == example.body
        assert entry["faults"] == []
        assert entry["at_ms"] == state.clock.now_ms()
        assert entry["at"].endswith("Z")
        assert entry["duration_ms"] >= 0


def test_refused_and_unmatched_requests_are_recorded(handle: SandboxHandle) -> None:
    client = handle.httpx_client()
    client.get(f"/retell/v2/get-call/{DOCS_CALL}", headers={"Authorization": "Bearer nobody"})
    client.get("/retell/v9/nothing", headers=handle.keys("retell"))
    client.post(
        "/retell/v3/list-calls",
        headers={**handle.keys("retell"), "content-type": "application/json"},
        content=b"{not json",
    )
    first, second, third = handle.journal.entries()
    assert (first["route"], first["tenant"], first["status"]) == ("get-call", None, 401)
    assert (second["route"], second["tenant"], second["status"]) == (None, "acme", 404)
    assert (third["route"], third["status"], third["body"]) == ("list-calls", 400, None)


def test_no_credential_appears_in_the_journal(
    handle: SandboxHandle, sandbox: SandboxHandle
) -> None:
    state = state_of(sandbox)
    client = handle.httpx_client()
    secrets = [
        value
        for tenant in state.fixtures.tenants.values()
        for keys in tenant.keys.values()
        for value in keys.values()
    ]
    for vendor in VENDORS:
        for tenant in state.fixtures.tenants:
            keys = state.credentials(vendor.name, tenant)
            secret = next(iter(state.fixtures.tenants[tenant].keys[vendor.name].values()))
            wrong = {name: value + "x" for name, value in keys.items()}
            example = lookup(vendor)
            path = example.path.replace("{call_id}", call_id(state, vendor))
            sep = "&" if "?" in path else "?"
            leaky = f"/{vendor.name}{path}{sep}api_key={secret}&note=x"
            client.get(f"/{vendor.name}{path}", headers=keys)
            client.get(f"/{vendor.name}{path}", headers=wrong)
            client.get(leaky, headers={**keys, "X-Custom": f"copy {secret}"})
    creating = next(e for e in RETELL.examples if e.route == "create-phone-call")
    body = {**creating.body, "metadata": {"leaked": secrets[0]}}
    client.post("/retell/v2/create-phone-call", headers=sandbox.keys("retell"), json=body)
    raw = client.get("/_sandbox/journal").content
    assert len(json.loads(raw)["entries"]) == 3 * len(VENDORS) * len(state.fixtures.tenants) + 1
    for secret in secrets:
        assert secret.encode() not in raw
        assert secret[:-1].encode() not in raw
    entry = handle.journal.entries(vendor="retell")[0]
    assert entry["headers"]["authorization"] == "Bearer [REDACTED]"
    zudu = handle.journal.entries(vendor="zudu")[0]["headers"]
    assert (zudu["x-api-key"], zudu["x-api-secret"]) == ("[REDACTED]", "[REDACTED]")
    leaky_entry = handle.journal.entries(vendor="callab")[2]
    assert ["api_key", "[REDACTED]"] in leaky_entry["query"]
    assert leaky_entry["headers"]["x-custom"] == "copy [REDACTED]"
    created = handle.journal.entries(route="create-phone-call")[0]
    assert created["body"]["metadata"] == {"leaked": "[REDACTED]"}


def test_filters(handle: SandboxHandle, sandbox: SandboxHandle) -> None:
    state = state_of(sandbox)
    _get_call(handle)
    _get_call(handle, "globex")
    start = state.clock.now_ms()
    state.clock.advance(60_000)
    client = handle.httpx_client()
    client.post("/retell/v3/list-calls", headers=handle.keys("retell"), json={"limit": 1})
    client.get("/zudu/api/calls?limit=1", headers=handle.keys("zudu"))
    journal = handle.journal
    assert [e["seq"] for e in journal.entries(vendor="retell")] == [1, 2, 3]
    assert [e["seq"] for e in journal.entries(route="get-call")] == [1, 2]
    assert [e["seq"] for e in journal.entries(tenant="globex")] == [2]
    assert [e["seq"] for e in journal.entries(since=start + 60_000)] == [3, 4]
    assert [e["seq"] for e in journal.entries(until="2026-03-20T12:00:30Z")] == [1, 2]
    assert [e["seq"] for e in journal.entries(after=2, vendor="zudu")] == [4]
    assert [e["seq"] for e in journal.entries(limit=2)] == [3, 4]
    assert journal.entries(limit=0) == []
    assert journal.entries(kind="webhook") == []
    assert state.clock.now_ms() == start + 60_000


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("vendr=retell", "unknown query parameter 'vendr' for GET /_sandbox/journal; it takes: "),
        ("vendor=twilio", 'query.vendor: "twilio" is not one of ["retell", "callab", '),
        ("kind=call", 'query.kind: "call" is not one of ["request", "webhook"]'),
        ("limit=-1", "query.limit: -1 is less than the minimum of 0"),
        ("limit=ten", "query.limit: must be a whole number, not 'ten'"),
        ("since=yesterday", "query.since: give epoch ms or an ISO-8601 instant such as "),
    ],
)
def test_a_bad_filter_is_refused(sandbox: SandboxHandle, query: str, message: str) -> None:
    response = sandbox.httpx_client().get(f"/_sandbox/journal?{query}")
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


def test_assert_called_counts_and_names_the_near_misses(handle: SandboxHandle) -> None:
    _get_call(handle)
    _get_call(handle, "globex")
    handle.httpx_client().post(
        "/retell/v3/list-calls", headers=handle.keys("retell", "globex"), json={}
    )
    journal = handle.journal
    assert len(journal.assert_called(vendor="retell", route="get-call", times=2)) == 2
    assert journal.assert_called(vendor="retell", tenant="globex", status=200)[0]["seq"] == 3
    journal.assert_called(route="get-call", tenant="acme", method="get")
    journal.assert_not_called(vendor="zudu")
    with pytest.raises(AssertionError) as failed:
        journal.assert_called(vendor="retell", route="get-call", tenant="globex", status=200)
    path = f"/retell/v2/get-call/{DOCS_CALL}"
    assert str(failed.value) == (
        'expected a request matching vendor="retell", route="get-call", tenant="globex", '
        "status=200 at least once; found 0 among 3 journal entries\n"
        'Near misses (match some of vendor="retell", route="get-call", tenant="globex", '
        "status=200):\n"
        f"  #1 GET {path} -> 200 (vendor=retell, route=get-call, tenant=acme): "
        'tenant is "acme", not "globex"\n'
        f"  #2 GET {path} -> 422 (vendor=retell, route=get-call, tenant=globex): "
        "status is 422, not 200\n"
        "  #3 POST /retell/v3/list-calls -> 200 (vendor=retell, route=list-calls, "
        'tenant=globex): route is "list-calls", not "get-call"'
    )
    with pytest.raises(AssertionError, match=r"found 2 among 3 journal entries\nMatching:\n  #1"):
        journal.assert_called(route="get-call", times=1)
    with pytest.raises(AssertionError, match=r"No entry matches any of the criteria\. The latest"):
        journal.assert_called(vendor="callab")


def test_assert_called_checks_its_own_arguments(sandbox: SandboxHandle) -> None:
    with pytest.raises(ValueError, match="no vendor 'retel' here; choose one of retell, "):
        sandbox.journal.assert_called(vendor="retel")
    with pytest.raises(ValueError, match="retell has no route 'get_call'; route names: "):
        sandbox.journal.assert_called(vendor="retell", route="get_call")


def test_clear_reset_and_tenant_reset(handle: SandboxHandle) -> None:
    _get_call(handle)
    _get_call(handle, "globex")
    handle.reset("acme")
    assert [e["tenant"] for e in handle.journal.entries()] == ["globex"]
    assert handle.journal.clear() == 1
    assert handle.journal.entries() == []
    _get_call(handle)
    assert handle.journal.entries()[0]["seq"] == 1  # numbering starts again after a clear
    handle.reset()
    assert handle.journal.entries() == []


def test_the_ring_is_bounded() -> None:
    journal = Journal(capacity=3)
    for tenant in ["a", "b", "c", "d", "e"]:
        journal.record(_entry(tenant))
    assert [e["seq"] for e in journal.entries()] == [3, 4, 5]
    assert journal.evicted == 2
    assert [e["tenant"] for e in journal.entries(JournalQuery(tenant="e"))] == ["e"]
    journal.reset("d")
    assert [e["seq"] for e in journal.entries()] == [3, 5]
    journal.clear()
    assert (journal.entries(), journal.evicted) == ([], 0)


def test_other_kinds_are_recorded_beside_requests(sandbox: SandboxHandle) -> None:
    state = state_of(sandbox)
    _get_call(sandbox)
    state.journal.record({**_entry("acme"), "kind": "webhook", "route": "call_ended"})
    assert [e["kind"] for e in sandbox.journal.entries()] == ["request", "webhook"]
    assert [e["route"] for e in sandbox.journal.entries(kind="webhook")] == ["call_ended"]
    with pytest.raises(ValueError, match="journal entry kind 'email'"):
        state.journal.record({**_entry("acme"), "kind": "email"})


def _entry(tenant: str) -> dict[str, Any]:
    return {
        "kind": "request",
        "at": "2026-03-20T12:00:00.000Z",
        "at_ms": 0,
        "vendor": "retell",
        "route": None,
        "method": "POST",
        "path": "https://receiver.test/hook",
        "query": [],
        "tenant": tenant,
        "status": 200,
        "duration_ms": 0.0,
        "headers": {},
        "body": None,
        "faults": [],
        "detail": None,
    }
