"""GET /calls/query: Callab's filters, sort and 0-based pages, read from the query string.

Every filter is evaluated against the rendered Call, so a filter sees exactly the values a
client reads back. Conditions are AND-ed. Comparisons follow SQL (Callab stores calls in a SQL
database): a null column matches no comparison (only `is null`), and an ascending sort puts
nulls last, a descending one first, as PostgreSQL does.

The advanced filter is three parallel arrays, `filter_columns[]`, `filter_operator[]` and
`filter_values[]`; Callab documents the names but not the operators, so the vocabulary is the
sandbox's: eq, neq, gt, gte, lt, lte, like, ilike (SQL patterns: `%` any run, `_` one
character), in (comma-separated values) and is (value `null` or `not_null`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.dialect.vendor import Param, Query
from sandbox.errors import InvalidRequest
from sandbox.http import params
from sandbox.store.store import Order
from sandbox.vendors.callab.uuids import UUID_PATTERN, parse_uuid

Item = Mapping[str, Any]
Predicate = Callable[[Item], bool]

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
DEFAULT_SORT = "created_at"

# Every field of the Call object, in its documented order.
COLUMNS: tuple[str, ...] = (
    "id",
    "call_sid",
    "campaign_id",
    "ai_agent_id",
    "contact_id",
    "company_id",
    "call_from",
    "call_to",
    "call_duration",
    "call_status",
    "call_direction",
    "call_provider",
    "call_rating",
    "call_feedback",
    "record_url",
    "transcript",
    "is_test",
    "transcript_object",
    "transcript_language",
    "cost",
    "price_unit",
    "latency",
    "disconnect_reason",
    "analysis_sentiment",
    "agent_task_status",
    "agent_task_feedback",
    "metadata",
    "agent_dynamic_variables",
    "agent_post_call_outcomes",
    "notes",
    "created_at",
    "updated_at",
    "deleted_at",
    "started_at",
    "ended_at",
    "retry_at",
    "workspace_id",
)
# JSON columns have no single value to compare, so they cannot be filtered by; three of them
# are documented sort columns (SORT_COLUMNS).
OBJECT_COLUMNS = frozenset(
    {"transcript_object", "metadata", "agent_dynamic_variables", "agent_post_call_outcomes"}
)
SCALAR_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in OBJECT_COLUMNS)
NUMBER_COLUMNS = frozenset({"call_duration", "call_rating", "cost", "latency"})
BOOLEAN_COLUMNS = frozenset({"is_test"})
SORT_ALIASES: Mapping[str, str] = {"name": "call_to"}  # Callab: `name` sorts by call_to
# The sort columns docs.callab.ai/api-reference/campaign-calls/query lists ("Supported Sort
# Columns"), in its order, `name` aside: the JSON columns among them sort as PostgreSQL
# orders jsonb (`jsonb_order`).
SORT_COLUMNS: tuple[str, ...] = (
    "created_at",
    "updated_at",
    "started_at",
    "ended_at",
    "call_duration",
    "call_sid",
    "call_from",
    "call_to",
    "call_provider",
    "call_status",
    "call_direction",
    "call_rating",
    "call_feedback",
    "record_url",
    "transcript",
    "transcript_language",
    "is_test",
    "cost",
    "price_unit",
    "latency",
    "disconnect_reason",
    "analysis_sentiment",
    "agent_task_status",
    "agent_task_feedback",
    "metadata",
    "notes",
    "agent_dynamic_variables",
    "agent_post_call_outcomes",
    "retry_at",
)
SEARCHED = ("call_to", "notes", "call_feedback", "transcript")
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is")
ARRAYS = ("filter_columns[]", "filter_operator[]", "filter_values[]")


# An empty value counts as absent for every parameter but page and per_page.
_UUID_OR_EMPTY = {"anyOf": [{"type": "string", "pattern": UUID_PATTERN}, {"const": ""}]}
_DATE_OR_EMPTY = {"anyOf": [{"type": "string", "format": "date"}, {"const": ""}]}


def _case_blind(words: Sequence[str]) -> str:
    """A regex taking each word in any case (JSON Schema patterns have no flags)."""
    spelt = ("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in w) for w in words)
    return f"^({'|'.join(spelt)})$"


# What parse() reads, as data for the OpenAPI document.
PARAMS: tuple[Param, ...] = (
    Param("page", {"type": "integer", "minimum": 0, "default": 0}, description="0-based page"),
    Param(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
    ),
    Param(
        "sort_column",
        {"enum": ["", *SORT_ALIASES, *SORT_COLUMNS], "default": DEFAULT_SORT},
        description="`name` sorts by call_to; nulls sort last ascending, first descending",
    ),
    Param(
        "order",
        {"type": "string", "pattern": _case_blind(("asc", "desc", "")), "default": "desc"},
        description="asc or desc, in any case",
    ),
    Param("campaign_id", _UUID_OR_EMPTY),
    Param("ai_agent_id", _UUID_OR_EMPTY),
    Param("status", {"type": "string"}, description="a case-blind part of call_status"),
    Param("search", {"type": "string"}, description="a case-blind part of " + ", ".join(SEARCHED)),
    Param("start_date", _DATE_OR_EMPTY, description="the first UTC day of started_at"),
    Param("end_date", _DATE_OR_EMPTY, description="the last UTC day of started_at"),
    Param(
        "filter_columns[]",
        {"type": "array", "items": {"enum": list(SCALAR_COLUMNS)}},
        description="parallel to filter_operator[] and filter_values[] (same length)",
        explode=True,
    ),
    Param(
        "filter_operator[]",
        {"type": "array", "items": {"type": "string", "pattern": _case_blind(OPERATORS)}},
        explode=True,
    ),
    Param("filter_values[]", {"type": "array", "items": {"type": "string"}}, explode=True),
)


@dataclass(frozen=True, slots=True)
class CallQuery:
    page: int
    per_page: int
    sort_column: str
    order: Order
    matches: Predicate
    filtered: bool = False  # whether any filter was given (else `matches` takes every call)

    @property
    def streams(self) -> bool:
        """Sorted by creation time: the store's own order, so no full scan is needed."""
        return self.sort_column == DEFAULT_SORT


