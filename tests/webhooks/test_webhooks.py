"""Webhooks through the vendors' real request paths: a call created with the retell-sdk, the
clock moved step by step, and each event received by a real HTTP receiver and by the sink,
signed so that the SDK's own verify accepts it, its call equal to a GET at that instant.
Retries, ordering, the control plane, the handles and resets."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from retell import Retell
from retell.lib.webhook_auth import verify
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS
from sandbox.calls.model import Call
from sandbox.dialect.vendor import VendorSandbox
from sandbox.resources import fixtures_dir
from sandbox.serve.server import BackgroundServer
from sandbox.store.journal import JournalQuery
from sandbox.testing.handles import InProcessSandbox, RemoteSandbox, SandboxHandle
from sandbox.webhooks.engine import journal_entry
from sandbox.webhooks.sink import Received
from tests.receivers import receiving
from tests.servers import free_port

EVENTS = ["call_started", "call_ended", "call_analyzed"]
SIGNATURE = re.compile(r"^v=(\d+),d=[0-9a-f]{64}$")
FROM, TO = "+14155550142", "+12125550123"


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _verifies(body: str, api_key: str, signature: str) -> bool:
    """The retell-sdk's own check (untyped)."""
    return bool(verify(body, api_key, signature))  # type: ignore[no-untyped-call]


def _api_key(handle: SandboxHandle) -> str:
    return handle.keys("retell")["Authorization"].removeprefix("Bearer ")


def _plan(state: VendorSandbox, vendor: str, external_id: str) -> Call:
    canonical = state.vendors[vendor].canonical_id(external_id)
    plan = state.store.plan("acme", canonical or "")
    assert plan is not None
    assert plan.start_ms is not None
    assert plan.end_ms is not None
    return plan


def _instants(plan: Call) -> dict[str, int]:
    assert plan.start_ms is not None
    assert plan.end_ms is not None
    return {
        "call_started": plan.start_ms,
        "call_ended": plan.end_ms,
        "call_analyzed": plan.end_ms + ANALYSIS_DELAY_MS,
    }


def _mine(requests: list[Any], call_id: str) -> list[Any]:
    return [r for r in requests if r.json["call"]["call_id"] == call_id]


@pytest.fixture
def fast_app() -> Starlette:
    """Retries 0.01 s apart, so that failing receivers cost the test little time."""
    return create_app(Settings(raise_on_schema_error=True, webhook_backoff_s=0.01))


def test_retell_webhooks_are_signed_and_show_the_call_as_a_get_at_that_instant(
    app: Starlette, state: VendorSandbox
) -> None:
    handle = InProcessSandbox(app)
    key = _api_key(handle)
    http = handle.httpx_client()
    with receiving() as receiver:
        handle.webhooks.subscribe("retell", receiver.url)
        handle.webhooks.subscribe("retell")  # and the sink
        client = Retell(api_key=key, base_url=handle.base_url("retell"), http_client=http)
        cid = client.call.create_phone_call(from_number=FROM, to_number=TO).call_id
        plan = _plan(state, "retell", cid)
        seen: dict[str, Any] = {}
        for event, at in _instants(plan).items():
            state.advance(at - state.clock.now_ms())
            answer = http.get(f"/retell/v2/get-call/{cid}", headers=handle.keys("retell"))
            seen[event] = answer.json()
        sunk = handle.webhooks.wait(3, vendor="retell", call_id=cid)
        got = _mine(receiver.wait(3), cid)
        while len(got) < 3:  # the tenant's generated live calls send theirs to it too
            got = _mine(receiver.wait(len(receiver.requests) + 1), cid)
    handle.close()

    assert [d.event for d in sunk] == EVENTS
    assert [r.json["event"] for r in got] == EVENTS
    for delivery, request in zip(sunk, got, strict=True):
        assert delivery.json == {"event": delivery.event, "call": seen[delivery.event]}
        assert delivery.body == _compact(delivery.json)  # compact, as vendors.md §4 says
        assert request.body == delivery.body  # the receiver got the very same bytes
        assert delivery.at_ms == _instants(plan)[delivery.event]
        assert delivery.header("content-type") == "application/json"
        for signature in (
            delivery.header("X-Retell-Signature"),
            request.headers["X-Retell-Signature"],
        ):
            assert signature is not None
            assert SIGNATURE.match(signature)
            # The SDK's own check, which also wants `v` within 5 minutes of the wall clock:
            # the sandbox stamps wall time, not its own clock (see sandbox/dialect/signing.py).
            assert _verifies(delivery.text, key, signature)
            assert client.verify(delivery.text, key, signature)  # type: ignore[no-untyped-call]
            assert not _verifies(delivery.text.replace('"call_id"', '"call_Id"'), key, signature)
            assert not _verifies(delivery.text, key.replace("key_", "kez_"), signature)
    started, ended, analysed = (d.json["call"] for d in sunk)
    assert started["call_status"] == "ongoing"
    assert "end_timestamp" not in started
    assert ended["call_status"] == "ended"
    assert "call_analysis" not in ended
    assert analysed["call_analysis"]["call_summary"]
    assert analysed == {**ended, "call_analysis": analysed["call_analysis"]}


