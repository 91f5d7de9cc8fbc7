"""What the journal keeps of a request's credentials: nothing.

A header is hidden by its name (Authorization, x-api-key, X-API-SECRET, cookies, and any name
that mentions a key, a secret, a token, a password or auth), a query parameter by a key-like
name, and every value anywhere (headers, query, body) by content when it contains a credential
the sandbox knows (any tenant's key or secret for any vendor). Authorization keeps its scheme
("Bearer [REDACTED]"), which is what a client gets wrong more often than the key.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_HEADER = re.compile(r"key|secret|token|password|auth|cookie", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"^(?:.*(?:secret|token|password|passwd|signature|credential).*"
    r"|(?:(?:x[-_])?(?:api|access|auth|private)[-_]?)?key|auth|authorization|sig)$",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9_-]*) +\S")


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Hide this value wherever it appears from now on (e.g. a key open tenancy adopted)."""
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def text(self, value: str) -> str:
        """`value` with every known credential in it replaced."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def headers(self, raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
        """Lower-cased names; a repeated header's values joined with ', ', as HTTP allows."""
        joined: dict[str, str] = {}
        for name_bytes, value_bytes in raw:
            name = name_bytes.decode("latin-1").lower()
            value = value_bytes.decode("latin-1")
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        return {name: self._header(name, value) for name, value in joined.items()}

    def _header(self, name: str, value: str) -> str:
        if not _SECRET_HEADER.search(name):
            return self.text(value)
        scheme = _SCHEME.match(value) if name in ("authorization", "proxy-authorization") else None
        return f"{scheme['scheme']} {REDACTED}" if scheme else REDACTED

    def query(self, items: Sequence[tuple[str, str]]) -> list[list[str]]:
        return [
            [name, REDACTED if _SECRET_PARAM.match(name) else self.text(value)]
            for name, value in items
        ]

    def body(self, value: Any) -> Any:
        """A JSON value with known credentials hidden in every string (keys included)."""
        match value:
            case str():
                return self.text(value)
            case Mapping():
                return {self.text(str(k)): self.body(v) for k, v in value.items()}
            case list():
                return [self.body(item) for item in value]
            case _:
                return value
