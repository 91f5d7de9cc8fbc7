"""A tenant's pinned and created calls in list order, kept between list requests.

Lists merge these with the generated population. Sorting every created call on every request
made a page of 20 cost as much as the tenant had made (146 ms after 10,000 creates); the index
kept here is sorted once and then only grows: a create adds its one key, because the
backend's overlay is the live object and its `created` dict only ever grows (a reset of the
tenant makes a new overlay). It is used again as it is while the overlay's `revision` (bumped
by every change) and its number of created calls stay the same, so a copy of the overlay (a
shared store's transaction reads one) uses it too, unless the transaction created calls. A
backend whose overlays carry no revision gets an index made anew on every list. What a key
leads to (the call as updated, whether it was deleted) is read from the overlay at the time of
listing, so an update or a delete needs no change here.

Kept for at most MAX_TENANTS tenants (the least recently listed go first); each index holds
one key per created call, as the overlay itself does.
"""

from __future__ import annotations

import bisect
import itertools
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

from sandbox.calls.model import Call
from sandbox.store.backend import Overlay

T = TypeVar("T")

MAX_TENANTS = 64

SortKey = tuple[int, int, str]


def sort_key(call: Call, sequence: int = 0) -> SortKey:
    """Calls list by creation time; calls created in the same millisecond by creation order."""
    return (call.created_ms, sequence, call.id)


class _Index:
    __slots__ = ("counted", "keys", "last", "overlay", "revision")

    def __init__(self, overlay: Overlay, keys: list[SortKey]) -> None:
        self.overlay = overlay  # held: an `is` test against a live object is then sound
        self.revision = _revision(overlay)
        self.counted = 0  # how many of overlay.created the keys hold
        self.last: str | None = None  # the id of the last of them, in the dict's order
        self.keys = keys


class MadeIndexes:
    """The sorted keys of each tenant's pinned and created calls (ascending)."""

    def __init__(self, max_tenants: int = MAX_TENANTS) -> None:
        self.max_tenants = max_tenants
        self._kept: OrderedDict[str, _Index] = OrderedDict()
        self._lock = threading.Lock()

    def keys(self, tenant: str, overlay: Overlay, pinned: Mapping[str, Call]) -> list[SortKey]:
        """The keys of the tenant's pinned and created calls, ascending. The list answered
        is not changed afterwards (a later create makes a new one), so a lazy listing can
        go on reading it."""
        revision = _revision(overlay)
        if revision is None:
            # A backend whose overlays carry no revision: nothing tells what changed.
            return self._built(overlay, pinned).keys
        with self._lock:
            kept = self._kept.get(tenant)
            if kept is None:
                pass
            elif kept.revision == revision and kept.counted == len(overlay.created):
                pass  # no change since (the live overlay, or a copy of it: a transaction's)
            elif kept.overlay is overlay:
                kept = self._grown(kept, overlay)
            else:
                kept = None
            if kept is None:
                kept = self._built(overlay, pinned)
            self._kept[tenant] = kept
            self._kept.move_to_end(tenant)
            while len(self._kept) > self.max_tenants:
                self._kept.popitem(last=False)
            return kept.keys

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)

    @staticmethod
    def _built(overlay: Overlay, pinned: Mapping[str, Call]) -> _Index:
        made = list(overlay.created.items())  # (one C-level pass: no other thread interleaves)
        keys = [sort_key(call) for call in pinned.values()]
        keys += [sort_key(call, sequence) for _, (sequence, call) in made]
        keys.sort()
        index = _Index(overlay, keys)
        index.counted = len(made)
        index.last = made[-1][0] if made else None
        return index

    @staticmethod
    def _grown(kept: _Index, overlay: Overlay) -> _Index | None:
        """The index with the calls created since it was made; None if the overlay did more
        than grow (then the index is built anew)."""
        created = overlay.created
        if len(created) < kept.counted:
            return None
        if kept.counted:
            # The dict keeps insertion order: the last id indexed is still where it was.
            seen = next(itertools.islice(created, kept.counted - 1, None), None)
            if seen != kept.last:
                return None
        added = list(itertools.islice(created.items(), kept.counted, None))
        keys = kept.keys
        if added:
            keys = list(keys)  # (a listing still reading the old list keeps its own)
            _insert(keys, (sort_key(call, sequence) for _, (sequence, call) in added))
        grown = _Index(overlay, keys)
        grown.counted = kept.counted + len(added)
        grown.last = added[-1][0] if added else kept.last
        return grown


def _revision(overlay: Overlay) -> int | None:
    revision: int | None = getattr(overlay, "revision", None)
    return revision


def _insert(keys: list[SortKey], new: Iterable[SortKey]) -> None:
    for key in new:
        # New calls are the newest nearly always: appended, not shifted in.
        if not keys or key > keys[-1]:
            keys.append(key)
        else:
            bisect.insort(keys, key)


def window(items: Iterable[T], start: int, count: int) -> Iterator[T]:
    """Items `start` to `start + count` of `items`, lazily. A start past any list's end (a
    client may ask for page 2**63) is an empty page: `itertools.islice` takes no index above
    sys.maxsize."""
    if start >= sys.maxsize:
        return iter(())
    return itertools.islice(items, start, min(start + count, sys.maxsize))
