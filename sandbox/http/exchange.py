"""One vendor request as the pipeline learns about it, and the journal entry it becomes.

What an entry keeps of a request is bounded whatever the client sent (sandbox.store.journal):
a prefix of its path, of its query string and of each header value, a bounded block of
headers, and its body as JSON text only up to BODY_LIMIT. A request refused for its size (414,
431, 413) is journalled like any other, with what fits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from starlette.types import Scope

from sandbox.store.journal import (
    BODY_LIMIT,
    ENTRY_BYTES,
    HEADERS_LIMIT,
    TEXT_LIMIT,
    TRUNCATED,
    kept,
    shown,
)
from sandbox.store.redaction import Redactor

# Nothing added to the answer (shared by every request that adds nothing; never changed).
NO_HEADERS: Mapping[str, str] = MappingProxyType({})
NO_CUTS: Mapping[int, tuple[int, int]] = MappingProxyType({})
NAME_LIMIT = 256  # bytes of a header's name


@dataclass(slots=True, init=False)
class Exchange:
    """One request: what the pipeline learns as it goes, and then its own journal entry,
    written out when the journal is read (`later`, then called)."""

    kind: ClassVar[str] = "request"
    at_ms: int  # the sandbox's clock when the request arrived
    started: float
    tenant: str | None
    route: str | None
    body: Any
    status: int | None  # None: no response was sent (dropped, hung up)
    faults: Sequence[dict[str, Any]]  # what was done to it
    headers: Mapping[str, str]  # added to the answer
    transit: str | None  # damage done to the answer on its way out: truncate, malformed
    # Taken when the request is over (`later`), and not there before:
    ended: float  # (perf_counter) the answer is ready to be sent
    vendor: str
    redactor: Redactor
    method: str
    where: bytes | str  # the raw path (or the path, when the server gives no raw one)
    where_size: int
    query_string: bytes
    query_size: int
    raw_headers: tuple[tuple[bytes, bytes], ...]
    cuts: Mapping[int, tuple[int, int]]  # i -> sizes
    dropped: tuple[int, int]  # headers past HEADERS_LIMIT: how many, how many bytes
    body_text: str | None  # the body as JSON, when there was one within BODY_LIMIT
    size: int  # bytes kept, as the journal's budget counts them

    def __init__(self, *, at_ms: int) -> None:
        # (one per request: only what the pipeline reads and writes as it goes; `later`
        # sets the rest, so that an exchange costs little to make)
        self.at_ms = at_ms
        self.started = time.perf_counter()
        self.tenant = self.route = self.body = self.status = self.transit = None
        self.faults = ()
        self.headers = NO_HEADERS

    @property
    def duration_ms(self) -> float:
        """From arrival to the answer, ready to be sent (after `later`)."""
        return round((self.ended - self.started) * 1000, 3)

    def entry(self, scope: Scope, vendor: str, redactor: Redactor) -> dict[str, Any]:
        """The journal entry, with every credential hidden."""
        return self.later(scope, vendor, redactor)()

    def later(self, scope: Scope, vendor: str, redactor: Redactor) -> Exchange:
        """The journal entry as it stands now (the request is over), to be written out when
        the journal is read: what could still change (the duration, the body) is taken now,
        what only costs time (redaction, formatting) is done then. Kept compact, as the
        journal keeps thousands: the exchange itself, its headers as one tuple, its body as
        JSON text (a client's body may end up in a call, which may change)."""
        self.ended = time.perf_counter()
        size = ENTRY_BYTES
        self.body_text = text = None if self.body is None else _encoded(self.body)
        if text is not None:
            size += len(text)
        self.body = None
        raw: bytes | None = scope.get("raw_path")
        if raw:
            self.where_size = len(raw)
            self.where = raw if len(raw) <= TEXT_LIMIT else kept(raw)
        else:
            path = str(scope["path"])
            self.where_size = len(path)
            self.where = kept(path)
        query: bytes = scope.get("query_string", b"")
        self.query_size = len(query)
        self.query_string = query if len(query) <= TEXT_LIMIT else kept(query)
        self.method, self.vendor, self.redactor = scope["method"], vendor, redactor
        headers = tuple(scope["headers"])
        # (names and values: `chain` runs through both of each pair)
        kept_bytes = sum(map(len, chain.from_iterable(headers)))
        if kept_bytes <= TEXT_LIMIT:  # (nearly every request: no value can be over its limit)
            self.raw_headers, self.cuts, self.dropped = headers, NO_CUTS, (0, 0)
        else:
            self.raw_headers, self.cuts, self.dropped, kept_bytes = _kept_headers(headers)
        self.size = size + len(self.where) + len(self.query_string) + kept_bytes
        return self

    def __call__(self) -> dict[str, Any]:
        """The journal entry, written out (after `later`)."""
        redactor = self.redactor  # (AttributeError: later() first)
        where = self.where
        path = where.decode("latin-1").split("?", 1)[0] if isinstance(where, bytes) else where
        query = parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True)
        body = json.loads(self.body_text) if self.body_text is not None else None
        return {
            "kind": "request",
            "at": _iso(self.at_ms),
            "at_ms": self.at_ms,
            "vendor": self.vendor,
            "route": self.route,
            "method": self.method,
            "path": shown(redactor.text(path), self.where_size),
            "query": _shown_query(redactor.query(query), self.query_size),
            "tenant": self.tenant,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "headers": self._headers(redactor),
            "body": redactor.body(body),
            "faults": list(self.faults),
            "detail": None,
        }

    def _headers(self, redactor: Redactor) -> dict[str, str]:
        if not self.cuts and self.dropped == (0, 0):
            return redactor.headers(self.raw_headers)
        joined: dict[str, str] = {}
        for index, (name_bytes, value_bytes) in enumerate(self.raw_headers):
            name_size, value_size = self.cuts.get(index, (len(name_bytes), len(value_bytes)))
            name = redactor.text(name_bytes.decode("latin-1").lower())
            name = shown(name, name_size, NAME_LIMIT)
            value = shown(redactor.header(name, value_bytes.decode("latin-1")), value_size)
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        count, size = self.dropped
        if count:
            joined[TRUNCATED] = f"{count} more headers ({size} bytes) not kept"
        return joined


