"""One vendor request as the pipeline learns about it, and the journal entry it becomes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope

from sandbox.store.journal import BODY_LIMIT
from sandbox.store.redaction import Redactor

# Nothing added to the answer (shared by every request that adds nothing; never changed).
NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@dataclass(slots=True)
class Exchange:
    """One request: what the pipeline learns as it goes, and then its own journal entry,
    written out when the journal is first read (`later`, then called)."""

    at_ms: int  # the sandbox's clock when the request arrived
    started: float = field(default_factory=time.perf_counter)
    tenant: str | None = None
    route: str | None = None
    body: Any = None
    status: int | None = None  # None: no response was sent (dropped, hung up)
    faults: Sequence[dict[str, Any]] = ()  # what was done to it
    headers: Mapping[str, str] = field(default_factory=lambda: NO_HEADERS)  # added to the answer
    transit: str | None = None  # damage done to the answer on its way out: truncate, malformed
    # Taken when the request is over (`later`):
    duration_ms: float | None = None  # from arrival to the answer, ready to be sent
    vendor: str = ""
    redactor: Redactor | None = None
    method: str = ""
    where: bytes | str = b""  # the raw path (or the path, when the server gives no raw one)
    query_string: bytes = b""
    raw_headers: tuple[tuple[bytes, bytes], ...] = ()

    def entry(self, scope: Scope, vendor: str, redactor: Redactor) -> dict[str, Any]:
        """The journal entry, with every credential hidden."""
        return self.later(scope, vendor, redactor)()

    def later(self, scope: Scope, vendor: str, redactor: Redactor) -> Callable[[], dict[str, Any]]:
        """The journal entry as it stands now (the request is over), to be written out when
        the journal is read: what could still change (the duration, the body) is taken now,
        what only costs time (redaction, formatting) is done then. Kept compact, as the
        journal keeps thousands: the exchange itself, and its headers as one tuple."""
        self.duration_ms = round((time.perf_counter() - self.started) * 1000, 3)
        if self.body is not None:  # (a client's body may end up in a call, which may change)
            self.body = _bounded(redactor.body(self.body))
        raw: bytes | None = scope.get("raw_path")
        self.where = raw if raw else str(scope["path"])
        self.query_string = scope.get("query_string", b"")
        self.method, self.vendor, self.redactor = scope["method"], vendor, redactor
        self.raw_headers = tuple(scope["headers"])
        return self

    def __call__(self) -> dict[str, Any]:
        """The journal entry, written out (after `later`)."""
        redactor = self.redactor
        assert redactor is not None, "later() first"
        where = self.where
        path = where.decode("latin-1").split("?", 1)[0] if isinstance(where, bytes) else where
        query = parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True)
        return {
            "kind": "request",
            "at": _iso(self.at_ms),
            "at_ms": self.at_ms,
            "vendor": self.vendor,
            "route": self.route,
            "method": self.method,
            "path": redactor.text(path),
            "query": redactor.query(query),
            "tenant": self.tenant,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "headers": redactor.headers(self.raw_headers),
            "body": self.body,
            "faults": list(self.faults),
            "detail": None,
        }


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _bounded(body: Any) -> Any:
    if body is None:
        return None
    size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return body if size <= BODY_LIMIT else None
