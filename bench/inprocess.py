"""The in-process figure: get-call through `httpx.AsyncClient(transport=ASGITransport(app))`,
as a test suite using the pytest plugin sends it, against the bare app through the same client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

import httpx
from starlette.types import ASGIApp


async def _rate(
    app: ASGIApp,
    paths: Sequence[str],
    headers: Mapping[str, str],
    count: int,
    seconds: float,
) -> float:
    """Requests per second over `count` sequential GETs (or `seconds`, if that comes first),
    after one warm-up pass over `paths`."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for path in paths:
            answer = await client.get(path, headers=dict(headers))
            answer.raise_for_status()
        sent = 0
        started = time.perf_counter()
        while sent < count and time.perf_counter() - started < seconds:
            answer = await client.get(paths[sent % len(paths)], headers=dict(headers))
            if answer.status_code != 200:
                raise RuntimeError(f"{paths[sent % len(paths)]}: {answer.status_code}")
            sent += 1
        return sent / (time.perf_counter() - started)


def rate(
    app: ASGIApp,
    paths: Sequence[str],
    headers: Mapping[str, str],
    *,
    count: int,
    seconds: float,
) -> float:
    return asyncio.run(_rate(app, paths, headers, count, seconds))
