"""Faults on purpose: `Prefer: code=|delay=` per request and fault rules by vendor, route and
tenant (a status, a delay, a hang, a dropped connection, a truncated or malformed body), each
in-process and over a socket, for every vendor, in the vendor's own error shape."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import retell
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.dialect.vendor import Vendor
from sandbox.serve.cli import parser
from sandbox.testing.handles import SandboxHandle
from sandbox.vendors import VENDORS
from tests.doubles import (
    INJECTED,
    MODES,
    call_id,
    lookup,
    pick,
    route_of,
    send,
    state_of,
)

RETELL = next(v for v in VENDORS if v.name == "retell")
DOCS_CALL = "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"


@pytest.fixture(params=MODES)
def handle(request: pytest.FixtureRequest, sandbox: SandboxHandle) -> SandboxHandle:
    return pick(request, sandbox)


def _retell(handle: SandboxHandle, **options: Any) -> retell.Retell:
    key = handle.keys("retell")["Authorization"].removeprefix("Bearer ")
    return retell.Retell(
        api_key=key,
        base_url=handle.base_url("retell"),
        http_client=handle.httpx_client(),
        **options,
    )


def _lookup(client: httpx.Client, sandbox: SandboxHandle, vendor: Vendor, **headers: str) -> Any:
    """GET one call of `vendor` through `client` (in-process or over a socket)."""
    return send(client, state_of(sandbox), vendor, lookup(vendor), headers)


# -- Prefer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_prefer_code_answers_that_status_in_the_vendors_shape(
    handle: SandboxHandle, sandbox: SandboxHandle, vendor: Vendor
) -> None:
    state = state_of(sandbox)
    client = handle.httpx_client()
    before = state.store.snapshot()
    for example in vendor.examples:
        for status in (429, 503):
            response = send(client, state, vendor, example, {"Prefer": f"code={status}"})
            where = f"{example.route} code={status}"
            assert response.status_code == status, where
            assert response.json() == INJECTED[vendor.name][status], where
            assert response.headers["content-type"] == vendor.content_type
            assert response.headers["x-should-retry"] == "false"
            assert response.headers["preference-applied"] == f"code={status}"
            assert response.headers.get("retry-after") == ("1" if status == 429 else None)
            assert "Prefer" in response.headers["x-sandbox-hint"]
    assert state.store.snapshot() == before  # a faulted request changes nothing


def test_retell_answers_its_documented_message_for_each_status(sandbox: SandboxHandle) -> None:
    documented = {
        400: "Invalid request format, please check API reference.",
        401: "API key is missing or invalid.",
        402: "Trial has ended, please add payment method.",
        403: "Forbidden",
        404: "The requested resource was not found.",
        409: "Resource update conflict.",
        412: "Precondition failed for conditional update.",
        422: "Cannot find requested asset under given api key.",
        429: "Account rate limited, please throttle your requests.",
        500: "An unexpected server error occurred.",
        502: "Bad Gateway",
        504: "Gateway Timeout",
    }
    client = sandbox.httpx_client()
    for status, message in documented.items():
        response = _lookup(client, sandbox, RETELL, Prefer=f"code={status}")
        assert response.status_code == status
        assert response.json() == {"status": "error", "message": message}


def test_prefer_delay_waits_then_answers(handle: SandboxHandle, sandbox: SandboxHandle) -> None:
    client = handle.httpx_client()
    started = time.monotonic()
    response = _lookup(client, sandbox, RETELL, Prefer="delay=250")
    assert time.monotonic() - started >= 0.25
    assert response.status_code == 200
    assert response.headers["preference-applied"] == "delay=250"
    assert sandbox.journal.entries(route="get-call")[-1]["faults"] == [
        {"source": "prefer", "type": "delay", "ms": 250}
    ]


def test_prefer_code_and_delay_together(sandbox: SandboxHandle) -> None:
    response = _lookup(sandbox.httpx_client(), sandbox, RETELL, Prefer="code=500; delay=10")
    assert response.status_code == 500
    assert response.headers["preference-applied"] == "delay=10, code=500"


@pytest.mark.parametrize("value", ["code=200", "code=abc", "code=600", "delay=soon", "delay=-5"])
def test_preferences_the_sandbox_cannot_honour_are_ignored(
    sandbox: SandboxHandle, value: str
) -> None:
    response = _lookup(sandbox.httpx_client(), sandbox, RETELL, Prefer=value)
    assert response.status_code == 200
    assert "preference-applied" not in response.headers
    assert sandbox.journal.entries()[-1]["faults"] == []


def test_a_wrong_key_and_an_unknown_route_beat_prefer(sandbox: SandboxHandle) -> None:
    client = sandbox.httpx_client()
    wrong = client.get(
        sandbox.base_url("retell") + f"/v2/get-call/{DOCS_CALL}",
        headers={"Authorization": "Bearer key_wrong", "Prefer": "code=503"},
    )
    assert wrong.status_code == 401
    assert wrong.json() == {"status": "error", "message": "API key is missing or invalid."}
    nowhere = client.get(
        sandbox.base_url("retell") + "/v2/no-such-route",
        headers={**sandbox.keys("retell"), "Prefer": "code=503"},
    )
    assert nowhere.status_code == 404


def test_no_prefer_turns_preferences_off() -> None:
    app = create_app(Settings(prefer=False, raise_on_schema_error=True))
    state = app.state.sandbox
    with TestClient(app) as client:
        response = client.get(
            f"/retell/v2/get-call/{DOCS_CALL}",
            headers={**state.credentials("retell"), "Prefer": "code=503, delay=5000"},
        )
    assert response.status_code == 200
    assert "preference-applied" not in response.headers
    assert parser().parse_args(["serve", "--no-prefer"]).prefer is False
    assert parser().parse_args(["serve"]).prefer is True


def test_retell_sdk_makes_one_attempt_at_a_forced_code(sandbox: SandboxHandle) -> None:
    client = _retell(sandbox, max_retries=2)
    with pytest.raises(retell.InternalServerError) as raised:
        client.call.retrieve(DOCS_CALL, extra_headers={"Prefer": "code=503"})
    assert raised.value.status_code == 503
    assert raised.value.body == INJECTED["retell"][503]
    sandbox.journal.assert_called(vendor="retell", route="get-call", times=1)


# -- fault rules: when -----------------------------------------------------------------------


def _statuses(client: httpx.Client, sandbox: SandboxHandle, count: int) -> list[int]:
    return [_lookup(client, sandbox, RETELL).status_code for _ in range(count)]


def test_a_status_rule_for_the_first_n_requests(
    handle: SandboxHandle, sandbox: SandboxHandle
) -> None:
    rule = handle.faults.add(
        {"type": "status", "status": 503}, vendor="retell", route="get-call", when={"first": 2}
    )
    assert rule == {
        "id": 1,
        "vendor": "retell",
        "route": "get-call",
        "tenant": None,
        "fault": {"type": "status", "status": 503},
        "when": {"first": 2},
        "matched": 0,
        "applied": 0,
    }
    client = handle.httpx_client()
    first = _lookup(client, sandbox, RETELL)
    assert first.status_code == 503
    assert first.json() == INJECTED["retell"][503]
    assert first.headers["x-sandbox-hint"] == "answered 503 by fault rule 1"
    assert "x-should-retry" not in first.headers  # a rule leaves retrying to the client
    assert _statuses(client, sandbox, 3) == [503, 200, 200]
    assert handle.faults.get(1)["matched"] == 4
    assert handle.faults.get(1)["applied"] == 2


def test_every_nth_request(sandbox: SandboxHandle) -> None:
    sandbox.faults.add(type="status", status=500, when={"every": 3})
    assert _statuses(sandbox.httpx_client(), sandbox, 7) == [200, 200, 500, 200, 200, 500, 200]


def test_a_seeded_probability_gives_the_same_faults_for_the_same_seed(
    sandbox: SandboxHandle,
) -> None:
    client = sandbox.httpx_client()

    def run() -> list[int]:
        sandbox.reset()
        sandbox.faults.add(type="status", status=502, when={"probability": 0.5})
        return _statuses(client, sandbox, 24)

    first = run()
    assert run() == first
    assert {200, 502} == set(first)


@pytest.mark.sandbox(seed=7)
def test_another_seed_gives_other_faults(sandbox: SandboxHandle) -> None:
    sandbox.faults.add(type="status", status=502, when={"probability": 0.5})
    seven = _statuses(sandbox.httpx_client(), sandbox, 24)
    other = create_app(Settings(raise_on_schema_error=True))
    with TestClient(other) as client:
        state = other.state.sandbox
        client.post(
            "/_sandbox/faults",
            json={"fault": {"type": "status", "status": 502}, "when": {"probability": 0.5}},
        )
        path = f"/retell/v2/get-call/{DOCS_CALL}"
        default = [
            client.get(path, headers=state.credentials("retell")).status_code for _ in range(24)
        ]
    assert seven != default


def test_delays_drawn_from_a_distribution_repeat_for_the_same_seed(
    sandbox: SandboxHandle,
) -> None:
    client = sandbox.httpx_client()

    def drawn() -> list[int]:
        sandbox.reset()
        sandbox.faults.add(type="delay", uniform={"min_ms": 1, "max_ms": 20})
        sandbox.faults.add(type="delay", normal={"mean_ms": 5, "stddev_ms": 3})
        _statuses(client, sandbox, 5)
        return [f["ms"] for e in sandbox.journal.entries() for f in e["faults"]]

    first = drawn()
    assert len(first) == 10
    assert all(1 <= ms <= 20 for ms in first[0::2])
    assert all(ms >= 0 for ms in first[1::2])
    assert drawn() == first


def test_a_fixed_delay_rule_waits(handle: SandboxHandle, sandbox: SandboxHandle) -> None:
    handle.faults.add(type="delay", ms=200, vendor="retell")
    started = time.monotonic()
    assert _lookup(handle.httpx_client(), sandbox, RETELL).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_delays_add_up_and_the_first_other_fault_decides(sandbox: SandboxHandle) -> None:
    sandbox.faults.add(type="delay", ms=30)
    sandbox.faults.add(type="status", status=504)
    sandbox.faults.add(type="status", status=500)
    response = _lookup(sandbox.httpx_client(), sandbox, RETELL)
    assert response.status_code == 504
    assert sandbox.journal.entries()[-1]["faults"] == [
        {"source": "rule", "rule": 1, "type": "delay", "ms": 30},
        {"source": "rule", "rule": 2, "type": "status", "status": 504},
        {"source": "rule", "rule": 3, "type": "status", "status": 500},
    ]


def test_prefer_replaces_the_rules_for_its_request(sandbox: SandboxHandle) -> None:
    sandbox.faults.add(type="status", status=500)
    client = sandbox.httpx_client()
    assert _lookup(client, sandbox, RETELL, Prefer="code=418").status_code == 418
    assert _lookup(client, sandbox, RETELL).status_code == 500
    assert sandbox.faults.get(1)["matched"] == 1


def test_rules_apply_to_their_vendor_route_and_tenant_only(sandbox: SandboxHandle) -> None:
    sandbox.faults.add(type="status", status=503, vendor="retell", route="get-call", tenant="acme")
    state = state_of(sandbox)
    client = sandbox.httpx_client()
    listing = next(e for e in RETELL.examples if e.route == "list-calls")
    assert _lookup(client, sandbox, RETELL).status_code == 503
    assert send(client, state, RETELL, listing).status_code == 200
    other = client.get(
        sandbox.base_url("retell") + f"/v2/get-call/{DOCS_CALL}",
        headers=sandbox.keys("retell", "globex"),
    )
    assert other.status_code == 422  # globex's own answer (the docs call is acme's), no fault
    for vendor in VENDORS[1:]:
        assert _lookup(client, sandbox, vendor).status_code == 200


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_a_status_rule_in_each_vendors_shape(sandbox: SandboxHandle, vendor: Vendor) -> None:
    sandbox.faults.add(
        type="status", status=429, retry_after=3, should_retry=True, vendor=vendor.name
    )
    response = _lookup(sandbox.httpx_client(), sandbox, vendor)
    assert response.status_code == 429
    assert response.json() == INJECTED[vendor.name][429]
    assert response.headers["retry-after"] == "3"
    assert response.headers["x-should-retry"] == "true"


# -- fault rules: below HTTP -------------------------------------------------------------------


def test_a_dropped_connection(handle: SandboxHandle, sandbox: SandboxHandle) -> None:
    state = state_of(sandbox)
    creating = next((v, e) for v in VENDORS for e in v.examples if e.status == 201)
    handle.faults.add(type="drop", vendor=creating[0].name, route=creating[1].route)
    client = handle.httpx_client()
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        send(client, state, *creating)
    assert state.store.snapshot() == dict.fromkeys(state.store.snapshot(), 0)
    entry = sandbox.journal.entries()[-1]
    assert (entry["status"], entry["faults"][0]["type"]) == (None, "drop")


def test_a_hang_outlasts_the_clients_timeout(handle: SandboxHandle, sandbox: SandboxHandle) -> None:
    handle.faults.add(type="hang", seconds=5, vendor="retell")
    assert handle.faults.rules()[0]["fault"] == {"type": "hang", "seconds": 5}
    client = handle.httpx_client(timeout=0.3)
    with pytest.raises(httpx.ReadTimeout):
        _lookup(client, sandbox, RETELL)


def test_retell_sdk_times_out_on_a_hang(sandbox: SandboxHandle) -> None:
    sandbox.faults.add(type="hang", vendor="retell")
    client = _retell(sandbox, max_retries=0, timeout=0.2)
    with pytest.raises(retell.APITimeoutError):
        client.call.retrieve(DOCS_CALL)


def test_a_truncated_body_after_the_request_took_effect(
    handle: SandboxHandle, sandbox: SandboxHandle
) -> None:
    state = state_of(sandbox)
    handle.faults.add(type="truncate", vendor="retell")
    client = handle.httpx_client()
    with pytest.raises(httpx.RemoteProtocolError, match=r"received \d+ bytes, expected \d+"):
        _lookup(client, sandbox, RETELL)
    creating = next(e for e in RETELL.examples if e.route == "create-phone-call")
    with pytest.raises(httpx.RemoteProtocolError):
        send(client, state, RETELL, creating)
    assert sum(state.store.snapshot().values()) == 1  # the create happened; its answer was lost
    assert [e["status"] for e in sandbox.journal.entries()] == [200, 201]


def test_a_malformed_body(handle: SandboxHandle, sandbox: SandboxHandle) -> None:
    handle.faults.add(type="malformed", vendor="retell", when={"first": 1})
    client = handle.httpx_client()
    response = _lookup(client, sandbox, RETELL)
    assert response.status_code == 200
    assert response.headers["content-type"] == RETELL.content_type
    with pytest.raises(json.JSONDecodeError):
        response.json()
    whole = _lookup(client, sandbox, RETELL).content
    assert whole.startswith(response.content)
    assert len(response.content) == len(whole) // 2


def test_retell_sdk_retries_a_failing_first_attempt_and_succeeds(sandbox: SandboxHandle) -> None:
    sandbox.faults.add(type="status", status=503, vendor="retell", when={"first": 1})
    call = _retell(sandbox, max_retries=2).call.retrieve(DOCS_CALL)
    assert call.call_id == DOCS_CALL
    statuses = [e["status"] for e in sandbox.journal.entries(route="get-call")]
    assert statuses == [503, 200]


def test_retell_sdk_reports_a_dropped_connection(sandbox: SandboxHandle) -> None:
    sandbox.faults.add(type="drop", vendor="retell")
    with pytest.raises(retell.APIConnectionError):
        _retell(sandbox, max_retries=0).call.retrieve(DOCS_CALL)


# -- the rules' endpoints ---------------------------------------------------------------------


def test_rules_are_listed_removed_and_cleared(handle: SandboxHandle) -> None:
    handle.faults.add(type="drop", vendor="zudu")
    handle.faults.add(type="hang", tenant="globex", when={"every": 2})
    assert [r["id"] for r in handle.faults.rules()] == [1, 2]
    assert handle.faults.rules()[1]["fault"] == {"type": "hang", "seconds": 30}
    assert handle.faults.remove(1)["fault"] == {"type": "drop"}
    with pytest.raises(ValueError, match=r"no fault rule 1; GET /_sandbox/faults lists them"):
        handle.faults.remove(1)
    assert handle.faults.clear() == 1
    assert handle.faults.add(type="drop")["id"] == 1  # ids start again after a clear


def test_a_reset_clears_the_rules_and_a_tenant_reset_only_that_tenants(
    handle: SandboxHandle,
) -> None:
    handle.faults.add(type="drop", tenant="acme")
    handle.faults.add(type="drop", tenant="globex")
    handle.faults.add(type="drop")
    handle.reset("acme")
    assert [(r["id"], r["tenant"]) for r in handle.faults.rules()] == [(2, "globex"), (3, None)]
    handle.reset()
    assert handle.faults.rules() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'body: "fault" is a required property'),
        ({"fault": {"type": "status"}}, 'body.fault: "status" is a required property'),
        (
            {"fault": {"type": "status", "status": 302}},
            "body.fault.status: 302 is less than the minimum of 400",
        ),
        ({"fault": {"type": "explode"}}, 'body.fault.type: "explode" is not one of'),
        (
            {"fault": {"type": "drop", "seconds": 3}},
            'body.fault: additional properties are not allowed ("seconds" unexpected)',
        ),
        ({"fault": {"type": "delay"}}, 'body.fault: {"type": "delay"} is too short'),
        (
            {"fault": {"type": "drop"}, "when": {"first": 0}},
            "body.when.first: 0 is less than the minimum of 1",
        ),
        (
            {"fault": {"type": "drop"}, "vendor": "twilio"},
            "body.vendor: no vendor 'twilio' here; use one of retell, callab, contactship, zudu",
        ),
        (
            {"fault": {"type": "drop"}, "vendor": "retell", "route": "get-calls"},
            "body.route: retell has no route 'get-calls'; route names: create-batch-call, "
            "create-phone-call,",
        ),
        (
            {"fault": {"type": "drop"}, "tenant": "initech"},
            "body.tenant: no tenant 'initech'; use one of acme, globex",
        ),
        (
            {"fault": {"type": "delay", "uniform": {"min_ms": 9, "max_ms": 3}}},
            "body.fault.uniform: min_ms (9) is greater than max_ms (3)",
        ),
        (
            {"fault": {"type": "drop"}, "route": "get-call", "extra": 1},
            'body: additional properties are not allowed ("extra" unexpected)',
        ),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(
    sandbox: SandboxHandle, body: dict[str, Any], message: str
) -> None:
    client = sandbox.httpx_client()
    response = client.post("/_sandbox/faults", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "bad_request"
    assert response.json()["message"].startswith(message)
    assert sandbox.faults.rules() == []


def test_the_rules_endpoints_refuse_bad_json_and_unknown_ids(sandbox: SandboxHandle) -> None:
    client = sandbox.httpx_client()
    bad = client.post("/_sandbox/faults", content=b"{nope")
    assert bad.status_code == 400
    assert bad.json()["message"].startswith("the body is not valid JSON")
    assert client.get("/_sandbox/faults/7").json() == {
        "error": "not_found",
        "message": "no fault rule 7; GET /_sandbox/faults lists them",
    }
    assert client.delete("/_sandbox/faults/x").json() == {
        "error": "bad_request",
        "message": "path.id: must be a whole number, not 'x'",
    }
    assert client.get("/_sandbox/faults?vendor=retell").json() == {
        "error": "bad_request",
        "message": "unknown query parameter 'vendor' for GET /_sandbox/faults; it takes: none",
    }


def test_every_route_of_every_vendor_can_be_faulted(sandbox: SandboxHandle) -> None:
    state = state_of(sandbox)
    client = sandbox.httpx_client()
    for vendor in VENDORS:
        for example in vendor.examples:
            sandbox.faults.clear()
            sandbox.faults.add(type="status", status=503, vendor=vendor.name, route=example.route)
            response = send(client, state, vendor, example)
            assert response.status_code == 503, f"{vendor.name} {example.route}"
            assert response.json() == INJECTED[vendor.name][503]
            entry = sandbox.journal.entries()[-1]
            assert entry["route"] == route_of(vendor, example).name
    assert call_id(state, RETELL)
