"""The sandbox's own control plane under /_sandbox: health, readiness, reset, keys, fault
rules, rate limits, the journal, webhooks, and the OpenAPI document of all of them.

Every endpoint is declared as data (sandbox.control.api.ControlRoute); the Starlette routes
and `GET /_sandbox/openapi.json` are both built from the same list, so the document cannot
drift from what is served. The control plane is mounted beside the vendors, never inside one,
so no vendor path can reach it.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from sandbox.control import calls as control_calls
from sandbox.control import clock as control_clock
from sandbox.control import faults as control_faults
from sandbox.control import journal as control_journal
from sandbox.control.api import (
    ControlError,
    ControlReply,
    ControlRequest,
    ControlRoute,
    Param,
    build_routes,
    openapi,
)
from sandbox.control.webhooks import webhook_routes
from sandbox.dialect.vendor import VendorSandbox
from sandbox.errors import StoreDown
from sandbox.version import __version__
from sandbox.webhooks.engine import Webhooks

ERROR = "sandbox/error.json"


def declared(state: VendorSandbox, webhooks: Webhooks) -> list[ControlRoute]:
    """Every control endpoint, in the order the OpenAPI document lists them."""
    routes: list[ControlRoute] = []

    def health(request: ControlRequest) -> ControlReply:
        body = {
            "status": "ok",
            "version": __version__,
            "seed": state.fixtures.seed,
            "vendors": list(state.vendors),
            "tenants": list(state.fixtures.tenants),
        }
        return ControlReply(200, body, "sandbox/health.json")

    async def ready(request: ControlRequest) -> ControlReply:
        # Ready while the store answers: a shared store that does not would make every vendor
        # request a 503, so a load balancer or a CI wait loop should not send any yet.
        store: dict[str, object] = {"url": state.backend.url, "live": True}
        try:
            await state.backend.ensure()
        except StoreDown as down:
            store = {"url": state.backend.url, "live": False, "message": str(down)}
        reply = health(request)
        if store["live"]:
            return ControlReply(200, {**reply.body, "store": store}, reply.schema)
        return ControlReply(
            503, {**reply.body, "status": "unavailable", "store": store}, reply.schema
        )

    async def reset(request: ControlRequest) -> ControlReply:
        tenant = request.params.get("tenant")
        if tenant is not None and tenant not in state.tenants:
            known = ", ".join(state.tenants)
            raise ControlError.bad(
                f"no tenant {tenant!r}; reset one of {known}, or omit ?tenant= to reset all"
            )
        await state.areset(tenant)
        body = {"reset": [tenant] if tenant else list(state.tenants)}
        return ControlReply(200, body, "sandbox/reset.json")

    def keys(request: ControlRequest) -> ControlReply:
        # What `call-sandbox keys --json` prints, over HTTP: a client of a sandbox running
        # elsewhere (a CI service container) learns which headers to send without reading its
        # fixtures. The keys are the fixtures' own, never real ones.
        tenant = request.params.get("tenant", state.default_tenant.id)
        if tenant not in state.fixtures.tenants:
            known = ", ".join(state.fixtures.tenants)
            raise ControlError.bad(
                f"no tenant {tenant!r}; ask for one of {known}, or omit ?tenant= for the default"
            )
        keyring = state.fixtures.tenants[tenant].keys
        body = {v: state.credentials(v, tenant) for v in state.vendors if v in keyring}
        return ControlReply(200, body, "sandbox/keys.json")

    def document(request: ControlRequest) -> ControlReply:
        return ControlReply(200, openapi(state, routes), None)

    tenant = Param("tenant", "query", {"type": "string", "minLength": 1}, "a tenant id")
    routes += [
        ControlRoute(
            "GET",
            "/health",
            "health",
            "Liveness",
            health,
            {200: "sandbox/health.json"},
            public=True,
        ),
        ControlRoute(
            "GET",
            "/ready",
            "ready",
            "Readiness: 503 while the store (a shared Redis) does not answer",
            ready,
            {200: "sandbox/health.json", 503: "sandbox/health.json"},
            public=True,
        ),
        ControlRoute(
            "POST",
            "/reset",
            "reset",
            "Forget what clients did: calls created, updated, deleted; fault rules, rate limits, "
            "the journal, webhooks; the clock",
            reset,
            {200: "sandbox/reset.json", 400: ERROR},
            params=(tenant,),
            description="With ?tenant=, only that tenant's calls, rules and journal entries; "
            "rules about any tenant and the clock stay.",
        ),
        ControlRoute(
            "GET",
            "/keys",
            "keys",
            "The auth headers a tenant sends to each vendor",
            keys,
            {200: "sandbox/keys.json", 400: ERROR},
            params=(tenant,),
        ),
        ControlRoute(
            "GET",
            "/openapi.json",
            "controlOpenAPI",
            "This document: the control plane's OpenAPI 3.1 description",
            document,
            {200: None},
        ),
        *control_clock.routes(state),
        *control_calls.routes(state),
        *control_faults.routes(state),
        *control_journal.routes(state),
        *webhook_routes(state, webhooks),
    ]
    return routes


def control_routes(state: VendorSandbox, webhooks: Webhooks) -> list[BaseRoute]:
    return build_routes(state, declared(state, webhooks))
