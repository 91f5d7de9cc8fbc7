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

from sandbox.errors import InvalidRequest, MalformedBody

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_NUMBER_BYTES = frozenset(b"0123456789.-")


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def standard(body: Any) -> bytes:
    """The reference spelling, by the standard library."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class Encoded(bytes):
    """A body whose bytes were made already, in the spelling `encode` gives (a list page
    joined from kept items, `sandbox.http.pages`): sent as it is."""


def encode(body: Any) -> bytes:
    """`body` as the bytes `standard(body)` gives."""
    if type(body) is Encoded:
        return body
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


# How deep a request body may nest objects and arrays. The deepest documented request body is
# five levels; metadata a client passes through rarely goes past ten. The sandbox renders,
# validates and encodes what it stores recursively, so it refuses depth at the door.
MAX_DEPTH = 64
# The digits of an integer in a body: the vendors' JSON.parse reads longer ones as an inexact
# double, and Python's int() refuses more than 4,300.
MAX_INTEGER_DIGITS = 100


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits is too long (at most 100)")
    return int(text)


def parse_json(raw: bytes | str) -> Any:
    """A request body as JSON, strictly (ValueError otherwise): `NaN` and `Infinity` are not
    JSON and JSON.parse, under the vendors' Node stacks, refuses them; a number too large for
    a double (`1e400`) is refused too, where Node would read Infinity and echo it as null.

    What parses but could not be kept is refused as the vendor's 400 (a SandboxError): text
    that is not Unicode (a lone UTF-16 surrogate such as `"\\ud800"`, which JSON's escapes can
    spell but UTF-8 cannot carry), and nesting deeper than MAX_DEPTH."""
    try:
        body = json.loads(raw, parse_float=_finite, parse_int=_integer, parse_constant=_no_constant)
    except RecursionError:  # (the parser's own recursion, at about a thousand levels)
        raise _too_deep() from None
    if not _plain(body):
        _refuse_text_or_depth(body)
    return body


def _too_deep() -> MalformedBody:
    return MalformedBody(
        f"the request body nests objects and arrays more than {MAX_DEPTH} levels deep; "
        "send a flatter body"
    )


def _plain(body: Any) -> bool:
    """Whether `body` nests at most MAX_DEPTH levels and all its text (keys too) is Unicode
    that UTF-8 can carry. One pass, no recursion, no paths: the common answer is yes."""
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and not _encodable(value):
                return False
            continue
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                return False
            for key, item in value.items():
                if not key.isascii() and not _encodable(key):
                    return False
                if isinstance(item, str | dict | list):
                    stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                return False
            stack.extend((item, depth + 1) for item in value if isinstance(item, str | dict | list))
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_text_or_depth(body: Any) -> None:
    """The first place, in document order, where `body` is too deep or holds text that is not
    Unicode, as the error a vendor answers it with (a second pass, only for refused bodies)."""
    stack: list[tuple[Any, str, int]] = [(body, "body", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise InvalidRequest.one(path, _not_unicode(value))
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise _too_deep()
        items = value.items() if isinstance(value, dict) else enumerate(value)
        children: list[tuple[Any, str, int]] = []
        for key, item in items:
            if isinstance(key, str) and not _encodable(key):
                raise InvalidRequest.one(path, "has a key that " + _not_unicode(key))
            child = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
            children.append((item, child, depth + 1))
        stack.extend(reversed(children))


def _not_unicode(text: str) -> str:
    lone = next(c for c in text if 0xD800 <= ord(c) <= 0xDFFF)
    return (
        f"holds a lone UTF-16 surrogate (\\u{ord(lone):04x}), which is not Unicode text and "
        "cannot be stored: send the character's full surrogate pair, or valid UTF-8"
    )
