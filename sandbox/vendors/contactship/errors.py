"""Every SandboxError in ContactShip's shape: NestJS's default exception bodies.

ContactShip's docs list the status codes but no bodies. Its bodies carry `statusCode`, so the
API is taken to be NestJS on Express, whose defaults are:
- `new UnauthorizedException()` (an API-key guard): {"statusCode":401,"message":"Unauthorized"};
- `new NotFoundException(msg)`: {"statusCode":404,"message":msg,"error":"Not Found"}, and for a
  route nobody declared the router's own "Cannot GET /path";
- ValidationPipe: {"statusCode":400,"message":[one sentence per problem],"error":"Bad Request"},
  with class-validator's wording where it has one ("property x should not exist" for an
  unknown field, "x must not be less than 0", "x must be a UUID");
- body-parser errors, which are not HttpExceptions, as {"statusCode":..,"message":..} with
  body-parser's own message ("request entity too large");
- an injected status (a `Prefer: code=`, a fault rule, a rate limit) as Nest's built-in
  exception of that status thrown without a message, {"statusCode":503,"message":"Service
  Unavailable"}; a 429 as @nestjs/throttler's {"statusCode":429,"message":"ThrottlerException:
  Too Many Requests"}, and a 500 as the unknown-exception filter's "Internal server error".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from sandbox.dialect.vendor import Reply
from sandbox.errors import (
    CallNotFound,
    InjectedStatus,
    InvalidRequest,
    MalformedBody,
    PayloadTooLarge,
    Problem,
    RouteNotFound,
    SandboxError,
    Unauthorized,
)
from sandbox.vendors.contactship import formats

SCHEMA = "contactship/error.json"


class ContactNotFound(SandboxError):
    """single-contact-call named a contact the organisation does not have."""

    def __init__(self, contact_id: str) -> None:
        super().__init__(
            f"contact '{contact_id}' not found: use the contact.id of one of your calls"
        )


def _http(status: int, message: str | list[str], error: str | None = None) -> Reply:
    body: dict[str, object] = {"statusCode": status, "message": message}
    if error is not None:
        body["error"] = error
    return Reply(status, body, SCHEMA)


_REQUIRED = re.compile(r"'(?P<name>[^']+)' is a required property")
_UNEXPECTED = re.compile(
    r"Additional properties are not allowed \((?P<names>.+) (?:was|were) unexpected\)"
)
_SENTENCES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r".* is not of type (?P<t>.+)"), lambda m: f"must be of type {m['t']}"),
    (
        re.compile(r".* is less than the minimum of (?P<n>.+)"),
        lambda m: f"must not be less than {m['n']}",
    ),
    (
        re.compile(r".* is greater than the maximum of (?P<n>.+)"),
        lambda m: f"must not be greater than {m['n']}",
    ),
    (re.compile(r".* should be non-empty|.* is too short"), lambda m: "should not be empty"),
    (
        re.compile(r".* is not one of \[(?P<v>.*)\]"),
        lambda m: f"must be one of the following values: {m['v'].replace(chr(39), '')}",
    ),
    (
        re.compile(r".* does not match (?P<p>.+)"),
        lambda m: f"must match {m['p']} regular expression",
    ),
)


def _field(location: str) -> str:
    for prefix in ("body", "query"):
        if location == prefix:
            return ""
        if location.startswith(prefix + "."):
            return location[len(prefix) + 1 :]
    return location


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name


def sentences(problem: Problem) -> list[str]:
    """One problem in class-validator's words, each naming the field it is about."""
    field = _field(problem.location)
    message = problem.message
    if found := _REQUIRED.fullmatch(message):
        return [f"{_join(field, found['name'])} should not be empty"]
    if found := _UNEXPECTED.fullmatch(message):
        names = [n.strip().strip("'") for n in found["names"].split(",")]
        return [f"property {_join(field, n)} should not exist" for n in names]
    # A sentence about the whole body (a JSON array sent for an object) names the body.
    subject = field or problem.location
    known = formats.description(message)
    if known is not None:
        return [f"{subject} {known}"]
    for pattern, sentence in _SENTENCES:
        if found := pattern.fullmatch(message):
            return [f"{subject} {sentence(found)}"]
    return [f"{field} {message}" if field else message]


_INJECTED: Mapping[int, str] = {
    429: "ThrottlerException: Too Many Requests",
    500: "Internal server error",
}

_NOT_FOUND: Mapping[type[SandboxError], str] = {
    CallNotFound: "Call not found",
    ContactNotFound: "Contact not found",
}


def render_error(error: SandboxError) -> Reply:
    match error:
        case Unauthorized():
            return _http(401, "Unauthorized")
        case InjectedStatus(status=status):
            return _http(status, _INJECTED.get(status, error.phrase))
        case CallNotFound() | ContactNotFound():
            return _http(404, _NOT_FOUND[type(error)], "Not Found")
        case RouteNotFound():
            return _http(404, f"Cannot {error.method} {error.path}", "Not Found")
        case InvalidRequest():
            return _http(400, [s for p in error.problems for s in sentences(p)], "Bad Request")
        case MalformedBody():
            return _http(400, error.detail)
        case PayloadTooLarge():
            return _http(413, "request entity too large")
        case _:
            return _http(500, _INJECTED[500])
