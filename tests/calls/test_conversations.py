"""Calls a QA team would believe, read as a client reads them: through every vendor's API.

Each vendor's get-call body is read back into `credibility.Observed` (direction, who said
what, sentiment, summary, duration) and held to the same rules, over every generated call of
every tenant; the canonical calls are checked over thousands more, for several seeds.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette

from sandbox import Settings, create_app
from sandbox.calls import credibility
from sandbox.calls.credibility import Observed, ended, mask, problems, sample_problems
from sandbox.calls.fixtures import FixtureError, load_fixtures
from sandbox.calls.model import Call, Role, Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.inprocess import request
from sandbox.resources import fixtures_dir, schemas_dir
from sandbox.schemas import SchemaRegistry
from sandbox.vendors import VENDORS

_ROLE: Mapping[str, Role] = {
    "agent": "agent",
    "assistant": "agent",
    "user": "user",
    "customer": "user",
}


def _utterances(entries: list[dict[str, Any]]) -> tuple[tuple[Role, str], ...]:
    return tuple((_ROLE[e["role"]], e["content"]) for e in entries if e["role"] in _ROLE)


def _tool_after(entries: list[dict[str, Any]]) -> frozenset[int]:
    """The turn indices a tool call follows, from a transcript with tool calls woven in."""
    after: set[int] = set()
    turn = -1
    for entry in entries:
        if entry["role"] in _ROLE:
            turn += 1
        elif entry["role"] == "tool_call_invocation":
            after.add(turn)
    return frozenset(after)


def _last_is_transfer(entries: list[dict[str, Any]]) -> bool:
    tools = [e for e in entries if e["role"] == "tool_call_invocation"]
    return bool(tools) and "transfer" in tools[-1]["name"] and entries[-2:][0] is tools[-1]


def _retell(body: dict[str, Any], call: Call) -> Observed:
    analysis = body.get("call_analysis") or {}
    woven = body.get("transcript_with_tool_calls", [])
    return Observed(
        ref=f"retell {call.id}",
        # (A web call has no direction: the user started it.)
        direction=body.get("direction", "inbound"),
        outcome=call.scenario.value,
        callee=body["retell_llm_dynamic_variables"]["customer_name"],
        turns=_utterances(body.get("transcript_object", [])),
        sentiment=analysis["user_sentiment"].lower() if analysis else None,
        successful=analysis.get("call_successful"),
        summary=analysis.get("call_summary"),
        duration_s=body.get("duration_ms", 0) / 1000,
        tool_after=_tool_after(woven),
        transferred_last=_last_is_transfer(woven) if woven else None,
    )


def _zudu(body: dict[str, Any], call: Call) -> Observed:
    data = body["data"]
    analysis = data.get("call_analysis") or {}
    woven = data.get("transcript_with_tool_calls") or []
    return Observed(
        ref=f"zudu {call.id}",
        direction=data["direction"].lower(),
        outcome=call.scenario.value,
        callee=call.contact.full_name.split()[0],
        turns=_utterances(data.get("transcript_object") or []),
        sentiment=analysis["user_sentiment"].lower() if analysis else None,
        successful=analysis.get("call_successful"),
        summary=analysis.get("call_summary"),
        duration_s=(data.get("call_duration") or 0) / 1000,
        tool_after=_tool_after(woven),
        transferred_last=_last_is_transfer(woven) if woven else None,
    )


def _callab(body: dict[str, Any], call: Call) -> Observed:
    data = body["data"]
    segments = (data.get("transcript_object") or {}).get("segments", [])
    analysed = data["analysis_sentiment"] not in (None, "unknown")
    return Observed(
        ref=f"callab {call.id}",
        direction=data["call_direction"],
        outcome=call.scenario.value,
        callee=data["agent_dynamic_variables"]["customer_name"],
        turns=tuple((_ROLE[s["speaker"]], s["text"]) for s in segments),
        sentiment=data["analysis_sentiment"] if analysed else None,
        successful=data["agent_task_status"] == "completed" if analysed else None,
        summary=data["agent_task_feedback"] if analysed else None,
        # Callab counts whole seconds: the check is about minutes.
        duration_s=data.get("call_duration") or 0,
    )


def _contactship(body: dict[str, Any], call: Call) -> Observed:
    analysis = body.get("call_analysis") or {}
    return Observed(
        ref=f"contactship {call.id}",
        direction=body["direction"],
        outcome=call.scenario.value,
        callee=body["contact"]["full_name"].split()[0],
        turns=_utterances(body.get("chat_history") or []),
        sentiment=analysis.get("sentiment"),
        successful=None,
        summary=analysis.get("summary"),
        duration_s=body.get("duration") or 0,
    )


READERS: Mapping[str, Callable[[dict[str, Any], Call], Observed]] = {
    "retell": _retell,
    "zudu": _zudu,
    "callab": _callab,
    "contactship": _contactship,
}


def _through_apis(app: Starlette, state: VendorSandbox, tenant: str) -> dict[str, list[Observed]]:
    seen: dict[str, list[Observed]] = {v.name: [] for v in VENDORS}
    for index in range(state.generator.size(tenant)):
        call = state.generator.call(tenant, index)
        if not call.scenario.ended:
            continue
        for vendor in VENDORS:
            path = "/" + vendor.name + vendor.lookup_path(vendor.external_id(call))
            answer = request(app, "GET", path, headers=state.credentials(vendor.name, tenant))
            assert answer.status == 200, (vendor.name, call.id, answer.body[:200])
            seen[vendor.name].append(READERS[vendor.name](json.loads(answer.body), call))
    return seen


def _names(state: VendorSandbox) -> frozenset[str]:
    people = state.generator.people
    return frozenset(people.first) | frozenset(people.last)


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_every_vendor_shows_calls_a_qa_team_would_believe(
    app: Starlette, state: VendorSandbox, tenant: str
) -> None:
    for vendor, calls in _through_apis(app, state, tenant).items():
        assert len(calls) >= 490, vendor
        assert sample_problems(calls, _names(state)) == [], vendor


def test_thousands_of_calls_of_several_seeds_hold() -> None:
    for seed in (1, 20260320, 987654321):
        state = create_app(Settings(seed=seed)).state.sandbox
        for tenant in state.fixtures.tenants:
            calls = ended(
                state.generator.call(tenant, i) for i in range(state.generator.size(tenant))
            )
            assert sample_problems(calls, _names(state)) == [], (seed, tenant)


def test_dial_outcomes_and_voicemail_only_on_calls_the_agent_placed(state: VendorSandbox) -> None:
    seen: dict[tuple[Scenario, str], int] = {}
    for tenant in state.fixtures.tenants:
        for index in range(state.generator.size(tenant)):
            head = state.generator.head(tenant, index)
            seen[head.scenario, head.direction] = seen.get((head.scenario, head.direction), 0) + 1
    for scenario in (Scenario.BUSY, Scenario.NO_ANSWER, Scenario.FAILED, Scenario.VOICEMAIL):
        assert (scenario, "inbound") not in seen
        assert seen[scenario, "outbound"] > 10
    # Conversations go both ways, transfers too.
    for scenario in (Scenario.COMPLETED, Scenario.TRANSFERRED):
        assert seen[scenario, "inbound"] > 30
        assert seen[scenario, "outbound"] > 30


def _completed(state: VendorSandbox, tenant: str) -> list[Call]:
    calls = (state.generator.call(tenant, i) for i in range(state.generator.size(tenant)))
    return [c for c in calls if c.scenario is Scenario.COMPLETED]


def test_lengths_follow_a_realistic_distribution(state: VendorSandbox) -> None:
    calls = _completed(state, "acme") + _completed(state, "globex")
    seconds = sorted((c.duration_ms or 0) / 1000 for c in calls)
    median = seconds[len(seconds) // 2]
    assert 60 <= median <= 180
    assert seconds[-1] > 300  # a tail past five minutes
    assert seconds[-1] <= 15 * 60
    assert seconds[0] >= credibility.SHORTEST_S
    for call in calls:
        words = sum(len(t.words) for t in call.turns)
        # Word timings, costs and latencies follow the length: about 2 to 3 words a second
        # of speech (less with holds), one latency sample per agent turn.
        assert words >= (call.duration_ms or 0) / 1000 * 0.4 or any(
            "hold" in t.text.lower() or "momento" in t.text.lower() for t in call.turns
        ), call.id
        agent_turns = sum(1 for t in call.turns if t.role == "agent")
        assert all(len(s.values) == agent_turns for s in call.latency.values())


def test_a_thousand_customer_lines_have_hundreds_of_shapes(state: VendorSandbox) -> None:
    names = _names(state)
    for tenant in state.fixtures.tenants:
        lines = [t.text for c in _completed(state, tenant) for t in c.turns if t.role == "user"]
        assert len(lines) >= 1000
        shapes = {mask(line, names) for line in lines[:1000]}
        assert len(shapes) >= credibility.SHAPES_PER_1000, tenant


def test_every_pack_is_spoken(state: VendorSandbox) -> None:
    """Every shipped pack serves some agent, and every one of its intents is reached."""
    reached: dict[str, set[str]] = {}
    for tenant in state.fixtures.tenants:
        for call in _completed(state, tenant):
            pack = state.generator.pack(tenant, call.agent)
            assert call.analysis is not None
            reached.setdefault(pack.id, set()).add(str(call.analysis.custom["intent"]))
    packs = state.fixtures.packs
    assert set(reached) == set(packs)
    for pack_id, intents in reached.items():
        every = {i.id for _, intents_ in packs[pack_id].intents.values() for i in intents_}
        assert intents == every, pack_id


def test_spanish_calls_are_spanish_in_every_vendor(app: Starlette, state: VendorSandbox) -> None:
    call = next(
        c
        for c in _completed(state, "acme")
        if c.agent.language == "es-ES" and c.direction == "outbound"
    )
    assert call.turns[0].text.startswith(("Hola", "Buenos", "Buenas"))
    assert call.analysis is not None
    assert re.search(r"\b(el|la|de|con)\b", call.analysis.summary)
    vendor = next(v for v in VENDORS if v.name == "callab")
    path = "/callab" + vendor.lookup_path(vendor.external_id(call))
    body = json.loads(request(app, "GET", path, headers=state.credentials("callab")).body)
    assert body["data"]["transcript_language"] == "es-ES"


def test_values_agree_within_a_call(state: VendorSandbox) -> None:
    """Dates a tool is sent fall after the call (appointments, deliveries, renewals are
    ahead); the order a tool looks up is the one the customer gave."""
    for call in _completed(state, "acme")[:300]:
        day = date(1970, 1, 1) + timedelta(milliseconds=call.created_ms)
        said = " ".join(t.text for t in call.turns)
        for tool in call.tool_calls:
            for value in re.findall(r"\d{4}-\d{2}-\d{2}", json.dumps(tool.arguments) + tool.result):
                assert date.fromisoformat(value) > day, call.id
            order = tool.arguments.get("order_number")
            if order:
                assert order in said


def test_addresses_have_house_numbers(state: VendorSandbox) -> None:
    people = state.generator.people
    assert all(re.fullmatch(r"[1-9]\d* \S.*", a) for a in people.addresses)


def test_a_users_own_pack_drives_its_agent(tmp_path: Path) -> None:
    """A pack written for one's own agent's script, in the folder `--fixtures` points at."""
    target = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), target)
    shutil.rmtree(target / "dialogues")
    (target / "dialogues").mkdir()
    (target / "dialogues" / "pizza.yaml").write_text(PIZZA_PACK)
    document = yaml.safe_load((target / "sandbox.yaml").read_text())
    globex = document["tenants"][1]
    globex["packs"] = ["pizza"]
    globex["agents"] = [{**globex["agents"][0], "topic": "pizza"}]
    document["tenants"] = [document["tenants"][0], globex]
    (target / "sandbox.yaml").write_text(yaml.safe_dump(document))
    state = create_app(Settings(fixtures=target)).state.sandbox
    calls = ended(state.generator.call("globex", i) for i in range(200))
    assert all(problems(c) == [] for c in calls)
    talked = [state.generator.call("globex", i) for i in range(200)]
    inbound = next(
        c for c in talked if c.scenario is Scenario.COMPLETED and c.direction == "inbound"
    )
    assert "pizza" in inbound.transcript.lower()
    assert any(t.name == "place_order" for t in inbound.tool_calls)


def test_a_pack_that_cannot_make_a_sound_call_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), target)
    broken = PIZZA_PACK.replace("directions: [inbound, outbound]", "directions: [inbound]")
    (target / "dialogues" / "pizza.yaml").write_text(broken)
    with pytest.raises(FixtureError, match="give at least one intent direction outbound"):
        load_fixtures(target, SchemaRegistry.load(schemas_dir()))


PIZZA_PACK = """
id: pizza
topics: [pizza]
greeting:
  inbound: ["Thanks for calling {company}, it's {agent_first}. [What can I get you?|Ready?]"]
  outbound: ["Hi, this is {agent_first} from {company}. Is this {caller_first}?"]
  confirm: ["Yes, speaking."]
