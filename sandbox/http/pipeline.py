"""The one request pipeline every vendor mount runs, in a fixed order (as stripe-mock does):

vendor (chosen by the mount) -> auth (vendor's 401) -> route (vendor's not-found) -> faults
asked for (rate limits, `Prefer`, fault rules: sandbox.http.injection) -> body, read and validated
(vendor's 400/413) -> handler (store + generator) -> render (vendor's shape) -> validate the
rendered body against its schema -> encode -> respond -> record the exchange in the journal.

The vendor's lookup route (one call by id) keeps what it answered (sandbox.http.answers): asking for
the same call again, while it has not changed or moved on, skips render, validation and
encoding, and nothing else.

Every failure is a SandboxError rendered by the vendor, so no request ever gets a traceback
or a bare 500. A body that breaks its own schema is a sandbox bug: it is logged with the
schema's name and answered with the vendor's 500, or raised when the settings say so (the
pytest plugin), so that a test fails loudly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple

import anyio
from starlette.types import Receive, Scope, Send

from sandbox.calls.fixtures import Tenant
from sandbox.calls.lifecycle import Phase, phase
from sandbox.calls.model import Call
from sandbox.dialect.vendor import Context, Query, Reply, Route, Vendor, VendorSandbox, find_plan
from sandbox.errors import (
    InvalidRequest,
    MalformedBody,
    PayloadTooLarge,
    RequestTimeout,
    RouteNotFound,
    SandboxError,
    ServerError,
    StoreDown,
    Unauthorized,
)
from sandbox.http import injection
from sandbox.http.answers import Answer, AnswerCache, Key
from sandbox.http.connection import ConnectionDropped
from sandbox.http.encoding import encode, parse_json
from sandbox.http.exchange import Exchange
from sandbox.http.keys import unknown_key
from sandbox.http.limits import KEPT_HEADS, KeptHeaders, read_head
from sandbox.http.prefer import parse_prefer
from sandbox.schemas import SchemaViolation
from sandbox.store.slices import sliced

log = logging.getLogger("sandbox")

HINT_HEADER = "X-Sandbox-Hint"
_HINT = HINT_HEADER.lower()
_READS = frozenset({"GET", "HEAD"})  # methods whose handlers change nothing
# Express and NestJS answer HEAD with the GET route of the same path, headers and all
# (content-length included), and send no body: so does the sandbox.
_HEAD_AS = {"HEAD": "GET"}
# An answer that gives up on the request closes the connection: what is left of the body
# may still be on its way, and nothing after it could be read as the next request.
_CLOSE = "close"
_FOUND = 1024  # (method, path) -> route, remembered per vendor


def _header_safe(text: str) -> str:
    """One printable ASCII line, at most 512 characters, fit for an HTTP header."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in text)
    return cleaned[:512]


class _Kept(NamedTuple):
    """Where a lookup's answer is kept, and what it must have been made from."""

    key: Key
    plan: Call
    phase: Phase