def parse(query: Query) -> CallQuery:
    """Read and check every documented parameter; unknown parameters are ignored."""
    page = params.integer(query, "page", 0, minimum=0)
    per_page = params.integer(query, "per_page", DEFAULT_PER_PAGE, minimum=1, maximum=MAX_PER_PAGE)
    predicates = [*_simple_filters(query), *_advanced_filters(query)]
    return CallQuery(
        page=page,
        per_page=per_page,
        sort_column=_sort_column(query),
        order=_order(query),
        matches=lambda item: all(p(item) for p in predicates),
        filtered=bool(predicates),
    )


def sort_key(column: str) -> Callable[[Item], tuple[int, Any]]:
    """Nulls after every value, so that ascending puts them last and descending first."""
    json_column = column in OBJECT_COLUMNS

    def key(item: Item) -> tuple[int, Any]:
        value = item[column]
        if value is None:
            return (1, 0)
        return (0, jsonb_order(value) if json_column else value)

    return key


# PostgreSQL's jsonb b-tree order ranks the kinds of value: null < string < number <
# boolean < array < object.
_JSONB_RANK: Mapping[type, int] = {str: 1, int: 2, float: 2, bool: 3, list: 4, dict: 5}


def jsonb_order(value: Any) -> tuple[Any, ...]:
    """A sort key that orders JSON values as PostgreSQL orders jsonb: by kind first; objects
    by their number of pairs, then pair by pair in jsonb's storage order (shorter keys first,
    then bytewise), key before value; arrays by length, then element by element."""
    if value is None:
        return (0,)
    rank = _JSONB_RANK[type(value)]
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        pairs = tuple(p for k in keys for p in ((1, k), jsonb_order(value[k])))
        return (rank, len(value), pairs)
    if isinstance(value, list):
        return (rank, len(value), tuple(jsonb_order(v) for v in value))
    return (rank, value)


def _sort_column(query: Query) -> str:
    value = query.get("sort_column")
    if value is None or value == "":
        return DEFAULT_SORT
    column = SORT_ALIASES.get(value, value)
    if column not in SORT_COLUMNS:
        raise InvalidRequest.one(
            "query.sort_column",
            f"cannot sort by {value!r}; use name or one of {', '.join(SORT_COLUMNS)}",
        )
    return column


