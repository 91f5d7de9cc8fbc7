"""The bytes of every JSON body the sandbox sends: compact, keys in the order they were built,
UTF-8 unescaped, exactly what `json.dumps(body, separators=(",", ":"), ensure_ascii=False)`
writes (the form the vendors' JSON stacks send), made by orjson in a tenth of the time.

orjson and the standard library disagree on a few things, each of which takes the standard
library's path instead, so the bytes never depend on which encoder made them:
- floats below 1e-4 (`1e-05` against orjson's `0.00001`, `2.5e-07` against `2.5e-7`): orjson
  spells them with `0.0000` or with digits followed by `e-`, so any body holding a number that
  starts so is re-encoded (a number follows `:`, `,` or `[` in compact JSON; a string holding
  such a sequence after one of those, rarely, is re-encoded too, which costs time, not bytes);
- integers beyond 64 bits, keys that are not strings, and types only one of the two encodes
  (dataclasses, datetimes): orjson refuses them and the standard library decides;
- NaN and infinities, which the standard library writes as the non-JSON tokens `NaN` and
  `Infinity` and orjson as `null`: no body holds them, because request bodies that contain
  them are refused as malformed (`parse_json`) and generated data has none.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_NUMBER_BYTES = frozenset(b"0123456789.-")


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def standard(body: Any) -> bytes:
    """The reference spelling, by the standard library."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def encode(body: Any) -> bytes:
    """`body` as the bytes `standard(body)` gives."""
    try:
        payload = orjson.dumps(body, default=_refuse, option=_OPTIONS)
    except TypeError:  # (orjson.JSONEncodeError is one)
        return standard(body)
    if (b"e-" in payload or b"0.0000" in payload) and has_small_float(payload):
        return standard(body)
    return payload


def has_small_float(payload: bytes) -> bool:
    """Whether compact JSON `payload` may hold a number orjson spells otherwise than the
    standard library: one that follows `:`, `,`, `[` or starts the payload and contains `e-` or
    starts `0.0000`. Strings rarely hold such a sequence after one of those; when one does,
    the answer is yes, which costs time, not bytes."""
    # Each `e-` or `0.0000` found (by bytes.find: most are inside ids, `...30e-7a9c...`), then
    # judged by what comes before the digits it ends.
    for needle in (b"e-", b"0.0000"):
        at = payload.find(needle)
        while at != -1:
            start = at
            while start > 0 and payload[start - 1] in _NUMBER_BYTES:
                start -= 1
            number = start < at or needle == b"0.0000"  # (`e-` needs a digit before it)
            if number and (start == 0 or payload[start - 1] in b":,["):
                return True
            at = payload.find(needle, at + 1)
    return False


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text} is too large for a double")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(raw: bytes | str) -> Any:
    """A request body as JSON, strictly (ValueError otherwise): `NaN` and `Infinity` are not
    JSON and JSON.parse, under the vendors' Node stacks, refuses them; a number too large for
    a double (`1e400`) is refused too, where Node would read Infinity and echo it as null."""
    return json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
