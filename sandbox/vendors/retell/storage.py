"""Retell's `data_storage_setting` on a call: it only moves towards keeping less."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.calls.model import Call
from sandbox.errors import InvalidRequest

# Retell: "Cannot be downgraded from more restrictive to less restrictive settings."
_RANK = {"everything": 0, "everything_except_pii": 1, "basic_attributes_only": 2}


def storage_overrides(call: Call, wanted: str, location: str) -> Mapping[str, Mapping[str, Any]]:
    """`call`'s vendor_overrides with its setting moved to `wanted`; a 400 naming `location`
    when that would keep more than it keeps now."""
    now = (call.vendor_overrides.get("retell") or {}).get("data_storage_setting", "everything")
    if _RANK[wanted] < _RANK[now]:
        raise InvalidRequest.one(
            location, f"cannot be downgraded from {now!r} to the less restrictive {wanted!r}"
        )
    overrides = dict(call.vendor_overrides)
    overrides["retell"] = {**overrides.get("retell", {}), "data_storage_setting": wanted}
    return overrides
