"""ContactShip's per-call webhooks.

`POST /v1/calls/single-phone-call` takes a `webhook_url`, documented as the "URL to receive
call event webhooks (call started, ended, transcript ready, etc.) for this specific call"; the
body of those webhooks is not documented. ContactShip runs on Retell (its disconnection reasons
and analysis keys are Retell's), so the sandbox sends Retell's three events under Retell's names,
each as `{"event": ..., "call": <ContactShip call object>}`, the call being what
GET /v1/calls/{callId} answers at that instant with its default flags (transcript included, as
JSON). The analysed call carries the summary and sentiment: the "transcript ready" moment. The
docs name no signature, so none is sent. All of this is inferred.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sandbox.calls.model import Call
from sandbox.dialect.webhooks import WebhookScheme
from sandbox.vendors.contactship.render import VENDOR, render_call
from sandbox.vendors.contactship.transcript import Flags


class ContactShipWebhooks(WebhookScheme):
    vendor = VENDOR
    events: ClassVar[tuple[str, ...]] = ("call_started", "call_ended", "call_analyzed")
    schema = "contactship/webhook.json"

    def payload(self, event: str, call: Call) -> dict[str, Any]:
        return {"event": event, "call": render_call(call, Flags())}


WEBHOOKS = ContactShipWebhooks()
