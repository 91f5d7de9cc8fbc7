"""What a vendor module gives the engine: a name, an auth scheme, routes as data, and one
function that renders every SandboxError in the vendor's own status and body.

The engine (`sandbox.http.pipeline`) never asks which vendor it is serving; everything that differs
between vendors is an attribute or a method here, implemented next to the vendor.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias
from urllib.parse import parse_qsl, quote, unquote

from sandbox.calls.lifecycle import choose_outcome, observe
from sandbox.dialect.auth import AuthScheme
from sandbox.errors import SandboxError
from sandbox.state import Sandbox

if TYPE_CHECKING:
    from sandbox.calls.fixtures import Tenant
    from sandbox.calls.model import Call
    from sandbox.dialect.webhooks import WebhookScheme


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler answers: a status, a JSON-able body (None: no body) and its schema."""

    status: int
    body: Any
    schema: str | None
    headers: Mapping[str, str] = field(default_factory=dict)


class Query:
    """A request's query string: every value of every name, in order. Given as the raw string,
    it is parsed when a handler first reads it (most requests have none to read)."""

    def __init__(self, items: Sequence[tuple[str, str]] | str) -> None:
        self._raw = items if isinstance(items, str) else ""
        self._parsed = None if isinstance(items, str) else items

    @property
    def _items(self) -> Sequence[tuple[str, str]]:
        if self._parsed is None:
            self._parsed = parse_qsl(self._raw, keep_blank_values=True)
        return self._parsed

    def get(self, name: str) -> str | None:
        """The last value sent for `name` (as Express and NestJS read a repeated scalar)."""
        values = self.getall(name)
        return values[-1] if values else None

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self._items if key == name]

    def names(self) -> set[str]:
        return {key for key, _ in self._items}


@dataclass(slots=True)
class Context:
    """Everything a handler may use to answer one request."""

    sandbox: VendorSandbox
    vendor: Vendor
    tenant: Tenant
    path: Mapping[str, str]
    query: Query
    body: Any
    headers: Mapping[str, str]
    prefer: Mapping[str, str] = field(default_factory=dict)  # parsed `Prefer` header
    # The instant the request is answered at (None: whatever the clock says when asked), so
    # that everything one request observes is observed at the same instant.
    now: int | None = None
    # The plans `find_call` found, in order (the pipeline reuses an answer only when it was
    # made from the one call of a lookup).
    found: list[Call] = field(default_factory=list)

    def create_call(self, build: Callable[[str, int], Call]) -> Call:
        """Store a call this client asked for: `build(call_id, now_ms)` is the request; how it
        ends comes from `Prefer: scenario=`, its metadata or the fixtures' rules."""
        rules = self.sandbox.fixtures.outcome_rules
        return self.sandbox.store.create(
            self.tenant.id,
            build,
            origin=self.vendor.name,
            outcome=lambda request: choose_outcome(request, self.prefer, rules),
        )

    def find_plan(self, external_id: str) -> Call | None:
        """The tenant's call with this vendor id as planned (its whole life), or None
        (unknown, deleted or another's)."""
        return find_plan(self.sandbox, self.vendor, self.tenant.id, external_id)

    def find_call(self, external_id: str) -> Call | None:
        """The tenant's call with this vendor id as it is now, or None (unknown, deleted or
        another's)."""
        plan = self.find_plan(external_id)
        if plan is None:
            return None
        self.found.append(plan)
        return observe(plan, self.now if self.now is not None else self.sandbox.clock.now_ms())


Handler = Callable[[Context], Reply]


def find_plan(sandbox: VendorSandbox, vendor: Vendor, tenant: str, external_id: str) -> Call | None:
    """`tenant`'s call with `vendor`'s id `external_id` as planned, or None."""
    store = sandbox.store
    call_id = store.alias(vendor.name, external_id) or _canonical(vendor, external_id)
    return store.plan(tenant, call_id) if call_id is not None else None


@functools.lru_cache(maxsize=1024)
def _canonical(vendor: Vendor, external_id: str) -> str | None:
    # Ids are parsed again and again (the same calls are asked for again and again), and
    # canonical_id is a pure function of the id.
    return vendor.canonical_id(external_id)


@dataclass(frozen=True, slots=True)
class Example:
    """A request that succeeds against a fresh sandbox, for each route (stripe-mock keeps the
    same list): the contract test sends each one and checks the answer against its schema.
    `{call_id}` in the path stands for the vendor id of one of the default tenant's calls."""

    route: str
    path: str
    status: int
    body: Any = None


_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True, slots=True)
class Param:
    """One query parameter a route reads: its name and, as a JSON Schema, the values its
    handler accepts (the OpenAPI documents are made from these)."""

    name: str
    schema: Mapping[str, Any] = field(hash=False)
    required: bool = False
    description: str = ""
    explode: bool = False  # an array sent as repeated `name=a&name=b`


