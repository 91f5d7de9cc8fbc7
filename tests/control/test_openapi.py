"""`GET /_sandbox/openapi.json`: the control plane's own OpenAPI 3.1 document, built from the
same declared routes that serve it, with the schemas of schemas/sandbox/ embedded."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.control.routes import declared
from sandbox.dialect.vendor import VendorSandbox


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/_sandbox/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    found: dict[str, Any] = response.json()
    return found


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_declared_route_is_documented(
    document: dict[str, Any], app: Starlette, state: VendorSandbox
) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/_sandbox"}]
    routes = declared(state, app.state.webhooks)
    documented = {(p, m.upper()) for p, ops in document["paths"].items() for m in ops}
    assert documented == {(r.path, r.method) for r in routes}
    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids)) == len(routes)
    assert {"/faults", "/faults/{id}", "/rate-limits", "/journal", "/openapi.json"} <= set(
        document["paths"]
    )


def test_every_operation_has_responses_with_schemas(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (path, method)
            for response in responses.values():
                assert response["description"]
                assert "schema" in response["content"]["application/json"]
            for param in operation.get("parameters", []):
                assert param["in"] in ("query", "path")
                if param["in"] == "path":
                    assert param["required"] is True
                    assert "{" + param["name"] + "}" in path


def test_every_ref_resolves_inside_the_document(document: dict[str, Any]) -> None:
    refs = _refs(document)
    assert refs
    for ref in refs:
        assert _resolve(document, ref) is not None
    assert not [r for r in refs if not r.startswith("#/components/schemas/")]


def test_the_schemas_are_the_sandboxs_own(document: dict[str, Any], state: VendorSandbox) -> None:
    schemas = document["components"]["schemas"]
    for name in ("fault", "fault-rule", "rate-limit", "journal", "error", "deleted"):
        embedded = schemas[f"sandbox.{name}"]
        original = state.schemas.document(f"sandbox/{name}.json")
        assert "$id" not in embedded
        assert embedded["properties"].keys() == original["properties"].keys()
        assert embedded.get("required") == original.get("required")
    body = document["paths"]["/faults"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/sandbox.fault"}

    def validator(name: str) -> Draft202012Validator:
        root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        return Draft202012Validator(root)

    rule = {"vendor": "retell", "fault": {"type": "delay", "uniform": {"min_ms": 1, "max_ms": 2}}}
    wrong = {"fault": {"type": "status", "status": 200}}
    for instance in (rule, wrong):
        assert validator("sandbox.fault").is_valid(instance) == (
            state.schemas.problems("sandbox/fault.json", instance) == []
        )
    assert validator("sandbox.fault").is_valid(rule)
    assert not validator("sandbox.fault").is_valid(wrong)


def test_health_and_ready_need_no_token_and_the_rest_may(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if path in ("/health", "/ready"):
                assert operation["security"] == []
            else:
                assert operation["security"] == [{}, {"adminToken": []}]
                assert "401" in operation["responses"]
    scheme = document["components"]["securitySchemes"]["adminToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_with_a_token_the_document_requires_it() -> None:
    app = create_app(Settings(admin_token="t0ken"))
    with TestClient(app) as client:
        found = client.get(
            "/_sandbox/openapi.json", headers={"Authorization": "Bearer t0ken"}
        ).json()
    assert found["paths"]["/journal"]["get"]["security"] == [{"adminToken": []}]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)
