"""Instants: epoch milliseconds inside the sandbox, ISO-8601 UTC strings at the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_iso(text: str) -> int:
    """'2024-01-15T10:30:00Z' or with fractional seconds -> epoch ms."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def iso_seconds(ms: int) -> str:
    """Epoch ms -> '2024-01-15T10:30:00Z' (whole seconds, as Callab and ContactShip print them)."""
    return _iso(ms // 1000) + "Z"


def iso_millis(ms: int) -> str:
    """Epoch ms -> '2024-01-15T10:30:00.123Z'."""
    return f"{_iso(ms // 1000)}.{ms % 1000:03d}Z"


def iso_date(ms: int) -> str:
    """Epoch ms -> '2024-01-15' (UTC)."""
    return _day(ms // _DAY_MS)


_DAY_MS = 86_400_000


def _iso(seconds: int) -> str:
    """Epoch seconds -> '2024-01-15T10:30:00' (UTC): the date from a cache, the time of day
    by arithmetic, since every body spells several instants."""
    day, second = divmod(seconds, 86_400)
    return f"{_day(day)}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


@lru_cache(maxsize=4_096)  # (about eleven years of days)
def _day(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
