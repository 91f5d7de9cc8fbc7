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
import math
import random
import string
from bisect import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache, partial
from itertools import accumulate
from operator import add, mul
from typing import Any, TypeVar

from sandbox.calls.conversation import Called, Conversation, Kind, Said, converse
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
    ToolCall,
    Turn,
    Word,
)
from sandbox.calls.packs import Pack, compact, filled, pack_for, pick_line, say
from sandbox.calls.people import People, people

LIVE: tuple[Scenario, ...] = (Scenario.IN_PROGRESS, Scenario.QUEUED, Scenario.SCHEDULED)
ENDED: tuple[Scenario, ...] = tuple(s for s in Scenario if s.ended)
# How long before the reference instant each live call was created: (at least, spread), in ms.
_LIVE_CREATED: tuple[tuple[int, int], ...] = ((12_000, 10_000), (60_000, 45_000), (120_000, 45_000))
_ENDED_AFTER_MS = 15 * 60_000
# Generated plans kept: conversations of minutes make a plan about 30 KiB, so 1,024 of them
# (every call of two default tenants) keep RSS under 150 MB beside the kept answers.
PLANS_KEPT = 1024
_DAY_MS = 86_400_000

_DISCONNECTION: Mapping[Scenario, str] = {
    Scenario.NO_ANSWER: "dial_no_answer",
    Scenario.BUSY: "dial_busy",
    Scenario.FAILED: "dial_failed",
}
# Only a call the agent placed can go unanswered, hit a busy line or fail to dial, or reach a
# voicemail box: a caller who dials in has already got through.
_AGENT_DIALLED = frozenset({Scenario.VOICEMAIL, Scenario.NO_ANSWER, Scenario.BUSY, Scenario.FAILED})
_INBOUND_SHARE = 0.45  # of the calls that could go either way
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
        self._packs: dict[tuple[str, str], Pack] = {}
        for tenant in self._tenants:
            self.register(tenant)
        self.plan = lru_cache(maxsize=cache_size)(self._generate)

    def register(self, tenant: str) -> None:
        """Prepare to generate the calls of a tenant (one added after start, too)."""
        self.ids.add(tenant)
        order = _rng(self._seed, "first", tenant).sample(ENDED, len(ENDED))
        self._first_ended[tenant] = tuple(order)
        self._agents[tenant] = tuple(a for a in self._tenants[tenant].agents if a.generates)
        named = self._tenants[tenant].packs
        available = self._fixtures.packs
        chosen = [available[p] for p in named] if named else list(available.values())
        for agent in self._tenants[tenant].agents:
            found = pack_for(agent.topic, agent.language, chosen)
            if found is not None:
                self._packs[tenant, agent.id] = found

    def pack(self, tenant: str, agent: Agent) -> Pack:
        """The dialogue pack an agent's calls follow (the fixtures checked that one exists; an
        agent made up since talks as the tenant's first agent does)."""
        found = self._packs.get((tenant, agent.id))
        if found is None:
            found = pack_for(agent.topic, agent.language, self._fixtures.packs.values())
        if found is None:
            found = self._packs.get((tenant, self._agents[tenant][0].id))
        if found is None:
            found = next(iter(self._fixtures.packs.values()))
        return found

    def unregister(self, tenant: str) -> None:
        """Forget a tenant added after start (open tenancy evicted it); `register` brings it
        back, generating the same calls."""
        self.ids.discard(tenant)
        self._first_ended.pop(tenant, None)
        self._agents.pop(tenant, None)
        for key in [k for k in self._packs if k[0] == tenant]:
            del self._packs[key]

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
        direction: Direction = (
            "outbound"
            if scenario in _AGENT_DIALLED
            else "inbound"
            if web or draw_direction < _INBOUND_SHARE
            else "outbound"
        )
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
        self.pack = generator.pack(tenant.id, head.agent)

    def slots(self) -> dict[str, str]:
        """The call's own values, drawn once, so every line and tool call agrees on them.
        Dates follow the call's instant: an appointment days ahead, an order days before."""
        names, rng, created = self.people, self.rng, self.head.created_ms
        spoken = _SPOKEN.get(self.pack.language.split("-")[0], _SPOKEN["en"])
        first, last = _pick(rng, names.first), _pick(rng, names.last)
        day = created + _between(rng, 1, 9) * _DAY_MS
        eta = created + _between(rng, 1, 3) * _DAY_MS
        hour, alt = _between(rng, 8, 13), _between(rng, 14, 17)
        minute, minute_alt = _pick(rng, (0, 15, 30, 45)), _pick(rng, (0, 30))
        window = _between(rng, 9, 15)
        born = _between(rng, -10_950, 12_400)  # 1940 to 2003, as days since 1970
        amount = _between(rng, 4_900, 48_000)
        slots = {
            "caller_first": first,
            "caller": f"{first} {last}",
            "email": f"{first}.{last}@example.com".lower(),
            "agent_first": self.head.agent.name.split()[0],
            "company": self.tenant.name,
            "doctor": f"{spoken.doctor} {_pick(rng, names.last)}",
            "date_iso": _iso(day),
            "date_spoken": spoken.day(day // _DAY_MS),
            "today_spoken": spoken.day(created // _DAY_MS),
            "order_date_spoken": spoken.day(created // _DAY_MS - _between(rng, 2, 6)),
            "eta_date_iso": _iso(eta),
            "eta_date_spoken": spoken.day(eta // _DAY_MS),
            "eta_window": spoken.window(window, window + 3),
            "birth_date": spoken.birth(born),
            "time": spoken.time(hour, minute),
            "time_alt": spoken.time(alt, minute_alt),
            "confirmation": f"{_letters(rng, 2)}-{_digits(rng, 4)}",
            "order": _digits(rng, 7),
            "tracking": f"1Z{_digits(rng, 6)}{_letters(rng, 2)}{_digits(rng, 8)}",
            "carrier": _pick(rng, ("UPS", "FedEx", "DHL", "USPS")),
            "street": _pick(rng, names.streets),
            "address": _pick(rng, names.addresses),
            "amount": _money(amount),
            "amount_alt": _money(amount * _between(rng, 80, 92) // 100),
            "refund": _money(_between(rng, 900, 4_000)),
            "account": f"AC-{_digits(rng, 8)}",
            "last4": _digits(rng, 4),
            "invoice": f"INV-{_digits(rng, 6)}",
            "ticket": f"TCK-{_digits(rng, 5)}",
            "callback": _fictional_number(rng),
            "transfer_to": _fictional_number(rng),
            "minutes": str(_between(rng, 5, 40)),
            "country": "US",
        }
        for name, values in self.pack.slots:
            slots[name] = _pick(rng, values)
        return slots

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

        talk = (
            converse(self.pack, head.direction, _KIND[scenario], rng.random, slots)
            if scenario.connected
            else None
        )
        turns, tools = _timeline(talk.items if talk else (), slots, rng)
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
            disconnection_reason=_disconnection(scenario, talk),
            turns=tuple(turns),
            tool_calls=tuple(tools),
            analysis=self._analysis(talk, slots) if talk is not None else None,
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

    def _analysis(self, talk: Conversation, slots: Mapping[str, str]) -> Analysis:
        """What the conversation reads as: the analysis its pack wrote for the ending the
        path reached, with this call's values."""
        written = talk.analysis
        draw = self.rng.random
        custom: dict[str, Any] = {
            "topic": self.head.agent.topic,
            "intent": talk.intent,
            "outcome": talk.outcome,
            "follow_up_required": not written.successful,
        }
        custom.update(filled(written.custom, slots))
        return Analysis(
            summary=say(pick_line(written.summary, draw), draw, slots),
            sentiment=written.sentiment,
            successful=written.successful,
            in_voicemail=talk.ended_by == "voicemail",
            custom=custom,
        )


_KIND: Mapping[Scenario, Kind] = {
    Scenario.COMPLETED: "completed",
    Scenario.IN_PROGRESS: "completed",
    Scenario.VOICEMAIL: "voicemail",
    Scenario.TRANSFERRED: "transferred",
}
_ENDED_BY: Mapping[str, str] = {
    "user": "user_hangup",
    "agent": "agent_hangup",
    "transfer": "call_transfer",
    "voicemail": "voicemail_reached",
}


def _disconnection(scenario: Scenario, talk: Conversation | None) -> str | None:
    """Who hung up follows from the conversation; a dial that never connected says how."""
    if talk is not None:
        return _ENDED_BY[talk.ended_by] if scenario.ended else None
    return _DISCONNECTION.get(scenario)


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


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@lru_cache(maxsize=64)  # (a handful of agents per tenant)
def _campaign(seed: int, tenant: str, agent: str) -> str:
    """The id of the campaign an agent's outbound calls belong to."""
    return uuid_from(seed, "campaign", tenant, agent)


def _iso(ms: int) -> str:
    return _date(ms // _DAY_MS).strftime("%Y-%m-%d")


@lru_cache(maxsize=32_768)  # (every day a generated date falls on, birthdays included)
def _date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


@dataclass(frozen=True, slots=True)
class _Spoken:
    """How one language says the dates, times and titles a call's slots hold."""

    doctor: str
    weekdays: tuple[str, ...]
    months: tuple[str, ...]
    day_format: str  # with {weekday}, {month}, {day}
    birth_format: str  # with {month}, {day}, {year}
    time_format: Callable[[int, int], str]
    window_format: str  # with {start} and {end}, each a time

    def day(self, day: int) -> str:
        return _spoken_day(self, day)

    def birth(self, day: int) -> str:
        when = _date(day)
        return self.birth_format.format(
            month=self.months[when.month - 1], day=when.day, year=when.year
        )

    def time(self, hour: int, minute: int) -> str:
        return self.time_format(hour, minute)

    def window(self, start: int, end: int) -> str:
        return self.window_format.format(start=self.time(start, 0), end=self.time(end, 0))


@lru_cache(maxsize=4_096)
def _spoken_day(spoken: _Spoken, day: int) -> str:
    when = _date(day)
    return spoken.day_format.format(
        weekday=spoken.weekdays[when.weekday()], month=spoken.months[when.month - 1], day=when.day
    )


def _english_time(hour: int, minute: int) -> str:
    return f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


def _spanish_time(hour: int, minute: int) -> str:
    return f"{'la' if hour % 12 == 1 else 'las'} {hour}:{minute:02d}"


_SPOKEN: Mapping[str, _Spoken] = {
    "en": _Spoken(
        doctor="Dr.",
        weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        months=tuple(date(2000, m, 1).strftime("%B") for m in range(1, 13)),
        day_format="{weekday}, {month} {day}",
        birth_format="{month} {day}, {year}",
        time_format=_english_time,
        window_format="between {start} and {end}",
    ),
    "es": _Spoken(
        doctor="la doctora",
        weekdays=("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        months=(
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ),
        day_format="{weekday} {day} de {month}",  # packs say "el" or "del" before it
        birth_format="{day} de {month} de {year}",
        time_format=_spanish_time,
        window_format="entre {start} y {end}",
    ),
}


def _timeline(
    items: Sequence[Said | Called], slots: Mapping[str, str], rng: random.Random
) -> tuple[list[Turn], list[ToolCall]]:
    """Lay the conversation out in time: words at speaking pace, pauses between turns (cut
    short when someone cuts in, long when a caller hesitates), tool latency."""
    turns: list[Turn] = []
    tools: list[ToolCall] = []
    cursor = _between(rng, 300, 1_200)
    word = partial(tuple.__new__, Word)
    for item in items:
        if isinstance(item, Called):
            step = item.tool
            at = cursor + _between(rng, 80, 250)
            tools.append(
                ToolCall(
                    id=f"tool_call_{rng.getrandbits(48):012x}",
                    name=step.name,
                    arguments=filled(step.arguments, slots),
                    result=compact(filled(step.result, slots)),
                    successful=step.successful,
                    after_turn=len(turns) - 1,
                    at_ms=at,
                )
            )
            cursor = at + _between(rng, 300, 1_100)
            continue
        if item.gap == "quick" and turns:
            cursor = turns[-1].end_ms + _between(rng, 60, 220)
        elif item.gap == "long":
            cursor += _between(rng, 2_500, 7_000)
        elif item.gap == "hold":
            # On hold: mostly under a minute, now and then several.
            cursor += min(15_000 + int(-math.log(1.0 - rng.random()) * 90_000), 480_000)
        tokens = item.text.split()
        # Two random bytes a word: its pace (45 to 70 ms a letter, and as much for the space)
        # and the pause after it (20 to 90 ms). A word starts where the one before ended,
        # plus its pause; the sums run in C (a call says a few hundred words).
        draws = rng.randbytes(2 * len(tokens))
        spoken = list(map(mul, map(_PACE.__getitem__, draws[::2]), [len(t) + 1 for t in tokens]))
        starts = list(
            accumulate(map(add, spoken, map(_PAUSE.__getitem__, draws[1::2])), initial=cursor)
        )
        cursor = starts.pop()
        # (A NamedTuple's constructor is a Python function; tuple.__new__ is the same.)
        words = tuple(map(word, zip(tokens, starts, map(add, starts, spoken), strict=True)))
        turns.append(Turn(role=item.role, text=" ".join(tokens), words=words))
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
