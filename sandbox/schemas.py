"""JSON Schemas of every body the sandbox reads or sends, compiled once at start-up.

Schemas are data under `schemas/`, each named by its path relative to that folder
(`retell/call.json`), which is also its `$id`, so `$ref`s between files resolve by path.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sandbox.errors import Problem


class SchemaViolation(Exception):
    """A body the sandbox produced broke its own schema: a sandbox bug, never the client's."""

    def __init__(self, schema: str, problems: list[Problem]) -> None:
        super().__init__(f"{schema}: " + "; ".join(str(p) for p in problems))
        self.schema = schema
        self.problems = problems


def _location(prefix: str, error: ValidationError) -> str:
    parts = [prefix, *(str(p) for p in error.absolute_path)]
    return ".".join(p for p in parts if p)


def _best(error: ValidationError) -> ValidationError:
    """The most specific error inside a oneOf/anyOf, which says more than 'is not valid'."""
    while error.context:
        error = min(error.context, key=lambda e: (-len(e.absolute_path), e.message))
    return error


class SchemaRegistry:
    """Every schema under one folder, each compiled into a validator exactly once."""

    def __init__(self, root: Path) -> None:
        documents: dict[str, Any] = {}
        for path in sorted(root.rglob("*.json")):
            name = path.relative_to(root).as_posix()
            with path.open(encoding="utf-8") as handle:
                documents[name] = json.load(handle)
        registry: Registry[Any] = Registry().with_resources(
            (name, Resource.from_contents(doc, default_specification=DRAFT202012))
            for name, doc in documents.items()
        )
        self._validators: Mapping[str, Draft202012Validator] = {
            name: Draft202012Validator(doc, registry=registry) for name, doc in documents.items()
        }
        for name, doc in documents.items():
            Draft202012Validator.check_schema(doc)
            if doc.get("$id") != name:
                raise ValueError(
                    f"schemas/{name}: its $id must be {name!r}, not {doc.get('$id')!r}"
                )

    @classmethod
    @functools.cache
    def load(cls, root: Path) -> SchemaRegistry:
        """The registry of a folder, compiled once per process: schemas are immutable data."""
        return cls(root)

    def names(self) -> Iterator[str]:
        return iter(self._validators)

    def problems(self, name: str, instance: Any, *, prefix: str = "") -> list[Problem]:
        """What is wrong with `instance` under schema `name`, most specific first; [] if valid."""
        validator = self._validators[name]
        found = sorted(
            (_best(e) for e in validator.iter_errors(instance)),
            key=lambda e: (list(map(str, e.absolute_path)), e.message),
        )
        return [Problem(_location(prefix, e), e.message) for e in found]

    def check(self, name: str, instance: Any) -> None:
        """Raise SchemaViolation unless `instance` (a body the sandbox made) fits `name`."""
        if not self._validators[name].is_valid(instance):
            raise SchemaViolation(name, self.problems(name, instance, prefix="body"))

    def __contains__(self, name: object) -> bool:
        return name in self._validators
