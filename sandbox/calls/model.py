"""The canonical call: what the store holds and every vendor renders.

All instants are epoch milliseconds (UTC); all times inside a call (words, turns, tool calls)
are milliseconds of call audio, counted from the call's start. Money is US cents. Enum values
use the sandbox's own vocabulary below; each vendor maps them to its spelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, NamedTuple


class Scenario(StrEnum):
    """How a call went. design.md §2 maps each to every vendor's status fields."""

    COMPLETED = "completed"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"
    TRANSFERRED = "transferred"
    IN_PROGRESS = "in-progress"
    QUEUED = "queued"
    SCHEDULED = "scheduled"

    @property
    def connected(self) -> bool:
        """A person or a machine answered, so there is audio: transcript, recording, costs."""
        return self in _CONNECTED

    @property
    def live(self) -> bool:
        """Not over yet: no end time, no analysis."""
        return self in _LIVE

    @property
    def ended(self) -> bool:
        return not self.live


_CONNECTED = frozenset(
    {Scenario.COMPLETED, Scenario.VOICEMAIL, Scenario.TRANSFERRED, Scenario.IN_PROGRESS}
)
_LIVE = frozenset({Scenario.IN_PROGRESS, Scenario.QUEUED, Scenario.SCHEDULED})

Role = Literal["agent", "user"]
Direction = Literal["inbound", "outbound"]
CallType = Literal["phone_call", "web_call"]
Sentiment = Literal["positive", "negative", "neutral", "unknown"]
Source = Literal["generated", "pinned", "created"]


class Word(NamedTuple):
    # A tuple: a call holds hundreds, and a generated call makes them all at once.
    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    text: str
    words: tuple[Word, ...]

    @property
    def start_ms(self) -> int:
        return self.words[0].start_ms if self.words else 0

    @property
    def end_ms(self) -> int:
        return self.words[-1].end_ms if self.words else 0


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function the agent called mid-call, and what it returned.

    `after_turn` is the index of the turn after which the invocation happened; `at_ms` is
    its time of call audio.
    """

    id: str
    name: str
    arguments: Mapping[str, Any]
    result: str
    successful: bool
    after_turn: int
    at_ms: int


@dataclass(frozen=True, slots=True)
class Analysis:
    summary: str
    sentiment: Sentiment
    successful: bool
    in_voicemail: bool
    custom: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CostLine:
    product: str
    unit_price: float  # cents per second of call
    cost: float  # cents


@dataclass(frozen=True, slots=True)
class LatencySeries:
    """Per-turn latency samples in ms; the percentiles are always computed from them."""

    values: tuple[float, ...]

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, so every figure is one of the samples."""
        ordered = sorted(self.values)
        rank = max(1, -(-len(ordered) * p // 100))
        return ordered[int(rank) - 1]

    @property
    def minimum(self) -> float:
        return min(self.values)

    @property
    def maximum(self) -> float:
        return max(self.values)


@dataclass(frozen=True, slots=True)
class Agent:
    id: str  # canonical UUID; vendors render it in their own id format
    name: str
    version: int
    topic: str
    phone_number: str
    language: str = "en-US"
    webhook_url: str | None = None
    vendor_ids: Mapping[str, str] = field(default_factory=dict)  # as a vendor's docs spell it
    generates: bool = True  # False: only pinned calls use it (the docs examples' agent)


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    full_name: str
    email: str
    country: str


@dataclass(frozen=True, slots=True)
class Call:
    id: str  # canonical UUID
    tenant: str
    source: Source
    agent: Agent
    call_type: CallType
    direction: Direction
    from_number: str
    to_number: str
    scenario: Scenario
    created_ms: int
    start_ms: int | None
    end_ms: int | None
    scheduled_ms: int | None
    disconnection_reason: str | None  # Retell's vocabulary, the most detailed of the four
    turns: tuple[Turn, ...]
    tool_calls: tuple[ToolCall, ...]
    analysis: Analysis | None
    costs: tuple[CostLine, ...]
    latency: Mapping[str, LatencySeries]
    recording_url: str | None
    contact: Contact
    campaign_id: str | None
    telephony_sid: str
    metadata: Mapping[str, Any]
    dynamic_variables: Mapping[str, str]
    updated_ms: int
    # Pinned calls from a vendor's documentation keep that vendor's own id and any fields the
    # canonical model cannot express, so a curl copied from the docs gets the docs' answer.
    vendor_ids: Mapping[str, str] = field(default_factory=dict)
    vendor_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    origin: str | None = None  # the vendor a client created it through (webhooks go there)
    # Where the client asked this call's events to be sent, when it created it (ContactShip's
    # `webhook_url`); the origin vendor's webhooks go there. Never rendered.
    webhook_url: str | None = None
    # The batch a client's batch request placed this call in (Retell's `batch_call_id`), which
    # lists can filter on.
    batch_call_id: str | None = None

    @property
    def duration_ms(self) -> int | None:
        if self.start_ms is None or self.end_ms is None:
            return None
        return self.end_ms - self.start_ms

    @property
    def combined_cost(self) -> float:
        return round(sum(line.cost for line in self.costs), 4)

    @property
    def transcript(self) -> str:
        return "".join(f"{_SPEAKER[t.role]}: {t.text}\n" for t in self.turns)


_SPEAKER: Mapping[Role, str] = {"agent": "Agent", "user": "User"}
