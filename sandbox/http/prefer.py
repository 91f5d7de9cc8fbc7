"""The `Prefer` request header (RFC 7240), as Prism uses it to steer a mock per request:
`Prefer: code=429`, `Prefer: delay=250`, `Prefer: scenario=busy`, or several at once."""

from __future__ import annotations

from collections.abc import Mapping


def parse_prefer(value: str | None) -> Mapping[str, str]:
    """`code=429, delay=250; scenario=busy` -> {"code": "429", "delay": "250", "scenario": "busy"}.

    Preferences are separated by commas or semicolons; a bare token (`return=minimal`'s
    `respond-async`) maps to "". Names are case-insensitive, values keep their case and lose
    optional quotes.
    """
    found: dict[str, str] = {}
    if not value:
        return found
    for part in value.replace(";", ",").split(","):
        name, _, raw = part.strip().partition("=")
        if name:
            found[name.strip().lower()] = raw.strip().strip('"')
    return found
