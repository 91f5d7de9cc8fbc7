"""Zudu AI (api.zudu.ai): a Retell-like call object with UPPERCASE enums and ms timestamps in
a `{message, status, error, data}` envelope, behind an `X-API-KEY` + `X-API-SECRET` pair."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from sandbox.calls.model import Call
from sandbox.dialect.auth import AuthScheme
from sandbox.dialect.vendor import Example, Reply, Route, Vendor
from sandbox.errors import SandboxError
from sandbox.vendors.zudu.auth import KEY_HEADER, SECRET_HEADER, KeyAndSecret, format_problem
from sandbox.vendors.zudu.errors import render_error
from sandbox.vendors.zudu.render import render_call
from sandbox.vendors.zudu.routes import ROUTES
from sandbox.vendors.zudu.webcall import answer as web_call_answer
from sandbox.vendors.zudu.webhooks import WEBHOOKS

_CALL_ID = re.compile(r"call_[0-9a-f]{32}")


class Zudu(Vendor):
    name = "zudu"
    title = "Zudu"
    docs_base_url = "https://api.zudu.ai"
    auth: ClassVar[AuthScheme] = KeyAndSecret()
    # Zudu's generated reference shows a Spring-style server, which sends bare JSON.
    content_type = "application/json"
    routes: ClassVar[tuple[Route, ...]] = ROUTES
    lookup_route = "get-call"
    webhooks = WEBHOOKS
    examples: ClassVar[tuple[Example, ...]] = (
        Example("get-call", "/api/calls/{call_id}", 200),
        Example("list-calls", "/api/calls", 200, {"page": 0, "limit": 5}),
        Example("list-calls-get", "/api/calls?limit=5&call_status=ENDED", 200),
        Example("update-call", "/api/calls/{call_id}", 200, {"metadata": {"k": "v"}}),
        Example("delete-call", "/api/calls/{call_id}", 200),
        Example(
            "create-web-call",
            "/api/calls/create-web-call",
            200,
            {"agent_id": "agent_6f1d2c3b-4a59-4e68-9d7c-1b2a3c4d5e6f", "metadata": {"k": "v"}},
        ),
        Example(
            "create-phone-call",
            "/api/calls/create-phone-call",
            200,
            {"from_number": "+14155550142", "to_number": "+12125550101"},
        ),
    )

    def renderings(self, call: Call) -> Iterable[tuple[str, Any]]:
        yield "zudu/call.json", render_call(call)
        if call.call_type == "web_call":
            yield "zudu/create-web-call.json", web_call_answer(call)

    def format_id(self, canonical_id: str) -> str:
        return "call_" + canonical_id.replace("-", "")

    def canonical_id(self, external_id: str) -> str | None:
        """`call_<32 hex>` -> the canonical UUID; anything else is an id Zudu never issued."""
        if not _CALL_ID.fullmatch(external_id):
            return None
        return str(uuid.UUID(hex=external_id[5:]))

    def render_error(self, error: SandboxError) -> Reply:
        return render_error(error)

    def check_credentials(self, tenant: str, credentials: Mapping[str, str]) -> list[str]:
        problems = super().check_credentials(tenant, credentials)
        for header, field in ((KEY_HEADER, "api_key"), (SECRET_HEADER, "api_secret")):
            problem = format_problem(header, credentials.get(field, ""))
            if field in credentials and problem is not None:
                problems.append(f"keys.{self.name}.{field}: {problem}")
        return problems


VENDOR = Zudu()
