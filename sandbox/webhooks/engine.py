"""Turning lifecycle events into webhook deliveries.

The engine listens to the sandbox clock (`Sandbox.listeners`): for every call_started,
call_ended and call_analyzed it gets the call exactly as a GET at that instant shows it, asks
each vendor's scheme whether and under which name that vendor sends the event, renders the
body with the vendor's own renderer (so a webhook and a GET never disagree), checks it against
the vendor's webhook schema, and hands one delivery per target URL to the dispatcher.

Which calls go where:

- a URL given when the call was created (ContactShip's `webhook_url`) gets every event of
  that call, from the vendor it was created through;
- an agent's own URL (Retell's agent `webhook_url`, from the fixtures) and the URLs
  subscribed through the control plane for (vendor, tenant) get the events of the tenant's
  calls that belong to that vendor: the calls created through it, and the generated and
  pinned calls, which every vendor shows. A call created through another vendor is that
  vendor's: its events are not sent in this vendor's shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sandbox.calls.instants import iso_millis
from sandbox.calls.lifecycle import Transition
from sandbox.calls.model import Call
from sandbox.dialect.webhooks import WebhookScheme
from sandbox.schemas import SchemaViolation
from sandbox.store.journal import BODY_LIMIT, Journal
from sandbox.version import __version__
from sandbox.webhooks.dispatcher import Attempt, Delivery, Dispatcher
from sandbox.webhooks.sink import Sink, matching
from sandbox.webhooks.targets import SINK_URL, Subscription, Subscriptions
from sandbox.webhooks.urls import redact, refusal

if TYPE_CHECKING:
    from sandbox.dialect.vendor import VendorSandbox

log = logging.getLogger("sandbox.webhooks")
# The questions each process answers from what it sent and received.
DELIVERIES = "webhook-deliveries"
ATTEMPTS = "webhook-attempts"
SINK_CLEAR = "webhook-sink-clear"
USER_AGENT = f"call-sandbox/{__version__}"  # the vendors' own are not documented


class Webhooks:
    def __init__(self, state: VendorSandbox, *, journal: Journal | None = None) -> None:
        self._state = state
        self._journal = journal
        settings = state.settings
        self.sink = Sink()
        self.subscriptions = Subscriptions(state.backend.records)
        # A reset drops subscriptions once, wherever they are kept (`reset` below forgets what
        # this process keeps: its queue, attempts and sink).
        state.record_books.append(self.subscriptions)
        self.dispatcher = Dispatcher(
            retries=settings.webhook_retries,
            backoff_s=settings.webhook_backoff_s,
            sink=self.sink,
            record=self._record if journal is not None else None,
            allow_link_local=settings.webhook_allow_link_local,
        )
        state.listeners.append(self.on_transition)
        state.reset_hooks.append(self.reset)
        # Each process delivers the events it claimed: what was sent is asked of every one.
        records = state.backend.records
        records.answer(DELIVERIES, self._deliveries_here)
        records.answer(ATTEMPTS, lambda asked: self._attempts_here())
        records.answer(SINK_CLEAR, lambda asked: self.sink.clear())

    def _deliveries_here(self, asked: Mapping[str, Any]) -> dict[str, Any]:
        found = self.sink.items(matching(**asked))
        return {"deliveries": [d.as_json() for d in found], "pending": self.dispatcher.pending}

    def _attempts_here(self) -> dict[str, Any]:
        shown = [a.as_json() for a in self.dispatcher.attempts()]
        return {"attempts": shown, "pending": self.dispatcher.pending}

    async def deliveries(self, **criteria: str) -> dict[str, Any]:
        """What the sink received in every process sharing the store (in event time), and
        how many deliveries are still queued or being tried."""
        answers = await self._state.backend.records.gather(DELIVERIES, criteria)
        found = [d for answer in answers for d in answer["deliveries"]]
        return {
            "deliveries": sorted(found, key=lambda d: d["at_ms"]),
            "pending": sum(answer["pending"] for answer in answers),
        }

    async def attempts(self) -> dict[str, Any]:
        """Every delivery attempt of every process sharing the store (in event time)."""
        answers = await self._state.backend.records.gather(ATTEMPTS, {})
        found = [a for answer in answers for a in answer["attempts"]]
        return {
            "attempts": sorted(found, key=lambda a: a["at_ms"]),
            "pending": sum(answer["pending"] for answer in answers),
        }

    async def clear_sink(self) -> int:
        return sum(await self._state.backend.records.gather(SINK_CLEAR, {}))

    @property
    def schemes(self) -> Mapping[str, WebhookScheme]:
        """The vendors that send webhooks, by name."""
        return {
            name: vendor.webhooks
            for name, vendor in self._state.vendors.items()
            if vendor.webhooks is not None
        }

    # -- from the clock --------------------------------------------------------------------

    def on_transition(self, tenant: str, call: Call, step: Transition) -> None:
        for name, scheme in self.schemes.items():
            event = scheme.event(call, step)
            if event is None:
                continue
            urls = self.targets(scheme, tenant, call, event)
            if not urls:
                continue
            payload = scheme.payload(event, call)
            if not self._valid(scheme, payload):
                continue
            body = scheme.encode(payload)
            owner = self._state.tenants.get(tenant)
            signer = scheme.signer(owner) if owner is not None else None
            call_id = self._state.vendors[name].external_id(call)
            headers = {**scheme.headers(), "User-Agent": USER_AGENT}
            for url in urls:
                self.dispatcher.enqueue(
                    Delivery(
                        vendor=name,
                        event=event,
                        tenant=tenant,
                        call_id=call_id,
                        url=url,
                        body=body,
                        headers=headers,
                        signer=signer,
                        timeout_s=self._state.settings.webhook_timeout_s,
                        at_ms=step.at_ms,
                    )
                )

    def targets(self, scheme: WebhookScheme, tenant: str, call: Call, event: str) -> list[str]:
        """The URLs that get `event` of `call` in `scheme`'s shape, each once, in order."""
        urls: list[str] = []
        if call.origin == scheme.vendor and call.webhook_url:
            urls.append(call.webhook_url)
        if call.origin in (None, scheme.vendor):
            agent_url = scheme.agent_url(call.agent)
            if agent_url:
                urls.append(agent_url)
            urls += [s.url for s in self.subscriptions.of(scheme.vendor, tenant) if s.wants(event)]
        return list(dict.fromkeys(urls))

    def _record(self, attempt: Attempt) -> None:
        assert self._journal is not None
        self._journal.record(journal_entry(attempt))

    def _valid(self, scheme: WebhookScheme, payload: Any) -> bool:
        try:
            self._state.schemas.check(scheme.schema, payload)
        except SchemaViolation as violation:
            log.error(
                "sandbox bug: a %s webhook broke %s: %s", scheme.vendor, scheme.schema, violation
            )
            if self._state.settings.raise_on_schema_error:
                raise
            return False
        return True

    # -- from the control plane ------------------------------------------------------------

    async def subscribe(
        self,
        vendor: str,
        url: str,
        *,
        tenant: str | None = None,
        events: Sequence[str] | None = None,
    ) -> Subscription:
        """Send `vendor`'s webhooks of `tenant` (default: the default tenant) to `url`
        (`sandbox://sink`: the in-process sink); `events` defaults to all the vendor sends.
        Raises ValueError saying what to fix."""
        scheme = self._scheme(vendor)
        owner = self._tenant(tenant or self._state.default_tenant.id)
        check_url(url, allow_link_local=self._state.settings.webhook_allow_link_local)
        wanted = scheme.events if events is None else tuple(events)
        unknown = [e for e in wanted if e not in scheme.events]
        if unknown or not wanted:
            raise ValueError(
                f"events: {vendor} sends {', '.join(scheme.events)}; "
                + (f"not {', '.join(map(repr, unknown))}" if unknown else "name at least one")
            )
        chosen = tuple(e for e in scheme.events if e in wanted)
        subscription = Subscription(vendor=vendor, tenant=owner, url=url, events=chosen)
        await self.subscriptions.add(subscription)
        return subscription

    async def unsubscribe(
        self, *, vendor: str | None = None, tenant: str | None = None, url: str | None = None
    ) -> list[Subscription]:
        """Drop the subscriptions matching every given criterion (none given: all)."""
        if vendor is not None:
            self._scheme(vendor)
        if tenant is not None:
            self._tenant(tenant)
        return await self.subscriptions.remove(vendor=vendor, tenant=tenant, url=url)

    def listing(self) -> list[dict[str, Any]]:
        """Every place webhooks go but per-call URLs: the subscriptions, then agents' URLs."""
        found = [s.as_json() for s in self.subscriptions.all()]
        for tenant in list(self._state.tenants.values()):
            for agent in tenant.agents:
                for name, scheme in self.schemes.items():
                    url = scheme.agent_url(agent)
                    if url:
                        entry = Subscription(name, tenant.id, url, scheme.events).as_json("agent")
                        found.append(entry)
        return found

    def reset(self, tenant: str | None = None) -> None:
        """Forget this process's queued deliveries, attempts and sink (all, or a tenant's)."""
        self.dispatcher.reset(tenant)
        self.sink.clear(tenant)

    def close(self, timeout: float = 5.0) -> None:
        self.dispatcher.close(timeout)

    def _scheme(self, vendor: str) -> WebhookScheme:
        scheme = self.schemes.get(vendor)
        if scheme is None:
            raise ValueError(
                f"vendor: {vendor!r} sends no webhooks here; choose one of "
                + ", ".join(self.schemes)
            )
        return scheme

    def _tenant(self, tenant: str) -> str:
        if tenant not in self._state.tenants:
            known = ", ".join(self._state.tenants)
            raise ValueError(f"tenant: no tenant {tenant!r}; choose one of {known}")
        return tenant


