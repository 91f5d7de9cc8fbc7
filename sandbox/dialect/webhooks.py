"""What a vendor module says about its webhooks; the engine asks nothing else.

Each vendor that sends webhooks has a `webhooks.py` with one `WebhookScheme` subclass, set as
its `Vendor.webhooks`. The scheme names the events the vendor sends (and at which lifecycle
step), renders the body from the call exactly as the vendor's GET shows it at that instant,
names the JSON Schema that body must fit, and, if the vendor signs its webhooks, signs it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from sandbox.calls.fixtures import Tenant
from sandbox.calls.lifecycle import Transition
from sandbox.calls.model import Agent, Call
from sandbox.dialect.signing import Signer


class WebhookScheme:
    vendor: ClassVar[str]  # the vendor's name (its mount)
    # Every event name the vendor sends, in lifecycle order; subscriptions choose among them.
    events: ClassVar[tuple[str, ...]]
    schema: ClassVar[str]  # the JSON Schema every body fits, e.g. "retell/webhook.json"
    content_type: ClassVar[str] = "application/json"

    def event(self, call: Call, step: Transition) -> str | None:
        """The event this vendor sends for a lifecycle step (None: it sends nothing then).
        By default a vendor's event names are the sandbox's own lifecycle names."""
        return step.event if step.event in self.events else None

    def payload(self, event: str, call: Call) -> Any:
        """The JSON body for `event`, from `call` as it is at that instant."""
        raise NotImplementedError

    def agent_url(self, agent: Agent) -> str | None:
        """Where an agent's own webhook setting sends its calls' events (None: nowhere)."""
        return None

    def signer(self, tenant: Tenant) -> Signer | None:
        """How this tenant's webhooks are signed (None: they are not)."""
        return None

    def encode(self, payload: Any) -> bytes:
        """Compact UTF-8 JSON, key order as built: what Express, NestJS, serde and Jackson
        send, and what a receiver that re-serialises (json.dumps with these separators) gets
        back byte for byte."""
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    def headers(self) -> Mapping[str, str]:
        """The unsigned headers of every delivery."""
        return {"Content-Type": self.content_type}
