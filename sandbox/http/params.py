"""Reading query parameters the way the vendors' stacks do, with errors that say what to send."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sandbox.dialect.vendor import Query
from sandbox.errors import InvalidRequest

TRUE_FALSE: Mapping[str, bool] = {"true": True, "false": False}
# The largest integer the vendors' JavaScript stacks hold exactly (Number.MAX_SAFE_INTEGER):
# a page, limit or offset beyond it means nothing to them, and to the sandbox's slicing.
MAX_SAFE_INTEGER = 2**53 - 1
# ASCII digits only: Python's int() also reads other scripts' digits (Arabic-Indic,
# fullwidth), `1_000` and surrounding blanks, none of which a vendor's parser takes.
# A hundred digits at most: longer is no number a client means, and int() is not asked to
# read thousands of digits (it refuses past 4,300).
_WHOLE = re.compile(r"[+-]?[0-9]{1,100}")


def whole_number(text: str) -> int | None:
    """`text` as an integer when it is one written in ASCII digits (an optional sign, at most
    100 digits), else None."""
    return int(text) if _WHOLE.fullmatch(text) else None


def boolean(
    query: Query, name: str, default: bool, *, accepted: Mapping[str, bool] = TRUE_FALSE
) -> bool:
    value = query.get(name)
    if value is None:
        return default
    if value not in accepted:
        allowed = ", ".join(accepted)
        raise InvalidRequest.one(f"query.{name}", f"must be one of {allowed}, not {value!r}")
    return accepted[value]


def integer(
    query: Query, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = query.get(name)
    if value is None:
        return default
    number = whole_number(value)
    if number is None:
        raise InvalidRequest.one(
            f"query.{name}", f"must be a whole number (ASCII digits), not {_shown(value)}"
        )
    if maximum is None or maximum > MAX_SAFE_INTEGER:
        maximum = MAX_SAFE_INTEGER
    if minimum is not None and number < minimum:
        raise InvalidRequest.one(f"query.{name}", f"must be at least {minimum}, not {number}")
    if maximum is not None and number > maximum:
        raise InvalidRequest.one(f"query.{name}", f"must be at most {maximum}, not {number}")
    return number


def choice(query: Query, name: str, default: str | None, choices: Sequence[str]) -> str | None:
    value = query.get(name)
    if value is None:
        return default
    if value not in choices:
        raise InvalidRequest.one(
            f"query.{name}", f"must be one of {', '.join(choices)}, not {value!r}"
        )
    return value


def instant(query: Query, name: str, *, end_of_day: bool = False) -> int | None:
    """A date (YYYY-MM-DD, the whole UTC day) or an ISO-8601 instant, as epoch ms."""
    value = query.get(name)
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            ms = int(day.timestamp()) * 1000
            return ms + 86_399_999 if end_of_day else ms
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest.one(
            f"query.{name}", f"must be a date like 2026-03-15 or an ISO-8601 instant, not {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _shown(value: str, limit: int = 40) -> str:
    """A client's value in a message: JSON-quoted, and cut short when long."""
    if len(value) > limit:
        return json.dumps(value[:limit]) + f"... ({len(value)} characters)"
    return json.dumps(value)
