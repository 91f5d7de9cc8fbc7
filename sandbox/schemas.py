"""JSON Schemas of every body the sandbox reads or sends, compiled once at start-up.

Schemas are data under `schemas/`, each named by its path relative to that folder
(`retell/call.json`), which is also its `$id`, so `$ref`s between files resolve by path.
jsonschema (which explains what is wrong) is imported and compiled the first time something
is: most sandboxes never need it, and it takes a tenth of a second to start.
"""

from __future__ import annotations

import ast
import functools
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from sandbox.errors import Problem

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


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


def _shown(value: Any, limit: int = 60) -> str:
    """A value in a message as JSON spells it (`null`, `"ten"`, `["a", null]`), not as Python
    does, and cut short when long."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def explain(error: ValidationError) -> str:
    """What is wrong, with values in JSON's spelling: jsonschema's own messages use Python's
    (`None is not of type 'string'`), which no client of a JSON API writes."""
    keyword = error.validator
    found: Any = error.instance
    expected: Any = error.validator_value
    schema: Any = error.schema
    match keyword:
        case "type":
            return f"{_shown(found)} is not of type {_shown(expected)}"
        case "required":
            return f"{_shown(_required_name(error))} is a required property"
        case "additionalProperties" if isinstance(found, dict):
            known = schema.get("properties", {}) if isinstance(schema, dict) else {}
            extra = [name for name in found if name not in known]
            listed = ", ".join(_shown(name) for name in extra)
            return f"additional properties are not allowed ({listed} unexpected)"
        case "enum":
            return f"{_shown(found)} is not one of {_shown(expected, 200)}"
        case "const":
            return f"{_shown(expected)} was expected, not {_shown(found)}"
        case "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum":
            words = {
                "minimum": "less than the minimum of",
                "maximum": "greater than the maximum of",
                "exclusiveMinimum": "less than or equal to the minimum of",
                "exclusiveMaximum": "greater than or equal to the maximum of",
            }
            return f"{_shown(found)} is {words[keyword]} {_shown(expected)}"
        case "minLength" | "minItems" | "minProperties":
            return f"{_shown(found)} is too short (at least {expected})"
        case "maxLength" | "maxItems" | "maxProperties":
            return f"{_shown(found)} is too long (at most {expected})"
        case "pattern":
            return f"{_shown(found)} does not match {_shown(expected)}"
        case "format":
            return f"{_shown(found)} is not a {_shown(expected)}"
        case "not":
            return f"{_shown(found)} must not be valid under {_shown(expected, 200)}"
        case _:
            return str(error.message)


def _required_name(error: ValidationError) -> Any:
    """The one property a `required` error is about: jsonschema reports each missing one as
    its own error, naming it (as Python spells it) at the head of the message."""
    head = str(error.message).removesuffix(" is a required property")
    try:
        return ast.literal_eval(head)
    except (ValueError, SyntaxError):
        return head


def _wanted(error: ValidationError) -> tuple[Any, ...]:
    """What the broken rule wanted, as data: the missing or unexpected names, the allowed
    values, the bound, the pattern, the type or format."""
    found: Any = error.instance
    expected: Any = error.validator_value
    schema: Any = error.schema
    match error.validator:
        case "required":
            return (_required_name(error),)
        case "additionalProperties" if isinstance(found, dict):
            known = schema.get("properties", {}) if isinstance(schema, dict) else {}
            return tuple(name for name in found if name not in known)
        case "enum":
            return tuple(expected)
        case "type":
            return tuple(expected) if isinstance(expected, list) else (expected,)
        case _:
            return (expected,)


# Schemas name each other by path; the Rust validator resolves those against this base.
_BASE_URI = "https://call-sandbox.invalid/schemas/"


class SchemaRegistry:
    """Every schema under one folder, each compiled exactly once, twice over: by jsonschema-rs,
    which answers "valid?" in microseconds on the request path, and by jsonschema, which says
    precisely what is wrong when something is (messages clients and fixture authors read)."""

    def __init__(self, root: Path) -> None:
        documents: dict[str, Any] = {}
        for path in sorted(root.rglob("*.json")):
            name = path.relative_to(root).as_posix()
            with path.open(encoding="utf-8") as handle:
                documents[name] = json.load(handle)
            if documents[name].get("$id") != name:
                found = documents[name].get("$id")
                raise ValueError(f"schemas/{name}: its $id must be {name!r}, not {found!r}")
        self._documents = documents
        self._explaining: Mapping[str, Draft202012Validator] | None = None
        self._lock = threading.Lock()
        fast_registry = jsonschema_rs.Registry([(_BASE_URI + n, d) for n, d in documents.items()])
        self._fast: Mapping[str, jsonschema_rs.Validator] = {
            name: jsonschema_rs.Draft202012Validator(
                doc, registry=fast_registry, base_uri=_BASE_URI + name
            )
            for name, doc in documents.items()
        }

    def _validators(self) -> Mapping[str, Draft202012Validator]:
        """jsonschema's validators, which say what is wrong; compiled when first needed."""
        if self._explaining is None:
            with self._lock:
                if self._explaining is None:
                    self._explaining = _explaining(self._documents)
        return self._explaining

    def check_schemas(self) -> None:
        """Raise unless every schema is itself valid JSON Schema 2020-12 (tests and `check`)."""
        from jsonschema import Draft202012Validator

        for doc in self._documents.values():
            Draft202012Validator.check_schema(doc)

    @classmethod
    @functools.cache
    def load(cls, root: Path) -> SchemaRegistry:
        """The registry of a folder, compiled once per process: schemas are immutable data."""
        return cls(root)

    def names(self) -> Iterator[str]:
        return iter(self._documents)

    def document(self, name: str) -> Mapping[str, Any]:
        """The schema `name` as written (for documents that embed it, such as OpenAPI)."""
        schema: Mapping[str, Any] = self._documents[name]
        return schema

    def problems(self, name: str, instance: Any, *, prefix: str = "") -> list[Problem]:
        """What is wrong with `instance` under schema `name`, most specific first; [] if valid."""
        if self._fast[name].is_valid(instance):
            return []
        validator = self._validators()[name]
        found = sorted(
            (_best(e) for e in validator.iter_errors(instance)),
            key=lambda e: (list(map(str, e.absolute_path)), e.message),
        )
        return [
            Problem(_location(prefix, e), explain(e), str(e.validator), _wanted(e)) for e in found
        ]

    def check(self, name: str, instance: Any) -> None:
        """Raise SchemaViolation unless `instance` (a body the sandbox made) fits `name`."""
        if not self._fast[name].is_valid(instance):
            raise SchemaViolation(name, self.problems(name, instance, prefix="body"))

    def __contains__(self, name: object) -> bool:
        return name in self._documents


def _explaining(documents: Mapping[str, Any]) -> dict[str, Draft202012Validator]:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry: Registry[Any] = Registry().with_resources(
        (name, Resource.from_contents(doc, default_specification=DRAFT202012))
        for name, doc in documents.items()
    )
    return {name: Draft202012Validator(doc, registry=registry) for name, doc in documents.items()}
