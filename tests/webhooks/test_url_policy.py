"""The URL policy in the control plane: a subscription to a link-local, metadata or unusable
address is the control plane's 400 saying what to fix (URL shown without its userinfo), the
in-process handle raises the same words, and --webhook-allow-link-local lets the first two
through."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.serve.cli import parser
from sandbox.testing.handles import InProcessSandbox

ALLOW = (
    "use the receiver's own address, or start the sandbox with --webhook-allow-link-local to "
    "allow it"
)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            "url: 'http://169.254.169.254/latest/meta-data/' must not point at 169.254.169.254, "
            "a link-local address (169.254.0.0/16, fe80::/10), where clouds serve metadata; "
            + ALLOW,
        ),
        (
            "http://admin:hunter2@169.254.170.2/v2/credentials",
            "url: 'http://***@169.254.170.2/v2/credentials' must not point at 169.254.170.2, "
            "a link-local address (169.254.0.0/16, fe80::/10), where clouds serve metadata; "
            + ALLOW,
        ),
        (
            "http://100.100.100.200/latest/meta-data/",
            "url: 'http://100.100.100.200/latest/meta-data/' must not point at 100.100.100.200, "
            "a cloud metadata address; " + ALLOW,
        ),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "url: 'http://metadata.google.internal/computeMetadata/v1/' must not point at "
            "metadata.google.internal, a cloud metadata host name; " + ALLOW,
        ),
        (
            "http://0.0.0.0:9000/hook",
            "url: 'http://0.0.0.0:9000/hook' must not point at 0.0.0.0, an unspecified address "
            "(0.0.0.0/8): nothing receives webhooks there; use the receiver's own address "
            "(127.0.0.1 for this machine)",
        ),
        (
            "gopher://127.0.0.1:6379/_",
            "url: 'gopher://127.0.0.1:6379/_' is not an absolute http:// or https:// URL (or "
            "sandbox://sink, the sandbox's in-process sink)",
        ),
    ],
)
def test_a_refused_subscription_is_the_control_plane_s_400(
    client: TestClient, url: str, message: str
) -> None:
    answer = client.put("/_sandbox/webhooks", json={"vendor": "retell", "url": url})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": "bad_request", "message": message}
    assert "hunter2" not in answer.text
    assert client.get("/_sandbox/webhooks").json() == {"subscriptions": []}
    with pytest.raises(ValueError, match=r"^url: ") as refused:
        InProcessSandbox(client.app).webhooks.subscribe("retell", url)  # type: ignore[arg-type]
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost:9000/hook",
        "http://receiver:8080/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "https://hooks.example.com/hook",
    ],
)
def test_loopback_private_and_named_receivers_are_allowed(client: TestClient, url: str) -> None:
    answer = client.put("/_sandbox/webhooks", json={"vendor": "zudu", "url": url})
    assert answer.status_code == 200
    assert answer.json()["url"] == url


def test_the_flag_allows_link_local_and_metadata_subscriptions() -> None:
    app = create_app(Settings(raise_on_schema_error=True, webhook_allow_link_local=True))
    with TestClient(app) as client:  # the clock is never moved: nothing is sent there
        for url in ("http://169.254.169.254/hook", "http://[fd00:ec2::254]/hook"):
            answer = client.put("/_sandbox/webhooks", json={"vendor": "retell", "url": url})
            assert answer.status_code == 200
            assert answer.json()["url"] == url
        answer = client.put(
            "/_sandbox/webhooks", json={"vendor": "retell", "url": "http://0.0.0.0/"}
        )
        assert answer.status_code == 400


def test_the_cli_flag_sets_the_setting() -> None:
    args = parser().parse_args(["serve", "--webhook-allow-link-local"])
    assert args.webhook_allow_link_local is True
    assert parser().parse_args(["serve"]).webhook_allow_link_local is False


def test_a_listed_url_that_stands_for_several_removes_none(client: TestClient) -> None:
    """Two subscriptions that differ only in their password are listed alike; removing by the
    listed form would remove both, so it is refused and the URL as set is asked for."""
    for url in ("http://a:1@127.0.0.1:9/hook", "http://a:2@127.0.0.1:9/hook"):
        body = {"vendor": "retell", "url": url}
        assert client.put("/_sandbox/webhooks", json=body).status_code == 200
    listed = client.get("/_sandbox/webhooks").json()["subscriptions"]
    assert [s["url"] for s in listed] == ["http://***@127.0.0.1:9/hook"] * 2
    refused = client.delete("/_sandbox/webhooks", params={"url": "http://***@127.0.0.1:9/hook"})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "bad_request",
        "message": "url: http://***@127.0.0.1:9/hook stands for 2 subscriptions' URLs that "
        "differ in their credentials; give the URL as it was set",
    }
    gone = client.delete("/_sandbox/webhooks", params={"url": "http://a:2@127.0.0.1:9/hook"})
    assert gone.json() == {"deleted": 1}
    last = client.delete("/_sandbox/webhooks", params={"url": "http://***@127.0.0.1:9/hook"})
    assert last.json() == {"deleted": 1}
