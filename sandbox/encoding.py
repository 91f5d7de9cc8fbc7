"""The bytes of every JSON body the sandbox sends: compact, keys in the order they were built,
UTF-8 unescaped, exactly what `json.dumps(body, separators=(",", ":"), ensure_ascii=False)`
writes (the form the vendors' JSON stacks send), made by orjson in a tenth of the time.

orjson and the standard library disagree on a few things, each of which takes the standard
library's path instead, so the bytes never depend on which encoder made them:
- floats below 1e-4 (`1e-05` against orjson's `0.00001`, `2.5e-07` against `2.5e-7`): orjson
  spells them with `0.0000` or a digit followed by `e-`, so any body holding either sequence
  anywhere (in a string too, rarely) is re-encoded;
- integers beyond 64 bits, keys that are not strings, and types only one of the two encodes
  (dataclasses, datetimes): orjson refuses them and the standard library decides;
- NaN and infinities, which the standard library writes as the non-JSON tokens `NaN` and
  `Infinity` and orjson as `null`: no body holds them, because request bodies that contain
  them are refused as malformed (`parse_json`) and generated data has none.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_SMALL_FLOAT = re.compile(rb"[0-9]e-|0\.0000")


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
    if (b"e-" in payload or b"0.0000" in payload) and _SMALL_FLOAT.search(payload):
        return standard(body)
    return payload


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
