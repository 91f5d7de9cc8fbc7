"""Where webhooks go: subscriptions set at run time through the control plane.

A subscription is (vendor, tenant, url) with the events it wants; setting the same triple
again replaces its events. It stands for the account-level webhook URL a vendor's dashboard
sets. Agents' own URLs come from the fixtures and per-call URLs from the create request (the
engine reads both from the call), so a reset only drops these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.store.records import Records
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
    """The subscriptions, kept as records (`sandbox.store.records`): in this process, or in
    the shared store and so the same in every worker and replica, whichever delivers."""

    kind = "webhooks"

    def __init__(self, records: Records) -> None:
        self._records = records
        self._items: dict[tuple[str, str, str], Subscription] = {}
        records.follow(self.kind, self)

    # -- the records (`Book`) ----------------------------------------------------------------

    def load(self, records: Mapping[str, str]) -> None:
        self._items = dict(_decoded(k, v) for k, v in records.items())

    def put(self, key: str, value: str) -> None:
        found, subscription = _decoded(key, value)
        self._items = {**self._items, found: subscription}

    def drop(self, keys: Sequence[str] | None) -> None:
        if keys is None:
            self._items = {}
            return
        gone = {tuple(json.loads(key)) for key in keys}
        self._items = {k: s for k, s in self._items.items() if k not in gone}

    # -- changes ------------------------------------------------------------------------------

    async def add(self, subscription: Subscription) -> None:
        await self._records.put(self.kind, _key(subscription), json.dumps(subscription.events))

    async def remove(
        self, *, vendor: str | None = None, tenant: str | None = None, url: str | None = None
    ) -> list[Subscription]:
        """Drop every subscription matching all the given criteria; returns them."""
        gone = [s for s in self._items.values() if _matches(s, vendor, tenant, url)]
        set_as = {s.url for s in gone}
        if url is not None and url not in set_as and len(set_as) > 1:
            # A URL as listed (`http://***@host/`) can stand for several that differ only
            # in their credentials: removing all of them would not be what was asked.
            raise ValueError(
                f"url: {url} stands for {len(set_as)} subscriptions' URLs that differ in "
                "their credentials; give the URL as it was set"
            )
        if gone:
            await self._records.drop(self.kind, [_key(s) for s in gone])
        return gone

    def all(self) -> list[Subscription]:
        return list(self._items.values())

    def of(self, vendor: str, tenant: str) -> list[Subscription]:
        return [s for s in self._items.values() if s.vendor == vendor and s.tenant == tenant]

    async def reset(self, tenant: str | None = None) -> None:
        if tenant is None:
            await self._records.drop(self.kind, None)
        else:
            await self.remove(tenant=tenant)


def _key(subscription: Subscription) -> str:
    return json.dumps([subscription.vendor, subscription.tenant, subscription.url])


def _decoded(key: str, value: str) -> tuple[tuple[str, str, str], Subscription]:
    vendor, tenant, url = json.loads(key)
    return (vendor, tenant, url), Subscription(vendor, tenant, url, tuple(json.loads(value)))


def _matches(s: Subscription, vendor: str | None, tenant: str | None, url: str | None) -> bool:
    return (
        (vendor is None or s.vendor == vendor)
        and (tenant is None or s.tenant == tenant)
        and (url is None or url in (s.url, redact(s.url)))  # as set, or as listed
    )
