"""YAML fixtures: what exists in the sandbox.

`sandbox.yaml` holds the seed, the reference instant (the sandbox's "now"), the population and
the tenants with their per-vendor keys and agents; `calls/*.yaml` hold calls pinned by hand,
among them the vendors' own documentation examples. Both are validated against
`schemas/fixtures/` before anything is built, and a bad file stops start-up with the file, the
key path and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from sandbox.calls.instants import parse_iso
from sandbox.calls.model import (
    Agent,
    Analysis,
    Call,
    Contact,
    CostLine,
    LatencySeries,
    Scenario,
    ToolCall,
    Turn,
    Word,
)
from sandbox.calls.packs import Pack, PackError, compile_pack, pack_for
from sandbox.resources import data_dir
from sandbox.schemas import SchemaRegistry


class FixtureError(Exception):
    """A fixture file is missing, not YAML, or breaks its schema. The message says where."""


@dataclass(frozen=True, slots=True)
class Population:
    size: int
    window_days: int
    scenario_mix: Mapping[Scenario, int]


@dataclass(frozen=True, slots=True)
class OutcomeRule:
    """How calls to some numbers end: `{to_number_prefix: "+1212", to_number_suffix: "0199",
    scenario: busy}` (both parts optional)."""

    scenario: Scenario
    prefix: str = ""
    suffix: str = ""

    def matches(self, number: str) -> bool:
        return number.startswith(self.prefix) and number.endswith(self.suffix)


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    population: int
    keys: Mapping[str, Mapping[str, str]]
    agents: tuple[Agent, ...]
    packs: tuple[str, ...] = ()  # the dialogue packs its calls use (none named: every pack)


@dataclass(frozen=True, slots=True)
class FixtureSet:
    directory: Path
    seed: int
    reference_ms: int
    population: Population
    tenants: Mapping[str, Tenant]
    default_tenant: str
    pinned: tuple[Call, ...]
    outcome_rules: tuple[OutcomeRule, ...] = ()
    # The dialogue packs, by id: the sandbox's own, then the fixtures folder's (same id wins).
    packs: Mapping[str, Pack] = field(default_factory=dict)

    def with_seed(self, seed: int) -> FixtureSet:
        return replace(self, seed=seed)


# yaml.safe_load's loader, in C when PyYAML was built with libyaml (start-up reads every file).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LOADER)
    except FileNotFoundError:
        raise FixtureError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise FixtureError(f"{path}: not valid YAML: {exc}") from None


def _validated(path: Path, schema: str, schemas: SchemaRegistry) -> Any:
    document = _read_yaml(path)
    problems = schemas.problems(schema, document)
    if problems:
        lines = "\n".join(f"  {p.location or '(top level)'}: {p.message}" for p in problems)
        raise FixtureError(f"{path}: does not match schemas/{schema}:\n{lines}")
    return document


def load_fixtures(directory: Path, schemas: SchemaRegistry) -> FixtureSet:
    """Read and validate a fixtures folder into a FixtureSet, or raise FixtureError."""
    main = directory / "sandbox.yaml"
    document = _validated(main, "fixtures/sandbox.json", schemas)
    population = Population(
        size=document["population"]["size"],
        window_days=document["population"]["window_days"],
        scenario_mix={Scenario(k): v for k, v in document["population"]["scenario_mix"].items()},
    )
    if not any(population.scenario_mix.values()):
        raise FixtureError(f"{main}: population.scenario_mix: give at least one scenario a weight")
    tenants = {t["id"]: _tenant(t, population.size) for t in document["tenants"]}
    packs = load_packs(directory, schemas)
    for tenant in tenants.values():
        _check_packs(main, tenant, packs)
    for tenant in tenants.values():
        if not any(a.generates for a in tenant.agents):
            raise FixtureError(
                f"{main}: tenant {tenant.id}: give at least one agent generates: true"
            )
    if len(tenants) != len(document["tenants"]):
        raise FixtureError(f"{main}: tenants: every tenant id must be unique")
    defaults = [t["id"] for t in document["tenants"] if t.get("default")]
    if len(defaults) > 1:
        raise FixtureError(
            f"{main}: tenants: only one tenant may say default: true, not {defaults}"
        )
    pinned: list[Call] = []
    for path in sorted((directory / "calls").glob("*.yaml")):
        for position, raw in enumerate(_validated(path, "fixtures/calls.json", schemas)["calls"]):
            where = f"{path}: calls.{position}"
            pinned.append(_pinned_call(raw, tenants, where))
    ids = [c.id for c in pinned]
    if len(set(ids)) != len(ids):
        raise FixtureError(
            f"{directory / 'calls'}: two pinned calls share an id; ids must be unique"
        )
    return FixtureSet(
        directory=directory,
        seed=document["seed"],
        reference_ms=parse_iso(document["reference_instant"]),
        population=population,
        tenants=tenants,
        default_tenant=defaults[0] if defaults else document["tenants"][0]["id"],
        pinned=tuple(pinned),
        packs=packs,
        outcome_rules=tuple(
            OutcomeRule(
                scenario=Scenario(r["scenario"]),
                prefix=r.get("to_number_prefix", ""),
                suffix=r.get("to_number_suffix", ""),
            )
            for r in document.get("outcomes", [])
        ),
    )


def _tenant(raw: Mapping[str, Any], default_size: int) -> Tenant:
    agents = tuple(
        Agent(
            id=a["id"],
            name=a["name"],
            version=a.get("version", 1),
            topic=a["topic"],
            phone_number=a["phone_number"],
            language=a.get("language", "en-US"),
            webhook_url=a.get("webhook_url"),
            vendor_ids=a.get("vendor_ids", {}),
            generates=a.get("generates", True),
        )
        for a in raw["agents"]
    )
    return Tenant(
        id=raw["id"],
        name=raw["name"],
        population=raw.get("population", default_size),
        keys=raw["keys"],
        agents=agents,
        packs=tuple(raw.get("packs", ())),
    )


def load_packs(directory: Path, schemas: SchemaRegistry) -> dict[str, Pack]:
    """Every dialogue pack: the sandbox's own and those of `directory/dialogues/` (a user's
    pack for their own agent's script), each validated and compiled once."""
    folders = [data_dir("fixtures") / "dialogues", directory / "dialogues"]
    packs: dict[str, Pack] = {}
    seen: set[Path] = set()
    for folder in folders:
        if not folder.is_dir() or folder.resolve() in seen:
            continue
        seen.add(folder.resolve())
        for path in sorted(folder.glob("*.yaml")):
            raw = _validated(path, "fixtures/dialogues.json", schemas)
            try:
                packs[raw["id"]] = compile_pack(raw, str(path))
            except PackError as exc:
                raise FixtureError(str(exc)) from None
    return packs


