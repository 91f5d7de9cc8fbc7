"""Generated calls: a pure function of (seed, tenant, index).

Nothing here reads the wall clock or Python's per-process hash: every random choice comes
from a blake2b digest of the triple (directly for the few draws of a call's head, through a
`random.Random` it seeds for the rest), and names from the seed's Faker-drawn pools
(sandbox.calls.people), so the same index gives the same call in any process, in any request order.

Index 0 is a tenant's newest call; `created_ms` falls strictly as the index grows, so lists
sorted by time walk the indices in order without generating the rest of the population.
A generated call is a plan: the whole call as it will have happened, with its outcome.
What a client sees at an instant is that plan observed then (`lifecycle.observe`), so the
same call is queued, ringing, in progress, ended and analysed as the sandbox clock moves on.

The first nine indices show every scenario once at the reference instant, so a fresh sandbox
always exhibits the whole vocabulary: the three live ones first (a call in progress for a few
seconds, a queued one that dials within minutes, one scheduled hours ahead), then the six ended
ones in a seeded order. Every later call follows the fixtures' scenario mix, which only holds
ended scenarios: nothing rings for three weeks. Ended calls start at least 15 minutes before
the reference instant, so none of them ends in the sandbox's future.
"""

from __future__ import annotations

import itertools
import random
import string
from bisect import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

from sandbox.calls import dialogues
from sandbox.calls.fixtures import FixtureSet, Tenant
from sandbox.calls.ids import CallIds, digest_int, uuid_from
from sandbox.calls.lifecycle import observe
from sandbox.calls.model import (
    Agent,
    Analysis,
    Call,
    CallType,
    Contact,
    CostLine,
    Direction,
    LatencySeries,
    Scenario,
    Sentiment,
    ToolCall,
    Turn,
    Word,
)
from sandbox.calls.people import People, people

LIVE: tuple[Scenario, ...] = (Scenario.IN_PROGRESS, Scenario.QUEUED, Scenario.SCHEDULED)
ENDED: tuple[Scenario, ...] = tuple(s for s in Scenario if s.ended)
# How long before the reference instant each live call was created: (at least, spread), in ms.
_LIVE_CREATED: tuple[tuple[int, int], ...] = ((12_000, 10_000), (60_000, 45_000), (120_000, 45_000))
_ENDED_AFTER_MS = 15 * 60_000
PLANS_KEPT = 2048  # generated plans kept (about 16 KiB each; every call of 4 default tenants)
_DAY_MS = 86_400_000

_DISCONNECTION: Mapping[Scenario, tuple[str, ...]] = {
    Scenario.COMPLETED: ("user_hangup", "agent_hangup"),
    Scenario.VOICEMAIL: ("voicemail_reached",),
    Scenario.NO_ANSWER: ("dial_no_answer",),
    Scenario.BUSY: ("dial_busy",),
    Scenario.FAILED: ("dial_failed",),
    Scenario.TRANSFERRED: ("call_transfer",),
}
# How long a call that never connected took, in ms: ringing out, a busy tone, a failed dial.
_UNCONNECTED_SPAN: Mapping[Scenario, tuple[int, int]] = {
    Scenario.NO_ANSWER: (25_000, 45_000),
    Scenario.BUSY: (1_500, 6_000),
    Scenario.FAILED: (300, 2_500),
}
# Per-second prices in cents, in the spirit of the vendors' public price lists.
_PRODUCTS: tuple[tuple[str, float], ...] = (
    ("voice_engine", 0.1167),
    ("llm_gpt_4o_mini", 0.01),
    ("telephony", 0.025),
)
_WEB_PRODUCTS = _PRODUCTS[:2]
# A word's pace in ms a letter (45 to 70) and the pause after it (20 to 90 ms), by random byte.
_PACE: tuple[int, ...] = tuple(45 + b % 26 for b in range(256))
_PAUSE: tuple[int, ...] = tuple(20 + b % 71 for b in range(256))
_TWO_64 = float(1 << 64)
_MASK_64 = (1 << 64) - 1
_SENTIMENTS: tuple[tuple[float, Sentiment], ...] = ((0.6, "positive"), (0.9, "neutral"))
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Head:
    """The cheap part of a generated call, enough to sort, page and filter by most fields.

    `scenario` is the planned outcome (always an ended one); `stage` is what the call is at
    the reference instant (a live scenario for the three newest calls, else the outcome).
    """

    tenant: str
    key: tuple[object, ...]  # what seeds the rest of the call: (tenant, index) or the call id
    id: str
    scenario: Scenario
    stage: Scenario
    agent: Agent
    call_type: CallType
    direction: Direction
    created_ms: int