def test_every_attempt_is_journalled_without_the_signature(
    app: Starlette, state: VendorSandbox
) -> None:
    handle = InProcessSandbox(app)
    handle.webhooks.subscribe("retell", events=["call_ended"])
    state.advance(3_600_000)
    handle.webhooks.wait_idle()
    sunk = handle.webhooks.deliveries
    assert sunk
    assert {d.event for d in sunk} == {"call_ended"}
    entries = state.journal.entries(JournalQuery(kind="webhook"))
    assert [(e["route"], e["detail"]["call_id"], e["status"]) for e in entries] == [
        ("call_ended", d.call_id, 204) for d in sunk
    ]
    first = entries[0]
    assert first["vendor"] == "retell"
    assert first["path"] == "sandbox://sink"
    assert first["body"] == sunk[0].json
    assert first["detail"] == {
        "event": "call_ended",
        "call_id": sunk[0].call_id,
        "attempt": 1,
        "delivered": True,
        "final": True,
        "error": None,
    }
    full = sunk[0].header("X-Retell-Signature") or ""
    shown = first["headers"]["x-retell-signature"]
    assert shown.startswith(full[: full.index(",d=") + 9])
    assert shown.endswith("...")
    assert full.split(",d=")[1] not in json.dumps(entries)
    state.schemas.check(
        "sandbox/journal.json",
        {
            "entries": [
                {"seq": 1, **journal_entry(a)} for a in app.state.webhooks.dispatcher.attempts()
            ],
            "capacity": 1,
            "evicted": 0,
        },
    )
    handle.close()


def test_a_failing_receiver_gets_retries_with_back_off_and_every_attempt_is_recorded(
    fast_app: Starlette,
) -> None:
    state: VendorSandbox = fast_app.state.sandbox
    handle = InProcessSandbox(fast_app)
    with receiving(script=[500, 503]) as receiver:
        handle.webhooks.subscribe("retell", receiver.url, events=["call_ended"])
        state.advance(3_600_000)
        handle.webhooks.wait_idle()
        requests = receiver.requests
    first = [r for r in requests if r.body == requests[0].body]
    assert receiver.answered[:3] == [500, 503, 204]
    assert len(first) == 3
    attempts = handle.webhooks.attempts(call_id=first[0].json["call"]["call_id"])
    assert [(a["attempt"], a["status"], a["delivered"], a["final"]) for a in attempts] == [
        (1, 500, False, False),
        (2, 503, False, False),
        (3, 204, True, True),
    ]
    assert all(a["url"] == receiver.url and a["error"] is None for a in attempts)
    journalled = state.journal.entries(JournalQuery(kind="webhook"))
    assert [e["status"] for e in journalled][:3] == [500, 503, 204]
    assert [e["detail"]["attempt"] for e in journalled][:3] == [1, 2, 3]


