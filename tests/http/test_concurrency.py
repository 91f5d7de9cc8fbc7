"""Many clients at once against a real `call-sandbox serve` on 127.0.0.1: 2,000 creates from 50
concurrent clients (spread over the four vendors) are all retrievable and listed exactly once
by every vendor; concurrent updates to one call never lose a field. Every wait is bounded."""

from __future__ import annotations

import concurrent.futures
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox import Settings
from sandbox.dialect.vendor import Example, Vendor
from sandbox.state import Sandbox
from sandbox.vendors import VENDORS
from tests.servers import Served, serve

CLIENTS = 50
CREATES = 2000
UPDATES_PER_CLIENT = 10
TIMEOUT_S = 30.0  # any one request
PHASE_TIMEOUT_S = 180.0  # a whole phase of concurrent requests

STATE = Sandbox(Settings(), VENDORS)  # for keys and id spellings only; the server has its own
CREATE_ROUTES = {
    "retell": "create-phone-call",
    "callab": "create-call",
    "contactship": "single-phone-call",
    "zudu": "create-phone-call",
}
# Where each vendor's answer to a create carries the new call's id.
CREATED_ID: dict[str, Callable[[Any], str]] = {
    "retell": lambda body: body["call_id"],
    "callab": lambda body: body["data"]["id"],
    "contactship": lambda body: body["call_id"],
    "zudu": lambda body: body["data"]["call"]["call_id"],
}


def _vendor(name: str) -> Vendor:
    return next(v for v in VENDORS if v.name == name)


def _client(server: Served, vendor: Vendor) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/{vendor.name}",
        headers=STATE.credentials(vendor.name),
        timeout=TIMEOUT_S,
    )


def _in_parallel(work: Callable[[int], list[Any]], count: int) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        results = pool.map(work, range(count), timeout=PHASE_TIMEOUT_S)
        return [item for batch in results for item in batch]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("concurrency"), "--no-access-log") as served:
        yield served


def _create_many(server: Served) -> list[tuple[Vendor, str]]:
    """CLIENTS clients, each creating through one vendor; (vendor, external id) per call."""

    def client(index: int) -> list[tuple[Vendor, str]]:
        vendor = VENDORS[index % len(VENDORS)]
        example: Example = next(e for e in vendor.examples if e.route == CREATE_ROUTES[vendor.name])
        made = []
        with _client(server, vendor) as http:
            for _ in range(CREATES // CLIENTS):
                response = http.post(example.path, json=example.body)
                assert response.status_code == example.status, response.text
                made.append((vendor, CREATED_ID[vendor.name](response.json())))
        return made

    return _in_parallel(client, CLIENTS)


def _canonical(vendor: Vendor, external_id: str) -> str:
    return STATE.store.alias(vendor.name, external_id) or vendor.canonical_id(external_id) or ""


def _listed(server: Served, vendor: Vendor) -> list[str]:
    """Every call id the vendor lists, page after page, as canonical ids."""
    with _client(server, vendor) as http:
        pages = list(LISTERS[vendor.name](http))
    return [_canonical(vendor, external) for page in pages for external in page]


def _retell_pages(http: httpx.Client) -> Iterator[list[str]]:
    body: dict[str, Any] = {"limit": 1000}
    while True:
        page = http.post("/v3/list-calls", json=body).json()
        yield [item["call_id"] for item in page["items"]]
        if not page["has_more"]:
            return
        body["pagination_key"] = page["pagination_key"]


def _callab_pages(http: httpx.Client) -> Iterator[list[str]]:
    for number in range(10_000):
        page = http.get("/v1/calls/query", params={"per_page": 100, "page": number}).json()
        if not page["data"]:
            return
        yield [item["id"] for item in page["data"]]


def _contactship_pages(http: httpx.Client) -> Iterator[list[str]]:
    offset = 0
    while True:
        page = http.get("/v1/calls", params={"limit": 100, "offset": offset}).json()
        yield [item["id"] for item in page["data"]]
        offset += 100
        if offset >= page["count"]:
            return


def _zudu_pages(http: httpx.Client) -> Iterator[list[str]]:
    for number in range(10_000):
        page = http.get("/api/calls", params={"limit": 100, "page": number}).json()["data"]
        yield [call["call_id"] for call in page["calls"]]
        if not page["pagination"]["has_next_page"]:
            return


LISTERS: dict[str, Callable[[httpx.Client], Iterator[list[str]]]] = {
    "retell": _retell_pages,
    "callab": _callab_pages,
    "contactship": _contactship_pages,
    "zudu": _zudu_pages,
}


def test_concurrent_creates_are_all_retrievable_and_listed_once(server: Served) -> None:
    created = _create_many(server)
    assert len(created) == CREATES
    canonical = [_canonical(vendor, external) for vendor, external in created]
    assert len(set(canonical)) == CREATES  # no id handed out twice

    def fetch(index: int) -> list[int]:
        per_client = CREATES // CLIENTS  # (created lists each client's calls together)
        mine = created[index * per_client : (index + 1) * per_client]
        vendor = mine[0][0]
        with _client(server, vendor) as http:
            return [http.get(vendor.lookup_path(external)).status_code for _, external in mine]

    assert _in_parallel(fetch, CLIENTS) == [200] * CREATES

    population = STATE.fixtures.tenants[STATE.fixtures.default_tenant].population
    for vendor in VENDORS:
        listed = Counter(_listed(server, vendor))
        assert [i for i, n in listed.items() if n > 1] == [], vendor.name
        assert set(canonical) <= set(listed), vendor.name
        assert len(listed) >= CREATES + population, vendor.name


def test_concurrent_metadata_merges_never_lose_a_field(server: Served) -> None:
    """Zudu merges a PUT's metadata into the call's: 50 clients each add their own keys to one
    call, at the same time; every key is there at the end."""
    zudu = _vendor("zudu")
    with _client(server, zudu) as http:
        example = next(e for e in zudu.examples if e.route == "create-phone-call")
        call_id = http.post(example.path, json=example.body).json()["data"]["call"]["call_id"]

    def client(index: int) -> list[int]:
        statuses = []
        with _client(server, zudu) as http:
            for step in range(UPDATES_PER_CLIENT):
                body = {"metadata": {f"client-{index}-{step}": step}}
                statuses.append(http.put(f"/api/calls/{call_id}", json=body).status_code)
        return statuses

    assert _in_parallel(client, CLIENTS) == [200] * (CLIENTS * UPDATES_PER_CLIENT)
    with _client(server, zudu) as http:
        metadata = http.get(f"/api/calls/{call_id}").json()["data"]["metadata"]
    expected = {f"client-{i}-{s}": s for i in range(CLIENTS) for s in range(UPDATES_PER_CLIENT)}
    assert {k: v for k, v in metadata.items() if k.startswith("client-")} == expected
