"""Ids of generated calls: random-looking UUIDs that decode back to (tenant, index).

A generated call is a pure function of (seed, tenant, index), so its id must lead back to
that triple without any table: 122 bits of a version-4 UUID carry a 46-bit check (so a made-up
UUID decodes to nothing), a 36-bit tenant tag and the index under a seeded 40-bit bijection
(so neighbours do not look alike). Created calls get ids from the same digest
family but never pass the check, so the two can never collide.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

_INDEX_BITS = 40
_INDEX_MASK = (1 << _INDEX_BITS) - 1
_TAG_BITS = 36  # room for many tenants (open tenancy makes one per key)
_TAG_MASK = (1 << _TAG_BITS) - 1
_CHECK_BITS = 122 - _INDEX_BITS - _TAG_BITS
MAX_INDEX = _INDEX_MASK
_DECODED = 1024  # ids remembered by CallIds.decode


def digest(*parts: object) -> bytes:
    """A stable 32-byte digest: never Python's hash(), which changes per process."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=32).digest()


def digest_int(*parts: object) -> int:
    return int.from_bytes(digest(*parts), "big")


def _to_uuid(payload: int) -> str:
    """Spread 122 payload bits around the UUID's version and variant bits."""
    high = payload >> 74  # 48 bits
    middle = (payload >> 62) & 0xFFF  # 12 bits
    low = payload & ((1 << 62) - 1)
    value = (high << 80) | (0x4 << 76) | (middle << 64) | (0b10 << 62) | low
    return hyphenated(f"{value:032x}")


def hyphenated(simple: str) -> str:
    """32 hex digits in a UUID's 8-4-4-4-12 groups (what str(uuid.UUID(...)) spells, for
    lowercase digits, in a third of the time)."""
    return f"{simple[:8]}-{simple[8:12]}-{simple[12:16]}-{simple[16:20]}-{simple[20:]}"


def _from_uuid(text: str) -> int | None:
    try:
        value = uuid.UUID(text).int
    except ValueError:
        return None
    if (value >> 76) & 0xF != 0x4 or (value >> 62) & 0b11 != 0b10:
        return None
    return ((value >> 80) << 74) | (((value >> 64) & 0xFFF) << 62) | (value & ((1 << 62) - 1))


def uuid_from(*parts: object) -> str:
    """A version-4 UUID derived from `parts` (for contacts, campaigns, created calls)."""
    return _to_uuid(digest_int(*parts) >> 134)


class CallIds:
    """Encodes and decodes the ids of one seed's generated calls."""

    def __init__(self, seed: int, tenants: Iterable[str]) -> None:
        self._seed = seed
        self._tags: dict[str, int] = {}
        self._tenants: dict[int, str] = {}
        self._keys: dict[str, tuple[int, int, int]] = {}
        # Ids decoded lately (the same calls are asked for again and again); only ids that
        # decode, since an unknown tag may become a tenant's later (open tenancy).
        self._decoded: dict[str, tuple[str, int]] = {}
        for tenant in tenants:
            self.add(tenant)

    def add(self, tenant: str) -> None:
        """Give `tenant` its own tag and index mixing (idempotent)."""
        if tenant in self._tags:
            return
        tag = digest_int(self._seed, "tenant-tag", tenant) >> (256 - _TAG_BITS)
        if tag in self._tenants:
            raise ValueError(f"tenants {self._tenants[tag]!r} and {tenant!r} share an id tag")
        mix = digest_int(self._seed, "index-mix", tenant)
        multiplier = (mix & _INDEX_MASK) | 1
        self._keys[tenant] = (multiplier, (mix >> 64) & _INDEX_MASK, pow(multiplier, -1, 1 << 40))
        self._tags[tenant] = tag
        self._tenants[tag] = tenant

    def discard(self, tenant: str) -> None:
        """Forget `tenant`: its ids decode to nothing until it is added again."""
        tag = self._tags.pop(tenant, None)
        if tag is None:
            return
        del self._tenants[tag]
        del self._keys[tenant]
        self._decoded = {}

    def _check(self, tenant: str, index: int) -> int:
        return digest_int(self._seed, "check", tenant, index) >> (256 - _CHECK_BITS)

    def encode(self, tenant: str, index: int) -> str:
        multiplier, offset, _ = self._keys[tenant]
        mixed = (index * multiplier + offset) & _INDEX_MASK
        payload = (self._check(tenant, index) << (_INDEX_BITS + _TAG_BITS)) | mixed
        payload |= self._tags[tenant] << _INDEX_BITS
        return _to_uuid(payload)

    def decode(self, text: str) -> tuple[str, int] | None:
        """(tenant, index) for an id this seed generated; None for anything else."""
        known = self._decoded.get(text)
        if known is not None:
            return known
        found = self._decode(text)
        if found is not None:
            if len(self._decoded) >= _DECODED:
                self._decoded.clear()
            self._decoded[text] = found
        return found

    def _decode(self, text: str) -> tuple[str, int] | None:
        payload = _from_uuid(text)
        if payload is None:
            return None
        tenant = self._tenants.get((payload >> _INDEX_BITS) & _TAG_MASK)
        if tenant is None:
            return None
        _, offset, inverse = self._keys[tenant]
        index = ((payload & _INDEX_MASK) - offset) * inverse & _INDEX_MASK
        if self._check(tenant, index) != payload >> (_INDEX_BITS + _TAG_BITS):
            return None
        return tenant, index


def sibling_sid(prefix: str, sid: str) -> str:
    """A second Twilio-style SID of the same call (a conference's `CF…` beside the call's
    `CA…`): 32 hex digits of its own, from a digest of the first, so the two ids of one call
    never share their random digits while each stays a pure function of the call."""
    return prefix + digest(prefix, sid)[:16].hex()