def _kept_headers(
    headers: Sequence[tuple[bytes, bytes]],
) -> tuple[tuple[tuple[bytes, bytes], ...], Mapping[int, tuple[int, int]], tuple[int, int], int]:
    """What an entry keeps of a long header block: each name and value cut (with the sizes
    sent, by index, for the ones cut), the headers past HEADERS_LIMIT dropped (how many, how
    many bytes), and the bytes kept."""
    kept_pairs: list[tuple[bytes, bytes]] = []
    cuts: dict[int, tuple[int, int]] = {}
    used = 0
    for index, (name, value) in enumerate(headers):
        pair = (kept(name, NAME_LIMIT), kept(value))
        size = len(pair[0]) + len(pair[1])
        if used + size > HEADERS_LIMIT:
            rest = headers[index:]
            return tuple(kept_pairs), cuts, (len(rest), sum(len(n) + len(v) for n, v in rest)), used
        if pair != (name, value):
            cuts[index] = (len(name), len(value))
        kept_pairs.append(pair)
        used += size
    return tuple(kept_pairs), cuts, (0, 0), used


def _shown_query(pairs: list[list[str]], size: int) -> list[list[str]]:
    """The redacted query pairs of a query string `size` bytes long, cut to TEXT_LIMIT."""
    if size <= TEXT_LIMIT:
        return pairs
    cut: list[list[str]] = []
    room = TEXT_LIMIT
    marker = f"...[truncated {size - TEXT_LIMIT} bytes]"
    for name, value in pairs:
        if len(name) + len(value) + 2 > room:
            name = name[:room]
            cut.append([name, value[: max(room - len(name), 0)] + marker])
            return cut
        cut.append([name, value])
        room -= len(name) + len(value) + 2
    if cut:
        cut[-1][1] += marker
    else:
        cut.append(["", marker])
    return cut


@lru_cache(maxsize=1024)  # (the virtual clock stands still between advances)
def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _encoded(body: Any) -> str | None:
    """The body as the entry keeps it: compact JSON, or None over BODY_LIMIT bytes."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return text if len(text.encode("utf-8", "surrogatepass")) <= BODY_LIMIT else None
