"""Retell endpoints the sandbox knows but does not emulate: the writes that configure agents
and phone numbers. The sandbox's agents and numbers come from its fixtures, so a request to one
of these answers a clear 501 in Retell's shape, saying so, instead of the 404 of a wrong path.
They are not routes (the OpenAPI document lists what the sandbox serves); the error renderer
recognises them among the paths no route matched."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sandbox.errors import SandboxError

STATUS = 501  # Not Implemented: the route exists on Retell, the sandbox does not do it

_AGENTS = "the sandbox's agents come from the fixtures (tenants[].agents); edit them there"
_NUMBERS = (
    "the sandbox's numbers are its agents' phone_number in the fixtures (tenants[].agents); "
    "edit them there"
)
# (method, path) of each write of `client.agent` and `client.phone_number` (retell-sdk 6.2.13).
WRITES: Mapping[tuple[str, str], str] = {
    ("POST", "/create-agent"): _AGENTS,
    ("PATCH", "/update-agent/{id}"): _AGENTS,
    ("DELETE", "/delete-agent/{id}"): _AGENTS,
    ("POST", "/create-agent-version/{id}"): _AGENTS,
    ("DELETE", "/delete-agent-version/{id}"): _AGENTS,
    ("POST", "/publish-agent-version/{id}"): _AGENTS,
    ("POST", "/repair-agent/{id}"): _AGENTS,
    ("POST", "/create-phone-number"): _NUMBERS,
    ("POST", "/import-phone-number"): _NUMBERS,
    ("PATCH", "/update-phone-number/{id}"): _NUMBERS,
    ("DELETE", "/delete-phone-number/{id}"): _NUMBERS,
}
_PATTERNS = tuple(
    (method, re.compile("^" + re.escape(path).replace(r"\{id\}", "[^/]+") + "$"), path, instead)
    for (method, path), instead in WRITES.items()
)


class NotEmulated(SandboxError):
    """A documented Retell operation the sandbox does not perform; the message says what to
    do instead."""

    def __init__(self, method: str, path: str, instead: str) -> None:
        super().__init__(
            f"{method} {path} is a Retell endpoint the sandbox does not emulate (its agents "
            f"and phone numbers are read-only): {instead}"
        )
        self.method = method
        self.path = path
        self.instead = instead


def not_emulated(method: str, raw_path: str) -> NotEmulated | None:
    """The NotEmulated error of a request no route matched, when it is one of these writes."""
    for known, pattern, path, instead in _PATTERNS:
        if known == method and pattern.match(raw_path):
            return NotEmulated(method, path.replace("{id}", raw_path.rsplit("/", 1)[-1]), instead)
    return None