def test_an_unreachable_receiver_is_given_up_after_the_retries(fast_app: Starlette) -> None:
    state: VendorSandbox = fast_app.state.sandbox
    handle = InProcessSandbox(fast_app)
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    handle.webhooks.subscribe("retell", url, events=["call_analyzed"])
    started = time.monotonic()
    state.advance(3_600_000)
    handle.webhooks.wait_idle()
    attempts = handle.webhooks.attempts()
    call_ids = {a["call_id"] for a in attempts}
    for call_id in call_ids:
        mine = [a for a in attempts if a["call_id"] == call_id]
        assert [(a["attempt"], a["status"], a["final"]) for a in mine] == [
            (1, None, False),
            (2, None, False),
            (3, None, False),
            (4, None, True),
        ]
        assert all(a["error"] and "Connect" in a["error"] for a in mine)
    assert time.monotonic() - started >= 0.01 + 0.02 + 0.04  # the back-off, doubling


def test_a_call_s_events_reach_a_url_in_order_even_across_retries(fast_app: Starlette) -> None:
    state: VendorSandbox = fast_app.state.sandbox
    handle = InProcessSandbox(fast_app)
    with receiving(script=[500]) as receiver:
        handle.webhooks.subscribe("retell", receiver.url)
        answer = handle.httpx_client().post(
            "/retell/v2/create-phone-call",
            headers=handle.keys("retell"),
            json={"from_number": FROM, "to_number": TO},
        )
        cid = answer.json()["call_id"]
        state.advance(3_600_000)  # every event at once, queued in the order they happened
        handle.webhooks.wait_idle()
        requests, answered = receiver.requests, receiver.answered
    handle.close()
    # The first delivery failed and was tried again before anything else went to that URL.
    assert answered[:2] == [500, 204]
    assert requests[0].body == requests[1].body
    delivered = [r for r, status in zip(requests, answered, strict=True) if status == 204]
    assert [r.json["event"] for r in _mine(delivered, cid)] == EVENTS
    instants = [_instants(_plan(state, "retell", r.json["call"]["call_id"])) for r in delivered]
    moments = [when[r.json["event"]] for r, when in zip(delivered, instants, strict=True)]
    assert moments == sorted(moments)  # in lifecycle order across all the tenant's calls


def test_moving_the_clock_never_waits_for_a_receiver(app: Starlette, state: VendorSandbox) -> None:
    handle = InProcessSandbox(app)
    with receiving() as receiver:
        receiver.hold.clear()  # the receiver sits on every request
        handle.webhooks.subscribe("retell", receiver.url)
        state.advance(3_600_000)
        assert handle.webhooks.pending() > 0  # advance() returned with deliveries under way
        assert receiver.requests == []
        receiver.hold.set()
        handle.webhooks.wait_idle()
        assert receiver.requests


def test_calls_created_through_another_vendor_send_that_vendor_s_webhooks_only(
    app: Starlette, state: VendorSandbox, client: TestClient
) -> None:
    handle = InProcessSandbox(app)
    handle.webhooks.subscribe("retell")
    handle.webhooks.subscribe("contactship")
    answer = client.post(
        "/contactship/v1/calls/single-phone-call",
        headers=state.credentials("contactship"),
        json={
            "from_number": "+12137771235",
            "to_number": "+14155550123",
            "full_name": "Ada Lovelace",
            "agent_id": "f1e2d3c4-b5a6-7890-1234-567890abcdef",
        },
    )
    ours = answer.json()["call_id"]
    state.advance(3_600_000)
    handle.webhooks.wait_idle()
    by_vendor: dict[str, set[str]] = {}
    for delivery in handle.webhooks.deliveries:
        canonical = state.vendors[delivery.vendor].canonical_id(delivery.call_id)
        by_vendor.setdefault(delivery.vendor, set()).add(canonical or "")
    assert ours in by_vendor["contactship"]
    assert ours not in by_vendor["retell"]
    # The tenant's generated live calls belong to every vendor: both send theirs.
    assert by_vendor["retell"] == by_vendor["contactship"] - {ours} != set()


