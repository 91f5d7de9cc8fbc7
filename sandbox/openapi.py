"""An OpenAPI 3.1 document of each vendor's API as the sandbox serves it, made from the same
routes and JSON Schemas the pipeline runs, so the document cannot drift from the behaviour.

Per route: the method and path (relative to the vendor's mount, which is the document's
server), the path and query parameters, the request body's schema, the vendor's auth headers
as security schemes, the success status and schema, and every error status the route can
answer, found by asking the vendor to render each error the route can meet (so Callab's
not-found, an HTTP 200, is documented beside its success). The schemas are embedded under
`components/schemas`, named by their path (`retell/call.json` -> `retell.call`), with every
`$ref` rewritten to point there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from sandbox.dialect.vendor import Param, Route, Vendor, VendorSandbox
from sandbox.errors import (
    CallNotFound,
    HeadTooLarge,
    InvalidRequest,
    MalformedBody,
    PayloadTooLarge,
    RequestTimeout,
    RouteNotFound,
    SandboxError,
    ServerError,
    Unauthorized,
)
from sandbox.http.pipeline import HINT_HEADER
from sandbox.schemas import SchemaRegistry
from sandbox.version import __version__

OPENAPI_VERSION = "3.1.0"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
MEDIA_TYPE = "application/json"
_PATH_PARAM = re.compile(r"{(\w+)}")

# What each error the engine knows means to a client, for the responses' descriptions.
_MEANING: Mapping[type[SandboxError], str] = {
    Unauthorized: "missing, malformed or unknown credentials",
    CallNotFound: "no such call for this key (unknown, malformed, deleted or another tenant's)",
    RouteNotFound: "no route for this method and path (an id that leaves the path)",
    InvalidRequest: "a query parameter or body field is wrong; the message names it",
    MalformedBody: "the body is not JSON",
    PayloadTooLarge: "the body is larger than the sandbox's limit",
    ServerError: "a sandbox bug (a body that broke its own schema)",
    HeadTooLarge: "the URI or the headers are longer than the sandbox reads",
    RequestTimeout: "the body did not all come in time (the connection is closed)",
}


def component_name(schema: str) -> str:
    """`retell/call.json` -> `retell.call` (a name OpenAPI takes and a JSON pointer keeps)."""
    return schema.removesuffix(".json").replace("/", ".")


class _Components:
    """The schemas a document uses, each embedded once with its `$ref`s rewritten."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self.schemas: dict[str, Any] = {}

    def ref(self, name: str) -> dict[str, str]:
        self._add(name)
        return {"$ref": f"#/components/schemas/{component_name(name)}"}

    def _add(self, name: str) -> None:
        key = component_name(name)
        if key in self.schemas:
            return
        self.schemas[key] = {}  # claimed first: schemas may refer to each other in a cycle
        document = dict(self.registry.document(name))
        # The document's own base is gone once embedded; every $ref below is made absolute.
        document.pop("$id", None)
        document.pop("$schema", None)
        self.schemas[key] = self._rewrite(document, name)

    def _rewrite(self, node: Any, base: str) -> Any:
        if isinstance(node, list):
            return [self._rewrite(item, base) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: self._rewrite(v, base) for k, v in node.items() if k != "$ref"}
        if "$ref" in node:
            target, _, pointer = urljoin(base, node["$ref"]).partition("#")
            self._add(target or base)
            out = {"$ref": f"#/components/schemas/{component_name(target or base)}{pointer}", **out}
        return out


def _security(vendor: Vendor) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The vendor's auth headers as OpenAPI security schemes, all required together."""
    placeholders = {field: f"<{field}>" for field in vendor.auth.fields}
    schemes: dict[str, Any] = {}
    for header, value in vendor.auth.headers(placeholders).items():
        if header.lower() == "authorization" and value.startswith("Bearer "):
            schemes["bearer"] = {"type": "http", "scheme": "bearer"}
        else:
            schemes[header] = {"type": "apiKey", "in": "header", "name": header}
    return schemes, {name: [] for name in schemes}


def _errors(route: Route) -> list[SandboxError]:
    """One example of every error `route` can answer."""
    found: list[SandboxError] = [
        Unauthorized("x"),
        ServerError("x"),
        HeadTooLarge(414, "x"),
        HeadTooLarge(431, "x"),
    ]
    if _PATH_PARAM.search(route.path):
        found += [CallNotFound("x", "x"), RouteNotFound(route.method, route.path)]
    if route.body_schema is not None or route.query:
        found.append(InvalidRequest.one("x", "x"))
    if route.body_schema is not None:
        found += [MalformedBody("x"), PayloadTooLarge(1), RequestTimeout(1, 0)]
    return found + list(route.raises)


def _meaning(error: SandboxError) -> str:
    for kind in type(error).__mro__:
        if kind in _MEANING:
            return _MEANING[kind]
    return error.detail


