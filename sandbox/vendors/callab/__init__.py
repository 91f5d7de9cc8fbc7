"""Callab (api.callab.ai/v1): `{status, message, data}` envelopes, Bearer tokens, UUID ids,
ISO-8601 instants, and a not-found that is an HTTP 200 with an error envelope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from sandbox.calls.model import Call
from sandbox.dialect.auth import AuthScheme, BearerToken
from sandbox.dialect.vendor import Example, Reply, Route, Unserved, Vendor
from sandbox.errors import SandboxError
from sandbox.vendors.callab.errors import render_error
from sandbox.vendors.callab.render import envelope, render_call
from sandbox.vendors.callab.routes import ROUTES
from sandbox.vendors.callab.uuids import parse_uuid
from sandbox.vendors.callab.webhooks import WEBHOOKS


class Callab(Vendor):
    name = "callab"
    title = "Callab"
    # Clients keep Callab's `/v1` below the mount: https://api.callab.ai/v1 becomes
    # http://HOST:PORT/callab/v1.
    docs_base_url = "https://api.callab.ai/v1"
    base_path = "/v1"
    # "API KEY or JWT Token", both sent as a Bearer token.
    auth: ClassVar[AuthScheme] = BearerToken("token")
    # Callab's backend is Rust, whose JSON responses carry no charset parameter.
    content_type = "application/json"
    routes: ClassVar[tuple[Route, ...]] = ROUTES
    # Callab's other resources, documented beside its calls (campaigns under the docs'
    # own `compaign` spelling, and its webhook flow): the sandbox emulates calls only.
    unserved: ClassVar[tuple[Unserved, ...]] = (
        Unserved(
            "POST",
            "/compaign/v1/campaign/update/{id}",
            "campaigns are not emulated; the sandbox's calls carry the campaign_id of their "
            "agent from the fixtures",
        ),
        Unserved(
            "POST",
            "/webhook/flow/company/outbound",
            "webhook flows are not emulated; the sandbox sends Callab's webhooks itself: "
            "subscribe with PUT /_sandbox/webhooks",
        ),
    )
    lookup_route = "get-call"
    webhooks = WEBHOOKS
    examples: ClassVar[tuple[Example, ...]] = (
        Example("get-call", "/v1/calls/{call_id}", 200),
        # The get-call page's own code examples leave out /v1.
        Example("get-call-unversioned", "/calls/{call_id}", 200),
        Example("query-calls-unversioned", "/calls/query?per_page=5&sort_column=metadata", 200),
        Example(
            "create-call-unversioned",
            "/calls",
            200,
            {"call_from": "+14155550142", "call_to": "+12125550101"},
        ),
        Example(
            "make-call-unversioned",
            "/calls/make-call",
            200,
            {"ai_agent_id": "6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f", "call_to": "+12125550101"},
        ),
        Example("query-calls", "/v1/calls/query?per_page=5&sort_column=call_duration", 200),
        Example(
            "create-call",
            "/v1/calls",
            200,
            {"call_from": "+14155550142", "call_to": "+12125550101"},
        ),
        Example(
            "make-call",
            "/v1/calls/make-call",
            200,
            {"ai_agent_id": "6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f", "call_to": "+12125550101"},
        ),
    )

    def renderings(self, call: Call) -> Iterable[tuple[str, Any]]:
        body = render_call(call)
        yield "callab/call.json", body
        yield "callab/get-call.json", envelope(body)

    def canonical_id(self, external_id: str) -> str | None:
        """A UUID in any case, hyphenated or not, as the lowercase canonical form."""
        return parse_uuid(external_id)

    def render_error(self, error: SandboxError) -> Reply:
        return render_error(error)

    def failed(self, status: int, body: Any) -> bool:
        # Callab answers some failures, an unknown call among them, 200 with its envelope's
        # `"status": "error"`.
        return status >= 400 or (isinstance(body, dict) and body.get("status") == "error")


VENDOR = Callab()
