"""Every vendor's mount as one route: `/<vendor>/...` goes to that vendor's app.

`VendorMounts` matches exactly what `Mount("/<vendor>", app)` would (any path below the prefix,
line breaks included), with one dictionary lookup on the first path segment where a list of
Mounts tries each prefix's pattern in turn on every request. `SandboxApp` sends those requests
to the vendor's app before Starlette's router and exception layers, which a vendor's app never
uses (it answers every error itself, in the vendor's shape): nearly every request the sandbox
serves is one, and those layers cost as much as the rest of a cached answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send


class VendorMounts(BaseRoute):
    def __init__(self, apps: Mapping[str, ASGIApp]) -> None:
        self.apps = dict(apps)

    def app_for(self, scope: Scope) -> tuple[str, ASGIApp] | None:
        """The vendor whose mount the request's path is under, and its app."""
        name, slash, _ = get_route_path(scope)[1:].partition("/")
        app = self.apps.get(name) if slash else None
        return None if app is None else (name, app)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        found = self.app_for(scope) if scope["type"] in ("http", "websocket") else None
        if found is None:
            return Match.NONE, {}
        name, app = found
        root_path = scope.get("root_path", "")
        return Match.FULL, {
            "path_params": dict(scope.get("path_params", {})),
            "app_root_path": scope.get("app_root_path", root_path),
            "root_path": f"{root_path}/{name}",
            "endpoint": app,
        }

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["endpoint"](scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    def __repr__(self) -> str:
        return f"VendorMounts({', '.join('/' + name for name in self.apps)})"


class SandboxApp(Starlette):
    """The sandbox's Starlette app: a request under a vendor's mount goes straight to that
    vendor's app, through `vendor_middleware` (outermost first); anything else through
    Starlette's middleware and router, where `mounts` is one of the routes."""

    def __init__(
        self,
        *,
        mounts: VendorMounts,
        vendor_middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._mounts = mounts
        entry: ASGIApp = _endpoint
        for wrap in reversed(vendor_middleware):
            entry = wrap(entry)
        self._vendor_entry = entry if vendor_middleware else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app: ASGIApp | None = None
        if scope["type"] == "http":
            # (`app_for`, inlined: this runs for every request)
            path = get_route_path(scope) if scope.get("root_path") else scope["path"]
            name, slash, _ = path[1:].partition("/")
            app = self._mounts.apps.get(name) if slash else None
        if app is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        scope["endpoint"] = app
        if self._vendor_entry is None:
            await app(scope, receive, send)
        else:
            await self._vendor_entry(scope, receive, send)


async def _endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    await scope["endpoint"](scope, receive, send)
