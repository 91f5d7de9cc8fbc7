"""The schemas themselves: valid JSON Schema, and the fast and the explaining validator agree."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.dialect.vendor import VendorSandbox
from sandbox.resources import schemas_dir
from sandbox.schemas import SchemaRegistry, SchemaViolation
from sandbox.vendors import VENDORS


def test_every_schema_is_valid_2020_12() -> None:
    SchemaRegistry.load(schemas_dir()).check_schemas()


def test_both_validators_agree_on_rendered_and_broken_bodies(state: VendorSandbox) -> None:
    registry = state.schemas
    for index in range(0, 60, 3):
        call = state.generator.call("acme", index)
        for vendor in VENDORS:
            for schema, body in vendor.renderings(call):
                assert registry.problems(schema, body) == [], (vendor.name, schema)
                broken: Any = {**body, "unexpected_field": 1} if isinstance(body, dict) else 5
                with pytest.raises(SchemaViolation) as caught:
                    registry.check(schema, broken)
                assert caught.value.problems, (vendor.name, schema)
