"""The pagination Retell's newer list endpoints share (`LimitParam`, `SortOrderParam`,
`PaginationKeyParam` in its OpenAPI document): `limit` (default 50, at most 1000),
`sort_order` (default descending) and `pagination_key`, the key of the last item of the
previous page (exclusive). Answers are `{items, has_more, pagination_key?}`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sandbox.dialect.vendor import Param, Query
from sandbox.errors import InvalidRequest
from sandbox.http.params import choice, integer

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
SORT_ORDERS = ("ascending", "descending")

PARAMS: tuple[Param, ...] = (
    Param(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        description="Maximum number of items to return.",
    ),
    Param(
        "sort_order",
        {"enum": list(SORT_ORDERS), "default": "descending"},
        description="Sort order for results.",
    ),
    Param(
        "pagination_key",
        {"type": "string"},
        description="Pagination key for fetching the next page (the last key of the previous).",
    ),
)
NAMES = tuple(p.name for p in PARAMS)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    descending: bool
    after: str | None


def read(query: Query) -> Paging:
    limit = integer(query, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    order = choice(query, "sort_order", "descending", SORT_ORDERS)
    return Paging(limit, order == "descending", query.get("pagination_key"))


def page(
    items: Sequence[T],
    paging: Paging,
    *,
    order: Callable[[T], Any],
    key: Callable[[T], str],
) -> tuple[list[T], str | None]:
    """One page of `items` (in `order`) after `paging.after`, and the next page's key."""
    ranked = sorted(items, key=order, reverse=paging.descending)
    start = 0
    if paging.after is not None:
        keys = [key(item) for item in ranked]
        if paging.after not in keys:
            raise InvalidRequest.one(
                "query.pagination_key",
                f"{paging.after!r} is not a pagination_key from a previous page",
            )
        start = keys.index(paging.after) + 1
    chunk = ranked[start : start + paging.limit]
    more = start + paging.limit < len(ranked)
    return chunk, key(chunk[-1]) if more and chunk else None


def paged(chunk: list[dict[str, Any]], following: str | None) -> dict[str, Any]:
    """A list answer of Retell's newer list endpoints: the page, whether more follow, and the
    key of the next page when they do."""
    body: dict[str, Any] = {"items": chunk, "has_more": following is not None}
    if following is not None:
        body["pagination_key"] = following
    return body