def test_an_agent_s_webhook_url_from_the_fixtures(tmp_path: Path) -> None:
    with receiving() as receiver:
        folder = tmp_path / "fixtures"
        shutil.copytree(fixtures_dir(), folder)
        document = yaml.safe_load((folder / "sandbox.yaml").read_text())
        ava = document["tenants"][0]["agents"][0]
        assert ava["phone_number"] == FROM
        ava["webhook_url"] = receiver.url
        (folder / "sandbox.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        app = create_app(Settings(fixtures=folder, raise_on_schema_error=True))
        state: VendorSandbox = app.state.sandbox
        handle = InProcessSandbox(app)
        listed = handle.webhooks.subscriptions()
        assert {
            "vendor": "retell",
            "tenant": "acme",
            "url": receiver.url,
            "events": EVENTS,
            "source": "agent",
        } in listed
        http = handle.httpx_client()
        created = http.post(
            "/retell/v2/create-phone-call",
            headers=handle.keys("retell"),
            json={"from_number": FROM, "to_number": TO},
        ).json()
        state.advance(3_600_000)
        handle.webhooks.wait_idle()
        handle.close()
        mine = _mine(receiver.requests, created["call_id"])
        assert [r.json["event"] for r in mine] == EVENTS
        agents = {r.json["call"]["agent_name"] for r in receiver.requests}
        assert agents == {"Ava Appointments"}  # only Ava's calls, generated ones included


def test_same_seed_same_webhook_bodies(app: Starlette) -> None:
    other = create_app(Settings(raise_on_schema_error=True))
    bodies = []
    for made in (app, other):
        handle = InProcessSandbox(made)
        handle.webhooks.subscribe("retell")
        handle.webhooks.subscribe("zudu")
        handle.httpx_client().post(
            "/retell/v2/create-phone-call",
            headers=handle.keys("retell"),
            json={"from_number": FROM, "to_number": TO},
        )
        made.state.sandbox.advance(3_600_000)
        handle.webhooks.wait_idle()
        bodies.append([(d.vendor, d.event, d.body) for d in handle.webhooks.deliveries])
        handle.close()
    assert bodies[0] == bodies[1]
    assert len(bodies[0]) > 3


# -- control plane -------------------------------------------------------------------------


def test_the_control_plane_sets_lists_and_drops_subscriptions(client: TestClient) -> None:
    put = client.put(
        "/_sandbox/webhooks",
        json={"vendor": "retell", "url": "http://127.0.0.1:9/a", "events": ["call_ended"]},
    )
    assert put.status_code == 200
    assert put.headers["content-type"] == "application/json"
    assert put.json() == {
        "vendor": "retell",
        "tenant": "acme",
        "url": "http://127.0.0.1:9/a",
        "events": ["call_ended"],
        "source": "control",
    }
    # The same vendor, tenant and URL again replaces its events (in the vendor's order).
    client.put(
        "/_sandbox/webhooks",
        json={
            "vendor": "retell",
            "url": "http://127.0.0.1:9/a",
            "events": ["call_analyzed", "call_started"],
        },
    )
    client.put(
        "/_sandbox/webhooks", json={"vendor": "zudu", "tenant": "globex", "url": "sandbox://sink"}
    )
    listed = client.get("/_sandbox/webhooks").json()
    assert listed == {
        "subscriptions": [
            {
                "vendor": "retell",
                "tenant": "acme",
                "url": "http://127.0.0.1:9/a",
                "events": ["call_started", "call_analyzed"],
                "source": "control",
            },
            {
                "vendor": "zudu",
                "tenant": "globex",
                "url": "sandbox://sink",
                "events": ["post_call"],
                "source": "control",
            },
        ]
    }
    assert client.get("/_sandbox/webhooks?vendor=zudu").json()["subscriptions"] == [
        listed["subscriptions"][1]
    ]
    assert client.delete("/_sandbox/webhooks?tenant=globex").json() == {"deleted": 1}
    assert client.delete("/_sandbox/webhooks").json() == {"deleted": 1}
    assert client.get("/_sandbox/webhooks").json() == {"subscriptions": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"vendor": "twilio", "url": "sandbox://sink"},
            "vendor: 'twilio' sends no webhooks here; choose one of retell, callab, "
            "contactship, zudu",
        ),
        (
            {"vendor": "retell", "url": "ftp://example.com/hook"},
            "url: 'ftp://example.com/hook' is not an absolute http:// or https:// URL (or "
            "sandbox://sink, the sandbox's in-process sink)",
        ),
        (
            {"vendor": "retell", "url": "sandbox://sink", "events": ["call_ended", "ended"]},
            "events: retell sends call_started, call_ended, call_analyzed; not 'ended'",
        ),
        (
            {"vendor": "zudu", "url": "sandbox://sink", "tenant": "initech"},
            "tenant: no tenant 'initech'; choose one of acme, globex",
        ),
        ({"vendor": "retell"}, 'body: "url" is a required property'),
        (
            {"vendor": "retell", "url": "sandbox://sink", "secret": "x"},
            'body: additional properties are not allowed ("secret" unexpected)',
        ),
    ],
)
def test_a_bad_subscription_says_what_to_fix(
    client: TestClient, body: dict[str, Any], message: str
) -> None:
    answer = client.put("/_sandbox/webhooks", json=body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "bad_request", "message": message}
    assert client.get("/_sandbox/webhooks").json() == {"subscriptions": []}


