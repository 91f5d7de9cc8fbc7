"""The inspector page, served side: sign-in and the cookie the admin gate accepts (same origin
only for changes), the pages and their fragments with exact statuses, the dialects equal to the
vendors' own answers, assert_called's query, and the files the wheel ships."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.control.admin import COOKIE, CROSS_ORIGIN, MESSAGE, session_value
from sandbox.control.ui import pages, views
from sandbox.dialect.vendor import VendorSandbox
from sandbox.serve.cli import banner

TOKEN = "ui-4b1d"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ORIGIN = {"Origin": "http://testserver"}
UI_DIR = Path(pages.__file__).parent
CALL_LINK = re.compile(r'href="/_sandbox/ui/calls/([^/"]+)/([0-9a-f-]{36})"')


@pytest.fixture(scope="module")
def guarded_app() -> Starlette:
    return create_app(Settings(admin_token=TOKEN, raise_on_schema_error=True))


@pytest.fixture
def browser(guarded_app: Starlette) -> Iterator[TestClient]:
    """A client without credentials, as a browser is before signing in."""
    with TestClient(guarded_app, follow_redirects=False) as client:
        client.post("/_sandbox/reset", headers=BEARER)
        yield client


@pytest.fixture(scope="module")
def open_app() -> Starlette:
    return create_app(Settings(raise_on_schema_error=True))


@pytest.fixture
def client(open_app: Starlette) -> Iterator[TestClient]:
    with TestClient(open_app, follow_redirects=False) as opened:
        opened.post("/_sandbox/reset")
        yield opened


def sign_in(client: TestClient) -> None:
    answer = client.post("/_sandbox/ui/signin", data={"token": TOKEN}, headers=ORIGIN)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/_sandbox/ui"


# -- signing in -------------------------------------------------------------------------------


def test_a_stranger_is_sent_to_the_sign_in_form_and_the_json_stays_401(
    browser: TestClient,
) -> None:
    for path in ("/_sandbox/ui", "/_sandbox/ui/", "/_sandbox/ui/journal", "/_sandbox/ui/rules"):
        answer = browser.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/_sandbox/ui/signin"
    answer = browser.get("/_sandbox/clock")
    assert answer.status_code == 401
    assert answer.json() == {"error": "unauthorized", "message": MESSAGE}
    form = browser.get("/_sandbox/ui/signin")
    assert form.status_code == 200
    assert form.headers["content-type"] == "text/html; charset=utf-8"
    assert '<input id="token" name="token" type="password"' in form.text
    assert browser.get("/_sandbox/ui/static/ui.css").status_code == 200
    assert browser.get("/_sandbox/ui/static/ui.js").status_code == 200


def test_a_wrong_token_signs_nobody_in(browser: TestClient) -> None:
    answer = browser.post("/_sandbox/ui/signin", data={"token": "nope"})
    assert answer.status_code == 401
    assert "That is not this sandbox's admin token." in answer.text
    assert "set-cookie" not in answer.headers
    huge = browser.post("/_sandbox/ui/signin", content=b"token=" + b"x" * 100_000)
    assert huge.status_code == 401


def test_signing_in_sets_an_http_only_strict_cookie_derived_from_the_token(
    browser: TestClient,
) -> None:
    answer = browser.post("/_sandbox/ui/signin", data={"token": TOKEN})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    value = session_value(TOKEN)
    assert cookie.startswith(f"{COOKIE}={value};")
    assert TOKEN not in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/_sandbox" in cookie
    assert value != session_value(TOKEN + "x")
    page = browser.get("/_sandbox/ui")
    assert page.status_code == 200
    assert browser.get("/_sandbox/clock").status_code == 200
    assert browser.get("/_sandbox/journal").status_code == 200


def test_the_cookie_changes_things_only_from_the_same_origin(browser: TestClient) -> None:
    sign_in(browser)
    advance = "/_sandbox/clock/advance"
    for headers in (
        {},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://testserver:3000"},  # (SameSite ignores ports; Origin does not)
    ):
        refused = browser.post(advance, json={"seconds": 1}, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json() == {"error": "unauthorized", "message": CROSS_ORIGIN}
    assert browser.post(advance, json={"seconds": 1}, headers=ORIGIN).status_code == 200
    # The Bearer header needs no origin, as everywhere else.
    browser.cookies.clear()
    assert browser.post(advance, json={"seconds": 1}, headers=BEARER).status_code == 200
    assert browser.get("/_sandbox/ui", headers=BEARER).status_code == 200


def test_a_cookie_of_another_token_is_no_session(browser: TestClient) -> None:
    browser.cookies.set(COOKIE, session_value("another"), path="/_sandbox")
    assert browser.get("/_sandbox/ui").status_code == 303
    assert browser.get("/_sandbox/clock").status_code == 401
    browser.cookies.set(COOKIE, TOKEN, path="/_sandbox")  # the token itself is not the value
    assert browser.get("/_sandbox/clock").status_code == 401


def test_signing_out_forgets_the_cookie(browser: TestClient) -> None:
    sign_in(browser)
    answer = browser.post("/_sandbox/ui/signout", headers=ORIGIN)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/_sandbox/ui/signin"
    assert f'{COOKIE}=""' in answer.headers["set-cookie"]
    assert "Max-Age=0" in answer.headers["set-cookie"]
    assert browser.get("/_sandbox/ui").status_code == 303


def test_without_a_token_the_page_is_open_and_there_is_no_sign_in(client: TestClient) -> None:
    assert client.get("/_sandbox/ui").status_code == 200
    answer = client.get("/_sandbox/ui/signin")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/_sandbox/ui"


# -- pages -------------------------------------------------------------------------------------


def test_every_page_renders_with_its_headers(client: TestClient) -> None:
    for path in (
        "/_sandbox/ui",
        "/_sandbox/ui/",
        "/_sandbox/ui/calls/table",
        "/_sandbox/ui/journal",
        "/_sandbox/ui/rules",
        "/_sandbox/ui/webhooks",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["content-security-policy"] == (
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
        )


def test_the_calls_page_pages_newest_first(client: TestClient, open_app: Starlette) -> None:
    state: VendorSandbox = open_app.state.sandbox
    tenant = state.default_tenant.id
    first = CALL_LINK.findall(client.get("/_sandbox/ui").text)
    second = CALL_LINK.findall(client.get("/_sandbox/ui?page=2").text)
    assert len(first) == len(second) == views.PAGE_SIZE
    newest = [c.id for c in state.store.calls(tenant, order="desc")][: 2 * views.PAGE_SIZE]
    assert [i for _, i in first + second] == newest
    assert {t for t, _ in first} == {tenant}
    assert 'id="next-page" href="/_sandbox/ui?tenant=' in client.get("/_sandbox/ui").text


@pytest.mark.parametrize(("name", "value"), [("status", "completed"), ("direction", "inbound")])
def test_filters_keep_only_matching_calls(
    client: TestClient, open_app: Starlette, name: str, value: str
) -> None:
    state: VendorSandbox = open_app.state.sandbox
    table = client.get(f"/_sandbox/ui/calls/table?{name}={value}").text
    shown = [i for _, i in CALL_LINK.findall(table)]
    assert shown
    tenant = state.default_tenant.id
    field = "scenario" if name == "status" else "direction"
    expected = [
        c.id for c in state.store.calls(tenant, order="desc") if str(getattr(c, field)) == value
    ][: views.PAGE_SIZE]
    assert shown == expected


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("page=0", 400, "page &#39;0&#39;: a whole number from 1 to 80"),
        ("page=x", 400, "page &#39;x&#39;: a whole number from 1 to 80"),
        ("status=ringing", 400, "status &#39;ringing&#39;: choose one of completed"),
        ("direction=up", 400, "direction &#39;up&#39;: choose one of inbound, outbound"),
        ("tenant=nobody", 404, "no tenant &#39;nobody&#39;; choose one of"),
    ],
)
def test_bad_filters_say_what_to_fix(
    client: TestClient, query: str, status: int, message: str
) -> None:
    for path in ("/_sandbox/ui", "/_sandbox/ui/calls/table"):
        answer = client.get(f"{path}?{query}")
        assert answer.status_code == status
        assert message in answer.text


def test_one_call_in_every_dialect_is_each_vendors_own_answer(
    client: TestClient, open_app: Starlette
) -> None:
    state: VendorSandbox = open_app.state.sandbox
    tenant, call_id = CALL_LINK.findall(client.get("/_sandbox/ui?status=completed").text)[0]
    page = client.get(f"/_sandbox/ui/calls/{tenant}/{call_id}")
    assert page.status_code == 200
    bodies = re.findall(
        r'<pre class="json" tabindex="0" aria-label="[^"]*">(.*?)</pre>', page.text, re.S
    )
    requests = re.findall(r'<p class="request"><code>GET (\S+)</code> → (\d+)</p>', page.text)
    assert len(bodies) == len(requests) == 5
    for (path, status), body in zip(requests, bodies, strict=True):
        vendor = path.split("/")[1]
        real = client.get(path, headers=state.credentials(vendor, tenant))
        assert (real.status_code, real.json()) == (int(status), json.loads(_unescape(body)))
    # Looking is not a request of the client's: only the five GETs above are journalled.
    assert len(client.get("/_sandbox/journal").json()["entries"]) == 5
    assert "call_ended" in page.text
    assert "call_analyzed" in page.text


def test_a_call_page_follows_the_clock(client: TestClient, open_app: Starlette) -> None:
    state: VendorSandbox = open_app.state.sandbox
    keys = state.credentials("retell")
    client.put("/_sandbox/webhooks", json={"vendor": "retell", "url": "sandbox://sink"})
    created = client.post(
        "/retell/v2/create-phone-call",
        json={"from_number": "+14155550142", "to_number": "+12125550101"},
        headers=keys,
    ).json()
    tenant = state.default_tenant.id
    call_id = state.vendors["retell"].canonical_id(created["call_id"])
    live = f"/_sandbox/ui/calls/{tenant}/{call_id}/live"
    assert 'id="call-status" class="status s-queued">queued<' in client.get(live).text
    assert created["call_id"] in client.get("/_sandbox/ui").text  # newest first
    client.post("/_sandbox/clock/advance", json={"seconds": 600})
    now = client.get(live).text
    assert 'id="call-status" class="status s-completed">completed<' in now
    assert now.count('<li class="past">') == 4
    # The webhooks sent for it, once delivered (on the engine's thread).
    open_app.state.webhooks.sink.wait(3, timeout=10.0)
    sent = client.get(live).text
    for event in ("call_started", "call_ended", "call_analyzed"):
        assert f"<td>retell</td><td>{event}</td><td><code>sandbox://sink</code></td>" in sent


def test_an_unknown_call_is_a_404_page(client: TestClient) -> None:
    answer = client.get("/_sandbox/ui/calls/acme/00000000-0000-4000-8000-000000000000")
    assert answer.status_code == 404
    assert "has no call" in answer.text


def test_assert_called_from_the_page_lists_near_misses(
    client: TestClient, open_app: Starlette
) -> None:
    state: VendorSandbox = open_app.state.sandbox
    client.post("/retell/v2/list-calls", json={"limit": 1}, headers=state.credentials("retell"))
    found = client.get("/_sandbox/ui/journal?verify=1&vendor=retell&route=list-calls-v2")
    assert 'id="verify-result" class="ok"' in found.text
    assert "Called 1 time(s):" in found.text
    missed = client.get("/_sandbox/ui/journal?verify=1&route=list-calls-v2&status=500")
    assert 'id="verify-result" class="miss"' in missed.text
    assert "Near misses" in missed.text
    assert "status is 200, not 500" in missed.text
    bad = client.get("/_sandbox/ui/journal?verify=1&status=ok")
    assert bad.status_code == 400


def test_rules_and_webhooks_pages_list_what_is_set(client: TestClient) -> None:
    client.post("/_sandbox/faults", json={"vendor": "zudu", "fault": {"type": "drop"}})
    client.post("/_sandbox/rate-limits", json={"limit": 3, "per_seconds": 10})
    client.put("/_sandbox/webhooks", json={"vendor": "retell", "url": "sandbox://sink"})
    rules = client.get("/_sandbox/ui/rules").text
    assert 'data-delete="/_sandbox/faults/1"' in rules
    assert 'data-delete="/_sandbox/rate-limits/1"' in rules
    hooks = client.get("/_sandbox/ui/webhooks").text
    assert "<code>sandbox://sink</code>" in hooks
    assert 'data-delete="/_sandbox/webhooks?vendor=retell&amp;tenant=' in hooks


# -- what ships --------------------------------------------------------------------------------


def test_the_banner_prints_the_page(open_app: Starlette) -> None:
    lines = banner(open_app.state.sandbox, "0.0.0.0", 8080).splitlines()
    assert "inspector: http://127.0.0.1:8080/_sandbox/ui" in lines


def test_nothing_is_fetched_from_elsewhere() -> None:
    for path in sorted(UI_DIR.rglob("*")):
        if path.suffix not in (".html", ".css", ".js"):
            continue
        text = path.read_text()
        assert not re.search(r"(src|href|action)=\"(https?:)?//", text), path
        assert "@import" not in text, path
        assert "url(" not in text, path
        assert 'fetch("http' not in text, path


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one: str, other: str) -> float:
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa_on_every_background() -> None:
    css = (UI_DIR / "static" / "ui.css").read_text()
    colours = dict(re.findall(r"--(\w+): (#[0-9a-f]{6});", css))
    backgrounds = [colours["paper"], colours["panel"], "#e4e7eb"]  # page, panels, buttons
    for text in ("ink", "muted", "link", "bad", "good", "warn", "focus"):
        for background in backgrounds:
            ratio = _contrast(colours[text], background)
            assert ratio >= 4.5, (text, background, round(ratio, 2))


def test_the_wheel_ships_the_templates_and_static_files(built_wheel: Path) -> None:
    shipped = set(zipfile.ZipFile(built_wheel).namelist())
    root = UI_DIR.parents[2]
    for path in sorted(UI_DIR.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".css", ".js", ".py"):
            assert path.relative_to(root).as_posix() in shipped, path


def _unescape(html: str) -> str:
    for escaped, plain in (("&#34;", '"'), ("&#39;", "'"), ("&lt;", "<"), ("&gt;", ">")):
        html = html.replace(escaped, plain)
    return html.replace("&amp;", "&")


def test_what_is_not_a_page_answers_in_html_or_the_sandbox_shape(client: TestClient) -> None:
    missing = client.get("/_sandbox/ui/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "text/html; charset=utf-8"
    assert "the inspector has no page /_sandbox/ui/nope" in missing.text
    for method, path in (("POST", "/_sandbox/ui"), ("DELETE", "/_sandbox/ui/calls/table")):
        refused = client.request(method, path)
        assert refused.status_code == 405
        assert "the inspector&#39;s pages are read with GET" in refused.text
    static = client.get("/_sandbox/ui/static/../templates/base.html")
    assert static.status_code == 404
    unknown = client.get("/_sandbox/ui/static/nope.css")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": "not_found",
        "message": "no such file; there are ui.css, ui.js",
    }
    script = client.get("/_sandbox/ui/static/ui.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "no-cache"


def test_the_sign_in_form_shows_nothing_of_the_sandbox(browser: TestClient) -> None:
    form = browser.get("/_sandbox/ui/signin").text
    assert "clock-now" not in form
    assert "Sign out" not in form
    assert 'href="/_sandbox/ui/journal"' not in form