def _order(query: Query) -> Order:
    value = query.get("order")
    if value is None or value == "":
        return "desc"
    lowered = value.lower()
    if lowered == "asc":
        return "asc"
    if lowered == "desc":
        return "desc"
    raise InvalidRequest.one("query.order", f"must be asc or desc, not {value!r}")


def _uuid_param(query: Query, name: str) -> str | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    parsed = parse_uuid(value)
    if parsed is None:
        raise InvalidRequest.one(
            f"query.{name}",
            f"must be a UUID like 550e8400-e29b-41d4-a716-446655440000, not {value!r}",
        )
    return parsed


def _date_param(query: Query, name: str) -> str | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise InvalidRequest.one(
            f"query.{name}", f"must be a date in YYYY-MM-DD form like 2026-03-15, not {value!r}"
        ) from None
    return value


def _contains(needle: str, value: Any) -> bool:
    return isinstance(value, str) and needle in value.lower()


def _equals(column: str, wanted: str) -> Predicate:
    return lambda item: bool(item[column] == wanted)


def _partial(columns: Sequence[str], text: str) -> Predicate:
    """A case-insensitive partial match on any of `columns` (SQL ILIKE '%text%')."""
    needle = text.lower()
    return lambda item: any(_contains(needle, item[column]) for column in columns)


def _started(on_or_after: str | None, on_or_before: str | None) -> Predicate:
    """Whole UTC days compared with started_at; a call that never started matches no range."""

    def matches(item: Item) -> bool:
        started = item["started_at"]
        if started is None:
            return False
        day = str(started)[:10]
        return (on_or_after is None or day >= on_or_after) and (
            on_or_before is None or day <= on_or_before
        )

    return matches


def _simple_filters(query: Query) -> list[Predicate]:
    found: list[Predicate] = []
    for name in ("campaign_id", "ai_agent_id"):
        wanted = _uuid_param(query, name)
        if wanted is not None:
            found.append(_equals(name, wanted))
    status = query.get("status")
    if status:
        found.append(_partial(("call_status",), status))
    search = query.get("search")
    if search:
        found.append(_partial(SEARCHED, search))
    start, end = _date_param(query, "start_date"), _date_param(query, "end_date")
    if start is not None or end is not None:
        found.append(_started(start, end))
    return found


def _array(query: Query, name: str) -> list[str]:
    """`name[]` as documented; the bare `name` (as some clients encode arrays) also counts."""
    return query.getall(name) + query.getall(name.removesuffix("[]"))


def _advanced_filters(query: Query) -> list[Predicate]:
    columns, operators, values = (_array(query, name) for name in ARRAYS)
    if not (len(columns) == len(operators) == len(values)):
        raise InvalidRequest.one(
            "query.filter_columns[]",
            "filter_columns[], filter_operator[] and filter_values[] are parallel arrays and "
            f"must have the same length, not {len(columns)}, {len(operators)} and {len(values)}",
        )
    return [
        _condition(position, column, operator, value)
        for position, (column, operator, value) in enumerate(
            zip(columns, operators, values, strict=True)
        )
    ]


def _typed(column: str, text: str, location: str) -> Any:
    """A filter value as the column's type, so 10 compares with call_duration as a number."""
    if column in NUMBER_COLUMNS:
        try:
            return float(text)
        except ValueError:
            raise InvalidRequest.one(
                location, f"{column} is a number; {text!r} is not a number"
            ) from None
    if column in BOOLEAN_COLUMNS:
        if text.lower() not in ("true", "false"):
            raise InvalidRequest.one(location, f"{column} is true or false, not {text!r}")
        return text.lower() == "true"
    return text


# One piece of a LIKE pattern between two `%`: a literal string, or (when it holds `_`) a
# fixed-width regex of literals and `.`, which can never backtrack.
_Piece = str | re.Pattern[str]


# A pattern's length, and the length of a piece holding `_`: finding such a piece costs the
# text's length times the piece's (a piece of literals alone is found in linear time).
MAX_PATTERN = 256
MAX_WILDCARD_PIECE = 32


