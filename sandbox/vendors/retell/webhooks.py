"""Retell's webhooks (docs: features/webhook-overview, features/secure-webhook).

Retell POSTs `{"event": ..., "call": <V2 call object>}` to the agent's `webhook_url` (and to
the account-level URL): `call_started` when the call connects (never for a call that does not),
`call_ended` with every field but `call_analysis`, and `call_analyzed` with the whole object
once the post-call analysis is ready. The `call` is what GET /v2/get-call answers at that
instant. Each request carries `X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256 of the raw
body followed by the timestamp, keyed with the account's API key>`, which the retell-sdk's
`verify(body, api_key, signature)` checks.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sandbox.calls.fixtures import Tenant
from sandbox.calls.model import Agent, Call
from sandbox.dialect.signing import Signer, hmac_sha256_hex
from sandbox.dialect.webhooks import WebhookScheme
from sandbox.vendors.retell.render import render_call

SIGNATURE_HEADER = "X-Retell-Signature"


def signature(body: bytes, api_key: str, unix_ms: int) -> str:
    return f"v={unix_ms},d={hmac_sha256_hex(api_key, body + str(unix_ms).encode())}"


class RetellWebhooks(WebhookScheme):
    vendor = "retell"
    # An agent's `webhook_events` default: the three call events.
    events: ClassVar[tuple[str, ...]] = ("call_started", "call_ended", "call_analyzed")
    schema = "retell/webhook.json"

    def payload(self, event: str, call: Call) -> dict[str, Any]:
        body = render_call(call)
        if event != "call_analyzed":
            # The analysis only ever comes with call_analyzed (the lifecycle has none before).
            body.pop("call_analysis", None)
        return {"event": event, "call": body}

    def agent_url(self, agent: Agent) -> str | None:
        return agent.webhook_url

    def signer(self, tenant: Tenant) -> Signer | None:
        # Signed with the account's API key (the one with the webhook badge); a tenant that
        # has no Retell key (one open tenancy made for another vendor) sends them unsigned.
        api_key = tenant.keys.get(self.vendor, {}).get("api_key")
        if api_key is None:
            return None
        key: str = api_key

        def sign(body: bytes, unix_ms: int) -> dict[str, str]:
            return {SIGNATURE_HEADER: signature(body, key, unix_ms)}

        return sign


WEBHOOKS = RetellWebhooks()
