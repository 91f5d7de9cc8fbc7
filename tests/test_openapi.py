"""The OpenAPI 3.1 document of each vendor: valid under the OpenAPI 3.1 meta-schema, every route
in it, and every statement it makes checked against what the sandbox really answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.model import Scenario
from sandbox.dialect.vendor import Example, Param, Route, Vendor, VendorSandbox
from sandbox.errors import InvalidRequest
from sandbox.openapi import component_name, document
from sandbox.vendors import VENDORS

by_name = pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)


@pytest.fixture(scope="module")
def shared() -> Iterator[TestClient]:
    """One sandbox for the tests that only read (documents, GETs of the seeded calls)."""
    with TestClient(create_app(Settings(raise_on_schema_error=True))) as client:
        yield client


def _id(value: object) -> str:
    if isinstance(value, Vendor):
        return value.name
    if isinstance(value, Example):
        return value.route
    if isinstance(value, Route | Param):
        return value.name
    return str(value)


def _state(client: TestClient) -> VendorSandbox:
    assert isinstance(client.app, Starlette)
    state: VendorSandbox = client.app.state.sandbox
    return state


def _doc(client: TestClient, vendor: Vendor) -> dict[str, Any]:
    response = client.get(f"/_sandbox/openapi/{vendor.name}.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def _validator(doc: dict[str, Any], schema: Any) -> Draft202012Validator:
    """A validator of `schema`, a part of `doc` whose $refs point into the doc."""
    contents = {**doc, "$id": "urn:doc", "x-checked": schema}
    registry: Registry[Any] = Registry().with_resource(
        "urn:doc", Resource.from_contents(contents, default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": "urn:doc#/x-checked"}, registry=registry)


def _completed_call_id(state: VendorSandbox, vendor: Vendor) -> str:
    tenant = state.fixtures.default_tenant
    call = next(
        state.generator.call(tenant, i)
        for i in range(20)
        if state.generator.call(tenant, i).scenario is Scenario.COMPLETED
    )
    return vendor.external_id(call)


@by_name
def test_the_document_is_valid_openapi_3_1(shared: TestClient, vendor: Vendor) -> None:
    doc = _doc(shared, vendor)
    assert doc["openapi"] == "3.1.0"
    assert doc["jsonSchemaDialect"] == "https://json-schema.org/draft/2020-12/schema"
    errors = [str(e.message) for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


@by_name
def test_every_route_is_an_operation(shared: TestClient, vendor: Vendor) -> None:
    doc = _doc(shared, vendor)
    assert doc["servers"][0]["url"] == f"/{vendor.name}"
    operations = {
        (path, method.upper()): op["operationId"]
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }
    assert operations == {(r.path, r.method): r.name for r in vendor.routes}
    for route in vendor.routes:
        op = doc["paths"][route.path][route.method.lower()]
        assert str(route.status) in op["responses"]
        body = op.get("requestBody")
        if route.body_schema is None:
            assert body is None
        else:
            ref = body["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{component_name(route.body_schema)}"
        declared = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
        assert declared == [p.name for p in route.query]


def test_security_schemes_are_the_vendors_headers(shared: TestClient) -> None:
    docs = {v.name: _doc(shared, v) for v in VENDORS}
    bearer = {"bearer": {"type": "http", "scheme": "bearer"}}
    assert docs["retell"]["components"]["securitySchemes"] == bearer
    assert docs["callab"]["components"]["securitySchemes"] == bearer
    assert docs["contactship"]["components"]["securitySchemes"] == {
        "x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key"}
    }
    assert docs["zudu"]["components"]["securitySchemes"] == {
        "X-API-KEY": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
        "X-API-SECRET": {"type": "apiKey", "in": "header", "name": "X-API-SECRET"},
    }
    # Zudu's two headers are one requirement: both must be sent.
    assert docs["zudu"]["security"] == [{"X-API-KEY": [], "X-API-SECRET": []}]
    assert docs["retell"]["security"] == [{"bearer": []}]


def test_callab_documents_its_not_found_as_a_200(shared: TestClient) -> None:
    doc = _doc(shared, VENDORS[1])
    ok = doc["paths"]["/v1/calls/{id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "anyOf": [
            {"$ref": "#/components/schemas/callab.get-call"},
            {"$ref": "#/components/schemas/callab.error"},
        ]
    }


def test_retell_documents_a_204_without_a_body(shared: TestClient) -> None:
    doc = _doc(shared, VENDORS[0])
    answers = doc["paths"]["/v2/delete-call/{call_id}"]["delete"]["responses"]
    assert answers["204"] == {"description": "No Content: success"}
    assert set(answers) == {"204", "401", "404", "414", "422", "431", "500"}


@pytest.mark.parametrize(
    ("vendor", "example"), [(v, e) for v in VENDORS for e in v.examples], ids=_id
)
def test_each_example_answers_as_documented(
    client: TestClient, state: VendorSandbox, vendor: Vendor, example: Example
) -> None:
    """The route's declared status and success schema are what the example really gets, and
    the document's schema for that status takes the body."""
    doc = _doc(client, vendor)
    route = next(r for r in vendor.routes if r.name == example.route)
    path = example.path.replace("{call_id}", _completed_call_id(state, vendor))
    response = client.request(
        route.method,
        f"/{vendor.name}{path}",
        headers=state.credentials(vendor.name),
        json=example.body,
    )
    assert response.status_code == example.status, response.text
    answers = doc["paths"][route.path][route.method.lower()]["responses"]
    if example.status != route.status:
        # An example of a documented refusal (a request that cannot succeed on its own).
        schema = answers[str(example.status)]["content"]["application/json"]["schema"]
        assert _validator(doc, schema).is_valid(response.json())
        return
    documented = answers[str(route.status)]
    if route.response_schema is None:
        assert response.content == b""
        assert "content" not in documented
        return
    state.schemas.check(route.response_schema, response.json())
    schema = documented["content"]["application/json"]["schema"]
    assert _validator(doc, schema).is_valid(response.json())


