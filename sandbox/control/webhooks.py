"""The control plane's webhook endpoints, declared as data (sandbox.control.api):

- `PUT /_sandbox/webhooks` `{"vendor", "url", "tenant"?, "events"?}`: send that vendor's
  webhooks of that tenant to `url` (`sandbox://sink`: the sandbox's own sink);
- `GET /_sandbox/webhooks`: every subscription, and the agents' URLs from the fixtures;
- `DELETE /_sandbox/webhooks?vendor=&tenant=&url=`: drop the matching subscriptions;
- `GET /_sandbox/webhooks/deliveries?vendor=&event=&call_id=&tenant=`: what the sink got,
  with `pending`, the deliveries still queued or being tried; `DELETE` empties the sink;
- `GET /_sandbox/webhooks/attempts?...`: every attempt to any URL, with its status or error.

A subscription's URL must be one the sandbox may send to (sandbox.webhooks.urls: no
link-local or cloud metadata address unless the sandbox runs with
`--webhook-allow-link-local`); a 400 in the control plane's shape says what to fix. URLs are
shown with their userinfo redacted (`http://***@host/hook`); a `url` filter matches a URL as
it was set or as it is shown.

A reset (`POST /_sandbox/reset`) drops the subscriptions, the queue and the sink.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from sandbox.control.api import ControlError, ControlReply, ControlRequest, ControlRoute, Param
from sandbox.webhooks.urls import redact

if TYPE_CHECKING:
    from sandbox.dialect.vendor import VendorSandbox
    from sandbox.webhooks.engine import Webhooks

ERROR = "sandbox/error.json"
_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}


def _filters(vendors: list[str], *names: str) -> tuple[Param, ...]:
    about = {
        "vendor": "only this vendor's",
        "tenant": "only this tenant's",
        "url": "only this URL's",
        "event": "only this event (the vendor's name for it)",
        "call_id": "only this call's (its id as the vendor spells it)",
    }
    schemas: dict[str, dict[str, Any]] = {"vendor": {"enum": vendors}}
    return tuple(Param(n, "query", schemas.get(n, _TEXT), about[n]) for n in names)


def webhook_routes(state: VendorSandbox, webhooks: Webhooks) -> list[ControlRoute]:
    vendors = list(webhooks.schemes)

    async def guarded(action: Awaitable[Any]) -> Any:
        try:
            return await action
        except ValueError as error:  # the engine says what to fix
            raise ControlError.bad(str(error)) from None

    async def put(request: ControlRequest) -> ControlReply:
        body = request.body
        subscription = await guarded(
            webhooks.subscribe(
                body["vendor"], body["url"], tenant=body.get("tenant"), events=body.get("events")
            )
        )
        return ControlReply(200, subscription.as_json(), "sandbox/webhook-subscription.json")

    def listing(request: ControlRequest) -> ControlReply:
        wanted = request.params
        found = [
            s
            for s in webhooks.listing()
            if all(s[k] == v for k, v in wanted.items() if k in ("vendor", "tenant"))
        ]
        return ControlReply(200, {"subscriptions": found}, "sandbox/webhook-subscriptions.json")

    async def delete(request: ControlRequest) -> ControlReply:
        p = request.params
        gone = await guarded(
            webhooks.unsubscribe(vendor=p.get("vendor"), tenant=p.get("tenant"), url=p.get("url"))
        )
        return ControlReply(200, {"deleted": len(gone)}, "sandbox/deleted.json")

    async def deliveries(request: ControlRequest) -> ControlReply:
        body = await webhooks.deliveries(**request.params)
        return ControlReply(200, body, "sandbox/webhook-deliveries.json")

    async def clear(request: ControlRequest) -> ControlReply:
        return ControlReply(200, {"deleted": await webhooks.clear_sink()}, "sandbox/deleted.json")

    async def attempts(request: ControlRequest) -> ControlReply:
        wanted = dict(request.params)
        if "url" in wanted:  # attempts show URLs redacted: match the URL as shown
            wanted["url"] = redact(wanted["url"])
        body = await webhooks.attempts()
        found = [a for a in body["attempts"] if all(a[k] == v for k, v in wanted.items())]
        return ControlReply(
            200, {"attempts": found, "pending": body["pending"]}, "sandbox/webhook-attempts.json"
        )

    bad = {400: ERROR}
    return [
        ControlRoute(
            "PUT",
            "/webhooks",
            "putWebhookSubscription",
            "Send a vendor's webhooks of a tenant to a URL",
            put,
            {200: "sandbox/webhook-subscription.json", **bad},
            body_schema="sandbox/webhook-subscription.request.json",
            description="Setting the same vendor, tenant and URL again replaces its events. "
            "sandbox://sink is the sandbox's own receiver (GET /webhooks/deliveries).",
        ),
        ControlRoute(
            "GET",
            "/webhooks",
            "listWebhookSubscriptions",
            "Where webhooks go: the subscriptions, and the agents' URLs from the fixtures",
            listing,
            {200: "sandbox/webhook-subscriptions.json", **bad},
            params=_filters(vendors, "vendor", "tenant"),
        ),
        ControlRoute(
            "DELETE",
            "/webhooks",
            "deleteWebhookSubscriptions",
            "Drop the subscriptions matching every given filter (none: all)",
            delete,
            {200: "sandbox/deleted.json", **bad},
            params=_filters(vendors, "vendor", "tenant", "url"),
        ),
        ControlRoute(
            "GET",
            "/webhooks/deliveries",
            "listWebhookDeliveries",
            "What the sandbox's sink (sandbox://sink) received",
            deliveries,
            {200: "sandbox/webhook-deliveries.json", **bad},
            params=_filters(vendors, "vendor", "event", "call_id", "tenant"),
        ),
        ControlRoute(
            "DELETE",
            "/webhooks/deliveries",
            "clearWebhookDeliveries",
            "Empty the sink",
            clear,
            {200: "sandbox/deleted.json"},
        ),
        ControlRoute(
            "GET",
            "/webhooks/attempts",
            "listWebhookAttempts",
            "Every delivery attempt to any URL, with the receiver's status or the error",
            attempts,
            {200: "sandbox/webhook-attempts.json", **bad},
            params=_filters(vendors, "vendor", "event", "call_id", "tenant", "url"),
        ),
    ]