def _content(schemas: list[str], components: _Components) -> dict[str, Any]:
    refs = [components.ref(s) for s in dict.fromkeys(schemas)]
    return {MEDIA_TYPE: {"schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}}


def _responses(vendor: Vendor, route: Route, components: _Components) -> dict[str, Any]:
    schemas: dict[int, list[str]] = {route.status: []}
    meanings: dict[int, list[str]] = {route.status: ["success"]}
    if route.response_schema is not None:
        schemas[route.status].append(route.response_schema)
    for error in _errors(route):
        reply = vendor.render_error(error)
        schemas.setdefault(reply.status, [])
        if reply.schema is not None:
            schemas[reply.status].append(reply.schema)
        meaning = _meaning(error)
        if meaning not in meanings.setdefault(reply.status, []):
            meanings[reply.status].append(meaning)
    responses: dict[str, Any] = {}
    for status in sorted(schemas):
        response: dict[str, Any] = {
            "description": f"{HTTPStatus(status).phrase}: {'; or '.join(meanings[status])}"
        }
        if schemas[status]:
            response["content"] = _content(schemas[status], components)
        if meanings[status] != ["success"]:
            response["headers"] = {
                HINT_HEADER: {
                    "description": "on an error: what exactly to fix (the sandbox's own header)",
                    "schema": {"type": "string"},
                }
            }
        responses[str(status)] = response
    return responses


def _literal_siblings(vendor: Vendor, route: Route, name: str) -> list[str]:
    """The values of path parameter `name` that another route of the same method serves as a
    literal path segment: requests with them never reach `route`."""
    segments = route.path.split("/")
    position = segments.index("{" + name + "}")
    taken: list[str] = []
    for other in vendor.routes:
        theirs = other.path.split("/")
        if other is route or other.method != route.method or len(theirs) != len(segments):
            continue
        literal = theirs[position]
        if _PATH_PARAM.fullmatch(literal):
            continue
        rest_agrees = all(
            i == position or a == b or _PATH_PARAM.fullmatch(a) or _PATH_PARAM.fullmatch(b)
            for i, (a, b) in enumerate(zip(segments, theirs, strict=True))
        )
        if rest_agrees and literal not in taken:
            taken.append(literal)
    return taken


def _query_parameter(param: Param) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "schema": dict(param.schema),
    }
    if param.description:
        parameter["description"] = param.description
    if param.explode:
        parameter |= {"style": "form", "explode": True}
    return parameter


def _operation(
    vendor: Vendor, route: Route, components: _Components, example_id: str | None
) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    for name in _PATH_PARAM.findall(route.path):
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        taken = _literal_siblings(vendor, route, name)
        if taken:
            # `GET /v1/calls/query` is the query route, never the call with id "query":
            # concrete paths win over templated ones (as in OpenAPI and the vendors' routers).
            schema["not"] = {"enum": taken}
        parameter: dict[str, Any] = {
            "name": name,
            "in": "path",
            "required": True,
            "schema": schema,
        }
        if example_id is not None:
            parameter["example"] = example_id
        parameters.append(parameter)
    parameters += [_query_parameter(p) for p in route.query]
    operation: dict[str, Any] = {"operationId": route.name, "summary": route.name}
    if parameters:
        operation["parameters"] = parameters
    if route.body_schema is not None:
        body = components.registry.document(route.body_schema)
        operation["requestBody"] = {
            # An empty body counts as {}: it is only refused when the schema requires a field.
            "required": bool(body.get("required")),
            "content": {MEDIA_TYPE: {"schema": components.ref(route.body_schema)}},
        }
    operation["responses"] = _responses(vendor, route, components)
    return operation


def _example_id(state: VendorSandbox, vendor: Vendor) -> str | None:
    """The id of the vendor's own docs example call, which every sandbox serves."""
    tenant = state.fixtures.default_tenant
    for call in state.fixtures.pinned:
        if call.tenant == tenant and vendor.name in call.vendor_ids:
            return vendor.external_id(call)
    return None


def document(state: VendorSandbox, vendor: Vendor) -> dict[str, Any]:
    """The OpenAPI 3.1 document of one vendor's API on this sandbox."""
    components = _Components(state.schemas)
    example_id = _example_id(state, vendor)
    paths: dict[str, dict[str, Any]] = {}
    for route in vendor.routes:
        operation = _operation(vendor, route, components, example_id)
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    schemes, requirement = _security(vendor)
    servers = [{"url": f"/{vendor.name}", "description": "this sandbox's mount"}]
    if state.settings.vendor_at_root == vendor.name:
        servers.append({"url": "/", "description": "the root (--vendor)"})
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": DIALECT,
        "info": {
            "title": f"{vendor.title} (Call Sandbox)",
            "version": __version__,
            "description": (
                f"The {vendor.title} call API as this sandbox serves it, in place of "
                f"{vendor.docs_base_url}. Generated from the sandbox's routes and schemas."
            ),
        },
        "servers": servers,
        "security": [requirement],
        "paths": paths,
        "components": {"schemas": components.schemas, "securitySchemes": schemes},
    }


def openapi_route(state: VendorSandbox) -> StarletteRoute:
    """`GET /_sandbox/openapi/<vendor>.json`, each document built once, on first request."""
    encoded: dict[str, bytes] = {}

    async def endpoint(request: Request) -> Response:
        name = request.path_params["vendor"]
        vendor = state.vendors.get(name)
        if vendor is None:
            body = {
                "error": "not_found",
                "message": f"no vendor {name!r}; ask for one of "
                + ", ".join(f"{v}.json" for v in state.vendors),
            }
            state.schemas.check("sandbox/error.json", body)
            return JSONResponse(body, status_code=404)
        if name not in encoded:
            encoded[name] = json.dumps(document(state, vendor), separators=(",", ":")).encode()
        return Response(encoded[name], media_type=MEDIA_TYPE)

    handler: Callable[[Request], Any] = endpoint
    return StarletteRoute("/_sandbox/openapi/{vendor}.json", handler, methods=["GET"])
