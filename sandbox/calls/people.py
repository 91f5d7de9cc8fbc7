"""The names generated calls use, drawn from Faker once per seed.

Faker is asked for a few thousand names when a sandbox first generates a call; every call
then picks its caller, doctor, street and address from these with its own seeded draws. A
call so costs no Faker work when it is generated (a cold get-call generates one per request),
and the same seed gives the same names in every process: Faker is seeded with an integer and
its version is pinned. With 1,024 first and 1,024 last names there are a million callers, and,
as in a real contact centre, some call more than once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

FIRST_NAMES = 1_024
LAST_NAMES = 1_024
STREETS = 256


@dataclass(frozen=True, slots=True)
class People:
    first: tuple[str, ...]
    last: tuple[str, ...]
    streets: tuple[str, ...]
    # Street addresses with a house number ("1207 Maple Avenue"), as a caller gives one.
    addresses: tuple[str, ...]


@functools.lru_cache(maxsize=8)  # (a pure function of the seed; test suites make many apps)
def people(seed: int) -> People:
    """The names of every call generated with `seed`."""
    # Imported here: Faker's providers take a tenth of a second to load, which a sandbox that
    # only answers pinned or created calls never needs to spend.
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    return People(
        first=tuple(fake.first_name() for _ in range(FIRST_NAMES)),
        last=tuple(fake.last_name() for _ in range(LAST_NAMES)),
        streets=tuple(fake.street_name() for _ in range(STREETS)),
        addresses=tuple(
            f"{fake.building_number().lstrip('0') or '1'} {fake.street_name()}"
            for _ in range(STREETS)
        ),
    )
