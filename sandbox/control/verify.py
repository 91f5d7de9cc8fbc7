"""`assert_called`: did the sandbox get the requests a test expected? When not, the failure
lists the near misses, the entries that match some of the criteria but not all (the right
route for another tenant, the right vendor on another route), each with what differs, since
that is usually the bug."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

CRITERIA = ("vendor", "route", "tenant", "method", "status")
SHOWN = 10  # entries listed in a failure message


def matching(entry: Mapping[str, Any], criteria: Mapping[str, Any]) -> list[str]:
    """The names of the criteria this entry meets."""
    return [name for name, wanted in criteria.items() if entry.get(name) == wanted]


def describe(criteria: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={_json(value)}" for name, value in criteria.items()) or (
        "(any request)"
    )


def _json(value: Any) -> str:
    """A journal value as JSON spells it (`null`, `"retell"`), as the journal shows it."""
    return json.dumps(value, ensure_ascii=False)


def line(entry: Mapping[str, Any]) -> str:
    status = entry["status"] if entry["status"] is not None else "no answer"
    return (
        f"#{entry['seq']} {entry['method']} {entry['path']} -> {status} "
        f"(vendor={entry['vendor']}, route={entry['route']}, tenant={entry['tenant']})"
    )


def check_called(
    entries: Sequence[Mapping[str, Any]], criteria: Mapping[str, Any], times: int | None
) -> list[Mapping[str, Any]]:
    """The entries meeting every criterion; AssertionError unless there are `times` of them
    (at least one when `times` is None)."""
    wanted = {k: v for k, v in criteria.items() if v is not None}
    found = [e for e in entries if len(matching(e, wanted)) == len(wanted)]
    if (times is None and found) or len(found) == times:
        return found
    expected = "at least once" if times is None else f"{times} time(s)"
    lines = [
        f"expected a request matching {describe(wanted)} {expected}; found {len(found)} "
        f"among {len(entries)} journal entries"
    ]
    if found:
        lines.append("Matching:")
        lines += [f"  {line(e)}" for e in found[:SHOWN]]
    near = [e for e in entries if 0 < len(matching(e, wanted)) < len(wanted)]
    if near:
        lines.append(f"Near misses (match some of {describe(wanted)}):")
        for entry in near[:SHOWN]:
            differs = "; ".join(
                f"{name} is {_json(entry.get(name))}, not {_json(value)}"
                for name, value in wanted.items()
                if entry.get(name) != value
            )
            lines.append(f"  {line(entry)}: {differs}")
        if len(near) > SHOWN:
            lines.append(f"  ... and {len(near) - SHOWN} more")
    elif not found:
        recent = list(entries)[-5:]
        lines.append(
            "No entry matches any of the criteria."
            + (" The latest entries:" if recent else " The journal is empty.")
        )
        lines += [f"  {line(e)}" for e in recent]
    raise AssertionError("\n".join(lines))
