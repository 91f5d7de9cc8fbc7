"""Sending deliveries: asynchronous, in order per URL, retried with exponential back-off.

`enqueue` only appends to the URL's lane and returns, so the request that moved the clock
never waits for a receiver. Each lane with work has one daemon thread (and one httpx client)
that sends its deliveries one after the other: a delivery is finished (accepted, or given up
after its retries) before the next one to the same URL starts, so a receiver sees each call's
events in lifecycle order. A lane's thread ends as soon as its lane is empty, so an idle
sandbox holds no threads and no sockets, in a server and in a test run alike.

A receiver accepts a delivery with any 2xx. Anything else (another status, a refused
connection, a timeout) is retried `retries` times, waiting `backoff_s`, then twice that, and so
on. Every attempt is recorded. A reset drops what is queued, cuts back-off waits short and
stops recording the attempts of deliveries made before it, so one test's webhooks never show
up in the next test's sink.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.dialect.signing import Signer, redact_signature, wall_ms
from sandbox.webhooks.sink import Received, Sink
from sandbox.webhooks.targets import SINK_URL

if TYPE_CHECKING:  # (imported when the first delivery leaves: it takes a tenth of a second)
    import httpx

log = logging.getLogger("sandbox.webhooks")

ATTEMPTS_KEPT = 1_000
SINK_STATUS = 204  # the sink accepts everything, as Retell's sample receiver answers


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook body for one URL."""

    vendor: str
    event: str
    tenant: str
    call_id: str  # as the vendor spells it
    url: str
    body: bytes
    headers: Mapping[str, str]
    signer: Signer | None
    timeout_s: float
    at_ms: int  # the sandbox instant of the lifecycle event


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery: Delivery
    number: int  # 1 for the first try
    status: int | None  # the receiver's HTTP status; None when there was no answer
    error: str | None  # why there was no answer
    headers: Mapping[str, str]  # as sent, signatures cut short (sandbox.dialect.signing)
    duration_ms: float  # wall-clock time the attempt took
    final: bool  # no attempt follows (accepted, or the last retry failed)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_json(self) -> dict[str, Any]:
        d = self.delivery
        return {
            "vendor": d.vendor,
            "event": d.event,
            "tenant": d.tenant,
            "call_id": d.call_id,
            "url": d.url,
            "at_ms": d.at_ms,
            "attempt": self.number,
            "status": self.status,
            "error": self.error,
            "headers": dict(self.headers),
            "duration_ms": self.duration_ms,
            "delivered": self.delivered,
            "final": self.final,
        }


@dataclass(frozen=True, slots=True)
class _Job:
    delivery: Delivery
    epoch: tuple[int, int]  # (sandbox resets, this tenant's resets) when it was enqueued


