"""Every vendor's list routes answer byte for byte what they answered before lists were made
fast (pages assembled from kept items, indexes of created calls): the sha256 of each body of a
fixed script of list requests, over the default population and again after creates, updates,
deletes and clock moves, is pinned in data/list_bytes.json.

`python -m tests.vendors.test_list_bytes` writes that file anew (only when the bytes are meant
to change).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.dialect.vendor import VendorSandbox

PINNED = Path(__file__).parent / "data" / "list_bytes.json"

Exchange = tuple[str, int, bytes]


def _retell(client: TestClient, auth: dict[str, str]) -> Iterator[Exchange]:
    bodies: list[dict[str, Any]] = [
        {"limit": 100},
        {"limit": 20},
        {},
        {"limit": 5, "sort_order": "ascending"},
        {"limit": 10, "include_total": True},
        {"limit": 10, "skip": 495},
        {
            "limit": 30,
            "filter_criteria": {"call_status": {"type": "enum", "op": "in", "value": ["ended"]}},
        },
        {
            "limit": 15,
            "include_total": True,
            "filter_criteria": {"duration_ms": {"type": "number", "op": "ge", "value": 30000}},
        },
        {"limit": 1000, "sort_order": "ascending", "include_total": True},
    ]
    for body in bodies:
        answer = client.post("/retell/v3/list-calls", headers=auth, json=body)
        yield f"retell v3 {body}", answer.status_code, answer.content
    # Three pages in turn, each after the last key of the one before, both orders.
    for order in ("descending", "ascending"):
        key: str | None = None
        for page in range(3):
            paged: dict[str, Any] = {"limit": 7, "sort_order": order}
            if key is not None:
                paged["pagination_key"] = key
            answer = client.post("/retell/v3/list-calls", headers=auth, json=paged)
            yield f"retell v3 {order} page {page}", answer.status_code, answer.content
            key = answer.json().get("pagination_key")
    legacy: list[dict[str, Any]] = [
        {"limit": 10},
        {"limit": 4, "sort_order": "ascending"},
        {
            "limit": 100,
            "filter_criteria": {
                "call_status": ["ended"],
                "duration_ms": {"lower_threshold": 20000},
            },
        },
    ]
    for body in legacy:
        answer = client.post("/retell/v2/list-calls", headers=auth, json=body)
        yield f"retell v2 {body}", answer.status_code, answer.content
    first = client.post("/retell/v2/list-calls", headers=auth, json={"limit": 3}).json()
    answer = client.post(
        "/retell/v2/list-calls",
        headers=auth,
        json={"limit": 3, "pagination_key": first[-1]["call_id"]},
    )
    yield "retell v2 second page", answer.status_code, answer.content


def _callab(client: TestClient, auth: dict[str, str]) -> Iterator[Exchange]:
    queries = [
        "per_page=100",
        "",
        "per_page=20&page=2",
        "per_page=20&order=asc",
        "per_page=30&sort_column=call_duration",
        "per_page=30&sort_column=name&order=asc",
        "per_page=25&status=completed",
        "per_page=25&search=appointment",
        "per_page=25&start_date=2026-03-10&end_date=2026-03-15",
        "per_page=25&filter_columns[]=call_duration&filter_operator[]=gte&filter_values[]=60",
        "per_page=100&page=4",
    ]
    for query in queries:
        answer = client.get(f"/callab/v1/calls/query?{query}", headers=auth)
        yield f"callab {query}", answer.status_code, answer.content


def _contactship(client: TestClient, auth: dict[str, str]) -> Iterator[Exchange]:
    queries = [
        "limit=100",
        "",
        "limit=20&offset=40",
        "limit=20&order=asc",
        "limit=25&call_status=completed",
        "limit=25&call_result=voicemail&order=asc",
        "limit=10&date_from=2026-03-01&date_to=2026-03-10",
        "limit=5&include_transcript=true&include_words=true",
        "limit=5&include_transcript=true&include_tools=true&transcript_format=toon",
        "limit=100&offset=480",
        "limit=0",
    ]
    for query in queries:
        answer = client.get(f"/contactship/v1/calls?{query}", headers=auth)
        yield f"contactship {query}", answer.status_code, answer.content


def _zudu(client: TestClient, auth: dict[str, str]) -> Iterator[Exchange]:
    bodies: list[dict[str, Any]] = [
        {"limit": 100},
        {},
        {"limit": 20, "page": 3},
        {"limit": 20, "sort_order": "ascending"},
        {"limit": 30, "sort_by": "start_timestamp"},
        {"limit": 30, "sort_by": "start_timestamp", "sort_order": "ascending"},
        {"limit": 25, "filter_criteria": {"call_status": ["ENDED"], "call_type": ["PHONE_CALL"]}},
        {"limit": 25, "filter_criteria": {"duration_ms": {"lower_threshold": 60000}}},
        {"limit": 100, "page": 4},
    ]
    for body in bodies:
        answer = client.post("/zudu/api/calls", headers=auth, json=body)
        yield f"zudu {body}", answer.status_code, answer.content
    for query in [
        "limit=20",
        "limit=20&call_status=ended,ongoing&page=1",
        "limit=10&transcript_search=the",
    ]:
        answer = client.get(f"/zudu/api/calls?{query}", headers=auth)
        yield f"zudu GET {query}", answer.status_code, answer.content


def _lists(client: TestClient, state: VendorSandbox) -> Iterator[Exchange]:
    yield from _retell(client, state.credentials("retell"))
    yield from _callab(client, state.credentials("callab"))
    yield from _contactship(client, state.credentials("contactship"))
    yield from _zudu(client, state.credentials("zudu"))


def _advance(client: TestClient, ms: int) -> None:
    answer = client.post("/_sandbox/clock/advance", json={"seconds": ms / 1000})
    assert answer.status_code == 200, answer.text


def _change(client: TestClient, state: VendorSandbox) -> None:
    """Creates through every vendor (some in the same millisecond), updates, deletes of
    created and generated calls, and the clock moved on between them."""
    retell = state.credentials("retell")
    created: list[str] = []
    for n in range(6):
        answer = client.post(
            "/retell/v2/create-phone-call",
            headers=retell,
            json={"from_number": "+14155550142", "to_number": f"+1212555{n:04d}"},
        )
        created.append(answer.json()["call_id"])
        if n % 2:
            _advance(client, 1_500)
    callab = state.credentials("callab")
    for n in range(4):
        client.post(
            "/callab/v1/calls",
            headers=callab,
            json={"call_from": "+12137771235", "call_to": f"+1312555{n:04d}", "notes": "n"},
        )
        _advance(client, 700)
    contactship = state.credentials("contactship")
    for n in range(4):
        client.post(
            "/contactship/v1/calls/single-phone-call",
            headers=contactship,
            json={
                "from_number": "+12137771235",
                "to_number": f"+1415555{n:04d}",
                "full_name": "Ada Lovelace",
                "agent_id": "f1e2d3c4-b5a6-7890-1234-567890abcdef",
            },
        )
    zudu = state.credentials("zudu")
    for n in range(4):
        client.post(
            "/zudu/api/calls/create-phone-call",
            headers=zudu,
            json={"from_number": "+14157774444", "to_number": f"+1213777{n:04d}"},
        )
        _advance(client, 60_000)
    listed = client.post("/retell/v3/list-calls", headers=retell, json={"limit": 40}).json()
    generated = [i["call_id"] for i in listed["items"] if i["call_id"] not in created]
    client.patch(
        f"/retell/v2/update-call/{created[1]}", headers=retell, json={"metadata": {"a": 1}}
    )
    client.patch(
        f"/retell/v2/update-call/{generated[3]}", headers=retell, json={"metadata": {"b": 2}}
    )
    client.delete(f"/retell/v2/delete-call/{created[2]}", headers=retell)
    client.delete(f"/retell/v2/delete-call/{generated[5]}", headers=retell)
    client.delete(f"/retell/v2/delete-call/{generated[30]}", headers=retell)
    _advance(client, 300_000)


def exchanges(store_url: str = "memory") -> Iterator[Exchange]:
    app = create_app(Settings(raise_on_schema_error=True, store_url=store_url))
    state: VendorSandbox = app.state.sandbox
    with TestClient(app, raise_server_exceptions=True) as client:
        for label, status, body in _lists(client, state):
            yield f"fresh {label}", status, body
        _change(client, state)
        for label, status, body in _lists(client, state):
            yield f"changed {label}", status, body
        # The pagination key of a call deleted since.
        retell = state.credentials("retell")
        page = client.post("/retell/v3/list-calls", headers=retell, json={"limit": 4}).json()
        key = page["pagination_key"]
        client.delete(f"/retell/v2/delete-call/{key}", headers=retell)
        answer = client.post(
            "/retell/v3/list-calls", headers=retell, json={"limit": 4, "pagination_key": key}
        )
        yield "changed retell v3 after a deleted key", answer.status_code, answer.content


def _digests(store_url: str = "memory") -> dict[str, str]:
    found: dict[str, str] = {}
    for label, status, body in exchanges(store_url):
        assert label not in found, label
        found[label] = f"{status} {hashlib.sha256(body).hexdigest()}"
    return found


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_every_list_answers_the_pinned_bytes(request: pytest.FixtureRequest, backend: str) -> None:
    store_url = "memory" if backend == "memory" else str(request.getfixturevalue("redis_url"))
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    found = _digests(store_url)
    assert list(found) == list(pinned)
    assert [k for k in found if found[k] != pinned[k]] == []
    # Retell refuses the key of a call deleted since (its get-call no longer finds it).
    refused = [k for k, v in found.items() if not v.startswith("200 ")]
    assert refused == ["changed retell v3 after a deleted key"]


if __name__ == "__main__":
    PINNED.write_text(json.dumps(_digests(), indent=1) + "\n", encoding="utf-8")