def _check_packs(main: Path, tenant: Tenant, packs: Mapping[str, Pack]) -> None:
    unknown = [name for name in tenant.packs if name not in packs]
    if unknown:
        raise FixtureError(
            f"{main}: tenant {tenant.id}: packs: no dialogue pack {unknown}; known: {sorted(packs)}"
        )
    chosen = [packs[name] for name in tenant.packs] or list(packs.values())
    for agent in tenant.agents:
        if pack_for(agent.topic, agent.language, chosen) is None:
            raise FixtureError(
                f"{main}: tenant {tenant.id}: agent {agent.name}: no dialogue pack serves topic "
                f"{agent.topic!r} in {agent.language}; the tenant's packs serve "
                f"{sorted({(t, p.language) for p in chosen for t in p.topics})}"
            )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _turn(raw: Mapping[str, Any]) -> Turn:
    if "words" in raw:
        words = tuple(Word(w["word"], _ms(w["start"]), _ms(w["end"])) for w in raw["words"])
    else:
        words = spread_words(raw["text"], _ms(raw["start"]), _ms(raw["end"]))
    return Turn(role=raw["role"], text=raw["text"], words=words)


def spread_words(text: str, start_ms: int, end_ms: int) -> tuple[Word, ...]:
    """Time the words of `text` across [start, end], each in proportion to its length."""
    tokens = text.split()
    if not tokens:
        return ()
    total = sum(len(t) + 1 for t in tokens)
    span = end_ms - start_ms
    words: list[Word] = []
    cursor = 0
    for token in tokens:
        begin = start_ms + span * cursor // total
        cursor += len(token) + 1
        words.append(Word(token, begin, start_ms + span * (cursor - 1) // total))
    return tuple(words)


def _optional_instant(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    return parse_iso(value) if value is not None else None


def _pinned_call(raw: Mapping[str, Any], tenants: Mapping[str, Tenant], where: str) -> Call:
    tenant = tenants.get(raw["tenant"])
    if tenant is None:
        raise FixtureError(f"{where}.tenant: no tenant {raw['tenant']!r}; known: {sorted(tenants)}")
    agent = next((a for a in tenant.agents if a.id == raw["agent"]), None)
    if agent is None:
        known = [a.id for a in tenant.agents]
        raise FixtureError(
            f"{where}.agent: tenant {tenant.id} has no agent {raw['agent']}: {known}"
        )
    created = parse_iso(raw["created_at"])
    start = _optional_instant(raw, "started_at")
    end = _optional_instant(raw, "ended_at")
    if start is not None and end is not None and end < start:
        raise FixtureError(f"{where}.ended_at: must not be before started_at")
    analysis = raw.get("analysis")
    contact = raw.get("contact") or {
        "id": raw["id"],
        "full_name": "",
        "email": "",
        "country": "US",
    }
    return Call(
        id=raw["id"],
        tenant=tenant.id,
        source="pinned",
        agent=agent,
        call_type=raw["call_type"],
        direction=raw["direction"],
        from_number=raw["from_number"],
        to_number=raw["to_number"],
        scenario=Scenario(raw["scenario"]),
        created_ms=created,
        start_ms=start,
        end_ms=end,
        scheduled_ms=_optional_instant(raw, "scheduled_at"),
        disconnection_reason=raw.get("disconnection_reason"),
        turns=tuple(_turn(t) for t in raw.get("turns", [])),
        tool_calls=tuple(
            ToolCall(
                id=t["id"],
                name=t["name"],
                arguments=t["arguments"],
                result=t["result"],
                successful=t.get("successful", True),
                after_turn=t["after_turn"],
                at_ms=_ms(t["at"]),
            )
            for t in raw.get("tool_calls", [])
        ),
        analysis=Analysis(
            summary=analysis["summary"],
            sentiment=analysis["sentiment"],
            successful=analysis["successful"],
            in_voicemail=analysis["in_voicemail"],
            custom=analysis.get("custom", {}),
        )
        if analysis
        else None,
        costs=tuple(
            CostLine(c["product"], c["unit_price"], c["cost"]) for c in raw.get("costs", [])
        ),
        latency={k: LatencySeries(tuple(v)) for k, v in raw.get("latency", {}).items()},
        recording_url=raw.get("recording_url"),
        contact=Contact(**contact),
        campaign_id=raw.get("campaign_id"),
        telephony_sid=raw.get("telephony_sid", "CA" + raw["id"].replace("-", "")),
        metadata=raw.get("metadata", {}),
        dynamic_variables=raw.get("dynamic_variables", {}),
        updated_ms=_optional_instant(raw, "updated_at") or end or start or created,
        vendor_ids=raw.get("ids", {}),
        vendor_overrides=raw.get("overrides", {}),
    )
