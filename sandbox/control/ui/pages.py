"""The inspector's pages: Starlette endpoints rendering Jinja2 templates, each page a plain
HTML document that works with the keyboard; `static/ui.js` keeps the live parts current by
fetching their fragments again and calling the control plane's JSON endpoints.

The page is the control plane's own: every action it offers (advance the clock, add a fault
rule, subscribe a webhook) is a request to a documented /_sandbox endpoint, which a script
could send as well.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio.from_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.templating import Jinja2Templates

from sandbox.calls.lifecycle import observe
from sandbox.control.admin import COOKIE, SIGN_IN, UI, session_value
from sandbox.control.clock import clock_body
from sandbox.control.ui import views
from sandbox.control.verify import CRITERIA, check_called, line
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.params import whole_number
from sandbox.store.journal import JournalQuery
from sandbox.webhooks.engine import Webhooks

HERE = Path(__file__).parent
# The page's CSS and JavaScript, by name: a fixed set, read from the package (the wheel ships
# them), so no path a client sends can reach another file.
STATIC = {p.name: p for p in sorted((HERE / "static").iterdir()) if p.suffix in (".css", ".js")}
MEDIA = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# The sign-in form's body is one short field: anything longer is not a token.
MAX_FORM_BYTES = 4096

Endpoint = Callable[[Request], Any]


class _BadQuery(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def ui_routes(state: VendorSandbox, webhooks: Webhooks) -> list[BaseRoute]:
    """The routes of the inspector, to mount under /_sandbox: the page at /_sandbox/ui, the
    rest below it."""
    templates = Jinja2Templates(directory=HERE / "templates")
    token = state.settings.admin_token

    def page(
        request: Request, name: str, context: Mapping[str, Any], status: int = 200
    ) -> Response:
        # The sign-in form is open to anyone: it shows nothing of the sandbox's state.
        public = name == "signin.html"
        shared = {
            "ui": UI,
            "public": public,
            "signed_in": token is not None,
            "tenants": [] if public else list(state.tenants),
            "vendors": [] if public else list(state.vendors),
            "clock": None if public else clock_body(state),
        }
        response = templates.TemplateResponse(
            request, name, {**shared, **context}, status_code=status
        )
        # The page is a tool, not a document: never cached, never framed by another site.
        response.headers["cache-control"] = "no-store"
        response.headers["x-frame-options"] = "DENY"
        response.headers["content-security-policy"] = (
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
        )
        return response

    def handled(render: Callable[[Request], Response]) -> Endpoint:
        def rendered(request: Request) -> Response:
            try:
                return render(request)
            except _BadQuery as error:
                return page(request, "error.html", {"message": error.message}, error.status)

        async def endpoint(request: Request) -> Response:
            # A page may generate up to 2,000 calls it has not seen (a millisecond each):
            # rendered on a worker thread, it never holds the event loop the vendors use.
            return await run_in_threadpool(rendered, request)

        return endpoint

    def tenant_of(request: Request) -> str:
        tenant = request.query_params.get("tenant") or request.path_params.get("tenant")
        tenant = tenant or state.default_tenant.id
        if tenant not in state.tenants:
            raise _BadQuery(404, f"no tenant {tenant!r}; choose one of {', '.join(state.tenants)}")
        return tenant

    def choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
        value = request.query_params.get(name) or None
        if value is not None and value not in allowed:
            raise _BadQuery(400, f"{name} {value!r}: choose one of {', '.join(allowed)}")
        return value

    def page_number(request: Request) -> int:
        raw = request.query_params.get("page", "1")
        number = whole_number(raw)
        if number is None or not 1 <= number <= views.MAX_PAGE:
            raise _BadQuery(400, f"page {raw[:20]!r}: a whole number from 1 to {views.MAX_PAGE}")
        return number

    def listing(request: Request) -> dict[str, Any]:
        tenant = tenant_of(request)
        found = views.call_page(
            state,
            tenant,
            page=page_number(request),
            status=choice(request, "status", views.STATUSES),
            direction=choice(request, "direction", views.DIRECTIONS),
        )
        return {
            "listing": found,
            "tenant": tenant,
            "statuses": views.STATUSES,
            "directions": views.DIRECTIONS,
            "scan_limit": views.SCAN_LIMIT,
        }

    def calls(request: Request) -> Response:
        return page(request, "calls.html", listing(request))

    def calls_table(request: Request) -> Response:
        return page(request, "_calls_table.html", listing(request))

    def one(request: Request) -> dict[str, Any]:
        tenant = tenant_of(request)
        call_id = request.path_params["call_id"]
        plan = state.store.plan(tenant, call_id)
        if plan is None:
            raise _BadQuery(404, f"tenant {tenant!r} has no call {call_id!r} (deleted or never)")
        now = state.clock.now_ms()
        current = observe(plan, now)
        summary = views.row(state, current, plan)
        return {
            "tenant": tenant,
            "call": summary,
            "dialects": views.dialects(state, tenant, call_id, now),
            "transcript": views.transcript(current),
            "timeline": views.timeline(plan, now),
            "webhooks": views.webhooks_for(webhooks, summary.ids, call_id),
        }

    def call(request: Request) -> Response:
        return page(request, "call.html", one(request))

    def call_live(request: Request) -> Response:
        return page(request, "_call_live.html", one(request))

    def journal(request: Request) -> Response:
        asked = {
            name: request.query_params.get(name) or None for name in CRITERIA if name != "status"
        }
        raw_status = request.query_params.get("status") or None
        status = whole_number(raw_status) if raw_status is not None else None
        if raw_status is not None and status is None:
            raise _BadQuery(400, f"status {raw_status[:20]!r}: a whole number such as 200")
        criteria: dict[str, Any] = {**asked, "status": status}
        if criteria["method"] is not None:
            criteria["method"] = criteria["method"].upper()
        result: dict[str, Any] | None = None
        if "verify" in request.query_params:
            query = JournalQuery(kind="request")
            entries = anyio.from_thread.run(state.journal_entries, query)["entries"]
            try:
                found = check_called(entries, criteria, None)
                result = {"ok": True, "lines": [line(e) for e in found[:50]], "count": len(found)}
            except AssertionError as failure:
                result = {"ok": False, "message": str(failure)}
        routes = sorted({r.name for v in state.vendors.values() for r in v.routes})
        return page(
            request,
            "journal.html",
            {"criteria": criteria, "result": result, "routes": routes, "kinds": ("request",)},
        )

    def rules(request: Request) -> Response:
        return page(
            request,
            "rules.html",
            {
                # (This page is made on a worker thread: the rules' counts may live in a shared
                # store, which the event loop reads.)
                "faults": anyio.from_thread.run(state.faults.rules),
                "rate_limits": anyio.from_thread.run(state.rate_limits.rules),
            },
        )

    def hooks(request: Request) -> Response:
        sent = anyio.from_thread.run(webhooks.attempts)
        return page(
            request,
            "webhooks.html",
            {
                "subscriptions": webhooks.listing(),
                # (Every process's: asked from this worker thread of the event loop.)
                "deliveries": anyio.from_thread.run(webhooks.deliveries)["deliveries"][-100:],
                "attempts": sent["attempts"][-100:],
                "pending": sent["pending"],
            },
        )

    async def sign_in_form(request: Request) -> Response:
        if token is None:  # nothing to sign in to
            return RedirectResponse(UI, status_code=303)
        return page(request, "signin.html", {"failed": False})

    async def sign_in(request: Request) -> Response:
        if token is None:
            return RedirectResponse(UI, status_code=303)
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_FORM_BYTES:
                break
        sent = dict(parse_qsl(raw[:MAX_FORM_BYTES].decode("utf-8", "replace"))).get("token", "")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return page(request, "signin.html", {"failed": True}, 401)
        response = RedirectResponse(UI, status_code=303)
        response.set_cookie(
            COOKIE, session_value(token), path="/_sandbox", httponly=True, samesite="strict"
        )
        return response

    async def sign_out(request: Request) -> Response:
        response = RedirectResponse(SIGN_IN if token is not None else UI, status_code=303)
        response.delete_cookie(COOKIE, path="/_sandbox", httponly=True, samesite="strict")
        return response

    async def static(request: Request) -> Response:
        found = STATIC.get(request.path_params["name"])
        if found is None:  # (open without a token: say no more than the sandbox's shape)
            body = {"error": "not_found", "message": f"no such file; there are {', '.join(STATIC)}"}
            state.schemas.check("sandbox/error.json", body)
            return JSONResponse(body, status_code=404)
        # Revalidated on each load: a sandbox upgraded in place serves its new script at once.
        fresh = {"cache-control": "no-cache"}
        return FileResponse(found, media_type=MEDIA[found.suffix], headers=fresh)

    async def elsewhere(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            message = f"the inspector has no page {request.url.path}"
            return page(request, "error.html", {"message": message}, 404)
        message = (
            f"{request.method} {request.url.path}: the inspector's pages are read with GET; "
            "changes go through the control plane's JSON endpoints under /_sandbox"
        )
        return page(request, "error.html", {"message": message}, 405)

    below: list[BaseRoute] = [
        Route("/", handled(calls), methods=["GET", "HEAD"]),
        Route("/calls/table", handled(calls_table), methods=["GET", "HEAD"]),
        Route("/calls/{tenant}/{call_id}", handled(call), methods=["GET", "HEAD"]),
        Route("/calls/{tenant}/{call_id}/live", handled(call_live), methods=["GET", "HEAD"]),
        Route("/journal", handled(journal), methods=["GET", "HEAD"]),
        Route("/rules", handled(rules), methods=["GET", "HEAD"]),
        Route("/webhooks", handled(hooks), methods=["GET", "HEAD"]),
        Route("/signin", sign_in_form, methods=["GET", "HEAD"]),
        Route("/signin", sign_in, methods=["POST"]),
        Route("/signout", sign_out, methods=["POST"]),
        Route("/static/{name}", static, methods=["GET", "HEAD"]),
        Route("/{rest:path}", elsewhere, methods=ALL_METHODS),
    ]
    return [
        Route("/ui", handled(calls), methods=["GET", "HEAD"]),
        Route("/ui", elsewhere, methods=ALL_METHODS),
        Mount("/ui", routes=below),
    ]
