"""ContactShip (api.contactship.ai): bare call objects, `x-api-key`, NestJS error bodies, and
transcripts in JSON or TOON."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from sandbox.calls.model import Call
from sandbox.dialect.auth import AuthScheme, HeaderKeys
from sandbox.dialect.vendor import Example, Reply, Route, Vendor
from sandbox.errors import SandboxError
from sandbox.vendors.contactship.contacts import contact_record, history
from sandbox.vendors.contactship.errors import render_error
from sandbox.vendors.contactship.render import base, customer_number, render_call
from sandbox.vendors.contactship.routes import ROUTES
from sandbox.vendors.contactship.transcript import Flags
from sandbox.vendors.contactship.webhooks import WEBHOOKS

_CALL_PREFIX = "call-"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
# The docs' own example agent and contact, which every sandbox has (contactship-docs.yaml).
_DOCS_AGENT = "f1e2d3c4-b5a6-7890-1234-567890abcdef"
_DOCS_CONTACT = "c1d2e3f4-a5b6-7890-cdef-123456789012"
_DOCS_NUMBER = "+14155552678"  # the docs' get-call example's contact
# The flag combinations `call-sandbox check` renders every call in.
CHECKED_FLAGS = (
    Flags(),
    Flags(transcript=False),
    Flags(words=True, tools=True),
    Flags(words=True, tools=True, format="toon"),
    Flags(transcript=False, tools=True, format="toon"),
)


class ContactShip(Vendor):
    name = "contactship"
    title = "ContactShip"
    docs_base_url = "https://api.contactship.ai"
    auth: ClassVar[AuthScheme] = HeaderKeys((("x-api-key", "api_key"),))
    # NestJS on Express labels JSON with its charset.
    content_type = "application/json; charset=utf-8"
    routes: ClassVar[tuple[Route, ...]] = ROUTES
    lookup_route = "get-call"
    webhooks = WEBHOOKS
    examples: ClassVar[tuple[Example, ...]] = (
        Example("get-call", "/v1/calls/{call_id}?include_words=true&include_tools=true", 200),
        Example("list-calls", "/v1/calls?limit=5&include_transcript=true", 200),
        Example(
            "single-phone-call",
            "/v1/calls/single-phone-call",
            201,
            {
                "from_number": "+12137771235",
                "to_number": "+14155550123",
                "full_name": "Jane Smith",
                "agent_id": _DOCS_AGENT,
            },
        ),
        Example(
            "single-contact-call",
            "/v1/calls/single-contact-call",
            201,
            {
                "contact_id": _DOCS_CONTACT,
                "agent_id": _DOCS_AGENT,
                "from_number_id": "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e",
            },
        ),
        Example("contact-calls", f"/v1/contacts/{_DOCS_CONTACT}/calls?direction=outbound", 200),
        Example("contact-call-history", f"/v1/contacts/{_DOCS_NUMBER}/call-history", 200),
    )

    def renderings(self, call: Call) -> Iterable[tuple[str, Any]]:
        for flags in CHECKED_FLAGS:
            yield "contactship/call.json", render_call(call, flags)
        item = render_call(call, Flags(transcript=False), list_item=True)
        yield "contactship/list.json", {"data": [item], "count": 1}
        if call.end_ms is not None and call.scenario.ended:
            shown = base(call)
            yield "contactship/contact-calls.json", [contact_record(call, shown)]
            yield "contactship/call-history.json", history(customer_number(call), [(call, shown)])

    def canonical_id(self, external_id: str) -> str | None:
        """A call id is a UUID (Postgres compares them case-blind), also as `call-<uuid>`, the
        form the create pages' examples answer; anything else finds nothing, and the docs'
        answer to it is their one 404."""
        bare = external_id.removeprefix(_CALL_PREFIX)
        return bare.lower() if _UUID.fullmatch(bare) else None

    def render_error(self, error: SandboxError) -> Reply:
        return render_error(error)


VENDOR = ContactShip()