def check_url(url: str, *, allow_link_local: bool = False) -> None:
    """An absolute http(s) URL the policy allows (sandbox.webhooks.urls), or the sink's;
    ValueError saying what to fix otherwise (the URL shown with its userinfo redacted)."""
    if url == SINK_URL:
        return
    refused = refusal(url, allow_link_local=allow_link_local)
    if refused is None:
        return
    if refused.startswith("is not"):  # the sink is a valid choice too
        refused += f" (or {SINK_URL}, the sandbox's in-process sink)"
    raise ValueError(f"url: {redact(url)!r} {refused}")


def journal_entry(attempt: Attempt) -> dict[str, Any]:
    """One delivery attempt as the journal keeps it (schemas/sandbox/journal.json, kind
    "webhook"): `route` is the event, `path` the receiver's URL, `at_ms` the sandbox instant
    of the event; `detail` holds what only a webhook has. Signatures are cut short and the
    URL's userinfo redacted; a body over BODY_LIMIT, or not kept, is null."""
    delivery = attempt.delivery
    body = json.loads(delivery.body) if 0 < len(delivery.body) <= BODY_LIMIT else None
    return {
        "kind": "webhook",
        "at": iso_millis(delivery.at_ms),
        "at_ms": delivery.at_ms,
        "vendor": delivery.vendor,
        "route": delivery.event,
        "method": "POST",
        "path": redact(delivery.url),
        "query": [],
        "tenant": delivery.tenant,
        "status": attempt.status,
        "duration_ms": attempt.duration_ms,
        "headers": {k.lower(): v for k, v in attempt.headers.items()},
        "body": body,
        "faults": [],
        "detail": {
            "event": delivery.event,
            "call_id": delivery.call_id,
            "attempt": attempt.number,
            "delivered": attempt.delivered,
            "final": attempt.final,
            "error": attempt.error,
        },
    }
