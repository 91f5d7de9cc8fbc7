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

from collections.abc import Mapping
from itertools import chain

from starlette.types import Scope

from sandbox.errors import HeadTooLarge

MAX_URI_BYTES = 16 * 1024  # the path and the query string
MAX_HEADER_BYTES = 16 * 1024  # every `name: value\r\n`
# A client sends the same header block request after request (an SDK's key, user agent and
# version headers): the headers read from the last few blocks are kept, so that reading one
# again is one lookup. Small blocks only, a bounded number of them.
KEPT_HEADS = 256
KEPT_HEAD_BYTES = 2 * 1024


class KeptHeaders(dict[str, str]):
    """Headers read from a header block kept for reuse: the same object for every request
    that sends that block until it is forgotten, so what is read from it can be kept by its
    identity too (bounded as the blocks are: small, and a few)."""


_kept: dict[tuple[tuple[bytes, bytes], ...], KeptHeaders] = {}


def read_head(scope: Scope) -> Mapping[str, str]:
    """The request's headers (names lower-cased; of a repeated one, the last), or
    HeadTooLarge when its URI or headers are over the limits. The mapping may be shared with
    other requests that sent the same headers: it is never to be changed."""
    uri = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
    if uri > MAX_URI_BYTES:
        raise HeadTooLarge(
            414, f"the URI is {uri} bytes long; send at most {MAX_URI_BYTES} (path and query)"
        )
    block = tuple(scope["headers"])
    try:
        found = _kept.get(block)
    except TypeError:  # (a server that gives each header as a list: read, not kept)
        found, keep = None, False
    else:
        keep = True
    if found is not None:
        return found
    # (`name: value\r\n`: 4 bytes besides the name and the value)
    size = sum(map(len, chain.from_iterable(block))) + 4 * len(block)
    if size > MAX_HEADER_BYTES:
        raise HeadTooLarge(
            431,
            f"the {len(block)} headers take {size} bytes; send at most {MAX_HEADER_BYTES}",
        )
    read = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in block}
    if not keep or size > KEPT_HEAD_BYTES:
        return read
    if len(_kept) >= KEPT_HEADS:
        _kept.clear()
    headers = _kept[block] = KeptHeaders(read)
    return headers
