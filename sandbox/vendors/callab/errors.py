"""Every SandboxError in Callab's envelope: `{"status": "error", "message": ..., "data": ""}`.

Callab documents one error body, the not-found answer of GET /calls/{id}; every other status
below is the sandbox's inference, in the same envelope, with a message that names what to fix.
An injected status (a `Prefer: code=`, a fault rule, a rate limit) carries the status's reason
phrase as its message, as the documented 401 ("Unauthorized") does.
"""

from __future__ import annotations

from sandbox.dialect.vendor import Reply
from sandbox.errors import (
    CallNotFound,
    InjectedStatus,
    InvalidRequest,
    MalformedBody,
    PayloadTooLarge,
    RouteNotFound,
    SandboxError,
    Unauthorized,
)

SCHEMA = "callab/error.json"


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"status": "error", "message": message, "data": ""}, SCHEMA)


def render_error(error: SandboxError) -> Reply:
    match error:
        case CallNotFound():
            # Callab's docs: "The endpoint returns a standard success response even when the
            # call is not found (with error status)": HTTP 200 and this exact body. A malformed
            # id and another company's call answer the same, since a client cannot tell them apart.
            return _error(200, "error")
        case Unauthorized():
            return _error(401, "Unauthorized")
        case InjectedStatus(status=status):
            return _error(status, error.phrase)
        case RouteNotFound():
            return _error(404, error.detail)
        case InvalidRequest() | MalformedBody():
            return _error(400, error.detail)
        case PayloadTooLarge():
            return _error(413, error.detail)
        case _:
            return _error(500, "internal server error")
