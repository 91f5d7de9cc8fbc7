"""One log line per request: method, path, status and milliseconds, and never a key."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from sandbox import Settings, create_app
from sandbox.dialect.vendor import Vendor, VendorSandbox
from sandbox.http.access_log import RequestLog
from sandbox.testing.transport import SyncASGITransport
from sandbox.vendors import VENDORS

LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) \d+\.\dms$")


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sandbox.access"]


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_a_line_per_request_without_keys_or_query(
    client: TestClient, state: VendorSandbox, caplog: pytest.LogCaptureFixture, vendor: Vendor
) -> None:
    keys = state.credentials(vendor.name)
    path = f"/{vendor.name}{vendor.lookup_path('no-such-call')}"
    secret = next(iter(keys.values()))
    with caplog.at_level(logging.INFO, logger="sandbox.access"):
        response = client.get(path, params={"api_key": secret}, headers=keys)
    [line] = _lines(caplog)
    found = LINE.match(line)
    assert found is not None, line
    assert found["method"] == "GET"
    assert found["path"] == path
    assert int(found["status"]) == response.status_code
    for value in keys.values():
        assert value not in line
        assert value.split()[-1] not in line


def test_the_path_is_logged_still_percent_encoded(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sandbox.access"):
        response = client.get("/retell/v2/get-call/a%0Ab%20c")
    line = f"GET /retell/v2/get-call/a%0Ab%20c {response.status_code} "
    [logged] = _lines(caplog)
    assert logged.startswith(line)


def test_no_line_when_the_access_log_is_off(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(access_log=False))
    with (
        caplog.at_level(logging.INFO, logger="sandbox.access"),
        httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox.test") as quiet,
    ):
        assert quiet.get("/_sandbox/health").status_code == 200
    assert _lines(caplog) == []


def test_an_app_that_raises_is_logged_as_500(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    with (
        caplog.at_level(logging.INFO, logger="sandbox.access"),
        httpx.Client(
            transport=SyncASGITransport(RequestLog(broken)), base_url="http://sandbox.test"
        ) as client,
        pytest.raises(RuntimeError, match="boom"),
    ):
        client.post("/x?token=abc")
    [line] = _lines(caplog)
    assert LINE.match(line)
    assert line.startswith("POST /x 500 ")
