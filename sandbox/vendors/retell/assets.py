"""What Retell calls point at: the tenant's agents and phone numbers, read from the fixtures.

The sandbox's agents are the fixtures' agents, each with one number bound to it for inbound
and outbound calls (Retell binds agents to numbers; a call from a number is placed by its
agent). They never change, so their modification instants are fixed: before the oldest
generated call, a pure function of the seed's reference instant and the agent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sandbox.calls.fixtures import FixtureSet
from sandbox.calls.ids import digest_int
from sandbox.calls.model import Agent
from sandbox.errors import CallNotFound
from sandbox.vendors.retell.render import agent_id

DAY_MS = 86_400_000


class AssetNotFound(CallNotFound):
    """An agent or phone number the tenant does not have: Retell answers any unknown asset
    with its 422 'Cannot find requested asset under given api key.', as an unknown call."""

    def __init__(self, kind: str, asset_id: str, known: Sequence[str]) -> None:
        super().__init__(asset_id)
        self.detail = (
            f"no {kind} {json.dumps(asset_id)} under this API key; the tenant has "
            f"{json.dumps(list(known))}"
        )
        self.args = (self.detail,)
        self.kind = kind


def modified_ms(fixtures: FixtureSet, agent: Agent) -> int:
    """When an agent (and its number) last changed: within the day before the generated
    calls' window opens, so every call it placed is newer."""
    opens = fixtures.reference_ms - fixtures.population.window_days * DAY_MS
    return opens - 1 - digest_int(fixtures.seed, "retell-agent-modified", agent.id) % DAY_MS


def find_agent(agents: Sequence[Agent], wanted: str) -> Agent:
    for agent in agents:
        if agent_id(agent) == wanted:
            return agent
    raise AssetNotFound("agent", wanted, [agent_id(a) for a in agents])


def numbers(agents: Sequence[Agent]) -> dict[str, Agent]:
    """Each of the tenant's numbers and the agent bound to it (the first that has it)."""
    bound: dict[str, Agent] = {}
    for agent in agents:
        bound.setdefault(agent.phone_number, agent)
    return bound


def find_number(agents: Sequence[Agent], wanted: str) -> tuple[str, Agent]:
    bound = numbers(agents)
    if wanted not in bound:
        raise AssetNotFound("phone number", wanted, list(bound))
    return wanted, bound[wanted]
