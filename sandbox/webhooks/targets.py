"""Where webhooks go: subscriptions set at run time through the control plane.

A subscription is (vendor, tenant, url) with the events it wants; setting the same triple
again replaces its events. It stands for the account-level webhook URL a vendor's dashboard
sets. Agents' own URLs come from the fixtures and per-call URLs from the create request (the
engine reads both from the call), so a reset only drops these.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sandbox.webhooks.urls import redact

SINK_URL = "sandbox://sink"  # the in-process sink (sink.py) instead of an HTTP receiver


@dataclass(frozen=True, slots=True)
class Subscription:
    vendor: str
    tenant: str
    url: str
    events: tuple[str, ...]

    def wants(self, event: str) -> bool:
        return event in self.events

    def as_json(self, source: str = "control") -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "tenant": self.tenant,
            "url": redact(self.url),  # user:password@ shown as ***@
            "events": list(self.events),
            "source": source,
        }


class Subscriptions:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str, str], Subscription] = {}

    def put(self, subscription: Subscription) -> None:
        key = (subscription.vendor, subscription.tenant, subscription.url)
        with self._lock:
            self._items[key] = subscription

    def remove(
        self, *, vendor: str | None = None, tenant: str | None = None, url: str | None = None
    ) -> list[Subscription]:
        """Drop every subscription matching all the given criteria; returns them."""
        with self._lock:
            gone = [s for s in self._items.values() if _matches(s, vendor, tenant, url)]
            set_as = {s.url for s in gone}
            if url is not None and url not in set_as and len(set_as) > 1:
                # A URL as listed (`http://***@host/`) can stand for several that differ only
                # in their credentials: removing all of them would not be what was asked.
                raise ValueError(
                    f"url: {url} stands for {len(set_as)} subscriptions' URLs that differ in "
                    "their credentials; give the URL as it was set"
                )
            for found in gone:
                del self._items[(found.vendor, found.tenant, found.url)]
        return gone

    def all(self) -> list[Subscription]:
        with self._lock:
            return list(self._items.values())

    def of(self, vendor: str, tenant: str) -> list[Subscription]:
        with self._lock:
            return [s for s in self._items.values() if s.vendor == vendor and s.tenant == tenant]

    def reset(self, tenant: str | None = None) -> None:
        self.remove(tenant=tenant)


def _matches(s: Subscription, vendor: str | None, tenant: str | None, url: str | None) -> bool:
    return (
        (vendor is None or s.vendor == vendor)
        and (tenant is None or s.tenant == tenant)
        and (url is None or url in (s.url, redact(s.url)))  # as set, or as listed
    )
