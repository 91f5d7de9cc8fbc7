"""How a client proves which tenant it is: a family of interchangeable header schemes.

Each vendor names one scheme and the credential fields it reads from a tenant's `keys.<vendor>`
in the fixtures. A scheme turns request headers into a credential tuple (or raises Unauthorized
with a sentence that says what to send) and turns a tenant's credentials back into headers, for
`call-sandbox keys` and the pytest plugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sandbox.errors import Unauthorized


class Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


class AuthScheme(Protocol):
    @property
    def fields(self) -> tuple[str, ...]:
        """The credential fields a tenant's `keys.<vendor>` holds, in presentation order."""
        ...

    def credentials(self, headers: Headers) -> tuple[str, ...]:
        """The credential values a request carries, in `fields` order."""
        ...

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        """The headers a client sends to present `credentials`."""
        ...


@dataclass(frozen=True, slots=True)
class BearerToken:
    """`Authorization: Bearer <token>`."""

    field: str = "api_key"

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def credentials(self, headers: Headers) -> tuple[str, ...]:
        value = headers.get("authorization")
        if value is None:
            raise Unauthorized("missing Authorization header: send 'Authorization: Bearer <key>'")
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthorized("the Authorization header must read 'Bearer <key>'")
        if not token.strip():
            raise Unauthorized("the Authorization header has no key after 'Bearer'")
        return (token.strip(),)

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials[self.field]}"}


@dataclass(frozen=True, slots=True)
class HeaderKeys:
    """One or more headers, each carrying one credential (`x-api-key`, or a key and a secret)."""

    header_fields: tuple[tuple[str, str], ...]  # (header name as documented, credential field)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for _, field in self.header_fields)

    def credentials(self, headers: Headers) -> tuple[str, ...]:
        values = []
        for header, _ in self.header_fields:
            value = (headers.get(header.lower()) or "").strip()
            if not value:
                raise Unauthorized(f"missing {header} header: send '{header}: <{header.lower()}>'")
            values.append(value)
        return tuple(values)

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return {header: credentials[field] for header, field in self.header_fields}
