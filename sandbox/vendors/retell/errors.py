"""Every SandboxError in Retell's shape: `{"status": "error", "message": ...}`.

The messages of 401, 404, 422 and 500 are the examples in Retell's OpenAPI document, word for
word; a 400 names the field to fix, as Retell's validation errors do.
"""

from __future__ import annotations

from sandbox.errors import (
    CallNotFound,
    InvalidRequest,
    MalformedBody,
    PayloadTooLarge,
    RouteNotFound,
    SandboxError,
    Unauthorized,
)
from sandbox.vendor import Reply

SCHEMA = "retell/error.json"


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"status": "error", "message": message}, SCHEMA)


def render_error(error: SandboxError) -> Reply:
    match error:
        case Unauthorized():
            return _error(401, "API key is missing or invalid.")
        case CallNotFound():
            # Retell's spec lists no 404 for get-call: an unknown id is a 422.
            return _error(422, "Cannot find requested asset under given api key.")
        case RouteNotFound():
            return _error(404, "The requested resource was not found.")
        case InvalidRequest() | MalformedBody():
            return _error(400, error.detail)
        case PayloadTooLarge():
            return _error(413, error.detail)
        case _:
            return _error(500, "An unexpected server error occurred.")
