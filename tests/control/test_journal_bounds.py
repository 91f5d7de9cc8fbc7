"""The journal's memory is bounded whatever clients send: a byte budget beside the entry count,
a prefix of every path, query string and header value (cut with a marker, a credential the cut
goes through hidden whole), a bounded block of headers, and a read whose work is the bytes
kept, not the bytes sent; it runs off the event loop."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

from starlette.testclient import TestClient

from sandbox.dialect.vendor import VendorSandbox
from sandbox.store.journal import (
    BUDGET,
    CAPACITY,
    ENTRY_BYTES,
    HEADERS_LIMIT,
    MARGIN,
    TEXT_LIMIT,
    TRUNCATED,
    Journal,
    JournalQuery,
)
from sandbox.store.redaction import REDACTED, Redactor
from sandbox.testing.handles import SandboxHandle
from tests.doubles import state_of

DOCS_CALL = "/retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"
MB = 1024 * 1024
# The most one entry of a refused head keeps: one cut value (with the margin kept past the
# cut), the client's few other headers, the path, and the fixed part.
ENTRY_MAX = ENTRY_BYTES + TEXT_LIMIT + MARGIN + 1_024


class Sized:
    kind = "request"
    vendor = "retell"
    route: str | None = "get-call"
    at_ms = 0

    def __init__(self, tenant: str | None, size: int) -> None:
        self.tenant, self.size = tenant, size

    def __call__(self) -> dict[str, Any]:
        return {"kind": "request", "vendor": "retell", "tenant": self.tenant}


def _retell(state: VendorSandbox) -> dict[str, str]:
    return state.credentials("retell")


# -- the ring ---------------------------------------------------------------------------------


def test_the_documented_bounds() -> None:
    journal = Journal()
    assert (journal.capacity, journal.budget) == (CAPACITY, BUDGET) == (10_000, 32 * MB)
    assert (TEXT_LIMIT, HEADERS_LIMIT) == (4_096, 16_384)


def test_the_oldest_entries_go_past_the_byte_budget() -> None:
    journal = Journal(capacity=100, budget=1_000)
    for n in range(5):
        journal.record_later(f"t{n}", Sized(f"t{n}", 300))
    assert [e["tenant"] for e in journal.entries()] == ["t2", "t3", "t4"]
    assert (journal.bytes, journal.evicted, len(journal)) == (900, 2, 3)
    journal.record_later("big", Sized("big", 5_000))  # (the newest always stays)
    assert [e["tenant"] for e in journal.entries()] == ["big"]
    assert (journal.bytes, journal.evicted) == (5_000, 5)


def test_a_tenant_s_reset_gives_its_bytes_back_and_the_ring_turns_past_it() -> None:
    journal = Journal(capacity=3, budget=10_000)
    for tenant in ["a", "b", "a", "c"]:
        journal.record_later(tenant, Sized(tenant, 100))
    journal.reset("a")
    assert [e["tenant"] for e in journal.entries()] == ["b", "c"]
    assert (journal.bytes, len(journal)) == (200, 2)
    for tenant in ["d", "e"]:
        journal.record_later(tenant, Sized(tenant, 100))
    assert [e["tenant"] for e in journal.entries()] == ["c", "d", "e"]
    assert journal.evicted == 2  # a when c came, then b; a's forgotten entry is not counted
    assert journal.clear() == 3
    assert (journal.bytes, len(journal), journal.evicted) == (0, 0, 0)


def test_whole_entries_are_cut_too() -> None:
    journal = Journal()
    url = "https://receiver.test/" + "p" * 10_000
    entry = journal.record(
        {"kind": "webhook", "path": url, "headers": {"x-long": "v" * 5_000}, "tenant": "acme"}
    )
    assert entry["path"] == url[:TEXT_LIMIT] + f"...[truncated {len(url) - TEXT_LIMIT} bytes]"
    assert entry["headers"]["x-long"].endswith("...[truncated 904 bytes]")
    assert journal.bytes < 2 * TEXT_LIMIT + 200


# -- what an entry keeps of a request ---------------------------------------------------------


def test_300_refused_heads_of_1_mb_keep_a_few_kb_each(client: TestClient) -> None:
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    big = "b" * MB
    for _ in range(300):
        response = client.get(DOCS_CALL, headers={**_retell(state), "X-Big": big})
        assert response.status_code == 431
    assert len(state.journal) == 300
    assert state.journal.bytes <= 300 * ENTRY_MAX
    marker = f"...[truncated {MB - TEXT_LIMIT} bytes]"
    read = client.get("/_sandbox/journal")
    entries = read.json()["entries"]
    assert [e["status"] for e in entries] == [431] * 300
    assert {e["headers"]["x-big"] for e in entries} == {"b" * TEXT_LIMIT + marker}
    assert len(read.content) < 300 * ENTRY_MAX
    assert (read.json()["bytes"], read.json()["budget"]) == (state.journal.bytes, BUDGET)


def test_a_credential_the_cut_goes_through_is_hidden_whole(client: TestClient) -> None:
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    key = _retell(state)["Authorization"].split()[1]
    note = "n" * (TEXT_LIMIT - 5) + key + "n" * 10_000
    client.get(DOCS_CALL, headers={**_retell(state), "X-Note": note})
    raw = client.get("/_sandbox/journal").text
    assert key[:5] not in raw
    shown = json.loads(raw)["entries"][0]["headers"]["x-note"]
    cut = len(note) - TEXT_LIMIT
    assert shown == "n" * (TEXT_LIMIT - 5) + REDACTED[:5] + f"...[truncated {cut} bytes]"


def test_a_long_path_and_a_long_query_are_cut(client: TestClient) -> None:
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    path = "/retell/v2/get-call/" + "p" * 20_000
    client.get(path, headers=_retell(state))
    query = "&".join(f"q{n}=vvvvvvvvvv" for n in range(2_000))
    client.post(f"/retell/v3/list-calls?{query}", headers=_retell(state), json={})
    first, second = client.get("/_sandbox/journal").json()["entries"]
    assert first["status"] == 414
    assert first["path"] == path[:TEXT_LIMIT] + f"...[truncated {len(path) - TEXT_LIMIT} bytes]"
    pairs = second["query"]
    assert pairs[0] == ["q0", "vvvvvvvvvv"]
    assert pairs[-1][1].endswith(f"...[truncated {len(query) - TEXT_LIMIT} bytes]")
    assert sum(len(n) + len(v) + 2 for n, v in pairs[:-1]) <= TEXT_LIMIT
    assert len(pairs) < TEXT_LIMIT // 14 + 2


def test_headers_past_16_kib_are_counted_not_kept(client: TestClient) -> None:
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    filler = {f"x-filler-{n:04d}": "v" * 90 for n in range(1_000)}
    assert client.get(DOCS_CALL, headers={**_retell(state), **filler}).status_code == 431
    (entry,) = client.get("/_sandbox/journal").json()["entries"]
    headers = entry["headers"]
    kept = [name for name in headers if name.startswith("x-filler-")]
    assert 100 < len(kept) < 1_000
    assert headers["authorization"] == f"Bearer {REDACTED}"
    dropped = 1_000 - len(kept)
    assert headers[TRUNCATED] == f"{dropped} more headers ({dropped * 103} bytes) not kept"
    assert state.journal.bytes <= ENTRY_BYTES + HEADERS_LIMIT + TEXT_LIMIT


def test_bodies_are_kept_as_json_up_to_64_kib_and_redacted_when_read(
    client: TestClient,
) -> None:
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    key = _retell(state)["Authorization"].split()[1]
    small = {"metadata": {"leaked": key}, "from_number": "+14155550142", "to_number": "x"}
    large = {"blob": "z" * 70_000}
    client.post("/retell/v2/create-phone-call", headers=_retell(state), json=small)
    client.post("/retell/v2/create-phone-call", headers=_retell(state), json=large)
    first, second = client.get("/_sandbox/journal").json()["entries"]
    assert first["body"] == {**small, "metadata": {"leaked": REDACTED}}
    assert second["body"] is None
    assert state.journal.bytes < 2 * ENTRY_BYTES + 2_000


# -- reading ----------------------------------------------------------------------------------


class Counting(Redactor):
    """Counts the characters it is given to look through: the work of a read."""

    looked = 0

    def text(self, value: str) -> str:
        self.looked += len(value)
        return super().text(value)

    def headers(self, raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
        self.looked += sum(len(name) + len(value) for name, value in raw)
        return super().headers(raw)


def test_a_read_looks_through_what_was_kept_not_what_was_sent(client: TestClient) -> None:
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    counting = Counting(f"open_key_{n:05d}" for n in range(1_000))
    state.redactor = counting
    for n in range(50):
        headers = {**_retell(state), "X-Big": "b" * (64 * 1024), "X-N": str(n)}
        client.get(f"{DOCS_CALL}?q={'x' * 20_000}", headers=headers)
    sent = 50 * (64 * 1024 + 20_000)
    assert client.get("/_sandbox/journal").status_code == 200
    assert counting.looked <= state.journal.bytes < sent // 5
    counting.looked = 0
    assert client.get("/_sandbox/journal?after=49").json()["entries"][0]["seq"] == 50
    assert counting.looked <= state.journal.bytes // 50  # only the entry asked for


def test_the_journal_is_written_out_off_the_event_loop(client: TestClient) -> None:
    """A read writes out (redacts, formats) up to the journal's whole budget: on a worker
    thread, while the event loop serves other requests."""
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    client.get(DOCS_CALL, headers=_retell(state))
    threads: list[threading.Thread] = []
    entries = state.journal.entries

    def watched(query: JournalQuery | None = None) -> list[dict[str, Any]]:
        threads.append(threading.current_thread())
        return entries(query)

    state.journal.entries = watched  # type: ignore[method-assign]
    assert len(client.get("/_sandbox/journal").json()["entries"]) == 1
    assert client.portal is not None
    loop_thread = client.portal.call(threading.current_thread)
    assert threads
    assert all(thread is not loop_thread for thread in threads)


def test_deleting_counts_without_writing_entries_out(client: TestClient) -> None:
    state: VendorSandbox = client.app.state.sandbox  # type: ignore[attr-defined]
    counting = Counting()
    state.redactor = counting
    for _ in range(3):
        client.get(DOCS_CALL, headers=_retell(state))
    assert client.delete("/_sandbox/journal").json() == {"deleted": 3}
    assert counting.looked == 0
    assert state.journal.entries(JournalQuery()) == []


# -- over a real socket -----------------------------------------------------------------------


def test_300_large_heads_over_a_socket_stay_within_the_journal_s_bytes(
    sandbox: SandboxHandle, sandbox_server: SandboxHandle
) -> None:
    """About 20 kB of head each (one piece on the wire, so that h11 lets it through as
    httptools would a 1 MB one): the vendor's 431, and a few kB kept of each."""
    state = state_of(sandbox)
    client = sandbox_server.httpx_client(timeout=30.0)
    headers = {**sandbox.keys("retell"), "X-Big": "b" * 20_000}
    statuses = []
    deadline = time.monotonic() + 90
    for _ in range(300):
        assert time.monotonic() < deadline, "300 requests took over 90 s"
        statuses.append(client.get(DOCS_CALL, headers=headers).status_code)
    assert statuses == [431] * 300
    assert len(state.journal) == 300
    assert state.journal.bytes <= 300 * ENTRY_MAX < 300 * 20_000 // 3
    read = client.get("/_sandbox/journal?limit=300").json()
    assert read["bytes"] == state.journal.bytes
    marker = f"...[truncated {20_000 - TEXT_LIMIT} bytes]"
    assert {e["headers"]["x-big"] for e in read["entries"]} == {"b" * TEXT_LIMIT + marker}
