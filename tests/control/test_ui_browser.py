"""The inspector page in a real browser: Debian's chromium, headless, driven by Playwright for
Python, against `call-sandbox serve --admin-token` on a free 127.0.0.1 port. It signs in with
the form, finds a call, opens it in every dialect, moves the clock and sees the call move on,
creates a call through Retell's API and sees it appear, adds a fault rule and sees it fire in
the journal, all with the keyboard. The screenshots it takes are the README's."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Served, serve

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)

TOKEN = "ui-browser-7d2f"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT_MS = 10_000  # the longest any one expectation waits


def _send(served: Served, method: str, path: str, body: Any = None, **headers: str) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    sent = {"content-type": "application/json", **headers} if data else headers
    request = urllib.request.Request(served.url + path, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _admin(served: Served, method: str, path: str, body: Any = None) -> Any:
    return _send(served, method, path, body, authorization=f"Bearer {TOKEN}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("ui-browser"), "--admin-token", TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    assert _admin(served, "POST", "/_sandbox/reset")[0] == 200
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def sign_in(page: Any, served: Served) -> None:
    """With the keyboard only: the page sends a stranger to the form; Enter submits it."""
    page.goto(served.url + "/_sandbox/ui")
    assert page.url == served.url + "/_sandbox/ui/signin"
    focused = page.locator("#token")
    sync_api.expect(focused).to_be_focused()
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url(served.url + "/_sandbox/ui")


def test_signing_in_sets_an_http_only_cookie_that_is_not_the_token(
    page: Any, served: Served
) -> None:
    page.goto(served.url + "/_sandbox/ui/signin")
    page.fill("#token", "wrong")
    page.keyboard.press("Enter")
    sync_api.expect(page.get_by_role("alert")).to_have_text(
        "That is not this sandbox's admin token."
    )
    sign_in(page, served)
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/_sandbox"
    assert TOKEN not in cookie["value"]
    assert TOKEN not in page.url
    # The page reads the control plane with that cookie; scripts cannot see it.
    assert page.evaluate("document.cookie") == ""


def test_a_call_in_every_dialect_moves_on_with_the_clock(page: Any, served: Served) -> None:
    keys = _admin(served, "GET", "/_sandbox/keys")[1]["retell"]
    sign_in(page, served)
    sync_api.expect(page.locator("table.calls tbody tr")).to_have_count(25)
    # A call created through Retell's API appears on the open page without a reload.
    status, created = _send(
        served,
        "POST",
        "/retell/v2/create-phone-call",
        {"from_number": "+14155550142", "to_number": "+12125550101"},
        **keys,
    )
    assert status == 201
    retell_id = created["call_id"]
    row = page.locator("table.calls tbody tr").filter(has_text=retell_id)
    sync_api.expect(row).to_have_count(1)
    sync_api.expect(row.locator(".status")).to_have_text("queued")
    page.screenshot(path=str(SCREENSHOTS / "calls.png"))

    # Keyboard: Tab reaches the call's link (focus visible), Enter opens it.
    link = row.locator("a")
    link.focus()
    sync_api.expect(link).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/_sandbox/ui/calls/**")
    dialects = page.locator("section.dialect")
    sync_api.expect(dialects).to_have_count(5)
    titles = [t.strip() for t in page.locator("section.dialect h3").all_inner_texts()]
    assert titles == [
        "Retell AI",
        "Callab",
        "ContactShip",
        "ContactShip (transcript_format=toon)",
        "Zudu",
    ]
    retell = json.loads(page.locator("section.dialect[data-vendor=retell] pre.json").inner_text())
    assert retell["call_id"] == retell_id
    assert retell["call_status"] == "registered"
    zudu = page.locator("section.dialect[data-vendor=zudu] pre.json")
    sync_api.expect(page.locator("#call-status")).to_have_text("queued")

    # Ten minutes on: the call dials, talks and ends, and the page follows without a reload.
    advance = page.get_by_role("button", name="+10 min")
    advance.focus()
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#call-status")).to_have_text("completed")
    sync_api.expect(zudu).to_contain_text('"call_status": "ENDED"')
    retell_now = page.locator("section.dialect[data-vendor=retell] pre.json")
    sync_api.expect(retell_now).to_contain_text('"call_status": "ended"')
    sync_api.expect(page.locator(".timeline li.past")).to_have_count(4)
    # ContactShip's TOON transcript is a string inside the JSON: shown as it reads, too.
    toon = page.locator('section.dialect[data-form="transcript_format=toon"]')
    sync_api.expect(toon.locator("p.request").nth(1)).to_have_text("chat_history, as it reads:")
    sync_api.expect(toon.locator("pre.text").first).to_contain_text("role")
    page.screenshot(path=str(SCREENSHOTS / "call.png"))


def test_a_fault_rule_added_on_the_page_fires_in_the_journal(page: Any, served: Served) -> None:
    keys = _admin(served, "GET", "/_sandbox/keys")[1]["retell"]
    sign_in(page, served)
    page.goto(served.url + "/_sandbox/ui/rules")
    page.locator("#fault-body").fill(
        '{"vendor": "retell", "route": "list-calls-v2", "fault": {"type": "status", "status": 503}}'
    )
    page.get_by_role("button", name="Add fault rule").focus()
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#faults tbody tr")).to_have_count(1)
    sync_api.expect(page.locator("#faults tbody tr")).to_contain_text("list-calls-v2")
    # A rule the control plane refuses says why, in place.
    page.locator("#fault-body").fill('{"fault": {"type": "teapot"}}')
    page.get_by_role("button", name="Add fault rule").click()
    sync_api.expect(page.locator("#rules-error")).to_contain_text("body.fault")

    page.goto(served.url + "/_sandbox/ui/journal")
    sync_api.expect(page.locator("#tail-empty")).to_be_visible()
    assert _send(served, "POST", "/retell/v2/list-calls", {"limit": 1}, **keys)[0] == 503
    entry = page.locator("#tail details").first
    sync_api.expect(entry.locator("summary")).to_contain_text("list-calls-v2")
    sync_api.expect(entry.locator("summary")).to_contain_text("fault: rule #1 status")
    entry.locator("summary").focus()
    page.keyboard.press("Enter")
    sync_api.expect(entry.locator("pre").nth(1)).to_contain_text('"authorization": "')
    assert keys["Authorization"] not in entry.inner_text()

    # assert_called's query: a 200 for list-calls-v2 was never answered; the 503 is a near miss.
    page.select_option("#verify-form select[name=vendor]", "retell")
    page.fill("#verify-form input[name=route]", "list-calls-v2")
    page.fill("#verify-form input[name=status]", "200")
    page.locator("#verify-form input[name=status]").press("Enter")
    result = page.locator("#verify-result")
    sync_api.expect(result).to_contain_text("Near misses")
    sync_api.expect(result).to_contain_text("status is 503, not 200")

    # Removing the rule: the next request is answered.
    page.goto(served.url + "/_sandbox/ui/rules")
    page.get_by_role("button", name="Remove fault rule 1").focus()
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#faults tbody")).to_contain_text("No fault rules.")
    assert _send(served, "POST", "/retell/v2/list-calls", {"limit": 1}, **keys)[0] == 200


def test_the_keyboard_reaches_every_control_with_a_visible_focus(page: Any, served: Served) -> None:
    sign_in(page, served)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    sync_api.expect(skip).to_be_focused()
    assert skip.is_visible()  # shown once focused
    outline = skip.evaluate(
        "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
    )
    assert outline == "solid 3px"
    names = []
    for _ in range(12):
        page.keyboard.press("Tab")
        names.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert names[:10] == [
        "Calls",
        "Journal",
        "Faults & rate limits",
        "Webhooks",
        "Sign out",
        "+1 s",
        "+10 s",
        "+1 min",
        "+10 min",
        "Reset sandbox",
    ]
    # The clock moves with Enter on a focused button, and the focus stays there.
    page.get_by_role("button", name="+1 min").focus()
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#clock-now")).to_have_text("2026-03-20T12:01:00.000Z")
    sync_api.expect(page.get_by_role("button", name="+1 min")).to_be_focused()


def test_two_replicas_on_redis_show_the_shared_world(
    browser: Any, tmp_path: Path, redis_url: str
) -> None:
    """Redis holds one sandbox: one replica's pages show what a client did through the other
    (calls, the clock, the journal, fault rules)."""
    shared = ("--store", redis_url, "--admin-token", TOKEN)
    with serve(tmp_path / "a", *shared) as first, serve(tmp_path / "b", *shared) as second:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(WAIT_MS)
        try:
            page = context.new_page()
            sign_in(page, first)
            keys = _admin(second, "GET", "/_sandbox/keys")[1]["retell"]
            status, created = _send(
                second,
                "POST",
                "/retell/v2/create-phone-call",
                {"from_number": "+14155550142", "to_number": "+12125550101"},
                **keys,
            )
            assert status == 201
            row = page.locator("table.calls tbody tr").filter(has_text=created["call_id"])
            sync_api.expect(row.locator(".status")).to_have_text("queued")
            row.locator("a").click()
            sync_api.expect(page.locator("#call-status")).to_have_text("queued")
            # The other replica moves the shared clock; this page follows.
            assert _admin(second, "POST", "/_sandbox/clock/advance", {"seconds": 600})[0] == 200
            sync_api.expect(page.locator("#call-status")).to_have_text("completed")
            sync_api.expect(page.locator("#clock-now")).to_have_text("2026-03-20T12:10:00.000Z")
            # The journal is one too: this replica's tail shows the create the other served.
            page.goto(first.url + "/_sandbox/ui/journal")
            entry = page.locator("#tail details").filter(has_text="create-phone-call")
            sync_api.expect(entry).to_have_count(1)
            sync_api.expect(page.locator("#tail-empty")).to_be_hidden()
            # And so are the rules: one added through the other replica is listed here.
            rule = {"vendor": "zudu", "fault": {"type": "status", "status": 502}}
            assert _admin(second, "POST", "/_sandbox/faults", rule)[0] == 201
            page.goto(first.url + "/_sandbox/ui/rules")
            sync_api.expect(page.locator("body")).to_contain_text("502")
        finally:
            context.close()
