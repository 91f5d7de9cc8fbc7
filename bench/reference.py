"""The yardstick: a bare Starlette endpoint answering pre-rendered bytes, no work per request.

Every speed figure in RESULTS.md is a ratio against this app, served the same way as the
sandbox (uvicorn, one worker, uvloop and httptools, no access log) in the same benchmark run.
`GET /<n>/...` answers a JSON body of exactly n bytes, made once per size, so each figure is
measured against a body as large as the sandbox's answers in it; any other path answers
`BENCH_BODY_BYTES` bytes.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY_BYTES_VARIABLE = "BENCH_BODY_BYTES"
MAX_BYTES = 16 * 1024 * 1024


def body_of(size: int) -> bytes:
    """A JSON body of exactly `size` bytes (at least 10)."""
    return b'{"pad":"' + b"x" * max(size - 10, 0) + b'"}'


def make_app(default_size: int) -> Starlette:
    bodies: dict[int, bytes] = {}

    async def reference(request: Request) -> Response:
        first = request.path_params["path"].split("/", 1)[0]
        size = int(first) if first.isdigit() and int(first) <= MAX_BYTES else default_size
        body = bodies.get(size)
        if body is None:
            body = bodies[size] = body_of(size)
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", reference, methods=["GET", "POST"])])


app = make_app(int(os.environ.get(BODY_BYTES_VARIABLE, "6000")))
