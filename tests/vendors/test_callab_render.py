"""Callab's rendering and schemas, without HTTP: field set and order, the docs' own bodies,
the mappings from the canonical vocabulary, and the query-string helpers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.callab import VENDOR
from sandbox.vendors.callab.query import COLUMNS, like_pattern
from sandbox.vendors.callab.render import DISCONNECT_REASON, STATUS, render_call
from sandbox.vendors.callab.uuids import parse_uuid

DATA = Path(__file__).parent / "data" / "callab"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "callab"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def schema(name: str) -> Any:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def test_docs_success_and_error_bodies_fit_the_schemas(state: VendorSandbox) -> None:
    assert state.schemas.problems("callab/get-call.json", load("get-call.success.json")) == []
    assert state.schemas.problems("callab/error.json", load("get-call.not-found.json")) == []


def _types_only(node: Any) -> Any:
    """A schema without its value constraints: what the docs' type placeholders can satisfy."""
    if isinstance(node, dict):
        dropped = {"enum", "const", "pattern", "minimum", "maximum", "minLength", "required"}
        return {k: _types_only(v) for k, v in node.items() if k not in dropped}
    if isinstance(node, list):
        return [_types_only(v) for v in node]
    return node


@pytest.mark.parametrize("page", ["get-call.placeholder.json", "create-call.placeholder.json"])
def test_docs_placeholder_objects_name_every_field_with_its_type(page: str) -> None:
    from jsonschema import Draft202012Validator

    call = schema("call.json")
    data = load(page)["data"]
    assert set(data) == set(call["required"]) == set(call["properties"])
    loose = _types_only(call)
    assert list(Draft202012Validator(loose).iter_errors(data)) == []


def test_docs_create_request_names_every_field_with_its_type(state: VendorSandbox) -> None:
    request = schema("create-call.request.json")
    placeholder = load("create-call.request.placeholder.json")
    # The second variant of the page adds call_sid and workspace.
    assert set(request["properties"]) == set(placeholder) | {"call_sid", "workspace"}
    body = {**placeholder, "call_direction": "outbound"}  # "<string>" stands for a direction
    assert state.schemas.problems("callab/create-call.request.json", body) == []


def test_columns_are_the_rendered_fields_in_docs_order(state: VendorSandbox) -> None:
    docs_order = list(load("get-call.success.json")["data"])
    assert list(COLUMNS) == docs_order
    for index in range(9):
        assert list(render_call(state.generator.call("acme", index))) == docs_order
    assert schema("call.json")["required"] == docs_order


def test_every_sampled_call_fits_the_schemas(state: VendorSandbox) -> None:
    calls = list(state.fixtures.pinned)
    for tenant in state.fixtures.tenants:
        calls += [state.generator.call(tenant, i) for i in range(0, 500, 7)]
    for call in calls:
        for name, body in VENDOR.renderings(call):
            assert state.schemas.problems(name, body) == [], (call.id, name)


def test_every_scenario_and_generated_reason_has_a_callab_spelling(state: VendorSandbox) -> None:
    assert set(STATUS) == set(Scenario)
    reasons = {
        state.generator.call(t, i).disconnection_reason
        for t in state.fixtures.tenants
        for i in range(200)
    }
    assert reasons - {None} <= set(DISCONNECT_REASON)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"),
        ("550E8400-E29B-41D4-A716-446655440000", "550e8400-e29b-41d4-a716-446655440000"),
        ("550e8400e29b41d4a716446655440000", "550e8400-e29b-41d4-a716-446655440000"),
        ("550e8400-e29b41d4-a716-446655440000", None),
        ("{550e8400-e29b-41d4-a716-446655440000}", None),
        ("urn:uuid:550e8400-e29b-41d4-a716-446655440000", None),
        ("550e8400-e29b-41d4-a716-44665544000g", None),
        ("", None),
    ],
)
def test_parse_uuid(text: str, parsed: str | None) -> None:
    assert parse_uuid(text) == parsed
    assert VENDOR.canonical_id(text) == parsed


def test_ids_and_lookup_path(state: VendorSandbox) -> None:
    call = state.generator.call("acme", 3)
    assert VENDOR.external_id(call) == call.id
    assert VENDOR.lookup_path(call.id) == f"/v1/calls/{call.id}"


@pytest.mark.parametrize(
    ("pattern", "ignore_case", "text", "matches"),
    [
        ("+1415%", False, "+14155550142", True),
        ("+1415%", False, "+12125550142", False),
        ("%hung%", False, "caller_hung_up", True),
        ("%HUNG%", False, "caller_hung_up", False),
        ("%HUNG%", True, "caller_hung_up", True),
        ("a_c", False, "abc", True),
        ("a_c", False, "abbc", False),
        (r"100\%", False, "100%", True),
        (r"100\%", False, "1000", False),
        ("a.c", False, "abc", False),
    ],
)
def test_like_patterns(pattern: str, ignore_case: bool, text: str, matches: bool) -> None:
    assert like_pattern(pattern, ignore_case=ignore_case).fullmatch(text) is matches


def _like_as_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """The reference: LIKE as a backtracking regex (right, but exponential on `%e%e%e...`)."""
    out: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append({"%": ".*", "_": "."}.get(char, re.escape(char)))
    if escaped:
        out.append(re.escape("\\"))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@given(
    pattern=st.text("ab%_\\A", max_size=8),
    text=st.text("abAB%_\\", max_size=10),
    ignore_case=st.booleans(),
)
@settings(max_examples=2_000, derandomize=True, database=None, deadline=None)
def test_like_matches_as_the_regex_does(pattern: str, text: str, ignore_case: bool) -> None:
    expected = bool(_like_as_regex(pattern, ignore_case).fullmatch(text))
    assert like_pattern(pattern, ignore_case=ignore_case).fullmatch(text) is expected


def test_like_does_not_backtrack() -> None:
    """`%e%e...%#` over a long run of `e`: a backtracking regex tries every placement of each
    `%` (about nine times as many per `%e`) and would not finish this; the pieces between `%`
    are found left to right, each once, so this answers at once."""
    pattern = like_pattern("%e%e%e%e%e%e%e%e%e%e%e%e%#", ignore_case=True)
    assert pattern.fullmatch("e" * 100_000) is False
    assert pattern.fullmatch("e" * 100_000 + "#") is True


def test_like_pieces_with_wildcards_are_bounded() -> None:
    """A piece holding `_` costs the text's length times its own: 32 characters at most, so
    a 1,000,000-character field is matched in a few tens of millions of steps at worst."""
    pattern = like_pattern("%" + "e_" * 15 + "#%", ignore_case=True)
    assert pattern.fullmatch("E" * 1_000_000) is False
    assert pattern.fullmatch("E" * 1_000_000 + "e." * 15 + "#") is True
    with pytest.raises(ValueError, match="holds _ may be at most 32 characters long"):
        like_pattern("%" + "e_" * 16 + "#%", ignore_case=False)
    with pytest.raises(ValueError, match="a like pattern of 257 characters is too long"):
        like_pattern("a" * 257, ignore_case=False)
