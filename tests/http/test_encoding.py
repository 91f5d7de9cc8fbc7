"""The bytes of every body: orjson's where they are the standard library's, the standard
library's everywhere else, so no body changed when the encoder did."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.calls.lifecycle import observe
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.encoding import encode, has_small_float, parse_json, standard

# Values on which the two encoders disagree, or nearly.
AWKWARD: list[Any] = [
    1e-05,
    2.5e-07,
    -3.14e-05,
    5e-324,
    0.0001,
    0.00012,
    1e16,
    1.5e300,
    -0.0,
    0.1 + 0.2,
    123456789.123456789,
    2**64,
    -(2**63) - 1,
    10**30,
    "e-mail re-sent at 1e-5",
    "0.0000 in a string",
    'naïve café ☎ 日本語 \u2028 \x7f \x00 \x1f "quoted" \\ /',
    {"nested": [1, 2.0, {"x": None, "y": True, "z": False}], "": ""},
    {1: "a non-string key"},
    (1, 2, 3),
    [],
    {},
]


@pytest.mark.parametrize("value", AWKWARD, ids=repr)
def test_awkward_values_encode_as_the_standard_library_does(value: Any) -> None:
    assert encode(value) == standard(value)
    wrapped = {"v": value, "list": [value, value]}
    assert encode(wrapped) == standard(wrapped)


def test_every_rendering_of_many_calls_is_byte_identical(state: VendorSandbox) -> None:
    """Every shape of every vendor, over generated calls at several instants of their lives
    (queued, talking, ended, analysed) and every pinned docs call."""
    tenant = state.fixtures.default_tenant
    plans = [state.generator.plan(tenant, i) for i in range(0, 500, 7)]
    plans += list(state.fixtures.pinned)
    reference = state.fixtures.reference_ms
    checked = 0
    for plan in plans:
        for offset in (0, 5_000, 40_000, 400_000, 3 * 86_400_000):
            call = observe(plan, reference + offset)
            for vendor in state.vendors.values():
                for _, body in vendor.renderings(call):
                    assert encode(body) == standard(body)
                    checked += 1
    assert checked > 1_000


def test_a_client_s_floats_and_text_come_back_as_they_went() -> None:
    metadata = {"tiny": 1e-05, "tinier": 2.5e-07, "big": 1e22, "text": "日本語 e-mail 0.0000"}
    body = {"metadata": metadata, "echo": [metadata]}
    expected = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    assert encode(body) == standard(body) == expected


@pytest.mark.parametrize(
    "raw", [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e400}']
)
def test_non_finite_numbers_are_not_json(raw: bytes) -> None:
    with pytest.raises(ValueError, match=r"JSON value|too large"):
        parse_json(raw)


def test_finite_numbers_parse_as_json_loads_parses_them() -> None:
    raw = b'{"a": 1.5, "b": -2e-7, "c": 10, "d": 1e308, "e": [0.1, "x"]}'
    assert parse_json(raw) == json.loads(raw)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_any_json_value_encodes_as_the_standard_library_does(value: Any) -> None:
    assert encode(value) == standard(value)


@pytest.mark.parametrize(
    "body",
    [
        {"id": "f42dd30e-7a9c-4fe0-9d1e-0a1b2c3d4e5f"},  # a hex digit, then `e-`
        ["call_0e-1", "0.0000 left"],
        {"word": "e-mail", "start": 0.5},
    ],
)
def test_ids_and_words_do_not_send_a_body_to_the_slow_path(body: Any) -> None:
    """`e-` inside a string (every fourth UUID has one) is no small number."""
    assert not has_small_float(orjson.dumps(body))


@pytest.mark.parametrize(
    "payload", [b"1e-05", b"[2.5e-7]", b'{"a":-1e-5}', b'{"a":[1,0.00001]}', b'{"a":"x","b":3e-9}']
)
def test_small_numbers_are_seen_wherever_they_stand(payload: bytes) -> None:
    assert has_small_float(payload)
