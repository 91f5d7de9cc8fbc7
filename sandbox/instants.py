"""Instants: epoch milliseconds inside the sandbox, ISO-8601 UTC strings at the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_iso(text: str) -> int:
    """'2024-01-15T10:30:00Z' or with fractional seconds -> epoch ms."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def iso_seconds(ms: int) -> str:
    """Epoch ms -> '2024-01-15T10:30:00Z' (whole seconds, as Callab and ContactShip print them)."""
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(ms: int) -> str:
    """Epoch ms -> '2024-01-15T10:30:00.123Z'."""
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def iso_date(ms: int) -> str:
    """Epoch ms -> '2024-01-15' (UTC)."""
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%d")
