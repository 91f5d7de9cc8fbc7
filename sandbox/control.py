"""The sandbox's own control plane under /_sandbox: health, readiness, reset and keys.

It is mounted beside the vendors, never inside one, so no vendor path can reach it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox import __version__
from sandbox.state import Sandbox


def control_routes(state: Sandbox) -> list[BaseRoute]:
    def reply(body: Any, schema: str, status: int = 200) -> Response:
        state.schemas.check(schema, body)
        return JSONResponse(body, status_code=status)

    async def health(request: Request) -> Response:
        return reply(
            {
                "status": "ok",
                "version": __version__,
                "seed": state.fixtures.seed,
                "vendors": list(state.vendors),
                "tenants": list(state.fixtures.tenants),
            },
            "sandbox/health.json",
        )

    async def reset(request: Request) -> Response:
        tenant = request.query_params.get("tenant")
        if tenant is not None and tenant not in state.fixtures.tenants:
            known = ", ".join(state.fixtures.tenants)
            message = f"no tenant {tenant!r}; reset one of {known}, or omit ?tenant= to reset all"
            return reply({"error": "bad_request", "message": message}, "sandbox/error.json", 400)
        state.reset(tenant)
        return reply(
            {"reset": [tenant] if tenant else list(state.fixtures.tenants)}, "sandbox/reset.json"
        )

    async def keys(request: Request) -> Response:
        # What `call-sandbox keys --json` prints, over HTTP: a client of a sandbox running
        # elsewhere (a CI service container) learns which headers to send without reading its
        # fixtures. The keys are the fixtures' own, never real ones.
        tenant = request.query_params.get("tenant", state.default_tenant.id)
        if tenant not in state.fixtures.tenants:
            known = ", ".join(state.fixtures.tenants)
            message = (
                f"no tenant {tenant!r}; ask for one of {known}, or omit ?tenant= for the default"
            )
            return reply({"error": "bad_request", "message": message}, "sandbox/error.json", 400)
        keyring = state.fixtures.tenants[tenant].keys
        body = {v: state.credentials(v, tenant) for v in state.vendors if v in keyring}
        return reply(body, "sandbox/keys.json")

    return [
        Route("/keys", keys, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", health, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
    ]
