"""The control plane's endpoints declared as data, and the two things built from them: the
Starlette routes that serve them and the OpenAPI 3.1 document that describes them.

Each `ControlRoute` names its method and path, its query and path parameters (each with a JSON
Schema), the schema of its request body and of each response (files under schemas/sandbox/).
Serving one checks the parameters, then the body; every body sent is checked against its
schema, errors included (schemas/sandbox/error.json). The admin token is checked before any of
this, for the whole of /_sandbox, by sandbox.control.admin.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.dialect.vendor import VendorSandbox
from sandbox.errors import SandboxError, StoreDown
from sandbox.http.encoding import parse_json
from sandbox.http.params import whole_number
from sandbox.openapi import _Components
from sandbox.schemas import explain
from sandbox.version import __version__

ERROR_SCHEMA = "sandbox/error.json"
TIMED_OUT = 408


class ControlError(Exception):
    """A request the control plane refuses: `error` is the code in schemas/sandbox/error.json."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    @classmethod
    def bad(cls, message: str) -> ControlError:
        return cls(400, "bad_request", message)

    @classmethod
    def not_found(cls, message: str) -> ControlError:
        return cls(404, "not_found", message)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: Literal["query", "path"]
    schema: Mapping[str, Any]  # of the value once read: {"type": "integer"} values are parsed
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """What a handler gets: parameters parsed and checked, the body checked."""

    params: Mapping[str, Any]
    body: Any


@dataclass(frozen=True, slots=True)
class ControlReply:
    status: int
    body: Any
    schema: str | None  # None: a document that is not the sandbox's (the OpenAPI document)


# A handler that changes what a shared store keeps (the clock, a reset) awaits it.
ControlHandler = Callable[[ControlRequest], ControlReply | Awaitable[ControlReply]]


@dataclass(frozen=True, slots=True)
class ControlRoute:
    method: str
    path: str  # below /_sandbox, with {name} path parameters
    operation: str  # the OpenAPI operationId
    summary: str
    handler: ControlHandler
    responses: Mapping[int, str | None]  # status -> schema; 401 is added unless public
    params: Sequence[Param] = ()
    body_schema: str | None = None
    public: bool = False  # health and readiness: open even with an admin token
    description: str = field(default="")
    # Work that grows with what the sandbox keeps (the journal): handled, checked and encoded
    # in a worker thread, so that the event loop serves other requests meanwhile.
    off_loop: bool = False


def build_routes(state: VendorSandbox, routes: Sequence[ControlRoute]) -> list[BaseRoute]:
    return [Route(route.path, _endpoint(state, route), methods=[route.method]) for route in routes]


def _endpoint(state: VendorSandbox, route: ControlRoute) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            params = _params(route, request)
            body = await _body(state, route, request)
            asked = ControlRequest(params, body)
            if not route.public:
                # What another worker or replica changed a moment ago shows here (one round trip
                # to a shared store): a test reads what its own requests just did.
                await state.backend.catch_up()
            if route.off_loop:
                return await run_in_threadpool(lambda: _sent(state, _now(route.handler(asked))))
            answered = route.handler(asked)
            reply = await answered if inspect.isawaitable(answered) else answered
        except StoreDown as down:
            body = {"error": "store_unavailable", "message": str(down)}
            reply = ControlReply(503, body, ERROR_SCHEMA)
            response = _sent(state, reply)
            response.headers["Retry-After"] = str(StoreDown.RETRY_AFTER_S)
            return response
        except ControlError as error:
            reply = ControlReply(
                error.status, {"error": error.error, "message": error.message}, ERROR_SCHEMA
            )
            if error.status == TIMED_OUT:  # (the rest of the body may still be arriving)
                response = _sent(state, reply)
                response.headers["Connection"] = "close"
                return response
        return _sent(state, reply)

    return endpoint


def _now(answered: ControlReply | Awaitable[ControlReply]) -> ControlReply:
    """What a handler run off the loop answered (such handlers only read: they never await)."""
    if inspect.isawaitable(answered):
        raise TypeError("a handler run off the event loop cannot await")
    return answered


def _sent(state: VendorSandbox, reply: ControlReply) -> Response:
    if reply.schema is not None:
        state.schemas.check(reply.schema, reply.body)
    return JSONResponse(reply.body, status_code=reply.status)


