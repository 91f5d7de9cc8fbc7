from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sandbox.calls.ids import CallIds, _to_uuid, uuid_from


def test_round_trip_and_rejection() -> None:
    ids = CallIds(42, ["acme", "globex"])
    for tenant in ("acme", "globex"):
        for index in (0, 1, 2, 999_999, 2**40 - 1):
            encoded = ids.encode(tenant, index)
            assert uuid.UUID(encoded).version == 4
            assert ids.decode(encoded) == (tenant, index)
    assert ids.decode(uuid_from("anything")) is None
    assert ids.decode("not-a-uuid") is None
    assert ids.decode(str(uuid.UUID(int=0))) is None
    assert CallIds(43, ["acme"]).decode(ids.encode("acme", 5)) is None


def test_neighbours_do_not_look_alike() -> None:
    ids = CallIds(1, ["acme"])
    first, second = ids.encode("acme", 0), ids.encode("acme", 1)
    assert first[:8] != second[:8]


@given(st.integers(min_value=0, max_value=2**122 - 1))
def test_ids_are_spelled_as_the_uuid_module_spells_them(payload: int) -> None:
    text = _to_uuid(payload)
    assert text == str(uuid.UUID(text))
    assert uuid.UUID(text).version == 4
