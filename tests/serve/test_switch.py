"""The replaceable ASGI app behind `serve --reload` and the plugin's session server."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.serve.switch import Switch
from sandbox.testing.transport import SyncASGITransport


def _answering(text: bytes) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": text})

    return app


def test_requests_go_to_the_current_app() -> None:
    first, second = _answering(b"first"), _answering(b"second")
    switch = Switch(first)
    with httpx.Client(transport=SyncASGITransport(switch), base_url="http://s.test") as client:
        assert client.get("/").content == b"first"
        switch.app = second
        assert switch.app is second
        assert client.get("/").content == b"second"
    assert switch.take_errors() == []


def test_errors_are_kept_until_taken_and_still_raised() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise KeyError("bug")

    switch = Switch(broken)
    with (
        httpx.Client(transport=SyncASGITransport(switch), base_url="http://s.test") as client,
        pytest.raises(KeyError),
    ):
        client.get("/")
    [error] = switch.take_errors()
    assert isinstance(error, KeyError)
    assert switch.take_errors() == []