class VendorApp:
    """An ASGI app serving one vendor's routes over one Sandbox."""

    def __init__(
        self, sandbox: VendorSandbox, vendor: Vendor, *, prefix: str, answers: AnswerCache
    ) -> None:
        self.sandbox = sandbox
        self.answers = answers  # shared by every mount of the app
        self.vendor = vendor
        self.prefix = prefix  # where it is mounted: "/retell", or "" at the root
        self._content_type = (b"content-type", vendor.content_type.encode())
        self._found: dict[tuple[str, str], tuple[Route, dict[str, str]]] = {}
        # The credentials read from headers `read_head` shares between requests, by their
        # identity (the headers are kept alongside, so the identity stays theirs).
        self._credentials: dict[int, tuple[KeptHeaders, tuple[str, ...]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan and websockets are handled by the outer app
            return
        exchange = Exchange(at_ms=self.sandbox.clock.now_ms())
        try:
            answer = await self._answer(scope, receive, exchange)
        except BaseException:  # (hung up on by a fault, or the client went away)
            self._record(scope, exchange)
            raise
        if exchange.headers or exchange.transit is not None:
            await self._respond(answer, exchange, scope, send)
        else:  # (nearly every request: the answer as it is)
            status = exchange.status = answer.status
            self._record(scope, exchange)
            body = b"" if scope["method"] == "HEAD" else answer.body
            # (ASGI takes any iterable of headers: the kept tuple itself, never changed)
            await send({"type": "http.response.start", "status": status, "headers": answer.head})
            await send({"type": "http.response.body", "body": body})

    def _head(
        self, status: int, headers: Mapping[str, str], payload: bytes
    ) -> list[tuple[bytes, bytes]]:
        """The response headers: the vendor's content type, `headers`, the body's length
        (neither of the two for a 204 or 304, which have no body)."""
        head = [self._content_type]
        head += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if status in (204, 304):
            return [h for h in head if h[0] != b"content-type"]
        head.append((b"content-length", str(len(payload)).encode()))
        return head

    async def _respond(self, answer: Answer, exchange: Exchange, scope: Scope, send: Send) -> None:
        """The answer with the headers and the damage the faults add."""
        status = answer.status
        payload = b"" if answer.payload is None else answer.payload
        if exchange.transit == "malformed":
            status, payload = injection.damaged("malformed", status, payload)
        headers = self._head(status, {**answer.headers, **exchange.headers}, payload)
        if status in (204, 304) or scope["method"] == "HEAD":
            payload = b""
        if exchange.transit == "truncate":
            exchange.status = status if payload else None
            self._record(scope, exchange)
            await self._truncated(status, headers, payload, send)
        exchange.status = status
        self._record(scope, exchange)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _truncated(
        self, status: int, headers: list[tuple[bytes, bytes]], payload: bytes, send: Send
    ) -> None:
        """The headers promise the whole body; half of it is sent, then the connection closes."""
        if not payload:
            raise ConnectionDropped(label="truncated")
        half = len(payload) // 2
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload[:half], "more_body": True})
        raise ConnectionDropped(
            "peer closed connection without sending complete message body "
            f"(received {half} bytes, expected {len(payload)})",
            label="truncated",
        )

    def _record(self, scope: Scope, exchange: Exchange) -> None:
        """Journal the exchange, before its answer leaves: a client that has its answer (in
        another thread, over a socket) finds the request in the journal."""
        if exchange.route is None:  # (refused before routing: name the route it was for)
            found = self._find(scope["method"], _raw_path(scope, self.prefix))
            exchange.route = found[0].name if found else None
        entry = exchange.later(scope, self.vendor.name, self.sandbox.redactor)
        self.sandbox.journal.record_later(exchange.tenant, entry)

    async def _answer(self, scope: Scope, receive: Receive, exchange: Exchange) -> Answer:
        try:
            return await self._handle(scope, receive, exchange)
        except SandboxError as error:
            reply = self.vendor.render_error(error)
            # The body stays the vendor's own; the sandbox says precisely what to fix beside it
            # (the vendor's renderer may say it better: a route it knows it does not emulate).
            hint = next((v for k, v in reply.headers.items() if k.lower() == _HINT), error.detail)
            headers = {k: v for k, v in reply.headers.items() if k.lower() != _HINT}
            headers[HINT_HEADER] = _header_safe(hint)
            if isinstance(error, RequestTimeout):
                headers["Connection"] = _CLOSE
            if isinstance(error, StoreDown):
                headers["Retry-After"] = str(StoreDown.RETRY_AFTER_S)
            reply = replace(reply, headers=headers)
        return self._finished(reply)

    def _finished(self, reply: Reply) -> Answer:
        """The reply checked against its schema and encoded."""
        checked = self._checked(reply)
        payload = None if checked.body is None else encode(checked.body)
        head = self._head(checked.status, checked.headers, payload or b"")
        return Answer(checked.status, checked.headers, payload, tuple(head))

    async def _handle(self, scope: Scope, receive: Receive, exchange: Exchange) -> Answer:
        # An over-long URI or header block is refused first, as a server would.
        headers = read_head(scope)
        backend = self.sandbox.backend
        if not backend.live:  # (a shared store that does not answer: 503, never stale data)
            await backend.ensure()
        tenant = self._authenticate(headers)
        exchange.tenant = tenant.id
        method = scope["method"]
        raw_path = _raw_path(scope, self.prefix)
        route, params = self._route(method, raw_path)
        exchange.route = route.name
        preferred = headers.get("prefer") if self.sandbox.settings.prefer else None
        prefer = parse_prefer(preferred) if preferred is not None else {}
        planned = injection.NOTHING
        # (Nearly every request: no rules, no preference, nothing to count or wait for.)
        if prefer or self.sandbox.rate_limits.active or self.sandbox.faults.active:
            planned = await injection.plan(
                self.sandbox, self.vendor.name, route.name, tenant.id, prefer
            )
        if planned.applied or planned.headers:
            exchange.faults, exchange.headers = planned.applied, planned.headers
            exchange.transit = planned.transit
            await injection.carry_out(
                planned, receive, body_timeout_s=self.sandbox.settings.body_timeout_s
            )
        body = await self._body(route, receive, exchange) if route.body_schema else None
        query_string: bytes = scope.get("query_string", b"")
        kept: _Kept | None = None
        if route.name == self.vendor.lookup_route and len(params) == 1:
            (external_id,) = params.values()
            plan = find_plan(self.sandbox, self.vendor, tenant.id, external_id)
            if plan is None and not self.sandbox.local:
                # Maybe created a moment ago through another replica: ask the shared store
                # (the in-memory one is always up to date).
                await self.sandbox.backend.catch_up()
                plan = find_plan(self.sandbox, self.vendor, tenant.id, external_id)
            if plan is not None:
                key = (self.vendor.name, raw_path, query_string, tenant.id)
                stage = phase(plan, exchange.at_ms)
                answer = self.answers.get(key, plan, stage)
                if answer is not None:
                    return answer
                kept = _Kept(key, plan, stage)
        context = Context(
            sandbox=self.sandbox,
            vendor=self.vendor,
            tenant=tenant,
            path=params,
            query=Query(query_string.decode("latin-1")),
            body=body,
            headers=headers,
            prefer=prefer,
            now=exchange.at_ms,
        )
        if kept is not None:
            return self._keep(route, context, kept)
        if method in _READS or route.reads_only:
            if route.scans:
                return self._finished(await sliced(lambda: route.handler(context)))
            return self._finished(route.handler(context))
        # Handlers read, change and write (Zudu's PUT merges metadata): a request's changes are
        # made whole or not at all; when another worker or replica changed the tenant first,
        # nothing was written, and the handler runs again on the tenant as it is now.
        reply = await self.sandbox.store.change(tenant.id, lambda: route.handler(context))
        return self._finished(reply)

    def _keep(self, route: Route, context: Context, kept: _Kept) -> Answer:
        """The lookup route's answer, kept when the handler made a success out of the very
        call it was kept for."""
        answer = self._finished(route.handler(context))
        found = context.found
        if answer.status == route.status and len(found) == 1 and found[0] is kept.plan:
            self.answers.put(*kept, answer)
        return answer

    def _authenticate(self, headers: Mapping[str, str]) -> Tenant:
        known = self._credentials.get(id(headers))
        if known is not None and known[0] is headers:
            credentials = known[1]
        else:
            credentials = self.vendor.auth.credentials(headers)
            if type(headers) is KeptHeaders:
                if len(self._credentials) >= KEPT_HEADS:
                    self._credentials.clear()
                self._credentials[id(headers)] = (headers, credentials)
        tenant = self.sandbox.tenant_for(self.vendor, credentials)
        if tenant is None:
            raise Unauthorized(unknown_key(self.sandbox, self.vendor, credentials))
        return tenant

    def _route(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
        found = self._find(method, raw_path)
        if found is None:
            unserved = self.vendor.not_served(_HEAD_AS.get(method, method), raw_path)
            raise RouteNotFound(method, raw_path, unserved=unserved)
        return found

    def _find(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        method = _HEAD_AS.get(method, method)
        known = self._found.get((method, raw_path))
        if known is not None:
            return known[0], dict(known[1])
        for route in self.vendor.routes:
            if route.method == method:
                params = route.match(raw_path)
                if params is not None:
                    # The same paths come again and again: remember where they lead.
                    if len(self._found) >= _FOUND:
                        self._found.clear()
                    self._found[(method, raw_path)] = (route, dict(params))
                    return route, params
        return None

    async def _body(self, route: Route, receive: Receive, exchange: Exchange) -> Any:
        raw = await self._read_body(receive)
        if not raw.strip():
            body: Any = {}
        else:
            try:
                body = parse_json(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise MalformedBody(
                    f"the request body is not valid JSON ({exc}); send a JSON object"
                ) from None
            exchange.body = body
        assert route.body_schema is not None
        problems = self.sandbox.schemas.problems(route.body_schema, body, prefix="body")
        if problems:
            raise InvalidRequest(problems)
        return body

    async def _read_body(self, receive: Receive) -> bytes:
        """The whole body, or RequestTimeout when it has not all come within the settings'
        `body_timeout_s` (a body that stalls, or a chunked one dripped without end, would
        otherwise hold its connection open for good), or PayloadTooLarge past the limit."""
        limit = self.sandbox.settings.max_body_bytes
        seconds = self.sandbox.settings.body_timeout_s
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(seconds):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(limit)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            return b"".join(chunks)
        raise RequestTimeout(seconds, size)

    def _checked(self, reply: Reply) -> Reply:
        if reply.schema is None:
            return reply
        try:
            self.sandbox.schemas.check(reply.schema, reply.body)
        except SchemaViolation as violation:
            log.error(
                "sandbox bug: a %s body broke %s: %s", self.vendor.name, violation.schema, violation
            )
            if self.sandbox.settings.raise_on_schema_error:
                raise
            fallback = self.vendor.render_error(ServerError("the sandbox produced an invalid body"))
            self.sandbox.schemas.check(fallback.schema or "", fallback.body)
            return fallback
        return reply


def _raw_path(scope: Scope, prefix: str) -> str:
    """The still-encoded path below the vendor's mount (the mount's own prefix, not Starlette's
    root_path, which a trailing %0A can throw off)."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else str(scope["path"])
    return path[len(prefix) :] if path.startswith(prefix) else path