slots:
  pizza: [margherita, pepperoni, four cheese]
intents:
  - id: order
    directions: [inbound, outbound]
    inbound:
      - user: "I'd like a large {pizza} pizza, please."
    outbound:
      - agent: "Your usual {pizza} pizza tonight?"
      - user: "Yes, please."
    steps:
      - agent: "Delivered to {address}?"
      - user: "[Yes|Yep], that's right."
      - tool:
          name: place_order
          arguments: {pizza: "{pizza}", address: "{address}"}
          result: {order: "{order}"}
    voicemail: ["Hi {caller_first}, {company} here about your pizza. Call {callback}."]
    outcomes:
      - id: ordered
        steps:
          - agent: "Order {order} is on its way to {address}."
          - user: "Great, thanks."
        analysis:
          sentiment: positive
          successful: true
          summary: "{caller} ordered a {pizza} pizza (order {order})."
      - id: too_slow
        ended_by: user
        steps:
          - agent: "It will take about ninety minutes."
          - user: "Ninety? That's ridiculous. Forget it."
        analysis:
          sentiment: negative
          successful: false
          summary: "{caller} gave up on a {pizza} pizza over a 90-minute wait."
closings:
  positive: [{agent: "Enjoy your pizza, {caller_first}!"}]
  neutral: [{agent: "Bye, {caller_first}."}]
  negative: []
