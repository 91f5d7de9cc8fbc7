"""The one request pipeline every vendor mount runs, in a fixed order (as stripe-mock does):

vendor (chosen by the mount) -> auth (vendor's 401) -> route (vendor's not-found) -> body,
read and validated (vendor's 400/413) -> handler (store + generator) -> render (vendor's
shape) -> validate the rendered body against its schema -> respond.

Every failure is a SandboxError rendered by the vendor, so no request ever gets a traceback
or a bare 500. A body that breaks its own schema is a sandbox bug: it is logged with the
schema's name and answered with the vendor's 500, or raised when the settings say so (the
pytest plugin), so that a test fails loudly.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from sandbox.errors import (
    InvalidRequest,
    MalformedBody,
    PayloadTooLarge,
    RouteNotFound,
    SandboxError,
    ServerError,
    Unauthorized,
)
from sandbox.fixtures import Tenant
from sandbox.prefer import parse_prefer
from sandbox.schemas import SchemaViolation
from sandbox.state import Sandbox
from sandbox.vendor import Context, Query, Reply, Route, Vendor

log = logging.getLogger("sandbox")

HINT_HEADER = "X-Sandbox-Hint"


def _header_safe(text: str) -> str:
    """One printable ASCII line, at most 512 characters, fit for an HTTP header."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in text)
    return cleaned[:512]


def encode(body: Any) -> bytes:
    """Compact, key order as built, UTF-8: the bytes every vendor's JSON stack sends."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class VendorApp:
    """An ASGI app serving one vendor's routes over one Sandbox."""

    def __init__(self, sandbox: Sandbox, vendor: Vendor, *, prefix: str) -> None:
        self.sandbox = sandbox
        self.vendor = vendor
        self.prefix = prefix  # where it is mounted: "/retell", or "" at the root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan and websockets are handled by the outer app
            return
        reply = await self._answer(scope, receive)
        headers = [(b"content-type", self.vendor.content_type.encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        payload = b"" if reply.body is None else encode(reply.body)
        if reply.status not in (204, 304):
            headers.append((b"content-length", str(len(payload)).encode()))
        else:
            headers = [h for h in headers if h[0] != b"content-type"]
            payload = b""
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _answer(self, scope: Scope, receive: Receive) -> Reply:
        try:
            reply = await self._handle(scope, receive)
        except SandboxError as error:
            reply = self.vendor.render_error(error)
            # The body stays the vendor's own; the sandbox says precisely what to fix beside it.
            reply = replace(
                reply, headers={**reply.headers, HINT_HEADER: _header_safe(error.detail)}
            )
        return self._checked(reply)

    async def _handle(self, scope: Scope, receive: Receive) -> Reply:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        tenant = self._authenticate(headers)
        method = scope["method"]
        raw_path = _raw_path(scope, self.prefix)
        route, params = self._route(method, raw_path)
        body = await self._body(route, receive) if route.body_schema else None
        context = Context(
            sandbox=self.sandbox,
            vendor=self.vendor,
            tenant=tenant,
            path=params,
            query=Query(_query_items(scope)),
            body=body,
            headers=headers,
            prefer=parse_prefer(headers.get("prefer")) if self.sandbox.settings.prefer else {},
        )
        return route.handler(context)

    def _authenticate(self, headers: dict[str, str]) -> Tenant:
        credentials = self.vendor.auth.credentials(headers)
        tenant = self.sandbox.tenant_for(self.vendor, credentials)
        if tenant is None:
            raise Unauthorized("the key is not one of this sandbox's keys: run `call-sandbox keys`")
        return tenant

    def _route(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
        for route in self.vendor.routes:
            if route.method == method:
                params = route.match(raw_path)
                if params is not None:
                    return route, params
        raise RouteNotFound(method, raw_path)

    async def _body(self, route: Route, receive: Receive) -> Any:
        limit = self.sandbox.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
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
        raw = b"".join(chunks)
        if not raw.strip():
            body: Any = {}
        else:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise MalformedBody(
                    f"the request body is not valid JSON ({exc}); send a JSON object"
                ) from None
        assert route.body_schema is not None
        problems = self.sandbox.schemas.problems(route.body_schema, body, prefix="body")
        if problems:
            raise InvalidRequest(problems)
        return body

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


def _query_items(scope: Scope) -> list[tuple[str, str]]:
    return parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
