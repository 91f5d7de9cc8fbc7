"""Query strings as ContactShip's NestJS stack reads them: every parameter validated, and a
parameter the endpoint does not declare refused ("property x should not exist", what
ValidationPipe answers with forbidNonWhitelisted), so a misspelt filter such as `phone_number`
for `phoneNumber` fails loudly instead of silently returning everything."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.dialect.vendor import Query
from sandbox.errors import InvalidRequest, Problem
from sandbox.vendors.contactship import formats


def only(query: Query, allowed: Iterable[str]) -> None:
    unknown = sorted(query.names() - set(allowed))
    if unknown:
        raise InvalidRequest(
            [Problem("query", f"property {name} should not exist") for name in unknown]
        )


def formatted(query: Query, name: str, pattern: str) -> str | None:
    """A string parameter in one of `formats` (a UUID, an E.164 number), or None if absent."""
    value = query.get(name)
    if value is None:
        return None
    if not formats.matches(pattern, value):
        hint = formats.DESCRIPTIONS[pattern]
        if pattern == formats.E164 and value.startswith(" "):
            hint += " (a '+' in a query string must be sent as %2B)"
        raise InvalidRequest.one(f"query.{name}", f"{hint}, not {value!r}")
    return value
