"""ContactShip's per-call `webhook_url`: each event of that call, as the call object a GET
answers at that instant; nothing for calls created without one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.lifecycle import ANALYSIS_DELAY_MS
from sandbox.dialect.vendor import VendorSandbox
from tests.receivers import receiving

AGENT = "f1e2d3c4-b5a6-7890-1234-567890abcdef"


def _create(client: TestClient, state: VendorSandbox, **extra: Any) -> str:
    answer = client.post(
        "/contactship/v1/calls/single-phone-call",
        headers=state.credentials("contactship"),
        json={
            "from_number": "+12137771235",
            "to_number": "+14155550123",
            "full_name": "Ada Lovelace",
            "agent_id": AGENT,
            **extra,
        },
    )
    assert answer.status_code == 201, answer.text
    call_id: str = answer.json()["call_id"]
    return call_id


def _get(client: TestClient, state: VendorSandbox, call_id: str) -> dict[str, Any]:
    answer = client.get(
        f"/contactship/v1/calls/{call_id}", headers=state.credentials("contactship")
    )
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_the_webhook_url_gets_every_event_of_its_call(
    client: TestClient, state: VendorSandbox
) -> None:
    with receiving() as receiver:
        ours = _create(client, state, webhook_url=receiver.url)
        other = _create(client, state)  # no webhook_url: its events go nowhere
        plan = state.store.plan("acme", ours)
        assert plan is not None
        assert plan.start_ms is not None
        assert plan.end_ms is not None
        assert "webhook_url" not in _get(client, state, ours)  # stored, never rendered
        seen = {}
        for event, at in (
            ("call_started", plan.start_ms),
            ("call_ended", plan.end_ms),
            ("call_analyzed", plan.end_ms + ANALYSIS_DELAY_MS),
        ):
            state.advance(at - state.clock.now_ms())
            seen[event] = _get(client, state, ours)
        state.advance(3_600_000)
        client.app.state.webhooks.dispatcher.wait_idle(10)  # type: ignore[attr-defined]
        requests = receiver.requests
    assert [r.json for r in requests] == [{"event": e, "call": c} for e, c in seen.items()]
    assert {r.json["call"]["id"] for r in requests} == {ours} != {other}
    assert all(r.path == "/hook" for r in requests)
    assert all(r.headers["Content-Type"] == "application/json" for r in requests)
    assert all("X-Retell-Signature" not in r.headers for r in requests)
    started, ended, analysed = (r.json["call"] for r in requests)
    assert started["call_status"] == "in-progress"
    assert ended["call_analysis"] is None
    assert ended["finished_at"] is not None
    assert analysed["call_analysis"] == {
        "summary": plan.analysis.summary if plan.analysis else None,
        "sentiment": plan.analysis.sentiment if plan.analysis else None,
    }


def test_a_call_that_never_connects_sends_only_its_end(
    client: TestClient, state: VendorSandbox
) -> None:
    with receiving() as receiver:
        ours = client.post(
            "/contactship/v1/calls/single-phone-call",
            headers={**state.credentials("contactship"), "Prefer": "scenario=busy"},
            json={
                "from_number": "+12137771235",
                "to_number": "+14155550123",
                "full_name": "Ada Lovelace",
                "agent_id": AGENT,
                "webhook_url": receiver.url,
            },
        ).json()["call_id"]
        state.advance(3_600_000)
        client.app.state.webhooks.dispatcher.wait_idle(10)  # type: ignore[attr-defined]
        requests = receiver.requests
    assert [(r.json["event"], r.json["call"]["id"]) for r in requests] == [("call_ended", ours)]
    assert requests[0].json["call"]["call_status"] == "busy"
    assert requests[0].json["call"]["call_result"] == "busy"


def test_a_bad_webhook_url_is_the_vendor_s_400(client: TestClient, state: VendorSandbox) -> None:
    answer = client.post(
        "/contactship/v1/calls/single-phone-call",
        headers=state.credentials("contactship"),
        json={
            "from_number": "+12137771235",
            "to_number": "+14155550123",
            "full_name": "Ada Lovelace",
            "agent_id": AGENT,
            "webhook_url": "not a url",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["statusCode"] == 400
    assert state.store.snapshot()["acme"] == 0


LINK_LOCAL = (
    "a link-local address (169.254.0.0/16, fe80::/10), where clouds serve metadata; use the "
    "receiver's own address, or start the sandbox with --webhook-allow-link-local to allow it"
)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            f"webhook_url must not point at 169.254.169.254, {LINK_LOCAL}",
        ),
        (
            "http://user:pw@[fe80::a9fe:a9fe]/hook",
            f"webhook_url must not point at fe80::a9fe:a9fe, {LINK_LOCAL}",
        ),
        (
            "http://2852039166/latest/",
            f"webhook_url must not point at 2852039166 (169.254.169.254), {LINK_LOCAL}",
        ),
        (
            "http://100.100.100.200/latest/meta-data/",
            "webhook_url must not point at 100.100.100.200, a cloud metadata address; use the "
            "receiver's own address, or start the sandbox with --webhook-allow-link-local to "
            "allow it",
        ),
        (
            "http://[fd00:ec2::254]/latest/",
            "webhook_url must not point at fd00:ec2::254, a cloud metadata address; use the "
            "receiver's own address, or start the sandbox with --webhook-allow-link-local to "
            "allow it",
        ),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "webhook_url must not point at metadata.google.internal, a cloud metadata host "
            "name; use the receiver's own address, or start the sandbox with "
            "--webhook-allow-link-local to allow it",
        ),
        (
            "http://0.0.0.0:9000/hook",
            "webhook_url must not point at 0.0.0.0, an unspecified address (0.0.0.0/8): nothing "
            "receives webhooks there; use the receiver's own address (127.0.0.1 for this "
            "machine)",
        ),
        ("ftp://example.com/hook", "webhook_url must be a URL address"),
    ],
)
def test_a_link_local_or_metadata_webhook_url_is_the_vendor_s_400(
    client: TestClient, state: VendorSandbox, url: str, message: str
) -> None:
    answer = client.post(
        "/contactship/v1/calls/single-phone-call",
        headers=state.credentials("contactship"),
        json={
            "from_number": "+12137771235",
            "to_number": "+14155550123",
            "full_name": "Ada Lovelace",
            "agent_id": AGENT,
            "webhook_url": url,
        },
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json() == {"statusCode": 400, "message": [message], "error": "Bad Request"}
    assert state.store.snapshot()["acme"] == 0


def test_the_url_is_checked_before_the_agent(client: TestClient, state: VendorSandbox) -> None:
    answer = client.post(
        "/contactship/v1/calls/single-phone-call",
        headers=state.credentials("contactship"),
        json={
            "from_number": "+12137771235",
            "to_number": "+14155550123",
            "full_name": "Ada Lovelace",
            "agent_id": "00000000-0000-4000-8000-000000000000",
            "webhook_url": "http://169.254.169.254/",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == [
        f"webhook_url must not point at 169.254.169.254, {LINK_LOCAL}"
    ]


def test_the_flag_allows_a_link_local_webhook_url() -> None:
    app = create_app(Settings(raise_on_schema_error=True, webhook_allow_link_local=True))
    state: VendorSandbox = app.state.sandbox
    with TestClient(app) as client:  # the clock is never moved: nothing is sent there
        call_id = _create(client, state, webhook_url="http://169.254.169.254/hook")
        plan = state.store.plan("acme", call_id)
        assert plan is not None
        assert plan.webhook_url == "http://169.254.169.254/hook"


def test_a_webhook_url_s_userinfo_is_sent_as_basic_auth_and_never_shown(
    client: TestClient, state: VendorSandbox
) -> None:
    with receiving() as receiver:
        url = receiver.url.replace("http://", "http://ada:s3cret@")
        ours = _create(client, state, webhook_url=url)
        state.advance(3_600_000)
        client.app.state.webhooks.dispatcher.wait_idle(10)  # type: ignore[attr-defined]
        requests = receiver.requests
    assert [r.json["call"]["id"] for r in requests] == [ours] * 3
    assert {r.headers["Authorization"] for r in requests} == {"Basic YWRhOnMzY3JldA=="}
    attempts = client.get("/_sandbox/webhooks/attempts").json()["attempts"]
    assert {a["url"] for a in attempts} == {receiver.url.replace("http://", "http://***@")}
    journal = client.get("/_sandbox/journal", params={"kind": "webhook"})
    assert journal.json()["entries"]
    assert "s3cret" not in json.dumps(attempts) + journal.text