@pytest.mark.parametrize(("vendor", "route"), [(v, r) for v in VENDORS for r in v.routes], ids=_id)
def test_documented_errors_answer_as_documented(
    shared: TestClient, vendor: Vendor, route: Route
) -> None:
    client = shared
    """A request without credentials and one to an unknown id: the status is documented, and
    the document's schema for it takes the body."""
    doc = _doc(client, vendor)
    responses = doc["paths"][route.path][route.method.lower()]["responses"]
    path = route.path.replace("{", "").replace("}", "")
    attempts = [client.request(route.method, f"/{vendor.name}{path}")]
    if "{" in route.path:
        attempts.append(
            client.request(
                route.method,
                f"/{vendor.name}{path}",
                headers=_state(client).credentials(vendor.name),
                json={},
            )
        )
    for response in attempts:
        assert str(response.status_code) in responses
        schema = responses[str(response.status_code)]["content"]["application/json"]["schema"]
        assert _validator(doc, schema).is_valid(response.json()), response.text


def _samples(param: Param) -> list[str]:
    """Values the parameter's schema declares by name: each enum value, and the bounds."""
    schema = param.schema.get("items", param.schema)
    if "enum" in schema:
        return [str(v) for v in schema["enum"]]
    if schema.get("type") == "boolean":
        return ["true", "false"]
    if schema.get("type") == "integer":
        return [str(schema[k]) for k in ("minimum", "maximum", "default") if k in schema]
    return []


def _out_of_range(param: Param) -> list[str]:
    schema = param.schema
    if schema.get("type") != "integer":
        return []
    found = ["1.5", "ten"]
    if "minimum" in schema:
        found.append(str(schema["minimum"] - 1))
    if "maximum" in schema:
        found.append(str(schema["maximum"] + 1))
    return found


QUERIED = [(v, r, p) for v in VENDORS for r in v.routes for p in r.query]
# Callab's advanced filter is three parallel arrays: a column needs an operator and a value.
COMPANIONS = {"filter_columns[]": {"filter_operator[]": "is", "filter_values[]": "not_null"}}


@pytest.mark.parametrize(("vendor", "route", "param"), QUERIED, ids=_id)
def test_declared_query_values_are_accepted(
    shared: TestClient, vendor: Vendor, route: Route, param: Param
) -> None:
    client, state = shared, _state(shared)
    path = route.path.replace("{callId}", _completed_call_id(state, vendor))
    # A route of another resource (a Retell agent): its example names one the tenant has;
    # a POST route with query parameters (Retell's list-agents) takes its example's body.
    example = next(e for e in vendor.examples if e.route == route.name)
    if "{" in path:
        path = example.path.replace("{call_id}", _completed_call_id(state, vendor))
    body = example.body if route.method != "GET" else None
    headers = state.credentials(vendor.name)
    for value in _samples(param):
        query = {param.name: value, **COMPANIONS.get(param.name, {})}
        response = client.request(
            route.method, f"/{vendor.name}{path}", params=query, headers=headers, json=body
        )
        assert response.status_code == route.status, (param.name, value, response.text)
    refused = vendor.render_error(InvalidRequest.one("x", "x")).status
    for value in _out_of_range(param):
        response = client.request(
            route.method,
            f"/{vendor.name}{path}",
            params={param.name: value},
            headers=headers,
            json=body,
        )
        assert response.status_code == refused, (param.name, value, response.text)
        assert param.name in response.headers["x-sandbox-hint"]


def test_unknown_vendor_is_the_sandboxs_404(client: TestClient) -> None:
    response = client.get("/_sandbox/openapi/vapi.json")
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "message": "no vendor 'vapi'; ask for one of "
        "retell.json, callab.json, contactship.json, zudu.json",
    }


def test_the_document_is_the_same_bytes_every_time(client: TestClient) -> None:
    first = client.get("/_sandbox/openapi/zudu.json").content
    assert client.get("/_sandbox/openapi/zudu.json").content == first
    other = create_app(Settings(seed=99))
    with TestClient(other) as other_client:
        assert other_client.get("/_sandbox/openapi/zudu.json").content == first
    assert json.loads(first) == document(other.state.sandbox, VENDORS[3])


def test_the_root_vendor_is_a_second_server() -> None:
    app = create_app(Settings(vendor_at_root="zudu"))
    with TestClient(app) as client:
        servers = client.get("/_sandbox/openapi/zudu.json").json()["servers"]
        assert [s["url"] for s in servers] == ["/zudu", "/"]
        assert len(client.get("/_sandbox/openapi/retell.json").json()["servers"]) == 1