def _rng(*parts: object) -> random.Random:
    # random.Random seeded with an int is the same in every process and PYTHONHASHSEED.
    return random.Random(digest_int(*parts))


def _units(*parts: object) -> tuple[float, float, float, float]:
    """Four uniform draws in [0, 1) from one digest of `parts`: the few draws a call's head
    needs, without seeding a generator."""
    value = digest_int(*parts)
    return (
        (value >> 192) / _TWO_64,
        (value >> 128 & _MASK_64) / _TWO_64,
        (value >> 64 & _MASK_64) / _TWO_64,
        (value & _MASK_64) / _TWO_64,
    )


def _pick(rng: random.Random, choices: Sequence[_T]) -> _T:
    """One of `choices`, uniformly (random.choice, in a fifth of the time)."""
    return choices[int(rng.random() * len(choices))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """An integer from low to high, both included (random.randint, in a fifth of the time)."""
    return low + int(rng.random() * (high - low + 1))


class Generator:
    """Generates the calls of every tenant of one FixtureSet."""

    def __init__(
        self,
        fixtures: FixtureSet,
        *,
        tenants: Mapping[str, Tenant] | None = None,
        cache_size: int = PLANS_KEPT,
    ) -> None:
        self._fixtures = fixtures
        # The sandbox's tenants: the fixtures' and, with open tenancy, one per new key.
        self._tenants = tenants if tenants is not None else fixtures.tenants
        self._seed = fixtures.seed
        self._reference = fixtures.reference_ms
        self.ids = CallIds(fixtures.seed, self._tenants)
        mix = fixtures.population.scenario_mix
        self._outcomes = tuple(s for s, w in mix.items() if w > 0)
        self._outcome_weights = list(itertools.accumulate(w for w in mix.values() if w > 0))
        self._first_ended: dict[str, tuple[Scenario, ...]] = {}
        self._agents: dict[str, tuple[Agent, ...]] = {}
        for tenant in self._tenants:
            self.register(tenant)
        self.plan = lru_cache(maxsize=cache_size)(self._generate)

    def register(self, tenant: str) -> None:
        """Prepare to generate the calls of a tenant (one added after start, too)."""
        self.ids.add(tenant)
        order = _rng(self._seed, "first", tenant).sample(ENDED, len(ENDED))
        self._first_ended[tenant] = tuple(order)
        self._agents[tenant] = tuple(a for a in self._tenants[tenant].agents if a.generates)

    def size(self, tenant: str) -> int:
        return self._tenants[tenant].population

    def created_ms(self, tenant: str, index: int) -> int:
        """When call `index` was created: strictly earlier for every later index."""
        window = self._fixtures.population.window_days * _DAY_MS
        jitter = _units(self._seed, "when", tenant, index)[0]
        if index < len(LIVE):
            least, spread = _LIVE_CREATED[index]
            offset = least + int(jitter * spread)
        else:
            spacing = max(window // max(self.size(tenant), 1), 2)
            offset = _ENDED_AFTER_MS + (index - len(LIVE)) * spacing + int(jitter * (spacing - 1))
        return self._reference - 1_000 - offset

    def head(self, tenant: str, index: int) -> Head:
        draw_outcome, draw_agent, draw_web, draw_direction = _units(
            self._seed, "head", tenant, index
        )
        if len(LIVE) <= index < len(LIVE) + len(ENDED):
            scenario = self._first_ended[tenant][index - len(LIVE)]
        else:
            weights = self._outcome_weights
            scenario = self._outcomes[bisect(weights, draw_outcome * weights[-1])]
        stage = LIVE[index] if index < len(LIVE) else scenario
        if stage is Scenario.IN_PROGRESS:
            scenario = Scenario.COMPLETED  # a whole conversation, of which a few seconds are said
        agents = self._agents[tenant]
        agent = agents[int(draw_agent * len(agents))]
        web = scenario is Scenario.COMPLETED and draw_web < 0.12
        direction: Direction = "inbound" if web or draw_direction < 0.4 else "outbound"
        return Head(
            tenant=tenant,
            key=(tenant, index),
            id=self.ids.encode(tenant, index),
            scenario=scenario,
            stage=stage,
            agent=agent,
            call_type="web_call" if web else "phone_call",
            direction=direction,
            created_ms=self.created_ms(tenant, index),
        )

    def _generate(self, tenant: str, index: int) -> Call:
        # Every draw comes from generators made for this one call, so two threads (a test's
        # server and its in-process client) may generate at the same time.
        return _CallBuilder(self, self._tenants[tenant], self.head(tenant, index)).build()

    def call(self, tenant: str, index: int) -> Call:
        """Call `index` as a client sees it at the reference instant."""
        return observe(self.plan(tenant, index), self._reference)

    def plan_created(self, request: Call, outcome: Scenario) -> Call:
        """The whole future of a call a client just created: when it dials, what is said, how
        it ends. Seeded by the call's id, so the same creation gives the same call."""
        head = Head(
            tenant=request.tenant,
            key=("created", request.id),
            id=request.id,
            scenario=outcome,
            stage=Scenario.SCHEDULED if request.scheduled_ms is not None else Scenario.QUEUED,
            agent=request.agent,
            call_type=request.call_type,
            direction=request.direction,
            created_ms=request.created_ms,
        )
        built = _CallBuilder(self, self._tenants[request.tenant], head).build(
            dial_at=request.scheduled_ms or request.created_ms
        )
        return replace(
            request,
            scenario=outcome,
            start_ms=built.start_ms,
            end_ms=built.end_ms,
            disconnection_reason=built.disconnection_reason,
            turns=built.turns,
            tool_calls=built.tool_calls,
            analysis=built.analysis,
            costs=built.costs,
            latency=built.latency,
            recording_url=built.recording_url,
        )

    @property
    def people(self) -> People:
        """The names generated calls use (drawn from Faker at the first call generated)."""
        return people(digest_int(self._seed, "faker"))

    @property
    def reference_ms(self) -> int:
        return self._reference


class _CallBuilder:
    def __init__(self, generator: Generator, tenant: Tenant, head: Head) -> None:
        self.g = generator
        self.tenant = tenant
        self.head = head
        self.rng = _rng(generator._seed, "body", *head.key)
        self.people = generator.people

    def slots(self) -> dict[str, str]:
        names, rng = self.people, self.rng
        first, last = _pick(rng, names.first), _pick(rng, names.last)
        day = self.head.created_ms + _between(rng, 1, 9) * _DAY_MS
        day_text = _day(day)
        hour = _between(rng, 8, 15)
        return {
            "caller_first": first,
            "caller": f"{first} {last}",
            "email": f"{first}.{last}@example.com".lower(),
            "agent_first": self.head.agent.name.split()[0],
            "company": self.tenant.name,
            "doctor": f"Dr. {_pick(rng, names.last)}",
            "date_iso": day_text[0],
            "date_spoken": day_text[1],
            "time": f"{hour % 12 or 12}:{_pick(rng, ('00', '30'))} {'AM' if hour < 12 else 'PM'}",
            "time_alt": f"{(hour + 2) % 12 or 12}:15 {'AM' if hour + 2 < 12 else 'PM'}",
            "confirmation": f"{_letters(rng, 2)}-{_digits(rng, 4)}",
            "order": _digits(rng, 7),
            "carrier": _pick(rng, ("UPS", "FedEx", "DHL", "USPS")),
            "street": _pick(rng, names.streets),
            "plan": _pick(rng, ("Basic", "Plus", "Premium", "Family")),
            "discount": _pick(rng, ("10", "15", "20")),
            "amount": f"{_between(rng, 49, 480)}.{_pick(rng, ('00', '99', '50'))}",
            "account": f"AC-{_digits(rng, 8)}",
            "last4": _digits(rng, 4),
            "invoice": f"INV-{_digits(rng, 6)}",
            "ticket": f"TCK-{_digits(rng, 5)}",
            "callback": _fictional_number(rng),
            "transfer_to": _fictional_number(rng),
            "country": "US",
        }

    def build(self, *, dial_at: int | None = None) -> Call:
        """The planned call. It dials at `dial_at` (default: just after it was created; the
        queued and scheduled calls of the population dial after the reference instant)."""
        head, rng = self.head, self.rng
        slots = self.slots()
        scenario = head.scenario
        customer = _fictional_number(rng)
        agent_number = head.agent.phone_number
        scheduled: int | None = None
        ring = _between(rng, 400, 3_500)
        if dial_at is not None:
            start = dial_at + ring
        elif head.stage is Scenario.SCHEDULED:
            scheduled = self.g.reference_ms + _between(rng, 1, 72) * 3_600_000
            start = scheduled + ring
        elif head.stage is Scenario.QUEUED:
            start = self.g.reference_ms + _between(rng, 20_000, 90_000)
        else:
            start = head.created_ms + ring

        steps = self._steps(scenario) if scenario.connected else []
        turns, tools = _timeline(steps, slots, rng)
        if scenario.connected:
            # The call ends after its last word or tool call (a transfer is the last thing
            # an agent does).
            said = max([0, *(t.end_ms for t in turns[-1:]), *(t.at_ms for t in tools[-1:])])
            end = start + said + _between(rng, 600, 2_000)
        else:
            low, high = _UNCONNECTED_SPAN[scenario]
            end = start + _between(rng, low, high)
        ended_connected = scenario.connected
        duration_s = (end - start) / 1000 if ended_connected else 0.0
        products = _PRODUCTS if head.call_type == "phone_call" else _WEB_PRODUCTS
        costs = (
            tuple(CostLine(name, price, round(price * duration_s, 4)) for name, price in products)
            if ended_connected
            else ()
        )
        reasons = _DISCONNECTION.get(scenario)
        outbound = head.direction == "outbound"
        return Call(
            id=head.id,
            tenant=head.tenant,
            source="generated",
            agent=head.agent,
            call_type=head.call_type,
            direction=head.direction,
            from_number=agent_number if outbound else customer,
            to_number=customer if outbound else agent_number,
            scenario=scenario,
            created_ms=head.created_ms,
            start_ms=start,
            end_ms=end,
            scheduled_ms=scheduled,
            disconnection_reason=_pick(rng, reasons) if reasons else None,
            turns=tuple(turns),
            tool_calls=tuple(tools),
            analysis=self._analysis(slots) if ended_connected else None,
            costs=costs,
            latency=_latency(turns, rng) if ended_connected else {},
            recording_url=(
                f"https://recordings.example.com/{head.tenant}/{head.id}.wav"
                if ended_connected
                else None
            ),
            contact=Contact(
                id=uuid_from(self.g._seed, "contact", head.tenant, slots["caller"]),
                full_name=slots["caller"],
                email=slots["email"],
                country=slots["country"],
            ),
            campaign_id=_campaign(self.g._seed, head.tenant, head.agent.id) if outbound else None,
            telephony_sid=f"CA{rng.getrandbits(128):032x}",
            metadata={"crm_contact_id": slots["account"], "topic": head.agent.topic},
            dynamic_variables={"customer_name": slots["caller_first"], "company": slots["company"]},
            updated_ms=head.created_ms,  # no client has edited it; see lifecycle.observe
        )

    def _steps(self, scenario: Scenario) -> list[dialogues.Step]:
        topic = self.head.agent.topic
        if scenario is Scenario.VOICEMAIL:
            return [dialogues.VOICEMAIL_GREETING, dialogues.VOICEMAIL_MESSAGE[topic]]
        opening = (
            [dialogues.OPENING_OUTBOUND, dialogues.CONFIRM_IDENTITY]
            if self.head.direction == "outbound"
            else [dialogues.OPENING_INBOUND]
        )
        script = list(dialogues.SCRIPTS[topic])
        if scenario is Scenario.TRANSFERRED:
            cut = next(i for i, s in enumerate(script) if isinstance(s, dialogues.Tool))
            return [
                *opening,
                *script[:cut],
                dialogues.TRANSFER_REQUEST,
                dialogues.TRANSFER_ANNOUNCE,
                dialogues.TRANSFER_TOOL,
            ]
        return [*opening, *script]

    def _analysis(self, slots: Mapping[str, str]) -> Analysis:
        scenario, rng = self.head.scenario, self.rng
        sentiment: Sentiment
        if scenario is Scenario.VOICEMAIL:
            summary, sentiment, successful = dialogues.VOICEMAIL_SUMMARY, "neutral", False
        elif scenario is Scenario.TRANSFERRED:
            summary, sentiment, successful = dialogues.TRANSFER_SUMMARY, "neutral", True
        else:
            summary = dialogues.SUMMARIES[self.head.agent.topic]
            draw = rng.random()
            sentiment = next((s for below, s in _SENTIMENTS if draw < below), "negative")
            successful = sentiment != "negative"
        return Analysis(
            summary=summary.format_map(slots),
            sentiment=sentiment,
            successful=successful,
            in_voicemail=scenario is Scenario.VOICEMAIL,
            custom={"topic": self.head.agent.topic, "follow_up_required": not successful},
        )


_AREAS = ("202", "212", "305", "312", "415", "503", "512", "617", "702", "919")


def _fictional_number(rng: random.Random) -> str:
    """A North American number in the 555-0100..0199 range reserved for fiction."""
    area = _pick(rng, _AREAS)
    return f"+1{area}5550{_between(rng, 100, 199)}"


def _digits(rng: random.Random, count: int) -> str:
    """`count` random decimal digits (leading zeros too), as on an order or account number."""
    return f"{int(rng.random() * 10**count):0{count}d}"


def _letters(rng: random.Random, count: int) -> str:
    return "".join([_pick(rng, string.ascii_uppercase) for _ in range(count)])


@lru_cache(maxsize=64)  # (a handful of agents per tenant)
def _campaign(seed: int, tenant: str, agent: str) -> str:
    """The id of the campaign an agent's outbound calls belong to."""
    return uuid_from(seed, "campaign", tenant, agent)


def _day(ms: int) -> tuple[str, str]:
    return _day_text(ms // _DAY_MS)


@lru_cache(maxsize=1_024)  # (a few hundred days cover every appointment generated)
def _day_text(day: int) -> tuple[str, str]:
    """The day's date, as written and as said (UTC)."""
    moment = datetime.fromtimestamp(day * _DAY_MS // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d"), f"{moment.strftime('%A, %B')} {moment.day}"


def _timeline(
    steps: Sequence[dialogues.Step], slots: Mapping[str, str], rng: random.Random
) -> tuple[list[Turn], list[ToolCall]]:
    """Lay the script out in time: words at speaking pace, pauses between turns, tool latency."""
    turns: list[Turn] = []
    tools: list[ToolCall] = []
    cursor = _between(rng, 300, 1_200)
    new = tuple.__new__
    for step in steps:
        if isinstance(step, dialogues.Tool):
            at = cursor + _between(rng, 80, 250)
            tools.append(
                ToolCall(
                    id=f"tool_call_{rng.getrandbits(48):012x}",
                    name=step.name,
                    arguments={k: v.format_map(slots) for k, v in step.arguments.items()},
                    result=step.result.format_map(slots),
                    successful=True,
                    after_turn=len(turns) - 1,
                    at_ms=at,
                )
            )
            cursor = at + _between(rng, 300, 1_100)
            continue
        text = _pick(rng, step.lines).format_map(slots)
        tokens = text.split()
        # Two random bytes a word: its pace (45 to 70 ms a letter, and as much for the space)
        # and the pause after it (20 to 90 ms).
        draws = rng.randbytes(2 * len(tokens))
        words: list[Word] = []
        append = words.append
        for token, pace, pause in zip(tokens, draws[::2], draws[1::2], strict=True):
            end = cursor + _PACE[pace] * (len(token) + 1)
            # (A NamedTuple's constructor is a Python function; tuple.__new__ is the same.)
            append(new(Word, (token, cursor, end)))
            cursor = end + _PAUSE[pause]
        turns.append(Turn(role=step.role, text=text, words=tuple(words)))
        cursor += _between(rng, 450, 1_300)
    return turns, tools


def _latency(turns: Sequence[Turn], rng: random.Random) -> dict[str, LatencySeries]:
    count = max(sum(1 for t in turns if t.role == "agent"), 1)
    ranges = {"e2e": (650.0, 1_600.0), "llm": (280.0, 900.0), "tts": (90.0, 320.0)}
    draw = rng.random
    return {
        name: LatencySeries(tuple([round(low + (high - low) * draw(), 1) for _ in range(count)]))
        for name, (low, high) in ranges.items()
    }
