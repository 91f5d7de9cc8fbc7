"""ContactShip's four transcript flags: every combination, in JSON and in TOON.

The expected bodies are built here from the canonical call with plain code of their own (the
pinned docs call's other fields come from the docs' JSON), never by calling the renderer. Each
TOON string must decode to exactly the JSON answer to the same request, compared as Python
objects and as serialised JSON (TOON does not keep 1.0 apart from 1).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import toon_format
from starlette.testclient import TestClient

from sandbox.calls.model import Call, Scenario
from sandbox.dialect.vendor import VendorSandbox

JSON = "application/json; charset=utf-8"
DOCS_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
DOCS_BODY: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "contactship" / "get-call.json").read_text(encoding="utf-8")
)
TRANSCRIPT_KEYS = ("chat_history", "chat_history_with_tools", "transcript_format")
COMBINATIONS = list(
    itertools.product((True, False), (True, False), (True, False), ("json", "toon"))
)


def _id(combination: tuple[bool, bool, bool, str]) -> str:
    transcript, words, tools, fmt = combination
    return f"transcript={transcript}-words={words}-tools={tools}-{fmt}"


@pytest.fixture
def auth(state: VendorSandbox) -> dict[str, str]:
    return state.credentials("contactship")


def _query(transcript: bool, words: bool, tools: bool, fmt: str) -> str:
    flag = {True: "true", False: "false"}
    return (
        f"include_transcript={flag[transcript]}&include_words={flag[words]}"
        f"&include_tools={flag[tools]}&transcript_format={fmt}"
    )


def _utterance(turn: Any, words: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": turn.role, "content": turn.text}
    if words:
        entry["words"] = [
            {"word": w.text, "start": w.start_ms / 1000, "end": w.end_ms / 1000} for w in turn.words
        ]
    return entry


def _tool_entries(call: Call, after: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for tool in sorted(call.tool_calls, key=lambda t: t.at_ms):
        if tool.after_turn != after:
            continue
        entries.append(
            {
                "role": "tool_call_invocation",
                "tool_call_id": tool.id,
                "name": tool.name,
                "arguments": json.dumps(dict(tool.arguments), separators=(",", ":")),
            }
        )
        entries.append(
            {
                "role": "tool_call_result",
                "tool_call_id": tool.id,
                "content": tool.result,
                "successful": tool.successful,
            }
        )
    return entries


def expected_transcripts(call: Call, transcript: bool, words: bool, tools: bool) -> dict[str, Any]:
    """What the JSON form carries, by the docs' rules: words only with include_transcript."""
    with_words = transcript and words
    fields: dict[str, Any] = {}
    if transcript:
        fields["chat_history"] = [_utterance(t, with_words) for t in call.turns]
    if tools:
        entries = _tool_entries(call, -1)
        for position, turn in enumerate(call.turns):
            entries.append(_utterance(turn, with_words))
            entries += _tool_entries(call, position)
        fields["chat_history_with_tools"] = entries
    if transcript or tools:
        fields["transcript_format"] = "json"
    return fields


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


def _check_pair(json_body: dict[str, Any], toon_body: dict[str, Any]) -> None:
    """The TOON answer is the JSON answer with each transcript array encoded as TOON."""
    assert {k: v for k, v in toon_body.items() if k not in TRANSCRIPT_KEYS} == {
        k: v for k, v in json_body.items() if k not in TRANSCRIPT_KEYS
    }
    assert ("transcript_format" in toon_body) == ("transcript_format" in json_body)
    for key in ("chat_history", "chat_history_with_tools"):
        assert (key in toon_body) == (key in json_body)
        if key not in json_body:
            continue
        encoded = toon_body[key]
        assert isinstance(encoded, str)
        assert encoded == toon_format.encode(json_body[key])
        decoded = toon_format.decode(encoded)
        assert decoded == json_body[key]
        assert json.dumps(decoded) == json.dumps(json_body[key])
    if "transcript_format" in json_body:
        assert (json_body["transcript_format"], toon_body["transcript_format"]) == ("json", "toon")
    # A whole-second time is sent as an int, so no TOON decoder can change its JSON spelling.
    assert not any(isinstance(n, float) and n.is_integer() for n in _numbers(json_body))


