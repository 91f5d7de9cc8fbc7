"""Finished answers to "this call, please", kept so that asking again costs a lookup.

What a vendor's lookup route (`Vendor.lookup_route`: one call by id) answers depends on the
request's path and query, the tenant, and the call as observed: its plan and where the clock
stands in its life (`lifecycle.phase`). The pipeline renders, validates and encodes such an
answer once and keeps its bytes here under (vendor, path, query, tenant), stamped with the plan
and the
phase; a later request gets the same bytes only while the tenant's plan for that id is still
the same (an update or a delete makes a new one, or none) and the clock is still in the same
phase (so a call in progress moves on turn by turn, under --time-scale too). Everything that
may differ per request (auth, rate limits, faults, the journal) happens before and after, as
for any other request.

Bounded by the number of answers and by their bytes; the least recently used go first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from sandbox.calls.lifecycle import Phase
from sandbox.calls.model import Call
from sandbox.http.kept import PlanKept

MAX_ANSWERS = 512
MAX_BYTES = 16 * 1024 * 1024

Key = tuple[str, str, bytes, str]  # vendor, raw path, raw query string, tenant


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as it leaves the pipeline: status, headers and the encoded body."""

    status: int
    headers: Mapping[str, str]
    payload: bytes | None  # None: no body
    head: tuple[tuple[bytes, bytes], ...]  # the headers as sent, content type and length too

    @property
    def body(self) -> bytes:
        """The bytes sent after the head."""
        return b"" if self.payload is None or self.status in (204, 304) else self.payload


@dataclass(frozen=True, slots=True)
class _Kept:
    plan: Call
    phase: Phase
    answer: Answer


class AnswerCache(PlanKept[Key, _Kept]):
    def __init__(self, max_answers: int = MAX_ANSWERS, max_bytes: int = MAX_BYTES) -> None:
        super().__init__(max_answers, max_bytes)

    @property
    def max_answers(self) -> int:
        return self.max_entries

    @max_answers.setter
    def max_answers(self, value: int) -> None:
        self.max_entries = value

    def _size(self, value: _Kept) -> int:
        return len(value.answer.payload or b"")

    def get(self, key: Key, plan: Call, phase: Phase) -> Answer | None:
        """The answer kept for `key`, if it was made from this plan in this phase."""
        kept = self._get(key, plan, phase)
        return None if kept is None else kept.answer

    def put(self, key: Key, plan: Call, phase: Phase, answer: Answer) -> None:
        if answer.payload is not None and len(answer.payload) <= self.max_bytes:
            # An exact copy: the encoder's bytes keep its whole working buffer (orjson's is at
            # least 64 KiB), which a thousand kept answers would multiply.
            answer = replace(answer, payload=bytes(memoryview(answer.payload)))
        self._put(key, _Kept(plan, phase, answer))
