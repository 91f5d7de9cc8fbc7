"""`--admin-token`: the whole control plane (/_sandbox) behind `Authorization: Bearer <token>`,
but for health and readiness, which orchestrators probe without credentials.

It guards paths, not routes, so every endpoint under /_sandbox is covered, whoever declares it.
A vendor's mount never reaches the control plane (/retell/_sandbox/reset is a Retell path), so
the vendors' own auth is unaffected.

A person in a browser cannot send a Bearer header, so the inspector page (/_sandbox/ui) signs
them in once: its form POSTs the token, and the answer sets an HttpOnly, SameSite=Strict cookie
whose value is an HMAC of the token (never the token: a cookie that leaks does not give the
token away, and changing the token signs everyone out). The cookie is accepted wherever the
Bearer header is, but for a method that changes something only from the page's own origin
(its `Origin` header names this host and port): another site's form cannot act for the
signed-in person, nor can another app on another port of the same host, which SameSite alone
would let through (a site is a host, whatever the port).
Unauthenticated, a page of the inspector redirects to its sign-in form rather than answering
JSON; the form and the page's static files (CSS, JavaScript: no secrets) are open.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/_sandbox"
PUBLIC = frozenset({"/_sandbox/health", "/_sandbox/ready"})
MESSAGE = (
    "this sandbox's control plane needs its admin token: send `Authorization: Bearer <token>` "
    "with the token given to `call-sandbox serve --admin-token` (or $SANDBOX_ADMIN_TOKEN)"
)
CROSS_ORIGIN = (
    "a signed-in browser session changes nothing from another origin: send this request from "
    "the inspector page itself, or with `Authorization: Bearer <token>`"
)

UI = PREFIX + "/ui"
SIGN_IN = UI + "/signin"
STATIC = UI + "/static/"
COOKIE = "call_sandbox_session"
# Browsers send these without a preflight, so a cookie alone may authorise them from anywhere;
# everything else must come from the page's own origin.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_value(token: str) -> str:
    """The signed-in cookie's value: an HMAC of the token, never the token itself."""
    signed = hmac.new(token.encode(), b"call-sandbox inspector session v1", hashlib.sha256)
    return signed.hexdigest()


def cookie_value(scope: Scope, name: str) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for key, raw in headers:
        if key.lower() != b"cookie":
            continue
        for part in raw.decode("latin-1").split(";"):
            found, _, value = part.strip().partition("=")
            if found == name:
                return value
    return None


def same_origin(scope: Scope) -> bool:
    """Whether the request's `Origin` is this server's own (scheme and Host header)."""
    sent: list[tuple[bytes, bytes]] = scope["headers"]
    headers = {k.lower(): v.decode("latin-1") for k, v in sent}
    origin, host = headers.get(b"origin"), headers.get(b"host")
    if origin is None or host is None:
        return False
    scheme: str = scope.get("scheme", "http")
    return origin == f"{scheme}://{host}"


class AdminGate:
    """ASGI middleware: 401 in the sandbox's own error shape without the right Bearer token
    (or the inspector's signed-in cookie)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()
        self._session = session_value(token).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        verdict = self._verdict(scope)
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if verdict == MESSAGE and self._page(scope):
            # A person opening the page: the sign-in form, then back here.
            headers = [(b"location", SIGN_IN.encode()), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 303, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        body = json.dumps({"error": "unauthorized", "message": verdict}, separators=(",", ":"))
        payload = body.encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"www-authenticate", b'Bearer realm="call-sandbox"'),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    @staticmethod
    def _guarded(path: str) -> bool:
        if path == SIGN_IN or path.startswith(STATIC):
            return False
        return (path == PREFIX or path.startswith(PREFIX + "/")) and path not in PUBLIC

    @staticmethod
    def _page(scope: Scope) -> bool:
        path: str = scope["path"]
        return scope["method"] in ("GET", "HEAD") and (path == UI or path.startswith(UI + "/"))

    def _verdict(self, scope: Scope) -> str | None:
        """None when allowed; otherwise the message of the 401."""
        sent = b", ".join(v for k, v in scope["headers"] if k.lower() == b"authorization")
        scheme, _, value = sent.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), self._token):
            return None
        cookie = cookie_value(scope, COOKIE)
        if cookie is None or not hmac.compare_digest(cookie.encode(), self._session):
            return MESSAGE
        if scope["method"] in SAFE_METHODS or same_origin(scope):
            return None
        return CROSS_ORIGIN
