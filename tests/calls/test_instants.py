"""Instants at the edges: the ISO spellings agree with datetime's for any instant."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from sandbox.calls.instants import iso_date, iso_millis, iso_seconds, parse_iso

# From 1900 to 2200, in epoch ms.
INSTANTS = st.integers(min_value=-2_208_988_800_000, max_value=7_258_118_400_000)


@given(INSTANTS)
def test_spellings_match_datetime(ms: int) -> None:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    assert iso_seconds(ms) == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso_millis(ms) == moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"
    assert iso_date(ms) == moment.strftime("%Y-%m-%d")
    assert parse_iso(iso_millis(ms)) == ms


def test_known_instants() -> None:
    assert iso_seconds(1_705_314_600_999) == "2024-01-15T10:30:00Z"
    assert iso_millis(1_705_314_600_123) == "2024-01-15T10:30:00.123Z"
    assert iso_date(0) == "1970-01-01"
    assert iso_seconds(-1) == "1969-12-31T23:59:59Z"
