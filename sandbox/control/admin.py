"""`--admin-token`: the whole control plane (/_sandbox) behind `Authorization: Bearer <token>`,
but for health and readiness, which orchestrators probe without credentials.

It guards paths, not routes, so every endpoint under /_sandbox is covered, whoever declares it.
A vendor's mount never reaches the control plane (/retell/_sandbox/reset is a Retell path), so
the vendors' own auth is unaffected.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/_sandbox"
PUBLIC = frozenset({"/_sandbox/health", "/_sandbox/ready"})
MESSAGE = (
    "this sandbox's control plane needs its admin token: send `Authorization: Bearer <token>` "
    "with the token given to `call-sandbox serve --admin-token` (or $SANDBOX_ADMIN_TOKEN)"
)


class AdminGate:
    """ASGI middleware: 401 in the sandbox's own error shape without the right Bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guarded(scope["path"]) or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "unauthorized", "message": MESSAGE}, separators=(",", ":"))
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
        return (path == PREFIX or path.startswith(PREFIX + "/")) and path not in PUBLIC

    def _allowed(self, scope: Scope) -> bool:
        sent = b", ".join(v for k, v in scope["headers"] if k.lower() == b"authorization")
        scheme, _, value = sent.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), self._token)
