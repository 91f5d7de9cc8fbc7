"""Webhooks as a user's project meets them through the pytest plugin: `sandbox.webhooks` on
the in-process handle and on `sandbox_server`, and a clean slate for every test."""

from __future__ import annotations

# Imported out here for the reason tests/testing/test_plugin.py gives.
import httpcore  # noqa: F401
import pytest

pytest_plugins = ["pytester"]


def test_the_sink_through_the_plugin_and_a_clean_slate_per_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SANDBOX_SEED", "SANDBOX_FIXTURES", "SANDBOX_URL"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(
        """
        from retell import Retell
        from retell.lib.webhook_auth import verify

        def advance(sandbox, seconds):
            sandbox.app.state.sandbox.advance(seconds * 1000)

        def test_1_in_process(sandbox):
            key = sandbox.keys("retell")["Authorization"].removeprefix("Bearer ")
            client = Retell(
                api_key=key, base_url=sandbox.base_url("retell"), http_client=sandbox.httpx_client()
            )
            sandbox.webhooks.subscribe("retell")
            call = client.call.create_phone_call(
                from_number="+14155550142", to_number="+12125550123"
            )
            advance(sandbox, 3600)
            got = sandbox.webhooks.wait(3, call_id=call.call_id)
            assert [d.event for d in got] == ["call_started", "call_ended", "call_analyzed"]
            assert all(verify(d.text, key, d.header("X-Retell-Signature")) for d in got)

        def test_2_clean_again(sandbox):
            assert sandbox.webhooks.subscriptions() == []
            assert sandbox.webhooks.deliveries == []
            advance(sandbox, 3600)
            sandbox.webhooks.wait_idle()
            assert sandbox.webhooks.deliveries == []

        def test_3_through_the_server(sandbox, sandbox_server):
            sandbox_server.webhooks.subscribe("zudu")
            advance(sandbox, 3600)
            got = sandbox_server.webhooks.wait(1, event="post_call")
            assert got == sandbox.webhooks.received(event="post_call")
            assert got[0].json["data"]["organization_id"] == "org_acme"
        """
    )
    result = pytester.runpytest("-W", "error", "-p", "no:cacheprovider", "-ra")
    result.assert_outcomes(passed=3)
