"""Helpers every vendor's renderer shares: docs overrides and latency summaries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.model import Call, LatencySeries

OMIT = "$omit"
"""An override key listing fields a docs example does not show, so the pinned call drops them."""


def overlay(body: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`body` with `overrides` merged in, objects recursively, every other value verbatim;
    the fields an object's `$omit` list names are removed from it."""
    merged = dict(body)
    for key, value in overrides.items():
        if key == OMIT:
            for name in value:
                merged.pop(name, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


def with_overrides(vendor: str, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a pinned call's per-vendor docs values, if it has any."""
    overrides = call.vendor_overrides.get(vendor)
    return overlay(body, overrides) if overrides else body


def latency_summary(series: LatencySeries) -> dict[str, Any]:
    """The {p50, p90, p95, p99, max, min, num, values} block Retell and Zudu share (ms)."""
    return {
        "p50": series.percentile(50),
        "p90": series.percentile(90),
        "p95": series.percentile(95),
        "p99": series.percentile(99),
        "max": series.maximum,
        "min": series.minimum,
        "num": len(series.values),
        "values": list(series.values),
    }