transfer:
  steps:
    - user: "Can I talk to the manager?"
    - agent: "Sure, I'm transferring you now."
    - tool: {name: transfer_call, arguments: {to: "{transfer_to}"}}
  analysis:
    sentiment: neutral
    successful: true
    summary: "{caller} was transferred to {transfer_to}."
voicemail:
  greeting: ["Hi, it's {caller_first}, leave a message."]
  analysis: {sentiment: neutral, successful: false, summary: "Left {caller} a voicemail."}
interjections:
  clarify: ["Sorry?"]
  repeat: ["Sure."]
  interrupt: ["Sorry, go on."]
  resume: ["No problem."]
  hesitate: ["Hmm."]
  hold: ["One moment, please hold."]
  hold_ok: ["Okay."]
  hold_back: ["Thanks for holding."]
"""


def test_call_sandbox_check_reads_calls_as_a_qa_team(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sandbox.serve.cli import main

    assert main(["check"]) == 0
    assert "generated calls read as a QA team would" in capsys.readouterr().out
    # A pack whose unhappy ending thanks the agent is caught.
    target = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), target)
    (target / "dialogues" / "pizza.yaml").write_text(
        PIZZA_PACK.replace("That's ridiculous. Forget it.", "Okay, thanks anyway.")
    )
    document = yaml.safe_load((target / "sandbox.yaml").read_text())
    document["tenants"][1]["packs"] = ["pizza"]
    document["tenants"][1]["agents"] = [{**document["tenants"][1]["agents"][0], "topic": "pizza"}]
    (target / "sandbox.yaml").write_text(yaml.safe_dump(document))
    assert main(["check", "--fixtures", str(target)]) == 1
    out = capsys.readouterr().out
    assert "negative, but the customer's last words thank the agent" in out