def test_a_bad_filter_says_what_to_fix(client: TestClient) -> None:
    answer = client.get("/_sandbox/webhooks/deliveries?vendor=twilio")
    assert answer.status_code == 400
    assert answer.json()["message"].startswith('query.vendor: "twilio" is not one of')
    answer = client.delete("/_sandbox/webhooks?tenant=initech")
    assert answer.status_code == 400
    assert answer.json()["message"] == "tenant: no tenant 'initech'; choose one of acme, globex"


def test_a_reset_drops_subscriptions_the_queue_and_the_sink(
    fast_app: Starlette,
) -> None:
    state: VendorSandbox = fast_app.state.sandbox
    client = TestClient(fast_app)
    handle = InProcessSandbox(fast_app)
    handle.webhooks.subscribe("retell")
    state.advance(3_600_000)
    handle.webhooks.wait(1)
    with receiving() as receiver:
        receiver.hold.clear()
        handle.webhooks.subscribe("retell", receiver.url)
        state.advance(3_600_000 * 24)
        assert client.post("/_sandbox/reset").status_code == 200
        receiver.hold.set()
        handle.webhooks.wait_idle()
        assert handle.webhooks.subscriptions() == []
        assert handle.webhooks.deliveries == []
        assert handle.webhooks.attempts() == []
        assert state.journal.entries(JournalQuery(kind="webhook")) == []
        state.advance(3_600_000)  # nobody subscribes now
        handle.webhooks.wait_idle()
        assert handle.webhooks.deliveries == []
        assert len(receiver.requests) <= 1  # at most the one in flight when it was reset


def test_a_tenant_s_subscription_gets_that_tenant_s_calls_and_its_reset_only_its_own(
    app: Starlette, state: VendorSandbox
) -> None:
    handle = InProcessSandbox(app)
    handle.webhooks.subscribe("retell", tenant="globex")
    handle.webhooks.subscribe("retell", tenant="acme")
    state.advance(3_600_000)
    handle.webhooks.wait_idle()
    tenants = {d.tenant for d in handle.webhooks.deliveries}
    assert tenants == {"acme", "globex"}
    for delivery in handle.webhooks.deliveries:
        plan = _plan_of(state, delivery.tenant, delivery.call_id)
        assert plan.tenant == delivery.tenant
    handle.reset("globex")
    assert [s["tenant"] for s in handle.webhooks.subscriptions()] == ["acme"]
    assert {d.tenant for d in handle.webhooks.deliveries} == {"acme"}
    assert {a["tenant"] for a in handle.webhooks.attempts()} == {"acme"}