class Dispatcher:
    def __init__(
        self,
        *,
        retries: int,
        backoff_s: float,
        sink: Sink,
        record: Callable[[Attempt], object] | None = None,
        now_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self.retries = retries
        self.backoff_s = backoff_s
        self._sink = sink
        self._record_hook = record
        self._now_ms = now_ms
        self._changed = threading.Condition()
        self._lanes: dict[str, deque[_Job]] = {}
        self._threads: set[threading.Thread] = set()
        self._pending = 0
        self._resets = 0
        self._tenant_resets: dict[str, int] = {}
        self._attempts: deque[Attempt] = deque(maxlen=ATTEMPTS_KEPT)

    # -- the public side -----------------------------------------------------------------

    def enqueue(self, delivery: Delivery) -> None:
        with self._changed:
            job = _Job(delivery, self._epoch(delivery.tenant))
            self._pending += 1
            lane = self._lanes.get(delivery.url)
            if lane is not None:
                lane.append(job)
                return
            lane = self._lanes[delivery.url] = deque([job])
            thread = threading.Thread(
                target=self._run,
                args=(delivery.url, lane),
                name="call-sandbox-webhooks",
                daemon=True,
            )
            self._threads.add(thread)
            thread.start()

    @property
    def pending(self) -> int:
        """Deliveries queued or being tried."""
        with self._changed:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every delivery is finished; False if `timeout` s passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def attempts(self) -> list[Attempt]:
        with self._changed:
            return list(self._attempts)

    def reset(self, tenant: str | None = None) -> None:
        """Drop every queued delivery (of one tenant, or all) and forget their attempts."""
        with self._changed:
            if tenant is None:
                self._resets += 1
            else:
                self._tenant_resets[tenant] = self._tenant_resets.get(tenant, 0) + 1
            for lane in self._lanes.values():
                kept = [job for job in lane if not self._stale(job)]
                self._pending -= len(lane) - len(kept)
                lane.clear()
                lane.extend(kept)
            kept_attempts = [
                a for a in self._attempts if tenant is not None and a.delivery.tenant != tenant
            ]
            self._attempts.clear()
            self._attempts.extend(kept_attempts)
            self._changed.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Drop everything queued and wait (at most `timeout` s) for the lanes' threads."""
        self.reset()
        with self._changed:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    # -- the lanes -----------------------------------------------------------------------

    def _epoch(self, tenant: str) -> tuple[int, int]:
        return (self._resets, self._tenant_resets.get(tenant, 0))

    def _stale(self, job: _Job) -> bool:
        """Made before a reset that covers its tenant (call with the lock held)."""
        return job.epoch != self._epoch(job.delivery.tenant)

    def _run(self, url: str, lane: deque[_Job]) -> None:
        client: httpx.Client | None = None
        try:
            while True:
                with self._changed:
                    if not lane:
                        # Decided under the lock, so enqueue() starts a new lane after this.
                        if self._lanes.get(url) is lane:
                            del self._lanes[url]
                        return
                    job = lane.popleft()
                try:
                    if url != SINK_URL and client is None:
                        import httpx

                        client = httpx.Client(
                            limits=httpx.Limits(max_keepalive_connections=0),
                            follow_redirects=False,
                            trust_env=False,  # webhooks go straight to the URL, no proxy
                        )
                    self._deliver(job, client)
                except Exception:  # a sandbox bug must not kill the lane or leak a thread error
                    log.exception("sandbox bug while delivering a webhook to %s", url)
                finally:
                    with self._changed:
                        self._pending -= 1
                        self._changed.notify_all()
        finally:
            if client is not None:
                client.close()
            with self._changed:
                self._threads.discard(threading.current_thread())

    def _deliver(self, job: _Job, client: httpx.Client | None) -> None:
        delivery = job.delivery
        last = self.retries + 1
        for number in range(1, last + 1):
            with self._changed:
                if self._stale(job):
                    return
            headers = dict(delivery.headers)
            signed = dict(delivery.signer(delivery.body, self._now_ms())) if delivery.signer else {}
            headers.update(signed)
            started = time.perf_counter()
            status: int | None
            error: str | None
            if client is None:
                if not self._to_sink(job, headers):
                    return
                status, error = SINK_STATUS, None
            else:
                status, error = _post(client, delivery, headers)
            delivered = status is not None and 200 <= status < 300
            attempt = Attempt(
                delivery=delivery,
                number=number,
                status=status,
                error=error,
                headers={**headers, **{k: redact_signature(v) for k, v in signed.items()}},
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                final=delivered or number == last,
            )
            with self._changed:
                if self._stale(job):
                    return
                self._attempts.append(attempt)
                if self._record_hook is not None:
                    self._record_hook(attempt)
            if attempt.final:
                return
            delay = self.backoff_s * 2 ** (number - 1)
            with self._changed:
                if self._changed.wait_for(lambda: self._stale(job), delay):
                    return

    def _to_sink(self, job: _Job, headers: dict[str, str]) -> bool:
        """Hand a delivery to the in-process sink, unless a reset made it stale meanwhile."""
        delivery = job.delivery
        with self._changed:
            if self._stale(job):
                return False
            self._sink.add(
                Received(
                    vendor=delivery.vendor,
                    event=delivery.event,
                    tenant=delivery.tenant,
                    call_id=delivery.call_id,
                    url=delivery.url,
                    headers=headers,
                    body=delivery.body,
                    at_ms=delivery.at_ms,
                )
            )
        return True


def _post(
    client: httpx.Client, delivery: Delivery, headers: dict[str, str]
) -> tuple[int | None, str | None]:
    """The receiver's status, or why there was none."""
    import httpx

    try:
        response = client.post(
            delivery.url, content=delivery.body, headers=headers, timeout=delivery.timeout_s
        )
    except httpx.TimeoutException:
        return None, f"no answer within {delivery.timeout_s} s"
    except Exception as error:  # refused, reset, unresolvable, an invalid URL...
        return None, f"{type(error).__name__}: {error}"
    return response.status_code, None
