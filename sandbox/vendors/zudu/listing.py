"""Zudu's call list: page/limit paging, two sort keys and `filter_criteria`, read from the
POST body (documented) or, with the same names flattened, from GET's query string.

Filters read the values a client reads back (`render.facts`), so a call listed under
`call_status: ["ENDED"]` shows `"call_status": "ENDED"`. Conditions on different keys are
AND-ed; the values of one list are OR-ed. Every list answer counts every match
(`total_count`): with a filter or sorted by start time, listing scans the tenant's calls (only
the page is rendered in full); in creation order without a filter, the count is the tenant's
size and only the page is looked at.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.calls.model import Call
from sandbox.dialect.vendor import Param, Query
from sandbox.errors import InvalidRequest, Problem
from sandbox.http.params import choice, integer
from sandbox.store.store import Order
from sandbox.vendors.zudu.render import CALL_STATUSES, CALL_TYPE, facts

DEFAULT_LIMIT = 50  # the generated docs' example; the hand-written page shows 20
MAX_LIMIT = 100  # Zudu's batch-call list caps its limit at 100; calls are assumed alike
SORT_BY = ("created_at", "start_timestamp")
SORT_ORDER: Mapping[str, Order] = {"descending": "desc", "ascending": "asc"}
CALL_TYPES = tuple(CALL_TYPE.values())

# GET /api/calls takes filter_criteria flattened into the query string; a list is sent as
# repeated parameters or comma-separated, and enums in any case.
QUERY_PARAMS: tuple[Param, ...] = (
    Param("page", {"type": "integer", "minimum": 0, "default": 0}, description="0-based page"),
    Param(
        "limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
    ),
    Param("sort_by", {"enum": list(SORT_BY), "default": "created_at"}),
    Param("sort_order", {"enum": list(SORT_ORDER), "default": "descending"}),
    Param("call_status", {"type": "array", "items": {"enum": list(CALL_STATUSES)}}, explode=True),
    Param("call_type", {"type": "array", "items": {"enum": list(CALL_TYPES)}}, explode=True),
    Param("agent_id", {"type": "array", "items": {"type": "string"}}, explode=True),
    Param("min_duration_ms", {"type": "integer", "minimum": 0}),
    Param("max_duration_ms", {"type": "integer", "minimum": 0}),
    Param(
        "transcript_search",
        {"type": "string"},
        description="every word must occur in the transcript, in any case",
    ),
)
QUERY_NAMES = tuple(p.name for p in QUERY_PARAMS)

Facts = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Listing:
    page: int = 0
    limit: int = DEFAULT_LIMIT
    sort_by: str = "created_at"
    sort_order: str = "descending"
    # The filters as applied, enums in Zudu's UPPERCASE; echoed as `applied_filters`.
    filters: Mapping[str, Any] = field(default_factory=dict)


def _upper(values: Iterable[str]) -> list[str]:
    # The generated docs' list example sends lowercase statuses; Zudu's enums are UPPERCASE.
    return [v.upper() for v in values]


def from_body(body: Mapping[str, Any]) -> Listing:
    """A list request body, already valid under zudu/list-calls.request.json."""
    criteria = dict(body.get("filter_criteria", {}))
    for key in ("call_status", "call_type"):
        if key in criteria:
            criteria[key] = _upper(criteria[key])
    return Listing(
        # JSON Schema's integers include 5.0; the list echoes them back as integers.
        page=int(body.get("page", 0)),
        limit=int(body.get("limit", DEFAULT_LIMIT)),
        sort_by=body.get("sort_by", "created_at"),
        sort_order=body.get("sort_order", "descending"),
        filters=criteria,
    )


def _values(query: Query, name: str) -> list[str]:
    """Every value of a repeated or comma-separated parameter."""
    return [part.strip() for value in query.getall(name) for part in value.split(",")]


def _enum_values(query: Query, name: str, allowed: Sequence[str]) -> list[str] | None:
    if name not in query.names():
        return None
    values = _upper(_values(query, name))
    wrong = [v for v in values if v not in allowed]
    if wrong or not values:
        raise InvalidRequest.one(
            f"query.{name}", f"must be one or more of {', '.join(allowed)}, not {wrong or ['']}"
        )
    return values


def from_query(query: Query) -> Listing:
    """GET /api/calls: the body's options as query parameters (unknown names are a 400)."""
    unknown = sorted(query.names() - set(QUERY_NAMES))
    if unknown:
        raise InvalidRequest(
            [
                Problem(f"query.{n}", f"unknown parameter; use {', '.join(QUERY_NAMES)}")
                for n in unknown
            ]
        )
    filters: dict[str, Any] = {}
    statuses = _enum_values(query, "call_status", CALL_STATUSES)
    if statuses is not None:
        filters["call_status"] = statuses
    types = _enum_values(query, "call_type", CALL_TYPES)
    if types is not None:
        filters["call_type"] = types
    agents = [a for a in _values(query, "agent_id") if a]
    if agents:
        filters["agent_id"] = agents[0] if len(agents) == 1 else agents
    bounds = {
        "lower_threshold": integer(query, "min_duration_ms", -1, minimum=0),
        "upper_threshold": integer(query, "max_duration_ms", -1, minimum=0),
    }
    if any(v >= 0 for v in bounds.values()):
        filters["duration_ms"] = {k: v for k, v in bounds.items() if v >= 0}
    search = query.get("transcript_search")
    if search is not None:
        filters["transcript_search"] = search
    return Listing(
        page=integer(query, "page", 0, minimum=0),
        limit=integer(query, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
        sort_by=choice(query, "sort_by", "created_at", SORT_BY) or "created_at",
        sort_order=choice(query, "sort_order", "descending", tuple(SORT_ORDER)) or "descending",
        filters=filters,
    )


def _in(key: str, accepted: Any) -> Callable[[Facts], bool]:
    wanted = {accepted} if isinstance(accepted, str) else set(accepted)
    return lambda f: f[key] in wanted


def _duration(bounds: Mapping[str, int]) -> Callable[[Facts], bool]:
    low = bounds.get("lower_threshold", 0)
    high = bounds.get("upper_threshold", math.inf)
    # A call that has not ended has no duration, so it never matches a duration range.
    return lambda f: f["call_duration"] is not None and low <= f["call_duration"] <= high


def _search(text: str) -> Callable[[Facts], bool]:
    # Every word of the search must occur in the transcript, in any case.
    terms = text.lower().split()
    return lambda f: all(t in (f["transcript"] or "").lower() for t in terms)


def predicate(filters: Mapping[str, Any]) -> Callable[[Facts], bool]:
    tests: list[Callable[[Facts], bool]] = []
    for key, value in filters.items():
        if key == "duration_ms":
            tests.append(_duration(value))
        elif key == "transcript_search":
            tests.append(_search(value))
        else:  # call_status, call_type, agent_id
            tests.append(_in(key, value))
    return lambda f: all(test(f) for test in tests)


def select(
    calls: Iterable[Call], listing: Listing, read: Callable[[Call], Facts] = facts
) -> list[Call]:
    """Every matching call, in the requested order (`calls` come in creation order; `read`
    says what a client reads back of each: `render.facts`)."""
    matches = predicate(listing.filters)
    found = [(call, read(call)) for call in calls]
    found = [(call, f) for call, f in found if matches(f)]
    if listing.sort_by == "start_timestamp":
        sign = -1 if listing.sort_order == "descending" else 1
        # Calls that have not started yet sort last either way; ties keep creation order.
        found.sort(
            key=lambda p: (p[1]["start_timestamp"] is None, sign * (p[1]["start_timestamp"] or 0))
        )
    return [call for call, _ in found]


def pagination(listing: Listing, total: int) -> dict[str, Any]:
    pages = math.ceil(total / listing.limit)
    return {
        "page": listing.page,
        "limit": listing.limit,
        "total_count": total,
        # The hand-written docs call it `total`, the generated ones `total_count`: both are sent.
        "total": total,
        "total_pages": pages,
        "has_next_page": listing.page + 1 < pages,
        "has_previous_page": listing.page > 0,
    }
