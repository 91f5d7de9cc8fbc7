"""Helpers shared by the vendors' renderers."""

from __future__ import annotations

from sandbox.calls.rendering import OMIT, overlay


def test_overlay_merges_objects_and_replaces_the_rest() -> None:
    body = {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 3}
    assert overlay(body, {"a": {"c": 9}, "d": [], "f": None}) == {
        "a": {"b": 1, "c": 9},
        "d": [],
        "e": 3,
        "f": None,
    }
    assert body == {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 3}  # the original is untouched


def test_omit_drops_fields_a_docs_example_does_not_show() -> None:
    body = {"a": {"b": 1, "c": 2}, "d": 3, "e": 4}
    assert overlay(body, {OMIT: ["d", "missing"], "a": {OMIT: ["b"]}}) == {"a": {"c": 2}, "e": 4}
