"""Callab's webhooks, as far as the sandbox can know them.

Callab's webhooks are "outbound flows" (`GET /webhook/flow/company/outbound`): steps whose
URL, method, headers and body template the customer builds, with retries per flow. No body is
fixed by Callab, so the sandbox sends what a flow forwarding the call would: the lifecycle
events under the sandbox's names, each in Callab's own envelope with the event as the message,
`{"status": "ok", "message": "call_ended", "data": <Callab call object>}`, the call being the
`data` of GET /calls/{id} at that instant. Targets are set through the sandbox's control
plane; nothing is signed. All of this is inferred.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sandbox.calls.model import Call
from sandbox.dialect.webhooks import WebhookScheme
from sandbox.vendors.callab.render import VENDOR, render_call


class CallabWebhooks(WebhookScheme):
    vendor = VENDOR
    events: ClassVar[tuple[str, ...]] = ("call_started", "call_ended", "call_analyzed")
    schema = "callab/webhook.json"

    def payload(self, event: str, call: Call) -> dict[str, Any]:
        return {"status": "ok", "message": event, "data": render_call(call)}


WEBHOOKS = CallabWebhooks()
