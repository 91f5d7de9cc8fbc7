"""The in-process receiver: deliveries to `sandbox://sink` land here instead of on a socket.

A test subscribes the sink, makes the sandbox's clock move, and reads what arrived, byte for
byte and with every header (signatures included, so a test can verify them), without running
a server. `GET /_sandbox/webhooks/deliveries` lists the same, for a sandbox in another process.
It keeps the newest CAPACITY (10,000) deliveries holding at most CAPACITY_BYTES (64 MiB) of
bodies: older ones make room.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CAPACITY = 10_000
CAPACITY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Received:
    """One webhook as its receiver got it."""

    vendor: str
    event: str
    tenant: str
    call_id: str  # the call's id as the vendor spells it
    url: str
    headers: Mapping[str, str]
    body: bytes
    at_ms: int = 0  # the sandbox instant of the lifecycle event

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "event": self.event,
            "tenant": self.tenant,
            "call_id": self.call_id,
            "url": self.url,
            "at_ms": self.at_ms,
            "headers": dict(self.headers),
            "body": self.text,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Received:
        return cls(
            vendor=data["vendor"],
            event=data["event"],
            tenant=data["tenant"],
            call_id=data["call_id"],
            url=data["url"],
            headers=dict(data["headers"]),
            body=str(data["body"]).encode(),
            at_ms=int(data["at_ms"]),
        )


Match = Callable[[Received], bool]


def matching(
    *,
    vendor: str | None = None,
    event: str | None = None,
    call_id: str | None = None,
    tenant: str | None = None,
) -> Match:
    def match(item: Received) -> bool:
        return (
            (vendor is None or item.vendor == vendor)
            and (event is None or item.event == event)
            and (call_id is None or item.call_id == call_id)
            and (tenant is None or item.tenant == tenant)
        )

    return match


class Sink:
    def __init__(self, capacity: int = CAPACITY, capacity_bytes: int = CAPACITY_BYTES) -> None:
        self._items: deque[Received] = deque()
        self._capacity = capacity
        self._capacity_bytes = capacity_bytes
        self._bytes = 0
        self._arrived = threading.Condition()

    def add(self, item: Received) -> None:
        with self._arrived:
            self._items.append(item)
            self._bytes += len(item.body)
            while len(self._items) > 1 and (
                len(self._items) > self._capacity or self._bytes > self._capacity_bytes
            ):
                self._bytes -= len(self._items.popleft().body)
            self._arrived.notify_all()

    def items(self, match: Match | None = None) -> list[Received]:
        with self._arrived:
            return [i for i in self._items if match is None or match(i)]

    def wait(self, count: int, timeout: float, match: Match | None = None) -> list[Received]:
        """The matching deliveries once there are at least `count` (all of them, oldest
        first), or TimeoutError saying what did arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [i for i in self._items if match is None or match(i)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    break
                self._arrived.wait(left)
        if len(found) < count:
            raise TimeoutError(describe_shortfall(count, timeout, found, self.items()))
        return found

    def clear(self, tenant: str | None = None) -> int:
        with self._arrived:
            before = len(self._items)
            kept = [i for i in self._items if tenant is not None and i.tenant != tenant]
            self._items.clear()
            self._items.extend(kept)
            self._bytes = sum(len(i.body) for i in kept)
            return before - len(kept)


def describe_shortfall(
    count: int, timeout: float, found: list[Received], everything: list[Received]
) -> str:
    seen = ", ".join(f"{i.vendor} {i.event} {i.call_id}" for i in everything[-10:]) or "nothing"
    return (
        f"waited {timeout} s for {count} matching webhook deliveries to the sink and got "
        f"{len(found)}; the sink holds {len(everything)} in all (latest: {seen}). Is the "
        "sink subscribed (webhooks.subscribe(vendor)), and did the clock pass the event?"
    )
