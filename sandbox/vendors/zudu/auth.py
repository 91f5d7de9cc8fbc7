"""Zudu's key pair: `X-API-KEY: sk_<32>` and `X-API-SECRET: s3cr3t_<40>`, both on every request.

The organisation is derived from the pair, so a key only works with its own secret: a key of
one organisation sent with another's secret matches no tenant and is a 401 like any other.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.dialect.auth import HeaderKeys, Headers
from sandbox.errors import Unauthorized

KEY_HEADER = "X-API-KEY"
SECRET_HEADER = "X-API-SECRET"

# Zudu's authentication page gives the formats: sk_ and 32 characters, s3cr3t_ and 40.
FORMATS: Mapping[str, tuple[re.Pattern[str], str]] = {
    KEY_HEADER: (re.compile(r"sk_[A-Za-z0-9]{32}"), "'sk_' followed by 32 letters or digits"),
    SECRET_HEADER: (
        re.compile(r"s3cr3t_[A-Za-z0-9]{40}"),
        "'s3cr3t_' followed by 40 letters or digits",
    ),
}


def format_problem(header: str, value: str) -> str | None:
    """Why `value` cannot be a Zudu credential for `header`, or None if its form is right."""
    pattern, expected = FORMATS[header]
    if pattern.fullmatch(value):
        return None
    return f"{header} must be {expected}; the one sent has {len(value)} characters"


@functools.lru_cache(maxsize=256)  # (asked on every request, mostly of the same few keys)
def _pair_problem(pair: HeaderKeys, values: tuple[str, ...]) -> str | None:
    """What is wrong with the first malformed value of a pair, or None."""
    for (header, _), value in zip(pair.header_fields, values, strict=True):
        problem = format_problem(header, value)
        if problem is not None:
            return problem
    return None


PAIR = HeaderKeys(((KEY_HEADER, "api_key"), (SECRET_HEADER, "api_secret")))


@dataclass(frozen=True, slots=True)
class KeyAndSecret:
    """Both headers required and well formed; the pair is then looked up in the keyring."""

    pair: HeaderKeys = PAIR

    @property
    def fields(self) -> tuple[str, ...]:
        return self.pair.fields

    def credentials(self, headers: Headers) -> tuple[str, ...]:
        values = self.pair.credentials(headers)
        problem = _pair_problem(self.pair, values)
        if problem is not None:
            raise Unauthorized(problem)
        return values

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return self.pair.headers(credentials)
