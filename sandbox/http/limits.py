"""How much of a request's head the sandbox reads, as the vendors' own servers limit it.

Real stacks refuse an over-long request line or header block before any route runs: Node, under
Retell's Express and ContactShip's NestJS, refuses a head over 16 KiB. The sandbox takes 16 KiB
of URI (path and query) and 16 KiB of headers, and refuses more first in the pipeline, before
auth, in the vendor's shape: 414 and 431.
The HTTP server in front may refuse bigger ones before the app sees them (uvicorn answers a
text/plain 400 to a URI over 64 KiB with httptools, and to a header block over 16 KiB that
arrives in pieces with h11).
"""

from __future__ import annotations

from starlette.types import Scope

from sandbox.errors import HeadTooLarge

MAX_URI_BYTES = 16 * 1024  # the path and the query string
MAX_HEADER_BYTES = 16 * 1024  # every `name: value\r\n`


def read_head(scope: Scope) -> dict[str, str]:
    """The request's headers (names lower-cased; of a repeated one, the last), or
    HeadTooLarge when its URI or headers are over the limits."""
    uri = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
    if uri > MAX_URI_BYTES:
        raise HeadTooLarge(
            414, f"the URI is {uri} bytes long; send at most {MAX_URI_BYTES} (path and query)"
        )
    fields = scope["headers"]
    headers: dict[str, str] = {}
    size = 0
    for name, value in fields:  # (one pass: this runs for every request)
        size += len(name) + len(value) + 4
        headers[name.decode("latin-1").lower()] = value.decode("latin-1")
    if size > MAX_HEADER_BYTES:
        raise HeadTooLarge(
            431,
            f"the {len(fields)} headers take {size} bytes; send at most {MAX_HEADER_BYTES}",
        )
    return headers