@dataclass(frozen=True, slots=True)
class Route:
    """One documented endpoint. `path` is below the vendor's mount, in the vendor's docs' form."""

    method: str
    path: str
    name: str
    handler: Handler
    body_schema: str | None = None  # JSON Schema of the request body, if the route takes one
    query: tuple[Param, ...] = ()  # the query parameters the handler reads
    status: int = 200  # the status of a success
    response_schema: str | None = None  # the schema of a success's body (None: no body)
    # Errors the handler raises besides those every route of its kind can meet (auth, a bad
    # body or query, an unknown id): one example of each, to document its status and shape.
    raises: tuple[SandboxError, ...] = ()
    # A POST that only reads (Retell's and Zudu's list searches): it changes nothing, so it
    # runs as a GET does, outside any transaction.
    reads_only: bool = False
    # It may look through every call of the tenant (a filtered list): it runs in slices, in
    # turn with the event loop (sandbox.store.slices), whatever the tenant's size.
    scans: bool = False
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Match on the raw (still percent-encoded) path, as Express and most vendor stacks do:
        # `a%2Fb` is one path segment whose value is 'a/b', not two segments.
        object.__setattr__(self, "pattern", _path_pattern(self.path))

    def match(self, raw_path: str) -> dict[str, str] | None:
        found = self.pattern.match(raw_path)
        if found is None:
            return None
        return {k: unquote(v) for k, v in found.groupdict().items()}


def _path_pattern(path: str) -> re.Pattern[str]:
    """A documented path (`/calls/{id}`) as a pattern over raw paths, one segment a parameter."""
    regex = _PARAM.sub(
        lambda m: f"(?P<{m.group(1)}>[^/]+)",
        re.escape(path).replace(r"\{", "{").replace(r"\}", "}"),
    )
    return re.compile(f"^{regex}$")


@dataclass(frozen=True, slots=True)
class Unserved:
    """An endpoint the vendor documents and the sandbox does not emulate: a request to it gets
    the vendor's not-found, with a hint that says so and what to do instead (not that the
    client got the path wrong)."""

    method: str
    path: str  # below the mount, in the docs' form
    instead: str
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _path_pattern(self.path))


class Vendor:
    """Base of every vendor module's one instance. Subclasses fill in the class attributes."""

    name: ClassVar[str]  # the mount (`/retell`) and the folder of its schemas and keys
    title: ClassVar[str]  # how the vendor calls itself, for humans
    docs_base_url: ClassVar[str]  # the real API's base URL, which the mount replaces
    # The part of the documented base URL below the host (Callab's is https://api.callab.ai/v1):
    # a client's base URL becomes the mount plus this, and route paths include it.
    base_path: ClassVar[str] = ""
    auth: ClassVar[AuthScheme]
    content_type: ClassVar[str] = "application/json"
    routes: ClassVar[Sequence[Route]]
    # Endpoints the vendor documents that the sandbox does not serve (see Unserved).
    unserved: ClassVar[Sequence[Unserved]] = ()
    # The name of the route that fetches one call by id (its one path parameter). Its answer
    # must depend only on the path, the query, the tenant and that call as `find_call` gives
    # it: the pipeline keeps the bytes and answers them again while those stay the same.
    lookup_route: ClassVar[str]
    examples: ClassVar[Sequence[Example]] = ()
    webhooks: ClassVar[WebhookScheme | None] = None  # set by a vendor that sends webhooks

    def renderings(self, call: Call) -> Iterable[tuple[str, Any]]:
        """Every shape this vendor renders a call in, with its schema (for `call-sandbox check`)."""
        raise NotImplementedError

    def not_served(self, method: str, raw_path: str) -> str | None:
        """What to tell a client whose request no route matched, when the vendor documents
        that endpoint: that the sandbox does not emulate it, and what to do instead."""
        for unserved in self.unserved:
            if unserved.method == method and unserved.pattern.match(raw_path):
                return (
                    f"{method} {unserved.path} is a {self.title} endpoint the sandbox does not "
                    f"emulate: {unserved.instead}"
                )
        return None

    def lookup_path(self, external_id: str) -> str:
        """The path below the mount that fetches one call (for `call-sandbox show`)."""
        route = next(r for r in self.routes if r.name == self.lookup_route)
        return _PARAM.sub(quote(external_id, safe=""), route.path, count=1)

    def canonical_id(self, external_id: str) -> str | None:
        """The canonical UUID a vendor call id stands for, or None if it is malformed."""
        return external_id

    def external_id(self, call: Call) -> str:
        """How this vendor spells a call's id: the docs' id of a pinned example, or its own
        spelling of the canonical UUID."""
        return call.vendor_ids.get(self.name) or self.format_id(call.id)

    def format_id(self, canonical_id: str) -> str:
        """This vendor's spelling of a canonical call UUID (the inverse of canonical_id)."""
        return canonical_id

    def render_error(self, error: SandboxError) -> Reply:
        """The vendor's status and body for an error; each vendor answers in its own shape."""
        raise NotImplementedError

    def failed(self, status: int, body: Any) -> bool:
        """Whether an answer says the request failed (for tools such as `call-sandbox show`
        that report it): an error status, for most vendors."""
        return status >= 400

    def check_credentials(self, tenant: str, credentials: Mapping[str, str]) -> list[str]:
        """What is wrong with a tenant's fixture credentials for this vendor ([] when fine)."""
        missing = [f for f in self.auth.fields if f not in credentials]
        extra = [f for f in credentials if f not in self.auth.fields]
        problems = [f"keys.{self.name}.{f}: required" for f in missing]
        problems += [
            f"keys.{self.name}.{f}: unknown field; expected {list(self.auth.fields)}" for f in extra
        ]
        return problems


# The sandbox as everything above the dialect sees it: its doors are whole vendors.
VendorSandbox: TypeAlias = Sandbox[Vendor]
