"""Every SandboxError in Zudu's envelope: `{"message", "status": "error", "error"}`.

The 404 bodies are Zudu's documented ones word for word, and like them carry no `data` key.
Zudu lists 401 and 500 without bodies; they get the same envelope with a short message and
the reason in `error`. A 400 names the field to fix in `error`. An injected status (a
`Prefer: code=`, a fault rule, a rate limit) carries the status's reason phrase as `message`
and a sentence about it in `error`; Zudu documents no rate limit, so its 429 wording is the
sandbox's.
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

SCHEMA = "zudu/error.json"

_INJECTED_REASONS = {
    401: "Invalid API key or secret",
    429: "Too many requests, please try again later",
    500: "Failed to process the request",
}


def _error(status: int, message: str, error: str) -> Reply:
    return Reply(status, {"message": message, "status": "error", "error": error}, SCHEMA)


def render_error(error: SandboxError) -> Reply:
    match error:
        case Unauthorized():
            return _error(401, "Unauthorized", _INJECTED_REASONS[401])
        case InjectedStatus(status=status):
            reason = _INJECTED_REASONS.get(status, f"The server answered {status} {error.phrase}")
            return _error(status, error.phrase, reason)
        case CallNotFound(call_id=call_id, tenant_label=organization) if organization:
            # DELETE names the organisation the call was looked for in.
            return _error(
                404,
                "Call not found",
                f"Call with ID '{call_id}' does not exist in organization '{organization}'",
            )
        case CallNotFound(call_id=call_id):
            return _error(404, "Call not found", f"Call with ID '{call_id}' does not exist")
        case RouteNotFound(method=method, path=path):
            return _error(404, "Not found", f"No endpoint {method} {path}")
        case InvalidRequest() | MalformedBody():
            return _error(400, "Invalid request", error.detail)
        case PayloadTooLarge():
            return _error(413, "Payload too large", error.detail)
        case _:
            return _error(500, "Internal Server Error", _INJECTED_REASONS[500])
