"""List pages joined from kept items: each call of a page rendered, encoded and checked once,
while its plan and its phase stay the same, as the lookup route's answers are kept
(`sandbox.http.answers`).

A list page used to cost a render, an `observe`, a schema check and an encoding of every
call on it on every request: 6 to 40 ms for a page of 100. Here an item is kept as the body
the vendor's renderer made and as its bytes (the spelling `encode` gives), and a page is its
envelope with the kept bytes embedded (`orjson.Fragment`): the same bytes the whole body
encodes to. What the page's schema says of its items is checked item by item, the first time
each is on a page (the item inside the envelope of one item, so that the schema's own words
are checked, no copy of them), and the envelope on every page (with no items). What is kept
of an item is its bytes: a filter or a sort reads its body back from them. Should
anything be unusual (an item that breaks the schema, an envelope orjson would spell otherwise
than the standard library), the page is answered the ordinary way, validated and encoded
whole by the pipeline, which also reports a broken body as it reports any other.

Kept by (form, tenant, call id): `form` names the renderer and its options (Retell's V2 items
carry transcripts, V3 items do not). At most MAX_ITEMS items and MAX_BYTES of encoded items;
the least recently used go first.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from sandbox.calls.lifecycle import Phase, observe, phase
from sandbox.calls.model import Call
from sandbox.dialect.vendor import Reply
from sandbox.http.encoding import Encoded, encode
from sandbox.http.kept import PlanKept
from sandbox.schemas import SchemaRegistry, SchemaViolation

MAX_ITEMS = 4096
MAX_BYTES = 16 * 1024 * 1024

_ORJSON = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME

Render = Callable[[Call], Any]
Key = tuple[str, str, str]  # form, tenant, call id


class Item:
    """One call rendered as a list item: its bytes, the schemas it was checked by, and its
    body. What is kept holds the bytes alone (a body takes two to three times their memory):
    its body is read back from them when a filter or a sort asks for it."""

    __slots__ = ("_body", "checked", "encoded", "phase", "plan")

    def __init__(
        self,
        plan: Call,
        stage: Phase,
        encoded: bytes,
        body: Any = None,
        checked: set[str] | None = None,
    ) -> None:
        self.plan = plan
        self.phase = stage
        self.encoded = encoded
        self._body = body
        self.checked = checked if checked is not None else set()

    @classmethod
    def rendered(cls, plan: Call, stage: Phase, body: Any) -> Item:
        # An exact copy of the bytes: the encoder's keep its whole working buffer.
        return cls(plan, stage, bytes(memoryview(encode(body))), body)

    @property
    def body(self) -> Any:
        """The item as the renderer made it (JSON's types: what the client reads back)."""
        if self._body is None:
            try:
                return orjson.loads(self.encoded)
            except orjson.JSONDecodeError:  # (an integer beyond 64 bits)
                return json.loads(self.encoded)
        return self._body

    def kept(self) -> Item:
        """This item without its body, sharing what it was checked by."""
        return Item(self.plan, self.phase, self.encoded, None, self.checked)


class Items(PlanKept[Key, Item]):
    """Rendered list items, kept while their plan and phase stay the same."""

    def __init__(self, max_items: int = MAX_ITEMS, max_bytes: int = MAX_BYTES) -> None:
        super().__init__(max_items, max_bytes)

    @property
    def max_items(self) -> int:
        return self.max_entries

    def _size(self, value: Item) -> int:
        return len(value.encoded)

    def item(self, form: str, tenant: str, plan: Call, now: int, render: Render) -> Item:
        """`plan` as it is at `now`, rendered by `render` (kept, or made and kept)."""
        stage = phase(plan, now)
        kept = self._get((form, tenant, plan.id), plan, stage)
        if kept is not None:
            return kept
        made = Item.rendered(plan, stage, render(observe(plan, now)))
        self._put((form, tenant, plan.id), made.kept())
        return made

    def peek(self, form: str, tenant: str, plan: Call, now: int) -> Item | None:
        """The item kept of `plan` as it is at `now`, if there is one (a scan of the whole
        tenant reads what is kept and renders nothing, so that it never evicts a page)."""
        return self._get((form, tenant, plan.id), plan, phase(plan, now))

    def keeps_all(self, count: int) -> bool:
        """Whether a scan of `count` calls may keep what it renders: only while they fit in
        half of what is kept, so that a scan of a large tenant never evicts every page."""
        return count <= self.max_items // 2

    def body(self, form: str, tenant: str, plan: Call, now: int, render: Render, keep: bool) -> Any:
        """The body of `plan`'s item at `now`, for a filter: kept, or rendered (and kept only
        when `keep`: see `keeps_all`)."""
        if keep:
            return self.item(form, tenant, plan, now, render).body
        found = self.peek(form, tenant, plan, now)
        return found.body if found is not None else render(observe(plan, now))


# One set of kept items per store (an app's, or a test's own), gone with it.
_ITEMS: weakref.WeakKeyDictionary[object, Items] = weakref.WeakKeyDictionary()
_ITEMS_LOCK = threading.Lock()


def items_of(owner: object) -> Items:
    """The kept items of `owner` (the store the listed calls come from)."""
    with _ITEMS_LOCK:
        found = _ITEMS.get(owner)
        if found is None:
            found = _ITEMS[owner] = Items()
        return found


def page(
    schemas: SchemaRegistry,
    schema: str,
    items: Sequence[Item],
    build: Callable[[list[Any]], Any],
    *,
    status: int = 200,
) -> Reply:
    """The reply whose body is `build(list of the items' bodies)`, valid under `schema`,
    joined from the items' kept bytes where it can be (see the module)."""

    def whole() -> Reply:
        return Reply(status, build([i.body for i in items]), schema)

    for item in items:
        if schema not in item.checked:
            if not _valid(schemas, schema, build([item.body])):
                return whole()
            item.checked.add(schema)
    shell = build([])
    if not _valid(schemas, schema, shell):
        return whole()
    try:
        plain = orjson.dumps(shell, option=_ORJSON)
    except TypeError:
        return whole()
    if plain != encode(shell):  # (a float orjson spells otherwise: the pipeline decides)
        return whole()
    joined = orjson.dumps(build([orjson.Fragment(i.encoded) for i in items]), option=_ORJSON)
    return Reply(status, Encoded(joined), None)


def _valid(schemas: SchemaRegistry, schema: str, body: Any) -> bool:
    try:
        schemas.check(schema, body)
    except SchemaViolation:
        return False
    return True
