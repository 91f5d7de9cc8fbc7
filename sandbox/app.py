"""create_app(): the only place an app is built. The CLI, the container and the pytest plugin
all call it, so the three modes cannot drift apart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from sandbox.control.admin import AdminGate
from sandbox.control.routes import control_routes
from sandbox.control.ui import ui_routes
from sandbox.dialect.vendor import Vendor, VendorSandbox
from sandbox.http.access_log import RequestLog
from sandbox.http.answers import AnswerCache
from sandbox.http.mounts import SandboxApp, VendorMounts
from sandbox.http.pipeline import VendorApp
from sandbox.openapi import openapi_route
from sandbox.settings import Settings
from sandbox.state import Sandbox
from sandbox.vendors import VENDORS
from sandbox.webhooks.engine import Webhooks


def create_app(
    settings: Settings | None = None, *, vendors: Sequence[Vendor] = VENDORS
) -> Starlette:
    """Build the sandbox: one mount per vendor, the control plane under /_sandbox."""
    settings = settings or Settings()
    state = Sandbox(settings, vendors)
    # Lifecycle events sent to the clients' webhook URLs; every attempt is journalled.
    webhooks = Webhooks(state, journal=state.journal)
    # What the lookup routes answered, reused while the call stays as it was.
    answers = AnswerCache()
    mounts = {v.name: VendorApp(state, v, prefix=f"/{v.name}", answers=answers) for v in vendors}
    vendor_mounts = VendorMounts(mounts)
    routes: list[BaseRoute] = [
        vendor_mounts,  # /<vendor>/...: first, as nearly every request is one
        openapi_route(state),
        # The control plane, and the inspector page over it (/_sandbox/ui).
        Mount("/_sandbox", routes=[*control_routes(state, webhooks), *ui_routes(state, webhooks)]),
    ]
    for name, vendor_app in mounts.items():
        # The bare prefix is the vendor's too: it answers in the vendor's shape, not ours.
        routes.append(Route(f"/{name}", vendor_app, methods=_ALL_METHODS))
    if settings.vendor_at_root is not None:
        if settings.vendor_at_root not in mounts:
            raise ValueError(
                f"--vendor {settings.vendor_at_root!r}: choose one of {', '.join(mounts)}"
            )
        root = VendorApp(state, state.vendors[settings.vendor_at_root], prefix="", answers=answers)
        routes.append(Mount("", app=root))
    else:
        routes.append(Route("/{path:path}", _no_vendor, methods=_ALL_METHODS))
    for route in routes:
        _any_character(route)
    middleware = [Middleware(RequestLog)] if settings.access_log else []
    if settings.admin_token is not None:
        middleware.append(Middleware(AdminGate, token=settings.admin_token))
    app = SandboxApp(
        routes=routes,
        middleware=middleware,
        lifespan=_lifespan(state, webhooks),
        mounts=vendor_mounts,
        # What of `middleware` applies to a vendor's paths (the admin gate guards /_sandbox).
        vendor_middleware=[RequestLog] if settings.access_log else [],
    )
    app.state.sandbox = state
    app.state.webhooks = webhooks
    app.state.answers = answers
    return app


_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _any_character(route: BaseRoute) -> None:
    """Starlette's path patterns stop at a line break, so a path holding one (an id with %0A)
    would match no mount and get Starlette's text/plain 404: let them match any character,
    so the vendor answers it in its own shape."""
    if isinstance(route, Route | Mount):
        route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)


async def _no_vendor(request: Request) -> Response:
    """A path under no vendor: say which prefixes exist (the sandbox's own error shape)."""
    state: VendorSandbox = request.app.state.sandbox
    prefixes = ", ".join(f"/{name}" for name in state.vendors)
    body = {
        "error": "not_found",
        "message": f"no vendor is mounted at {request.url.path}; paths start with {prefixes} "
        "followed by the vendor's documented path",
    }
    state.schemas.check("sandbox/error.json", body)
    return JSONResponse(body, status_code=404)


log = logging.getLogger("sandbox")

# With --time-scale the clock moves on its own; this is how often lifecycle events are sent.
TICK_SECONDS = 0.2


def _lifespan(
    state: VendorSandbox, webhooks: Webhooks
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # A shared store follows the server's changes from here on (a first request would
        # start it too: an app driven without a lifespan, over an in-process transport).
        await state.backend.start()
        ticker = asyncio.create_task(_tick(state)) if state.clock.scale else None
        try:
            yield
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            await state.backend.stop()
            # Deliveries still queued are dropped with the process; a stop stays under a second.
            webhooks.close(timeout=0.5)

    return lifespan


async def _tick(state: VendorSandbox) -> None:
    while True:
        await asyncio.sleep(TICK_SECONDS)
        try:
            await state.apublish()
        except Exception:  # a store outage must not stop the clock for good: try next tick
            log.exception("could not publish lifecycle events; trying again in %s s", TICK_SECONDS)
