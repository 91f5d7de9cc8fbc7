"""Every SandboxError in Retell's shape: `{"status": "error", "message": ...}`.

The messages of 401, 404, 422 and 500 are the examples in Retell's OpenAPI document, word for
word; a 400 names the field to fix, as Retell's validation errors do. An injected status (a
`Prefer: code=`, a fault rule, a rate limit) gets the OpenAPI document's example message for that
status, and the status's reason phrase where the document has none.
"""

from __future__ import annotations

from collections.abc import Mapping

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
from sandbox.vendors.retell.unemulated import STATUS as NOT_EMULATED
from sandbox.vendors.retell.unemulated import not_emulated

SCHEMA = "retell/error.json"


class CallNotInState(SandboxError):
    """A live-call action on a call that is not at the stage it needs (stop, listen, take
    over or update a call that is not ongoing; analyse again a call that has not ended)."""

    def __init__(self, call_id: str, status: str, action: str, needed: str) -> None:
        super().__init__(f"Call {call_id} is {status}; {action} needs a call that is {needed}.")
        self.call_id = call_id
        self.status = status


class IdempotencyConflict(SandboxError):
    """An idempotency_key used (within its window) for a create with another body."""

    def __init__(self, key: str, hours: int) -> None:
        super().__init__(
            f"idempotency_key {key!r} was used in the last {hours} hour(s) with a different "
            "request body; send the same body to get that call again, or use a new key for "
            "a new call."
        )
        self.key = key


# `components.responses` of Retell's OpenAPI document: each status's example message.
DOCUMENTED: Mapping[int, str] = {
    400: "Invalid request format, please check API reference.",
    401: "API key is missing or invalid.",
    402: "Trial has ended, please add payment method.",
    403: "Forbidden",
    404: "The requested resource was not found.",
    409: "Resource update conflict.",
    412: "Precondition failed for conditional update.",
    422: "Cannot find requested asset under given api key.",
    429: "Account rate limited, please throttle your requests.",
    500: "An unexpected server error occurred.",
}


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"status": "error", "message": message}, SCHEMA)


def render_error(error: SandboxError) -> Reply:
    match error:
        case Unauthorized():
            return _error(401, DOCUMENTED[401])
        case CallNotFound():
            # Retell's spec lists no 404 for get-call: an unknown id is a 422.
            return _error(422, DOCUMENTED[422])
        case RouteNotFound(method=method, path=path):
            refused = not_emulated(method, path)
            if refused is not None:
                # A Retell agent or number write: a 501 that says so, not a wrong path's 404.
                # Retell's SDK retries every 5xx unless told not to; this one never changes.
                body = {"status": "error", "message": refused.detail}
                headers = {"x-should-retry": "false", "x-sandbox-hint": refused.detail}
                return Reply(NOT_EMULATED, body, SCHEMA, headers)
            return _error(404, DOCUMENTED[404])
        case InjectedStatus(status=status):
            return _error(status, DOCUMENTED.get(status, error.phrase))
        case InvalidRequest() | MalformedBody() | CallNotInState():
            return _error(400, error.detail)
        case IdempotencyConflict():
            return _error(409, error.detail)
        case PayloadTooLarge():
            return _error(413, error.detail)
        case _:
            return _error(500, DOCUMENTED[500])
