"""The vendors' own documentation examples of the endpoints added for issue 14 fit the
sandbox's schemas: what a vendor prints is what the sandbox takes and answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors.callab import VENDOR as CALLAB
from sandbox.vendors.callab.query import SORT_ALIASES, SORT_COLUMNS

DATA = Path(__file__).parent / "data"


def load(vendor: str, name: str) -> Any:
    return json.loads((DATA / vendor / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("vendor", "example", "schema"),
    [
        ("zudu", "create-web-call.request.json", "zudu/create-web-call.request.json"),
        ("zudu", "create-web-call.json", "zudu/create-web-call.json"),
        ("contactship", "contact-calls.json", "contactship/contact-calls.json"),
        ("contactship", "call-history.json", "contactship/call-history.json"),
        (
            "contactship",
            "single-contact-call.request.json",
            "contactship/single-contact-call.request.json",
        ),
        ("contactship", "single-contact-call.json", "contactship/create-call.json"),
        ("callab", "get-call.success.json", "callab/get-call.json"),
    ],
)
def test_docs_example_fits_its_schema(
    state: VendorSandbox, vendor: str, example: str, schema: str
) -> None:
    assert state.schemas.problems(schema, load(vendor, example)) == []


def test_zudu_cost_example_fits_the_call_schema(state: VendorSandbox) -> None:
    """Seed page 001's call_cost: a whole number of seconds, per-minute unit prices."""
    cost = load("zudu", "get-call.json")["data"]["call_cost"]
    assert isinstance(cost["total_duration_seconds"], int)
    inbound = cost["product_costs"][0]
    assert inbound["cost"] == pytest.approx(
        inbound["unit_price"] * cost["total_duration_seconds"] / 60
    )
    assert cost["combined_cost"] == pytest.approx(sum(p["cost"] for p in cost["product_costs"]))
    # The LLM line is the one-time price, and only the per-minute lines make the unit price:
    # the arithmetic the sandbox's Zudu bills follow.
    llm = [p for p in cost["product_costs"] if p["product"].startswith("llm")]
    assert cost["total_one_time_price"] == sum(p["cost"] for p in llm)
    assert cost["total_duration_unit_price"] == inbound["unit_price"]
    assert state.schemas.problems("zudu/call.json", load("zudu", "get-call.json")["data"]) == []


def test_callab_sort_columns_are_the_documented_ones() -> None:
    documented = load("callab", "query-calls.sort-columns.json")
    assert [*SORT_ALIASES, *SORT_COLUMNS] == documented
    param = next(
        p
        for r in CALLAB.routes
        if r.name == "query-calls"
        for p in r.query
        if p.name == "sort_column"
    )
    assert param.schema["enum"] == ["", *documented]
