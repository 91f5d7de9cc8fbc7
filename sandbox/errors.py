"""What can go wrong with a request, as data.

Handlers raise these; each vendor renders them in its own status and body in one place
(`vendors/<name>/errors.py`). Nothing here knows how any vendor spells an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any


class SandboxError(Exception):
    """Base of every error a vendor renders. `detail` is a sentence that says what to fix."""

    detail: str

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(SandboxError):
    """No credentials, malformed credentials or credentials that match no tenant."""


class RouteNotFound(SandboxError):
    """No route takes this method and path. `unserved` says, for an endpoint the vendor does
    document, that the sandbox does not emulate it (the request was right, the sandbox is
    the limit)."""

    def __init__(self, method: str, path: str, *, unserved: str | None = None) -> None:
        super().__init__(unserved or f"no route {method} {path}: check the method and the path")
        self.method = method
        self.path = path
        self.unserved = unserved


class CallNotFound(SandboxError):
    """Unknown id, malformed id, a deleted call, or another tenant's call: a client cannot tell."""

    def __init__(self, call_id: str, tenant_label: str = "") -> None:
        super().__init__(f"call '{call_id}' not found")
        self.call_id = call_id
        self.tenant_label = tenant_label


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: where (`location`, e.g. 'body.limit') and what. A
    problem found by a JSON Schema also names the rule it broke (`rule`: the keyword, such as
    "required" or "enum") and what the rule wanted (`wanted`: the names missing or unexpected,
    the values allowed, the bound), so a vendor can say it in its own words."""

    location: str
    message: str
    rule: str | None = None
    wanted: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InvalidRequest(SandboxError):
    """A query parameter or a body field is wrong: type, range, enum or an unknown name."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems

    @classmethod
    def one(cls, location: str, message: str) -> InvalidRequest:
        return cls([Problem(location, message)])


class MalformedBody(SandboxError):
    """The body is not JSON, or not the JSON type the route takes."""


class PayloadTooLarge(SandboxError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes; send a smaller body")
        self.limit = limit


class ServerError(SandboxError):
    """The sandbox itself failed (a body that broke its own schema): a sandbox bug."""


class InjectedStatus(SandboxError):
    """A status the client asked for (`Prefer: code=503`), a fault rule chose, or a rate limit
    imposed: the vendor answers it in its own shape, with its documented message when it has
    one for that status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status

    @property
    def phrase(self) -> str:
        """The status's reason phrase ("Service Unavailable"), or a generic one."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Client Error" if self.status < 500 else "Server Error"


class HeadTooLarge(InjectedStatus):
    """The request line (414 URI Too Long) or the headers (431 Request Header Fields Too
    Large) are longer than the sandbox reads, as every HTTP server limits them; each vendor
    answers it in its own shape, as any status it has no words of its own for."""


class RequestTimeout(InjectedStatus):
    """The request's body did not all come within `seconds` (it stalled, or was dripped
    without end); `received` bytes of it had. Node (under Express and NestJS) answers a
    request it gave up waiting for with 408 and closes the connection; the sandbox does the
    same, in the vendor's shape, as any status the vendor has no words of its own for."""

    def __init__(self, seconds: float, received: int) -> None:
        super().__init__(
            408,
            f"the request body did not all come within {seconds:g} s ({received} bytes did); "
            "send the whole body at once (this connection is closed)",
        )
        self.seconds = seconds
        self.received = received


class StoreDown(InjectedStatus):
    """The shared store (`--store redis://`) does not answer, or answered too late: every
    request gets 503 in the vendor's shape, as any status the vendor has no words of its own
    for, within about a second, rather than an answer from a copy that may be stale. The
    sandbox reconnects by itself; `Retry-After` says when to try again."""

    RETRY_AFTER_S = 1

    def __init__(self, detail: str) -> None:
        super().__init__(503, detail)