def _params(route: ControlRoute, request: Request) -> dict[str, Any]:
    declared = {p.name for p in route.params if p.where == "query"}
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        allowed = ", ".join(sorted(declared)) or "none"
        raise ControlError.bad(
            f"unknown query parameter {unknown[0]!r} for {route.method} /_sandbox{route.path}; "
            f"it takes: {allowed}"
        )
    found: dict[str, Any] = {}
    for param in route.params:
        source = request.query_params if param.where == "query" else request.path_params
        raw = source.get(param.name)
        if raw is None:
            if param.required:
                raise ControlError.bad(f"{param.where}.{param.name}: required")
            continue
        found[param.name] = _value(param, str(raw))
    return found


def _value(param: Param, raw: str) -> Any:
    where = f"{param.where}.{param.name}"
    value: Any = raw
    if param.schema.get("type") == "integer":
        value = whole_number(raw)
        if value is None:
            raise ControlError.bad(f"{where}: must be a whole number, not {raw[:40]!r}")
    from jsonschema import Draft202012Validator  # (a tenth of a second: when first needed)

    errors = sorted(Draft202012Validator(dict(param.schema)).iter_errors(value), key=str)
    if errors:
        raise ControlError.bad(f"{where}: {explain(errors[0])}")
    return value


async def _body(state: VendorSandbox, route: ControlRoute, request: Request) -> Any:
    if route.body_schema is None:
        return None
    limit = state.settings.max_body_bytes
    chunks: list[bytes] = []
    size = 0
    # The same deadline as a vendor's body: a body that stalls or drips holds no task for ever.
    seconds = state.settings.body_timeout_s
    with anyio.move_on_after(seconds) as deadline:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:  # (read no further: the rest never takes memory)
                raise ControlError.bad(f"the body is over {limit} bytes; send a smaller one")
            chunks.append(chunk)
    if deadline.cancelled_caught:
        raise ControlError(
            TIMED_OUT,
            "request_timeout",
            f"the body did not all arrive within {seconds:g} s; send it whole",
        )
    raw = b"".join(chunks)
    try:
        body = parse_json(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ControlError.bad(f"the body is not valid JSON ({exc}); send a JSON object") from None
    except SandboxError as error:  # too deep, or text that is not Unicode
        raise ControlError.bad(str(error)) from None
    problems = state.schemas.problems(route.body_schema, body, prefix="body")
    if problems:
        raise ControlError.bad("; ".join(str(p) for p in problems))
    return body


# -- OpenAPI ----------------------------------------------------------------------------------


def openapi(state: VendorSandbox, routes: Sequence[ControlRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of these routes, with every schema they use embedded under
    components.schemas (the same content as schemas/sandbox/*.json)."""
    components = _Components(state.schemas)
    paths: dict[str, dict[str, Any]] = {}
    token = state.settings.admin_token is not None
    for route in routes:
        operation: dict[str, Any] = {
            "operationId": route.operation,
            "summary": route.summary,
        }
        if route.description:
            operation["description"] = route.description
        if route.params:
            operation["parameters"] = [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.required or p.where == "path",
                    "description": p.description,
                    "schema": dict(p.schema),
                }
                for p in route.params
            ]
        if route.body_schema is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": components.ref(route.body_schema)}},
            }
        responses = dict(route.responses)
        if not route.public:
            responses.setdefault(401, ERROR_SCHEMA)
        operation["responses"] = {
            str(status): _response(status, schema, components)
            for status, schema in sorted(responses.items())
        }
        if route.public:
            operation["security"] = []
        else:
            operation["security"] = [{"adminToken": []}] if token else [{}, {"adminToken": []}]
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "call-sandbox control plane",
            "version": __version__,
            "description": "The sandbox's own endpoints: health, reset, keys, fault rules, rate "
            "limits and the journal. With `--admin-token`, every endpoint but health and "
            "readiness needs `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": "/_sandbox"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the token given to `call-sandbox serve --admin-token`",
                }
            },
        },
    }


def _response(status: int, schema: str | None, components: _Components) -> dict[str, Any]:
    content = components.ref(schema) if schema else {"type": "object"}
    return {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": content}},
    }
