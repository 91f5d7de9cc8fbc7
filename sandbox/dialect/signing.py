"""Signing webhook bodies, and the one place the sandbox reads the wall clock.

A vendor that signs its webhooks puts a timestamp in the signature, and receivers reject one
that is too far from their own clock (the retell-sdk's `verify` allows five minutes). The
sandbox's clock stands at the fixtures' reference instant, so a signature stamped with it
would never verify. The timestamp is therefore wall time: it is transport metadata, like a
`Date` header, while the body (rendered from the sandbox clock) stays byte-identical between
runs. A dispatcher can be given another clock (`now_ms`) for tests that want fixed headers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping

# (raw body, unix ms) -> the headers that sign it.
Signer = Callable[[bytes, int], Mapping[str, str]]

_DIGEST = re.compile(r"[0-9a-fA-F]{16,}|[A-Za-z0-9+/]{40,}={0,2}")  # hex or base64


def wall_ms() -> int:
    """Unix time in ms: only for signature timestamps (see the module's docstring)."""
    return time.time_ns() // 1_000_000


def hmac_sha256_hex(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def redact_signature(value: str) -> str:
    """A signature header fit for the journal: its digest cut to 6 characters, so entries can
    be told apart without carrying a value anyone could replay."""
    return _DIGEST.sub(lambda found: found.group()[:6] + "...", value)
