"""schemathesis against each vendor's own OpenAPI document (`/_sandbox/openapi/<vendor>.json`),
in-process over ASGI, with the default tenant's keys: generated requests, valid (positive) and
invalid (negative), to every operation. Every answer must be no 5xx, a documented status and
content type, and a body that fits the document's schema for that status; the app itself
raises on any body that breaks the sandbox's own schemas (raise_on_schema_error).

The default suite sends FUZZ_DEFAULT requests per vendor, with a fixed seed (derandomize), so
CI is deterministic. `SANDBOX_FUZZ=1` sends at least FUZZ_FULL per vendor (bench/fuzz.sh).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from sandbox import Settings, create_app
from sandbox.dialect.vendor import Vendor, VendorSandbox
from sandbox.vendors import VENDORS

FUZZ_FULL = 1000
FUZZ_DEFAULT = 120
TARGET = FUZZ_FULL if os.environ.get("SANDBOX_FUZZ") == "1" else FUZZ_DEFAULT
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _ids(state: VendorSandbox, vendor: Vendor) -> list[str]:
    """Ids of calls the default tenant has, so that generated requests reach real calls."""
    tenant = state.fixtures.default_tenant
    generated = [vendor.external_id(state.generator.call(tenant, i)) for i in range(12)]
    pinned = [vendor.external_id(c) for c in state.fixtures.pinned if c.tenant == tenant]
    return generated + pinned


def _known_fields(vendor: Vendor) -> dict[str, Any]:
    """Top-level body fields of the vendor's working examples (a tenant's agent, an E.164
    number...): a generated body that borrows them gets past the checks that need the
    tenant's data, so the handlers behind those checks are fuzzed too."""
    known: dict[str, Any] = {}
    for example in vendor.examples:
        if isinstance(example.body, Mapping):
            known |= {k: v for k, v in example.body.items() if isinstance(v, str)}
    return known


def _operations(app: Starlette, vendor: Vendor) -> Iterator[Any]:
    schema = schemathesis.openapi.from_asgi(f"/_sandbox/openapi/{vendor.name}.json", app)
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        yield result.ok()


def _literal(case: Any, name: str) -> list[str]:
    """The values the operation's document excludes for path parameter `name`."""
    for parameter in case.operation.definition.raw.get("parameters", []):
        if parameter.get("in") == "path" and parameter.get("name") == name:
            return list(parameter.get("schema", {}).get("not", {}).get("enum", []))
    return []


def _runner(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    send: Callable[[Any, st.DataObject], None],
) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: Any, data: st.DataObject) -> None:
        send(case, data)

    return run


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_schemathesis_finds_no_5xx_and_no_schema_break(vendor: Vendor) -> None:
    app = create_app(Settings(raise_on_schema_error=True))
    state: VendorSandbox = app.state.sandbox
    headers = state.credentials(vendor.name)
    ids = _ids(state, vendor)
    known = _known_fields(vendor)
    operations = list(_operations(app, vendor))
    per_run = math.ceil(TARGET / (len(operations) * len(MODES)))
    sent: list[str] = []
    failures: list[str] = []

    def send(case: Any, data: st.DataObject) -> None:
        for name, value in case.path_parameters.items():
            drawn = data.draw(st.sampled_from(ids) | st.just(value))
            # A value that is another route's literal segment (Callab's `GET /calls/query`)
            # is a request for that route, not for this operation: judge it there.
            case.path_parameters[name] = ids[0] if drawn in _literal(case, name) else drawn
        positive = case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE
        if positive and isinstance(case.body, dict):
            for name, value in known.items():
                if data.draw(st.booleans()):
                    case.body[name] = value
        sent.append(case.operation.label)
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except Exception as failure:  # every failure is collected, then all reported at once
            failures.append(f"{case.operation.label}: {failure}")

    for operation in operations:
        for mode in MODES:
            _runner(operation, mode, per_run, send)()
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:5])
    assert len(sent) >= TARGET
    assert {f"{r.method} {r.path}" for r in vendor.routes} == set(sent)
