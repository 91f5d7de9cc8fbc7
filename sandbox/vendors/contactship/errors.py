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

from collections.abc import Mapping
from typing import Any

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
    """A request named a contact the organisation does not have (by its id, or by the phone
    number of a call that is over)."""

    def __init__(self, contact_id: str, *, by: str = "id") -> None:
        self.contact_id = contact_id
        hint = (
            "use the contact.id of one of your calls"
            if by == "id"
            else "use the contact.phone_number of one of your ended calls"
        )
        super().__init__(f"contact with {by} '{contact_id}' not found: {hint}")


def _http(status: int, message: str | list[str], error: str | None = None) -> Reply:
    body: dict[str, object] = {"statusCode": status, "message": message}
    if error is not None:
        body["error"] = error
    return Reply(status, body, SCHEMA)


# class-validator's sentence for a value of the wrong JSON type (IsString, IsInt, ...).
_TYPES: Mapping[str, str] = {
    "string": "must be a string",
    "integer": "must be an integer number",
    "number": "must be a number conforming to the specified constraints",
    "boolean": "must be a boolean value",
    "object": "must be an object",
    "array": "must be an array",
}


def _said(rule: str | None, wanted: tuple[Any, ...]) -> str | None:
    """class-validator's words for a broken JSON Schema rule, without the field's name."""
    first = wanted[0] if wanted else None
    match rule:
        case "type":
            kinds = [_TYPES[t] for t in wanted if t in _TYPES]
            return kinds[0] if kinds else None
        case "minimum":
            return f"must not be less than {first}"
        case "maximum":
            return f"must not be greater than {first}"
        case "minLength" if first == 1:
            return "should not be empty"
        case "minLength":
            return f"must be longer than or equal to {first} characters"
        case "maxLength":
            return f"must be shorter than or equal to {first} characters"
        case "minItems" | "minProperties" if first == 1:
            return "should not be empty"
        case "minItems":
            return f"must contain at least {first} elements"
        case "maxItems":
            return f"must contain no more than {first} elements"
        case "enum":
            return "must be one of the following values: " + ", ".join(map(str, wanted))
        case "pattern":
            return formats.DESCRIPTIONS.get(str(first), f"must match {first} regular expression")
        case "format":
            return _FORMATS.get(str(first))
        case _:
            return None


_FORMATS: Mapping[str, str] = {
    "email": "must be an email",
    "uri": "must be a URL address",
    "uuid": "must be a UUID",
    "date-time": "must be a valid ISO 8601 date string",
    "date": "must be a valid ISO 8601 date string",
}


def _field(location: str) -> str:
    for prefix in ("body", "query", "path"):
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
    if problem.rule == "required":
        return [f"{_join(field, str(name))} should not be empty" for name in problem.wanted]
    if problem.rule == "additionalProperties" and problem.wanted:
        return [f"property {_join(field, str(name))} should not exist" for name in problem.wanted]
    # A sentence about the whole body (a JSON array sent for an object) names the body.
    subject = field or problem.location
    said = _said(problem.rule, problem.wanted)
    if said is not None:
        return [f"{subject} {said}"]
    return [f"{field} {problem.message}" if field else problem.message]


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
