"""`sandbox.webhooks` on a test handle: subscribe, then read what the sink received.

    sandbox.webhooks.subscribe("retell")                      # to the sink (sandbox://sink)
    sandbox.webhooks.subscribe("retell", "http://127.0.0.1:8000/hook", events=["call_ended"])
    ... create a call, move the clock ...
    ended = sandbox.webhooks.wait(1, event="call_ended", call_id=call_id)[0]
    assert ended.json["call"]["call_status"] == "ended"
    assert retell.lib.webhook_auth.verify(ended.text, api_key, ended.header("X-Retell-Signature"))

In-process the handle talks to the engine directly; for a sandbox elsewhere (`sandbox_server`,
`--sandbox-url`) it uses the control plane (`/_sandbox/webhooks`), so the same test reads the
same in both modes, and the sink works for a remote sandbox too. Waits are bounded: they raise
TimeoutError saying what did arrive.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sandbox.store.backend import finish
from sandbox.webhooks.engine import Webhooks
from sandbox.webhooks.sink import Received, describe_shortfall, matching
from sandbox.webhooks.targets import SINK_URL

if TYPE_CHECKING:
    from sandbox.testing.controls import ControlCall

DEFAULT_WAIT_S = 5.0
_POLL_S = 0.05


class WebhooksHandle(ABC):
    SINK = SINK_URL

    @abstractmethod
    def subscribe(
        self,
        vendor: str,
        url: str | None = None,
        *,
        tenant: str | None = None,
        events: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Send `vendor`'s webhooks of `tenant` (default: the default tenant) to `url` (None:
        the sink); `events` defaults to all the vendor sends. Returns the subscription."""

    @abstractmethod
    def unsubscribe(
        self, vendor: str | None = None, *, tenant: str | None = None, url: str | None = None
    ) -> int:
        """Drop the subscriptions matching every given filter (none: all); how many."""

    @abstractmethod
    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription, and the agents' URLs from the fixtures."""

    @abstractmethod
    def received(
        self,
        *,
        vendor: str | None = None,
        event: str | None = None,
        call_id: str | None = None,
        tenant: str | None = None,
    ) -> list[Received]:
        """What the sink holds, oldest first, filtered."""

    @abstractmethod
    def attempts(self, **filters: str) -> list[dict[str, Any]]:
        """Every delivery attempt to any URL (vendor, event, tenant, call_id, url, attempt,
        status, error, headers with signatures cut short, delivered, final)."""

    @abstractmethod
    def pending(self) -> int:
        """Deliveries queued or being tried."""

    @abstractmethod
    def clear(self) -> None:
        """Empty the sink."""

    @abstractmethod
    def wait(
        self,
        count: int = 1,
        timeout: float = DEFAULT_WAIT_S,
        *,
        vendor: str | None = None,
        event: str | None = None,
        call_id: str | None = None,
        tenant: str | None = None,
    ) -> list[Received]:
        """The matching deliveries in the sink once there are at least `count`."""

    @property
    def deliveries(self) -> list[Received]:
        """Everything the sink holds, oldest first."""
        return self.received()

    def wait_idle(self, timeout: float = DEFAULT_WAIT_S) -> None:
        """Return once no delivery is queued or being tried (retries included)."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"webhook deliveries still pending after {timeout} s: {self.pending()}"
                )
            time.sleep(_POLL_S)


class InProcessWebhooks(WebhooksHandle):
    def __init__(self, engine: Webhooks) -> None:
        self._engine = engine

    def subscribe(
        self,
        vendor: str,
        url: str | None = None,
        *,
        tenant: str | None = None,
        events: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        made = finish(self._engine.subscribe(vendor, url or SINK_URL, tenant=tenant, events=events))
        return made.as_json()

    def unsubscribe(
        self, vendor: str | None = None, *, tenant: str | None = None, url: str | None = None
    ) -> int:
        return len(finish(self._engine.unsubscribe(vendor=vendor, tenant=tenant, url=url)))

    def subscriptions(self) -> list[dict[str, Any]]:
        return self._engine.listing()

    def received(
        self,
        *,
        vendor: str | None = None,
        event: str | None = None,
        call_id: str | None = None,
        tenant: str | None = None,
    ) -> list[Received]:
        match = matching(vendor=vendor, event=event, call_id=call_id, tenant=tenant)
        return self._engine.sink.items(match)

    def attempts(self, **filters: str) -> list[dict[str, Any]]:
        found = [a.as_json() for a in self._engine.dispatcher.attempts()]
        return [a for a in found if all(a[k] == v for k, v in filters.items())]

    def pending(self) -> int:
        return self._engine.dispatcher.pending

    def clear(self) -> None:
        self._engine.sink.clear()

    def wait(
        self,
        count: int = 1,
        timeout: float = DEFAULT_WAIT_S,
        *,
        vendor: str | None = None,
        event: str | None = None,
        call_id: str | None = None,
        tenant: str | None = None,
    ) -> list[Received]:
        match = matching(vendor=vendor, event=event, call_id=call_id, tenant=tenant)
        return self._engine.sink.wait(count, timeout, match)

    def wait_idle(self, timeout: float = DEFAULT_WAIT_S) -> None:
        if not self._engine.dispatcher.wait_idle(timeout):
            raise TimeoutError(
                f"webhook deliveries still pending after {timeout} s: {self.pending()}"
            )


class WebhookControls(WebhooksHandle):
    """The same, through the control plane (any sandbox, wherever it runs)."""

    def __init__(self, control: ControlCall) -> None:
        self._control = control

    def subscribe(
        self,
        vendor: str,
        url: str | None = None,
        *,
        tenant: str | None = None,
        events: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"vendor": vendor, "url": url or SINK_URL}
        if tenant is not None:
            body["tenant"] = tenant
        if events is not None:
            body["events"] = list(events)
        made: dict[str, Any] = self._control("PUT", "/_sandbox/webhooks", json=body)
        return made

    def unsubscribe(
        self, vendor: str | None = None, *, tenant: str | None = None, url: str | None = None
    ) -> int:
        params = _params(vendor=vendor, tenant=tenant, url=url)
        answer = self._control("DELETE", "/_sandbox/webhooks", params)
        return int(answer["deleted"])

    def subscriptions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._control("GET", "/_sandbox/webhooks")["subscriptions"]
        return found

    def received(
        self,
        *,
        vendor: str | None = None,
        event: str | None = None,
        call_id: str | None = None,
        tenant: str | None = None,
    ) -> list[Received]:
        return self._deliveries(vendor=vendor, event=event, call_id=call_id, tenant=tenant)[0]

    def _deliveries(self, **filters: str | None) -> tuple[list[Received], int]:
        answer = self._control("GET", "/_sandbox/webhooks/deliveries", _params(**filters))
        return [Received.from_json(d) for d in answer["deliveries"]], int(answer["pending"])

    def attempts(self, **filters: str) -> list[dict[str, Any]]:
        answer = self._control("GET", "/_sandbox/webhooks/attempts", dict(filters))
        found: list[dict[str, Any]] = answer["attempts"]
        return found

    def pending(self) -> int:
        return self._deliveries()[1]

    def clear(self) -> None:
        self._control("DELETE", "/_sandbox/webhooks/deliveries")

    def wait(
        self,
        count: int = 1,
        timeout: float = DEFAULT_WAIT_S,
        *,
        vendor: str | None = None,
        event: str | None = None,
        call_id: str | None = None,
        tenant: str | None = None,
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.received(vendor=vendor, event=event, call_id=call_id, tenant=tenant)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(describe_shortfall(count, timeout, found, self.received()))
            time.sleep(_POLL_S)


def _params(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}