@pytest.mark.parametrize("combination", COMBINATIONS, ids=_id)
def test_docs_call_every_flag_combination(
    client: TestClient,
    auth: dict[str, str],
    state: VendorSandbox,
    combination: tuple[bool, bool, bool, str],
) -> None:
    transcript, words, tools, fmt = combination
    call = state.store.get("acme", DOCS_ID)
    assert call is not None
    response = client.get(f"/contactship/v1/calls/{DOCS_ID}?{_query(*combination)}", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    fields = expected_transcripts(call, transcript, words, tools)
    docs_fields = {k: v for k, v in DOCS_BODY.items() if k not in TRANSCRIPT_KEYS}
    if fmt == "json":
        assert body == docs_fields | fields
    else:
        json_twin = client.get(
            f"/contactship/v1/calls/{DOCS_ID}?{_query(transcript, words, tools, 'json')}",
            headers=auth,
        ).json()
        assert json_twin == docs_fields | fields
        _check_pair(json_twin, body)


def test_docs_call_transcript_is_the_docs_one(state: VendorSandbox) -> None:
    call = state.store.get("acme", DOCS_ID)
    assert call is not None
    assert (
        expected_transcripts(call, True, False, False)["chat_history"] == DOCS_BODY["chat_history"]
    )


def _tool_call(state: VendorSandbox) -> Call:
    """A generated completed call in which the agent called tools."""
    return next(
        call
        for call in (state.generator.call("acme", i) for i in range(200))
        if call.scenario is Scenario.COMPLETED and len(call.tool_calls) >= 2
    )


@pytest.mark.parametrize("combination", COMBINATIONS, ids=_id)
def test_generated_call_every_flag_combination(
    client: TestClient,
    auth: dict[str, str],
    state: VendorSandbox,
    combination: tuple[bool, bool, bool, str],
) -> None:
    transcript, words, tools, fmt = combination
    call = _tool_call(state)
    path = f"/contactship/v1/calls/{call.id}"
    json_body = client.get(
        f"{path}?{_query(transcript, words, tools, 'json')}", headers=auth
    ).json()
    fields = {k: v for k, v in json_body.items() if k in TRANSCRIPT_KEYS}
    assert fields == expected_transcripts(call, transcript, words, tools)
    if tools:
        roles = [e["role"] for e in json_body["chat_history_with_tools"]]
        assert roles.count("tool_call_invocation") == len(call.tool_calls)
        assert roles.count("tool_call_result") == len(call.tool_calls)
    if fmt == "toon":
        response = client.get(f"{path}?{_query(*combination)}", headers=auth)
        assert response.status_code == 200
        _check_pair(json_body, response.json())


@pytest.mark.parametrize("scenario", list(Scenario), ids=str)
def test_flags_on_every_scenario_decode_back(
    client: TestClient, auth: dict[str, str], state: VendorSandbox, scenario: Scenario
) -> None:
    call = next(
        c for c in (state.generator.call("acme", i) for i in range(40)) if c.scenario is scenario
    )
    everything = "include_words=true&include_tools=true"
    json_body = client.get(f"/contactship/v1/calls/{call.id}?{everything}", headers=auth).json()
    toon_body = client.get(
        f"/contactship/v1/calls/{call.id}?{everything}&transcript_format=toon", headers=auth
    ).json()
    _check_pair(json_body, toon_body)
    assert json_body["chat_history"] == expected_transcripts(call, True, True, True)["chat_history"]
    if not scenario.connected:
        assert json_body["chat_history"] == []
        assert toon_body["chat_history"] == "[]"


def test_defaults_are_the_documented_ones(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    call = _tool_call(state)
    path = f"/contactship/v1/calls/{call.id}"
    default = client.get(path, headers=auth).json()
    explicit = client.get(f"{path}?{_query(True, False, False, 'json')}", headers=auth).json()
    assert default == explicit
    assert "chat_history" in default
    assert "chat_history_with_tools" not in default
    listed = client.get("/contactship/v1/calls?limit=3", headers=auth).json()["data"]
    assert all(not set(TRANSCRIPT_KEYS) & set(item) for item in listed)


def test_list_items_follow_the_flags(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    for combination in COMBINATIONS:
        transcript, words, tools, fmt = combination
        response = client.get(
            f"/contactship/v1/calls?limit=12&{_query(*combination)}", headers=auth
        )
        assert response.status_code == 200
        twin = client.get(
            f"/contactship/v1/calls?limit=12&{_query(transcript, words, tools, 'json')}",
            headers=auth,
        ).json()
        for item, json_item in zip(response.json()["data"], twin["data"], strict=True):
            call = state.store.get("acme", item["id"])
            assert call is not None
            fields = {k: v for k, v in json_item.items() if k in TRANSCRIPT_KEYS}
            assert fields == expected_transcripts(call, transcript, words, tools)
            if fmt == "toon":
                _check_pair(json_item, item)


def _retell_words(
    client: TestClient, state: VendorSandbox, call: Call
) -> list[list[dict[str, Any]]]:
    response = client.get(
        f"/retell/v2/get-call/call_{call.id.replace('-', '')}", headers=state.credentials("retell")
    )
    assert response.status_code == 200
    return [u["words"] for u in response.json()["transcript_object"]]


def test_same_words_and_timings_as_retell(
    client: TestClient, auth: dict[str, str], state: VendorSandbox
) -> None:
    calls = [state.store.get("acme", DOCS_ID), _tool_call(state)]
    calls.append(next(c for c in state.store.calls("acme") if c.scenario is Scenario.IN_PROGRESS))
    for call in calls:
        assert call is not None
        body = client.get(
            f"/contactship/v1/calls/{call.id}?include_words=true&include_tools=true", headers=auth
        ).json()
        ours = [entry["words"] for entry in body["chat_history"]]
        assert ours == _retell_words(client, state, call)
        assert len(ours) == len(call.turns) > 0
        with_tools = [e["words"] for e in body["chat_history_with_tools"] if "words" in e]
        assert with_tools == ours
