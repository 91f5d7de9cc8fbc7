"""Retell AI (api.retellai.com): bare V2 call objects, Bearer keys, `{status, message}` errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, ClassVar

from sandbox.calls.model import Call
from sandbox.dialect.auth import AuthScheme, BearerToken
from sandbox.dialect.vendor import Example, Reply, Route, Vendor
from sandbox.errors import SandboxError
from sandbox.vendors.retell import agents, batch, concurrency, numbers
from sandbox.vendors.retell.errors import render_error
from sandbox.vendors.retell.live_routes import LIVE_EXAMPLES
from sandbox.vendors.retell.render import render_call
from sandbox.vendors.retell.routes import ROUTES
from sandbox.vendors.retell.webhooks import WEBHOOKS

# The docs example agent and its number, which every sandbox's default tenant has.
_AGENT = "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"
_NUMBER = "+12137771235"
RESOURCE_EXAMPLES = (
    Example(
        "create-batch-call",
        "/create-batch-call",
        201,
        {
            "from_number": "+14155550142",
            "name": "First batch call",
            "tasks": [{"to_number": "+12125550101"}, {"to_number": "+12125550102"}],
        },
    ),
    Example("get-agent", f"/get-agent/{_AGENT}", 200),
    Example("list-agents", "/v2/list-agents", 200, {}),
    Example("list-agent-versions", f"/list-agent-versions/{_AGENT}", 200),
    Example("get-phone-number", f"/get-phone-number/{_NUMBER}", 200),
    Example("list-phone-numbers", "/v2/list-phone-numbers", 200),
    Example("get-concurrency", "/get-concurrency", 200),
)


class Retell(Vendor):
    name = "retell"
    title = "Retell AI"
    docs_base_url = "https://api.retellai.com"
    auth: ClassVar[AuthScheme] = BearerToken("api_key")
    # Retell's API is served by Express, which labels JSON with its charset.
    content_type = "application/json; charset=utf-8"
    # The call routes, then what calls point at: batches, agents, numbers, concurrency.
    routes: ClassVar[tuple[Route, ...]] = (
        ROUTES + batch.ROUTES + agents.ROUTES + numbers.ROUTES + concurrency.ROUTES
    )
    lookup_route = "get-call"
    webhooks = WEBHOOKS
    examples: ClassVar[tuple[Example, ...]] = (
        Example("get-call", "/v2/get-call/{call_id}", 200),
        Example("list-calls", "/v3/list-calls", 200, {"limit": 5, "include_total": True}),
        Example("list-calls-v2", "/v2/list-calls", 200, {"limit": 5}),
        Example(
            "create-phone-call",
            "/v2/create-phone-call",
            201,
            {"from_number": "+14155550142", "to_number": "+12125550101"},
        ),
        Example("update-call", "/v2/update-call/{call_id}", 200, {"metadata": {"k": "v"}}),
        Example("delete-call", "/v2/delete-call/{call_id}", 204),
        *LIVE_EXAMPLES,
        *RESOURCE_EXAMPLES,
    )

    def renderings(self, call: Call) -> Iterable[tuple[str, Any]]:
        yield "retell/call.json", render_call(call)
        yield "retell/call-v3.json", render_call(call, transcripts=False)

    def format_id(self, canonical_id: str) -> str:
        return "call_" + canonical_id.replace("-", "")

    def canonical_id(self, external_id: str) -> str | None:
        """`call_<32 hex>` -> the canonical UUID; anything else is an id Retell never issued."""
        if not external_id.startswith("call_") or len(external_id) != 37:
            return None
        try:
            return str(uuid.UUID(hex=external_id[5:]))
        except ValueError:
            return None

    def render_error(self, error: SandboxError) -> Reply:
        return render_error(error)


VENDOR = Retell()