class LikePattern:
    """An SQL LIKE pattern (`%` any run, `_` one character, backslash escapes). The pieces
    between `%` are found left to right, each at its leftmost place, which is where a match
    must take it: the work is linear in the text, times the length of a piece holding `_`
    (at most MAX_WILDCARD_PIECE). A regex built from the pattern (`.*e.*e.*e...`) would
    backtrack through every way to place each `%`, and a filter value such as `%e%e%e%e%#`
    would hold the event loop for seconds. ValueError says when a pattern is too long."""

    def __init__(self, pattern: str, *, ignore_case: bool) -> None:
        if len(pattern) > MAX_PATTERN:
            raise ValueError(
                f"a like pattern of {len(pattern)} characters is too long; at most {MAX_PATTERN}"
            )
        self._fold = ignore_case
        if ignore_case:
            pattern = pattern.lower()
        pieces: list[list[str | None]] = [[]]  # None stands for `_`
        escaped = False
        for char in pattern:
            if escaped:
                pieces[-1].append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "%":
                pieces.append([])
            else:
                pieces[-1].append(None if char == "_" else char)
        if escaped:
            pieces[-1].append("\\")
        if any(None in p and len(p) > MAX_WILDCARD_PIECE for p in pieces):
            raise ValueError(
                f"a like pattern's run between two % that holds _ may be at most "
                f"{MAX_WILDCARD_PIECE} characters long"
            )
        self._pieces: list[tuple[_Piece, int]] = [(_piece(p), len(p)) for p in pieces]

    def fullmatch(self, text: str) -> bool:
        if self._fold:
            text = text.lower()
        pieces = self._pieces
        first, first_width = pieces[0]
        if len(pieces) == 1:
            return len(text) == first_width and _at(first, text, 0)
        last, last_width = pieces[-1]
        end = len(text) - last_width
        if end < first_width or not _at(first, text, 0) or not _at(last, text, end):
            return False
        position = first_width
        for piece, width in pieces[1:-1]:
            found = _find(piece, text, position, end)
            if found < 0:
                return False
            position = found + width
        return True


def _piece(chars: list[str | None]) -> _Piece:
    if None not in chars:
        return "".join(c for c in chars if c is not None)
    return re.compile("".join("." if c is None else re.escape(c) for c in chars), re.DOTALL)


def _at(piece: _Piece, text: str, position: int) -> bool:
    if isinstance(piece, str):
        return text.startswith(piece, position)
    return piece.match(text, position) is not None


def _find(piece: _Piece, text: str, start: int, end: int) -> int:
    if isinstance(piece, str):
        return text.find(piece, start, end)
    found = piece.search(text, start, end)
    return found.start() if found is not None else -1


def like_pattern(pattern: str, *, ignore_case: bool) -> LikePattern:
    """An SQL LIKE pattern, as `LikePattern` matches it."""
    return LikePattern(pattern, ignore_case=ignore_case)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "neq": lambda a, b: bool(a != b),
    "gt": lambda a, b: bool(a > b),
    "gte": lambda a, b: bool(a >= b),
    "lt": lambda a, b: bool(a < b),
    "lte": lambda a, b: bool(a <= b),
}


def _condition(position: int, column: str, operator: str, text: str) -> Predicate:
    if column not in SCALAR_COLUMNS:
        raise InvalidRequest.one(
            f"query.filter_columns[{position}]",
            f"cannot filter by {column!r}; use one of {', '.join(SCALAR_COLUMNS)}",
        )
    op = operator.lower()
    if op not in OPERATORS:
        raise InvalidRequest.one(
            f"query.filter_operator[{position}]",
            f"unknown operator {operator!r}; use one of {', '.join(OPERATORS)}",
        )
    where = f"query.filter_values[{position}]"
    if op == "is":
        if text.lower() not in ("null", "not_null"):
            raise InvalidRequest.one(where, f"the is operator takes null or not_null, not {text!r}")
        wants_null = text.lower() == "null"
        return lambda item: (item[column] is None) == wants_null
    if op in ("like", "ilike"):
        try:
            pattern = like_pattern(text, ignore_case=op == "ilike")
        except ValueError as error:
            raise InvalidRequest.one(where, str(error)) from None
        return lambda item: item[column] is not None and pattern.fullmatch(_text(item[column]))
    if op == "in":
        accepted = [_typed(column, part.strip(), where) for part in text.split(",")]
        return lambda item: item[column] is not None and item[column] in accepted
    expected = _typed(column, text, where)
    compare = _COMPARE[op]
    return lambda item: item[column] is not None and compare(item[column], expected)
