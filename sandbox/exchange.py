"""One vendor request as the pipeline learns about it, and the journal entry it becomes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope

from sandbox.journal import BODY_LIMIT
from sandbox.redaction import Redactor


@dataclass(slots=True)
class Exchange:
    at_ms: int  # the sandbox's clock when the request arrived
    started: float = field(default_factory=time.perf_counter)
    tenant: str | None = None
    route: str | None = None
    body: Any = None
    status: int | None = None  # None: no response was sent (dropped, hung up)
    faults: list[dict[str, Any]] = field(default_factory=list)  # what was done to it
    headers: dict[str, str] = field(default_factory=dict)  # added to the answer, whatever it is
    transit: str | None = None  # damage done to the answer on its way out: truncate, malformed
    duration_ms: float | None = None  # from arrival to the end of the answer

    def entry(self, scope: Scope, vendor: str, redactor: Redactor) -> dict[str, Any]:
        """The journal entry, with every credential hidden."""
        return self.later(scope, vendor, redactor)()

    def later(self, scope: Scope, vendor: str, redactor: Redactor) -> Callable[[], dict[str, Any]]:
        """The journal entry as it stands now (the request is over), to be written out when
        the journal is read: what could still change (the duration, the body) is taken now,
        what only costs time (redaction, formatting) is done then."""
        self.duration_ms = round((time.perf_counter() - self.started) * 1000, 3)
        if self.body is not None:  # (a client's body may end up in a call, which may change)
            self.body = _bounded(redactor.body(self.body))
        raw: bytes | None = scope.get("raw_path")
        where = raw if raw else str(scope["path"])
        query: bytes = scope.get("query_string", b"")
        return partial(
            self._write, vendor, redactor, scope["method"], where, query, scope["headers"]
        )

    def _write(
        self,
        vendor: str,
        redactor: Redactor,
        method: str,
        where: bytes | str,
        query_string: bytes,
        headers: list[tuple[bytes, bytes]],
    ) -> dict[str, Any]:
        path = where.decode("latin-1").split("?", 1)[0] if isinstance(where, bytes) else where
        query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        return {
            "kind": "request",
            "at": _iso(self.at_ms),
            "at_ms": self.at_ms,
            "vendor": vendor,
            "route": self.route,
            "method": method,
            "path": redactor.text(path),
            "query": redactor.query(query),
            "tenant": self.tenant,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "headers": redactor.headers(headers),
            "body": self.body,
            "faults": self.faults,
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
