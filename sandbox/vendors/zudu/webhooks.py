"""Zudu's post-call webhooks.

Zudu documents post-call webhooks (`/api/post-call-webhooks`, assigned to agents) that are
"triggered after each call completes" and "receive call data, transcripts, and analysis
results", but not their body. So the sandbox sends one event, `post_call`, once a call is
over: when its analysis is ready, or at its end for a call that never connected (no analysis
ever comes). The body is inferred, in the envelope every Zudu answer uses:
`{"message": "Call completed", "status": "success", "error": null,
"data": {"event": "post_call", "organization_id": ..., "call": <Zudu call object>}}`, the call
being what GET /api/calls/{callId} answers at that instant. Unsigned (none is documented).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sandbox.calls.lifecycle import Transition
from sandbox.calls.model import Call
from sandbox.dialect.webhooks import WebhookScheme
from sandbox.vendors.zudu.render import organization_id, render_call

POST_CALL = "post_call"


class ZuduWebhooks(WebhookScheme):
    vendor = "zudu"
    events: ClassVar[tuple[str, ...]] = (POST_CALL,)
    schema = "zudu/webhook.json"

    def event(self, call: Call, step: Transition) -> str | None:
        settled = "call_analyzed" if call.scenario.connected else "call_ended"
        return POST_CALL if step.event == settled else None

    def payload(self, event: str, call: Call) -> dict[str, Any]:
        return {
            "message": "Call completed",
            "status": "success",
            "error": None,
            "data": {
                "event": event,
                "organization_id": organization_id(call.tenant),
                "call": render_call(call),
            },
        }


WEBHOOKS = ZuduWebhooks()
