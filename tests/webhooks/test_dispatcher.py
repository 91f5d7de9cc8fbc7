"""The dispatcher's bounds: one thread whatever the number of URLs, a per-attempt timeout, a
queue with caps whose overflow is recorded, a close that cuts attempts short, refused URLs
never sent to, and userinfo redacted wherever a URL is shown."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.dialect.vendor import VendorSandbox
from sandbox.store.backend import finish
from sandbox.store.journal import JournalQuery
from sandbox.webhooks.dispatcher import QUEUE_BYTES, Delivery, Dispatcher
from sandbox.webhooks.engine import Webhooks
from sandbox.webhooks.loop import THREAD_NAME
from sandbox.webhooks.sink import Sink
from tests.receivers import receiving
from tests.webhooks.listeners import silent

AGENT = "f1e2d3c4-b5a6-7890-1234-567890abcdef"
WAIT_S = 30.0


def _poll(done: Callable[[], bool], seconds: float = WAIT_S) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _engine(app: Starlette) -> Webhooks:
    engine: Webhooks = app.state.webhooks
    return engine


def _loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_NAME)]


def _create(client: TestClient, state: VendorSandbox, webhook_url: str, **headers: str) -> Any:
    return client.post(
        "/contactship/v1/calls/single-phone-call",
        headers={**state.credentials("contactship"), **headers},
        json={
            "from_number": "+12137771235",
            "to_number": "+14155550123",
            "full_name": "Ada Lovelace",
            "agent_id": AGENT,
            "webhook_url": webhook_url,
        },
    )


def test_300_never_answering_urls_share_one_thread_and_time_out() -> None:
    app = create_app(Settings(raise_on_schema_error=True, webhook_timeout_s=0.2, webhook_retries=0))
    state: VendorSandbox = app.state.sandbox
    dispatcher = _engine(app).dispatcher
    with silent() as listener, TestClient(app) as client:
        urls = [listener.url(f"/hook/{n}") for n in range(300)]
        for url in urls:  # busy: each call sends one webhook, its end
            assert _create(client, state, url, Prefer="scenario=busy").status_code == 201
        before = threading.active_count()
        state.advance(3_600_000)
        peak, held = before, 0
        while dispatcher.pending:  # ends: every attempt times out after 0.2 s
            peak = max(peak, threading.active_count())
            held = max(held, dispatcher.threads())
            time.sleep(0.01)
        assert dispatcher.wait_idle(WAIT_S)
        assert listener.accepted >= 1
        attempts = [a.as_json() for a in dispatcher.attempts()]  # (a close forgets them)
    # One loop thread for all 300 URLs (the old dispatcher ran one per URL: 300 threads);
    # a thread that just ended may overlap the next for a moment.
    assert held == 1
    assert peak - before <= 2
    assert _poll(lambda: not _loop_threads())  # and none once idle
    assert sorted(a["url"] for a in attempts) == sorted(urls)
    assert {(a["attempt"], a["status"], a["error"], a["final"]) for a in attempts} == {
        (1, None, "no answer within 0.2 s", True)
    }


def test_close_cuts_an_attempt_short_and_ends_the_thread() -> None:
    app = create_app(Settings(raise_on_schema_error=True, webhook_timeout_s=60.0))
    state: VendorSandbox = app.state.sandbox
    engine = _engine(app)
    with silent() as listener:
        finish(engine.subscribe("retell", listener.url(), events=["call_ended"]))
        state.advance(3_600_000)
        assert _poll(lambda: listener.accepted >= 1)
        assert engine.dispatcher.pending > 0
        engine.close(timeout=WAIT_S)
        assert engine.dispatcher.pending == 0
        assert engine.dispatcher.threads() == 0
        assert not _loop_threads()
        # Deliveries after a close start the loop again.
        engine.dispatcher.enqueue(_delivery("sandbox://sink"))
        assert engine.dispatcher.wait_idle(WAIT_S)
        assert [d.call_id for d in engine.sink.items()] == ["call_1"]
        engine.close(timeout=WAIT_S)
    assert not _loop_threads()


def test_deliveries_beyond_the_queue_cap_are_dropped_and_recorded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(Settings(raise_on_schema_error=True, webhook_backoff_s=0.01))
    state: VendorSandbox = app.state.sandbox
    dispatcher = _engine(app).dispatcher
    dispatcher.queue_cap = 3  # of the 5 webhooks the first hour sends
    with receiving() as receiver, caplog.at_level(logging.WARNING, "sandbox.webhooks"):
        receiver.hold.clear()  # the first delivery waits there; two more queue behind it
        url = receiver.url.replace("http://", "http://user:s3cret@")
        shown = receiver.url.replace("http://", "http://***@")
        finish(_engine(app).subscribe("retell", url))
        state.advance(3_600_000)
        assert dispatcher.pending == 3
        assert dispatcher.dropped == 2
        receiver.hold.set()
        assert dispatcher.wait_idle(WAIT_S)
        got = receiver.wait(3)
    waited = sum(len(r.body) for r in got)
    attempts = [a.as_json() for a in dispatcher.attempts()]
    dropped = [a for a in attempts if a["status"] is None]
    sizes = [
        len(json.dumps(e["body"], separators=(",", ":"), ensure_ascii=False).encode())
        for e in state.journal.entries(JournalQuery(kind="webhook"))
        if e["status"] is None
    ]
    messages = [
        f"dropped: 3 deliveries ({waited} bytes) were waiting and this one ({size} bytes) would "
        f"pass the queue's cap of 3 deliveries or {QUEUE_BYTES} bytes; nothing was sent"
        for size in sizes
    ]
    assert [a["error"] for a in dropped] == messages
    assert len(messages) == 2
    assert [a["status"] for a in attempts if a["status"] is not None] == [204, 204, 204]
    assert {(a["url"], a["final"]) for a in attempts} == {(shown, True)}
    journalled = state.journal.entries(JournalQuery(kind="webhook"))
    assert [e["detail"]["error"] for e in journalled if e["status"] is None] == messages
    assert {e["path"] for e in journalled} == {shown}
    # Logged once, however many were dropped, the URL's userinfo redacted.
    warnings = [r.getMessage() for r in caplog.records if r.name == "sandbox.webhooks"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"webhook queue full (3 deliveries, {waited} bytes): dropping ")
    assert f" to {shown} and whatever follows until receivers catch up" in warnings[0]
    assert "s3cret" not in caplog.text
    assert "s3cret" not in json.dumps(attempts) + json.dumps(journalled)
    # The receiver got the credentials, as Basic auth.
    token = base64.b64encode(b"user:s3cret").decode()
    assert {r.headers["Authorization"] for r in got} == {f"Basic {token}"}


def test_deliveries_beyond_the_byte_cap_are_dropped() -> None:
    app = create_app(Settings(raise_on_schema_error=True))
    state: VendorSandbox = app.state.sandbox
    engine = _engine(app)
    engine.dispatcher.queue_bytes = 1  # no body fits
    finish(engine.subscribe("zudu", "sandbox://sink"))
    state.advance(3_600_000)
    assert engine.dispatcher.pending == 0
    assert engine.sink.items() == []
    attempts = [a.as_json() for a in engine.dispatcher.attempts()]
    assert attempts
    assert len(attempts) == engine.dispatcher.dropped
    assert all(
        a["error"].startswith("dropped: 0 deliveries (0 bytes) were waiting and this one (")
        and a["error"].endswith(
            " bytes) would pass the queue's cap of 10000 deliveries or 1 bytes; nothing was sent"
        )
        for a in attempts
    )


def _delivery(url: str) -> Delivery:
    return Delivery(
        vendor="retell",
        event="call_ended",
        tenant="acme",
        call_id="call_1",
        url=url,
        body=b"{}",
        headers={"Content-Type": "application/json"},
        signer=None,
        timeout_s=1.0,
        at_ms=0,
    )


def test_a_url_the_policy_refuses_is_never_sent_to() -> None:
    recorded: list[Any] = []
    dispatcher = Dispatcher(retries=3, backoff_s=0.01, sink=Sink(), record=recorded.append)
    dispatcher.enqueue(_delivery("http://u:p@169.254.169.254/latest/meta-data/"))
    assert dispatcher.pending == 0
    assert dispatcher.threads() == 0  # nothing to send: no loop started
    [attempt] = [a.as_json() for a in dispatcher.attempts()]
    assert recorded[0].as_json() == attempt
    assert attempt == {
        "vendor": "retell",
        "event": "call_ended",
        "tenant": "acme",
        "call_id": "call_1",
        "url": "http://***@169.254.169.254/latest/meta-data/",
        "at_ms": 0,
        "attempt": 1,
        "status": None,
        "error": "refused: the URL must not point at 169.254.169.254, a link-local address "
        "(169.254.0.0/16, fe80::/10), where clouds serve metadata; use the receiver's own "
        "address, or start the sandbox with --webhook-allow-link-local to allow it",
        "headers": {"Content-Type": "application/json"},
        "duration_ms": 0.0,
        "delivered": False,
        "final": True,
    }
    dispatcher.close()


def test_userinfo_is_redacted_in_the_control_plane(
    client: TestClient, state: VendorSandbox
) -> None:
    with receiving() as receiver:
        url = receiver.url.replace("http://", "http://user:s3cret@")
        shown = receiver.url.replace("http://", "http://***@")
        put = client.put(
            "/_sandbox/webhooks", json={"vendor": "retell", "url": url, "events": ["call_ended"]}
        )
        assert put.status_code == 200
        assert put.json()["url"] == shown
        listed = client.get("/_sandbox/webhooks").json()["subscriptions"]
        assert [s["url"] for s in listed] == [shown]
        state.advance(3_600_000)
        client.app.state.webhooks.dispatcher.wait_idle(WAIT_S)  # type: ignore[attr-defined]
        assert receiver.requests
    attempts = client.get("/_sandbox/webhooks/attempts").json()["attempts"]
    assert attempts
    assert {a["url"] for a in attempts} == {shown}
    by_set = client.get("/_sandbox/webhooks/attempts", params={"url": url}).json()["attempts"]
    by_shown = client.get("/_sandbox/webhooks/attempts", params={"url": shown}).json()["attempts"]
    assert by_set == by_shown == attempts
    journal = client.get("/_sandbox/journal", params={"kind": "webhook"})
    assert {e["path"] for e in journal.json()["entries"]} == {shown}
    for answer in (put, journal):
        assert "s3cret" not in answer.text
    # The listing's form drops it, as the URL it was set with does.
    assert client.delete("/_sandbox/webhooks", params={"url": shown}).json() == {"deleted": 1}
