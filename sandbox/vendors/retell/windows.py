"""A batch call's `call_time_window`: the local hours, and optionally the weekdays, in which
Retell may dial its tasks. Each window is a half-open interval [start, end) in minutes since
local midnight; cross-midnight windows are not allowed (start < end), and end 1440 is 24:00.
The time zone defaults to America/Los_Angeles, as Retell documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sandbox.errors import InvalidRequest, Problem

DEFAULT_TIMEZONE = "America/Los_Angeles"
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_LOOKAHEAD_DAYS = 8  # a week and a day always reaches an allowed weekday's window


@cache
def _zones() -> frozenset[str]:
    """The IANA zone names (from the system's tz database, or the tzdata package)."""
    return frozenset(available_timezones())


@dataclass(frozen=True, slots=True)
class CallTimeWindow:
    windows: tuple[tuple[float, float], ...]  # (start, end) minutes, sorted
    timezone: str
    days: tuple[str, ...]  # () = every day

    def render(self) -> dict[str, Any]:
        """Retell's canonical form: windows in order, the time zone spelled out, the days
        only when some were given."""
        body: dict[str, Any] = {
            "windows": [{"start": s, "end": e} for s, e in self.windows],
            "timezone": self.timezone,
        }
        if self.days:
            body["day"] = list(self.days)
        return body

    def next_open(self, at_ms: int) -> int:
        """The first instant at or after `at_ms` inside a window."""
        zone = ZoneInfo(self.timezone)
        local = datetime.fromtimestamp(at_ms / 1000, zone)
        for offset in range(_LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            if self.days and DAYS[day.weekday()] not in self.days:
                continue
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            for start, end in self.windows:
                opens = int((midnight + timedelta(minutes=start)).timestamp() * 1000)
                closes = int((midnight + timedelta(minutes=end)).timestamp() * 1000)
                if at_ms < closes:
                    return max(at_ms, opens)
        return at_ms  # unreachable: every allowed weekday recurs within the lookahead


def read(raw: Mapping[str, Any], location: str) -> CallTimeWindow:
    """A `call_time_window` already valid under its JSON Schema; a 400 naming the window
    that runs backwards or the zone that does not exist."""
    problems: list[Problem] = []
    windows: list[tuple[float, float]] = []
    for index, window in enumerate(raw["windows"]):
        start, end = window["start"], window["end"]
        if not start < end:
            problems.append(
                Problem(
                    f"{location}.windows[{index}]",
                    f"start ({start}) must be below end ({end}): windows cannot cross midnight; "
                    "split one into two",
                )
            )
        windows.append((start, end))
    timezone = raw.get("timezone", DEFAULT_TIMEZONE)
    if timezone not in _zones():
        problems.append(
            Problem(
                f"{location}.timezone",
                f"must be an IANA time zone like America/Los_Angeles, not {timezone!r}",
            )
        )
    if problems:
        raise InvalidRequest(problems)
    days: Sequence[str] = raw.get("day", ())
    ordered = tuple(d for d in DAYS if d in days)
    return CallTimeWindow(tuple(sorted(windows)), timezone, ordered)
