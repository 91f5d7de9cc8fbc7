"""Retell's agents, read-only: `GET /get-agent/{agent_id}`, `POST /v2/list-agents` and
`GET /list-agent-versions/{agent_id}`, answered from the fixtures' agents (the agents the
tenant's calls carry). The writes answer a 501 (see `unemulated`)."""

from __future__ import annotations

from typing import Any

from sandbox.calls.fixtures import FixtureSet
from sandbox.calls.ids import digest_int
from sandbox.calls.model import Agent
from sandbox.dialect.vendor import Context, Param, Reply, Route
from sandbox.http.params import integer
from sandbox.vendors.retell import paging
from sandbox.vendors.retell.assets import AssetNotFound, find_agent, modified_ms
from sandbox.vendors.retell.render import agent_id

# Every sandbox agent speaks with this voice: the voice of Retell's own docs examples.
VOICE_ID = "11labs-Adrian"


def llm_id(fixtures: FixtureSet, agent: Agent) -> str:
    """The Retell LLM response engine behind an agent, named after it."""
    return f"llm_{digest_int(fixtures.seed, 'retell-llm', agent.id):064x}"[:30]


def render_agent(fixtures: FixtureSet, agent: Agent, version: int) -> dict[str, Any]:
    """The AgentResponse of `version` of an agent. Versions 0 to the fixture's version exist,
    all alike; the fixture's version is the published one."""
    body: dict[str, Any] = {
        "agent_id": agent_id(agent),
        "version": version,
        "is_published": version == agent.version,
        "agent_name": agent.name,
        "response_engine": {
            "type": "retell-llm",
            "llm_id": llm_id(fixtures, agent),
            "version": version,
        },
        "voice_id": VOICE_ID,
        "language": agent.language,
    }
    if agent.webhook_url is not None:
        body["webhook_url"] = agent.webhook_url
    body |= {
        "data_storage_setting": "everything",
        "opt_in_signed_url": False,
        "is_transfer_agent": False,
        "last_modification_timestamp": modified_ms(fixtures, agent),
    }
    return body


def list_item(fixtures: FixtureSet, agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent_id(agent),
        "agent_name": agent.name,
        "channel": "voice",
        "is_suspended": False,
        "is_transfer_agent": False,
        "tags": {},
        "user_modified_timestamp": modified_ms(fixtures, agent),
    }


VERSION = Param(
    "version",
    {"type": "integer", "minimum": 0},
    description="A version of the agent (0 to its latest); the latest when omitted.",
)


def get_agent(context: Context) -> Reply:
    agent = find_agent(context.tenant.agents, context.path["agent_id"])
    version = integer(context.query, "version", agent.version, minimum=0)
    if version > agent.version:
        raise AssetNotFound(
            "agent version", f"{agent_id(agent)} v{version}", [f"v0..v{agent.version}"]
        )
    body = render_agent(context.sandbox.fixtures, agent, version)
    return Reply(200, body, "retell/agent.json")


def _matches(agent: Agent, item: dict[str, Any], criteria: dict[str, Any]) -> bool:
    channel = criteria.get("channel")
    if channel is not None:
        text, value = item["channel"], channel["value"]
        outcome = {
            "eq": text == value,
            "ne": text != value,
            "sw": text.startswith(value),
            "ew": text.endswith(value),
            "co": value in text,
        }[channel["op"]]
        if not outcome:
            return False
    transfer = criteria.get("is_transfer_agent")
    if transfer is not None and item["is_transfer_agent"] is not transfer["value"]:
        return False
    query = criteria.get("query")
    # Retell: a case-insensitive substring of the name, or a substring of the id.
    return query is None or query.lower() in agent.name.lower() or query in item["agent_id"]


def list_agents(context: Context) -> Reply:
    fixtures = context.sandbox.fixtures
    criteria = dict(context.body.get("filter_criteria", {})) if context.body else {}
    paged = paging.read(context.query)
    items = [list_item(fixtures, a) for a in context.tenant.agents]
    agents = dict(zip((i["agent_id"] for i in items), context.tenant.agents, strict=True))
    found = [i for i in items if _matches(agents[i["agent_id"]], i, criteria)]
    chunk, following = paging.page(
        found,
        paged,
        order=lambda i: (i["user_modified_timestamp"], i["agent_id"]),
        key=lambda i: str(i["agent_id"]),
    )
    return Reply(200, paging.paged(chunk, following), "retell/list-agents.json")


def list_agent_versions(context: Context) -> Reply:
    """Versions 0 to the fixture's version, each based on the one before; the pagination key
    is a version number."""
    agent = find_agent(context.tenant.agents, context.path["agent_id"])
    modified = modified_ms(context.sandbox.fixtures, agent)
    versions: list[dict[str, Any]] = []
    for number in range(agent.version + 1):
        item: dict[str, Any] = {"version": number, "is_published": number == agent.version}
        if number > 0:
            item["base_version"] = number - 1
        # Each version a minute after the one before, the latest at the agent's last change.
        item["last_modification_timestamp"] = modified - (agent.version - number) * 60_000
        versions.append(item)
    chunk, following = paging.page(
        versions,
        paging.read(context.query),
        order=lambda i: i["version"],
        key=lambda i: str(i["version"]),
    )
    return Reply(200, paging.paged(chunk, following), "retell/list-agent-versions.json")


ROUTES = (
    Route(
        "GET",
        "/get-agent/{agent_id}",
        "get-agent",
        get_agent,
        query=(VERSION,),
        response_schema="retell/agent.json",
    ),
    Route(
        "POST",
        "/v2/list-agents",
        "list-agents",
        list_agents,
        "retell/list-agents.request.json",
        query=paging.PARAMS,
        response_schema="retell/list-agents.json",
    ),
    Route(
        "GET",
        "/list-agent-versions/{agent_id}",
        "list-agent-versions",
        list_agent_versions,
        query=paging.PARAMS,
        response_schema="retell/list-agent-versions.json",
    ),
)
