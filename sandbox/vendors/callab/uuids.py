"""Callab's ids are UUIDs (its Rust backend parses them with the `uuid` crate)."""

from __future__ import annotations

import re

from sandbox.calls.ids import hyphenated

# The uuid crate's parse_str takes the hyphenated and the simple (32 hex digits) forms in
# either case; the sandbox takes those two and answers in lowercase hyphenated form, as
# Callab prints ids. (Python's uuid.UUID alone would also take stray hyphens anywhere.)
UUID_PATTERN = r"^(?:[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$"
_UUID = re.compile(UUID_PATTERN)


def parse_uuid(text: str) -> str | None:
    """`text` as a lowercase hyphenated UUID, or None if it is not a UUID."""
    # fullmatch: `$` alone would also accept a trailing newline, which uuid.UUID refuses.
    if not _UUID.fullmatch(text):
        return None
    if len(text) == 36:  # hyphenated already
        return text.lower()
    return hyphenated(text.lower())
