"""The list figures' requests: a page of each vendor's list route, the vendor's create request,
and open tenants (`serve --open-tenancy`) to fill with created calls over HTTP.

A tenant that has had 5,000 calls created is compared with a fresh tenant that has had just
enough created to fill the same page: the first page of the default order (newest first)
then holds created calls in both, made from the same request, so both pages are the same
number of calls of the same size, and what differs is only how many calls the tenant has.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from bench.servers import HOST
from sandbox.calls.fixtures import Tenant
from sandbox.dialect.vendor import Vendor

CREATE_CONCURRENCY = 8
CREATE_DEADLINE_S = 600.0


@dataclass(frozen=True, slots=True)
class Page:
    """A list request: `method path` below the vendor's mount, with a JSON body or none."""

    method: str
    path: str
    body: str | None = None


def page(vendor: str, size: int) -> Page:
    """The first page of `size` calls in the vendor's default order."""
    pages = {
        "retell": Page("POST", "/v3/list-calls", json.dumps({"limit": size})),
        "callab": Page("GET", f"/v1/calls/query?per_page={size}"),
        "contactship": Page("GET", f"/v1/calls?limit={size}"),
        "zudu": Page("POST", "/api/calls", json.dumps({"limit": size})),
    }
    return pages[vendor]


def create(vendor: str, tenant: Tenant) -> Page:
    """A phone call from the tenant's first agent, as each vendor's docs make one (an open
    tenant has the default tenant's agents)."""
    agent = tenant.agents[0]
    to = "+12125550123"
    creates = {
        "retell": Page(
            "POST",
            "/v2/create-phone-call",
            json.dumps({"from_number": agent.phone_number, "to_number": to}),
        ),
        "callab": Page(
            "POST", "/v1/calls/make-call", json.dumps({"ai_agent_id": agent.id, "call_to": to})
        ),
        "contactship": Page(
            "POST",
            "/v1/calls/single-phone-call",
            json.dumps(
                {
                    "from_number": agent.phone_number,
                    "to_number": to,
                    "full_name": "Ada Lovelace",
                    "agent_id": agent.id,
                }
            ),
        ),
        "zudu": Page(
            "POST",
            "/api/calls/create-phone-call",
            json.dumps({"from_number": agent.phone_number, "to_number": to}),
        ),
    }
    return creates[vendor]


def open_key(vendor: Vendor, keys: Mapping[str, str], tag: str) -> dict[str, str]:
    """The headers of an open tenant's key: each of a fixture tenant's credentials with its
    last characters replaced by `tag` (letters and digits), so that it keeps the form the
    vendor checks (Zudu's `sk_` and 32 characters) and names no fixture tenant."""
    if not tag.isalnum():
        raise ValueError(f"{tag!r}: letters and digits only")
    return vendor.auth.headers({name: value[: -len(tag)] + tag for name, value in keys.items()})


async def _create(port: int, path: str, headers: Mapping[str, str], body: str, count: int) -> None:
    remaining = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in remaining:
            answer = await client.post(path, headers=dict(headers), content=body)
            if answer.status_code not in (200, 201):
                raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")

    limits = httpx.Limits(max_connections=CREATE_CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=f"http://{HOST}:{port}", limits=limits, timeout=60
    ) as client:
        await asyncio.wait_for(
            asyncio.gather(*(worker(client) for _ in range(CREATE_CONCURRENCY))),
            CREATE_DEADLINE_S,
        )


def create_calls(
    port: int, vendor: Vendor, headers: Mapping[str, str], request: Page, count: int
) -> None:
    """`count` calls created through the vendor's create route, a few at a time, each a 2xx,
    within CREATE_DEADLINE_S."""
    sent = {**headers, "content-type": "application/json"}
    body = request.body or "{}"
    asyncio.run(_create(port, f"/{vendor.name}{request.path}", sent, body, count))
