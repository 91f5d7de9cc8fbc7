"""Reading a request's head: the headers a client sends again and again are read once and kept
(a few small blocks), and what is kept answers exactly as a fresh read would; blocks over the
limits are refused whether or not a smaller one was kept."""

from __future__ import annotations

import pytest
from starlette.types import Scope

from sandbox.errors import HeadTooLarge
from sandbox.http import limits
from sandbox.http.limits import (
    KEPT_HEAD_BYTES,
    KEPT_HEADS,
    MAX_HEADER_BYTES,
    KeptHeaders,
    read_head,
)


def _scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "path": "/x", "raw_path": b"/x", "headers": headers}


def test_the_same_block_reads_the_same_headers_once() -> None:
    block = [(b"Host", b"sandbox"), (b"authorization", b"Bearer k1"), (b"X-Two", b"a")]
    first = read_head(_scope(list(block)))
    again = read_head(_scope(list(block)))
    assert first == {"host": "sandbox", "authorization": "Bearer k1", "x-two": "a"}
    assert again is first
    assert type(first) is KeptHeaders
    other = read_head(_scope([(b"Host", b"sandbox"), (b"authorization", b"Bearer k2")]))
    assert other["authorization"] == "Bearer k2"


def test_a_repeated_header_keeps_its_last_value_kept_or_not() -> None:
    block = [(b"x-a", b"1"), (b"X-A", b"2")]
    assert read_head(_scope(block)) == {"x-a": "2"}
    assert read_head(_scope(block)) == {"x-a": "2"}
    big = [*block, (b"x-pad", b"p" * KEPT_HEAD_BYTES)]
    read = read_head(_scope(big))
    assert read["x-a"] == "2"
    assert type(read) is not KeptHeaders


def test_headers_given_as_lists_are_read_and_not_kept() -> None:
    read = read_head(_scope([[b"x-list", b"yes"]]))  # type: ignore[list-item]
    assert read == {"x-list": "yes"}
    assert type(read) is not KeptHeaders


def test_a_block_over_the_limit_is_refused_every_time() -> None:
    small = [(b"x-a", b"1")]
    read_head(_scope(small))
    over = [*small, (b"x-pad", b"p" * MAX_HEADER_BYTES)]
    for _ in range(2):
        with pytest.raises(HeadTooLarge) as refused:
            read_head(_scope(over))
        assert refused.value.status == 431


def test_the_blocks_kept_are_bounded() -> None:
    for n in range(KEPT_HEADS * 3):
        read_head(_scope([(b"x-n", str(n).encode())]))
    assert len(limits._kept) <= KEPT_HEADS
