"""What once poisoned a tenant, froze the server or answered a text/plain 500 (issue 13, items
1, 2, 4 and 5), sent to `call-sandbox serve` over a real socket: text that is not Unicode,
nesting past what the sandbox recurses through, digits only `str.isdigit` believes, numbers
too long to read, and a LIKE pattern a regex would backtrack on. Each is the vendor's own 400
with a hint naming what to fix, nothing is stored, and afterwards the tenant's lists, the
clock and the health check all answer as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import Settings
from sandbox.http.encoding import MAX_DEPTH
from sandbox.state import Sandbox
from sandbox.vendors import VENDORS
from tests.servers import Served, call_sandbox, free_port, served

STATE = Sandbox(Settings(), VENDORS)
SURROGATE_HINT = (
    "holds a lone UTF-16 surrogate (\\ud800), which is not Unicode text and cannot be stored: "
    "send the character's full surrogate pair, or valid UTF-8"
)
DEPTH_HINT = (
    f"the request body nests objects and arrays more than {MAX_DEPTH} levels deep; "
    "send a flatter body"
)
RETELL_CREATE = b'{"from_number":"+14155550100","to_number":"+14155550123","metadata":'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    argv = [*call_sandbox(), "serve", "--port", str(port), "--no-access-log"]
    logs = tmp_path_factory.mktemp("door")
    with served(argv, url=f"http://127.0.0.1:{port}", logs=logs) as running:
        running.wait_healthy()
        yield running


@pytest.fixture
def client(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10.0) as made:
        yield made


def _headers(vendor: str) -> dict[str, str]:
    return {**STATE.credentials(vendor), "content-type": "application/json"}


def _retell_calls(client: httpx.Client) -> list[str]:
    answer = client.post("/retell/v2/list-calls", json={"limit": 1000}, headers=_headers("retell"))
    assert answer.status_code == 200
    return [c["call_id"] for c in answer.json()]


def _assert_still_serving(client: httpx.Client, before: list[str]) -> None:
    assert _retell_calls(client) == before
    assert client.get("/_sandbox/health").json()["status"] == "ok"
    advanced = client.post("/_sandbox/clock/advance", json={"seconds": 1})
    assert advanced.status_code == 200


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        (RETELL_CREATE + b'{"x":"\\ud800"}}', f"body.metadata.x: {SURROGATE_HINT}"),
        # The raw bytes of a surrogate are not UTF-8 either (Python's JSON reader lets them in).
        (RETELL_CREATE + b'{"x":"\xed\xa0\x80"}}', f"body.metadata.x: {SURROGATE_HINT}"),
        (RETELL_CREATE + b'{"\\ud800":1}}', f"body.metadata: has a key that {SURROGATE_HINT}"),
        (RETELL_CREATE + b"[" * 100_000 + b"}", DEPTH_HINT),
        (RETELL_CREATE + b"[" * 700 + b"]" * 700 + b"}", DEPTH_HINT),
    ],
    ids=["escaped-surrogate", "raw-surrogate", "surrogate-key", "100k-deep", "700-deep"],
)
def test_a_create_the_sandbox_could_not_keep_is_refused(
    client: httpx.Client, body: bytes, hint: str
) -> None:
    before = _retell_calls(client)
    answer = client.post("/retell/v2/create-phone-call", content=body, headers=_headers("retell"))
    assert answer.status_code == 400
    assert answer.headers["content-type"] == VENDORS[0].content_type
    assert answer.headers["x-sandbox-hint"] == hint
    assert answer.json() == {"status": "error", "message": hint}
    _assert_still_serving(client, before)


def test_every_vendor_refuses_text_that_is_not_unicode(client: httpx.Client) -> None:
    sent: list[tuple[str, str, bytes, dict[str, Any]]] = [
        (
            "callab",
            "/callab/v1/calls",
            b'{"call_from":"+14155550100","call_to":"+14155550123","metadata":{"x":"\\ud800"}}',
            {"status": "error", "message": f"body.metadata.x: {SURROGATE_HINT}", "data": ""},
        ),
        (
            "contactship",
            "/contactship/v1/calls/single-phone-call",
            b'{"phone_number":"+14155550123","agent_id":"\\ud800"}',
            {
                "statusCode": 400,
                "message": [f"agent_id {SURROGATE_HINT}"],
                "error": "Bad Request",
            },
        ),
        (
            "zudu",
            "/zudu/api/calls/create-phone-call",
            b'{"agent_id":"a","to_number":"+14155550123","metadata":{"x":"\\ud800"}}',
            {
                "message": "Invalid request",
                "status": "error",
                "error": f"body.metadata.x: {SURROGATE_HINT}",
            },
        ),
    ]
    for vendor, path, body, expected in sent:
        answer = client.post(path, content=body, headers=_headers(vendor))
        assert (answer.status_code, answer.json()) == (400, expected), vendor


def test_prefer_values_that_are_not_ascii_digits_are_ignored(client: httpx.Client) -> None:
    call = STATE.generator.call(STATE.fixtures.default_tenant, 3)
    path = "/retell/v2/get-call/" + VENDORS[0].external_id(call)
    plain = client.get(path, headers=_headers("retell"))
    assert plain.status_code == 200
    for prefer in (b"delay=\xb2", b"code=" + b"5" * 5_000, b"delay=+5", b"code=\xef\xbc\x95"):
        raw = [(k.encode(), v.encode()) for k, v in _headers("retell").items()]
        answer = client.get(path, headers=[*raw, (b"prefer", prefer)])
        assert answer.status_code == 200, prefer[:20]
        assert answer.content == plain.content
        assert "preference-applied" not in answer.headers


@pytest.mark.parametrize(
    ("vendor", "path", "hint"),
    [
        (
            "callab",
            "/callab/v1/calls/query?page=9999999999999999999999999",
            "query.page: must be at most 9007199254740991, not 9999999999999999999999999",
        ),
        (
            "callab",
            "/callab/v1/calls/query?page=9007199254740992",
            "query.page: must be at most 9007199254740991, not 9007199254740992",
        ),
        (
            "zudu",
            "/zudu/api/calls?page=%D9%A3",
            'query.page: must be a whole number (ASCII digits), not "\\u0663"',
        ),
    ],
)
def test_page_numbers_beyond_reason_are_400(
    client: httpx.Client, vendor: str, path: str, hint: str
) -> None:
    answer = client.get(path, headers=_headers(vendor))
    assert answer.status_code == 400
    assert answer.headers["x-sandbox-hint"] == hint


def test_a_like_pattern_that_would_backtrack_answers_at_once(client: httpx.Client) -> None:
    # Each `%e` multiplied a regex's work by about nine; this answers as any filter does.
    pattern = "%e" * 12 + "%#"
    query: list[tuple[str, str | int | float | bool | None]] = [
        ("filter_columns[]", "disconnect_reason"),
        ("filter_operator[]", "ilike"),
        ("filter_values[]", pattern),
        ("per_page", "100"),
    ]
    answer = client.get("/callab/v1/calls/query", params=query, headers=_headers("callab"))
    assert answer.status_code == 200
    assert answer.json()["data"] == []
    assert client.get("/_sandbox/health").json()["status"] == "ok"