def _plan_of(state: VendorSandbox, tenant: str, retell_id: str) -> Call:
    plan = state.store.plan(tenant, state.vendors["retell"].canonical_id(retell_id) or "")
    assert plan is not None
    return plan


# -- the handles, in-process and over HTTP -----------------------------------------------


@pytest.fixture(params=["in-process", "remote"])
def handle(request: pytest.FixtureRequest, app: Starlette) -> Iterator[SandboxHandle]:
    made: SandboxHandle
    if request.param == "in-process":
        made = InProcessSandbox(app)
        yield made
        made.close()
        return
    with BackgroundServer(app) as server:
        made = RemoteSandbox(server.url)
        yield made
        made.close()


def test_the_handle_subscribes_waits_and_reads_the_sink_in_both_modes(
    handle: SandboxHandle, state: VendorSandbox
) -> None:
    hooks = handle.webhooks
    assert hooks.subscribe("callab", events=["call_ended"])["url"] == "sandbox://sink"
    client = handle.httpx_client()
    created = client.post(
        handle.base_url("callab") + "/calls",
        headers=handle.keys("callab"),
        json={"call_from": FROM, "call_to": TO},
    ).json()["data"]
    plan = _plan(state, "callab", created["id"])
    assert plan.end_ms is not None
    state.advance(plan.end_ms - state.clock.now_ms())
    got = hooks.wait(1, call_id=created["id"])
    shown = client.get(
        handle.base_url("callab") + f"/calls/{created['id']}", headers=handle.keys("callab")
    ).json()
    assert [(d.vendor, d.event, d.tenant, d.url) for d in got] == [
        ("callab", "call_ended", "acme", "sandbox://sink")
    ]
    assert got[0].json == {"status": "ok", "message": "call_ended", "data": shown["data"]}
    assert got[0].at_ms == plan.end_ms
    hooks.wait_idle()
    assert [a["status"] for a in hooks.attempts(call_id=created["id"])] == [204]
    assert hooks.unsubscribe("callab") == 1
    hooks.clear()
    assert hooks.deliveries == []
    with pytest.raises(TimeoutError, match=r"waited 0.1 s for 1 matching webhook deliveries"):
        hooks.wait(1, timeout=0.1)
    with pytest.raises(ValueError, match=r"vendor: 'twilio' sends no webhooks here"):
        hooks.subscribe("twilio")


def test_a_delivery_read_back_over_http_is_the_same(
    handle: SandboxHandle, app: Starlette, state: VendorSandbox
) -> None:
    handle.webhooks.subscribe("retell")
    state.advance(3_600_000)
    handle.webhooks.wait_idle()
    local = app.state.webhooks.sink.items()
    assert local
    assert handle.webhooks.deliveries == local
    assert all(isinstance(d, Received) for d in handle.webhooks.deliveries)


def test_a_receiver_reached_over_a_real_socket(state: VendorSandbox, app: Starlette) -> None:
    """The whole path over sockets: the sandbox served by uvicorn, the receiver a server."""
    with BackgroundServer(app) as server, receiving() as receiver:
        remote = RemoteSandbox(server.url)
        key = _api_key(remote)
        remote.webhooks.subscribe("retell", receiver.url, events=["call_analyzed"])
        with httpx.Client(base_url=server.url) as http:
            created = http.post(
                "/retell/v2/create-phone-call",
                headers=remote.keys("retell"),
                json={"from_number": FROM, "to_number": TO},
            ).json()
        state.advance(3_600_000)
        remote.webhooks.wait_idle()
        mine = _mine(receiver.requests, created["call_id"])
        remote.close()
    assert [r.json["event"] for r in mine] == ["call_analyzed"]
    assert _verifies(mine[0].text, key, mine[0].headers["X-Retell-Signature"])
