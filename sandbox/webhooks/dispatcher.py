"""Sending deliveries: asynchronous, in order per URL, retried with exponential back-off.

`enqueue` only appends to the URL's lane and returns, so the request that moved the clock
never waits for a receiver. Whatever the number of URLs, one thread runs one event loop with
one HTTP client (loop.py): each lane with work is a task on that loop that sends its
deliveries one after the other, so a delivery is finished (accepted, or given up after its
retries) before the next one to the same URL starts, and a receiver sees each call's events
in lifecycle order. The thread ends as soon as no lane has work, so an idle sandbox holds no
thread and no socket.

Bounds, so that memory stays bounded whatever clients send:
- at most MAX_IN_FLIGHT (32) attempts at once, to all URLs together; the other lanes wait
  their turn (a never-answering receiver holds one slot for `timeout_s`, then lets go, and
  only one: a lane sends one delivery at a time);
- an attempt lasts at most its delivery's `timeout_s` (Settings.webhook_timeout_s), from
  connecting to the response's head; the receiver's response body is never read;
- at most QUEUE_CAP (10,000) deliveries, or QUEUE_BYTES (64 MiB) of their bodies, queued or
  being tried: a delivery beyond that is dropped, not queued. It is recorded as a final
  attempt with no status and `error` saying so (in the attempts and the journal, kind
  `webhook`), counted in `dropped`, and logged (once each time the queue fills);
- ATTEMPTS_KEPT (1,000) attempts are kept to list, each without its body beyond 64 KiB;
- name lookups (for host names; addresses need none) run on RESOLVERS (4) threads.

A close cuts the attempts under way short and ends the thread; deliveries enqueued after it
start a new one.

A URL the policy refuses (sandbox.webhooks.urls: link-local and metadata addresses, say) is
not sent to: one final attempt records why, as for a dropped delivery.

A receiver accepts a delivery with any 2xx. Anything else (another status, a refused
connection, a timeout) is retried `retries` times, waiting `backoff_s`, then twice that, and so
on. Every attempt is recorded, its URL's userinfo redacted. A reset drops what is queued,
cuts back-off waits short and stops recording the attempts of deliveries made before it, so
one test's webhooks never show up in the next test's sink; an attempt already under way runs
to its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sandbox.dialect.signing import Signer, redact_signature, wall_ms
from sandbox.webhooks.loop import MAX_IN_FLIGHT, Loop
from sandbox.webhooks.sink import Received, Sink
from sandbox.webhooks.targets import SINK_URL
from sandbox.webhooks.urls import redact, redact_in, refusal

if TYPE_CHECKING:  # (imported when the first delivery leaves: it takes a tenth of a second)
    import httpx

log = logging.getLogger("sandbox.webhooks")

QUEUE_CAP = 10_000
QUEUE_BYTES = 64 * 1024 * 1024
ATTEMPTS_KEPT = 1_000
KEPT_BODY_BYTES = 65_536  # the journal's own limit: larger bodies are not kept with attempts
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
            "url": redact(d.url),
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
        allow_link_local: bool = False,
        in_flight: int = MAX_IN_FLIGHT,
        queue_cap: int = QUEUE_CAP,
        queue_bytes: int = QUEUE_BYTES,
    ) -> None:
        self.retries = retries
        self.backoff_s = backoff_s
        self.allow_link_local = allow_link_local
        self.in_flight = in_flight
        self.queue_cap = queue_cap
        self.queue_bytes = queue_bytes
        self._sink = sink
        self._record_hook = record
        self._now_ms = now_ms
        self._changed = threading.Condition()
        self._lanes: dict[str, deque[_Job]] = {}
        self._runner: Loop | None = None
        self._pending = 0
        self._pending_bytes = 0
        self._dropped = 0
        self._full = False  # the queue is at a cap (logged once until it has room again)
        self._resets = 0
        self._tenant_resets: dict[str, int] = {}
        self._attempts: deque[Attempt] = deque(maxlen=ATTEMPTS_KEPT)

    # -- the public side -----------------------------------------------------------------

    def enqueue(self, delivery: Delivery) -> None:
        url = delivery.url
        refused = None if url == SINK_URL else refusal(url, allow_link_local=self.allow_link_local)
        with self._changed:
            if refused is not None:
                self._give_up(delivery, f"refused: the URL {refused}")
                return
            size = len(delivery.body)
            if self._pending >= self.queue_cap or self._pending_bytes + size > self.queue_bytes:
                self._drop(delivery)
                return
            self._full = False
            job = _Job(delivery, self._epoch(delivery.tenant))
            self._pending += 1
            self._pending_bytes += size
            lane = self._lanes.get(url)
            if lane is not None:
                lane.append(job)
                return
            lane = self._lanes[url] = deque([job])
            runner = self._runner
            if runner is None:
                runner = self._runner = Loop(
                    lock=self._changed,
                    in_flight=self.in_flight,
                    on_idle=self._idle,
                    on_crash=self._abandon,
                )
            runner.submit(lambda loop: self._lane(url, lane, loop))

    @property
    def pending(self) -> int:
        """Deliveries queued or being tried."""
        with self._changed:
            return self._pending

    @property
    def dropped(self) -> int:
        """Deliveries dropped because the queue was at a cap, since the dispatcher began."""
        with self._changed:
            return self._dropped

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every delivery is finished; False if `timeout` s passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def attempts(self) -> list[Attempt]:
        with self._changed:
            return list(self._attempts)

    def threads(self) -> int:
        """Threads the dispatcher holds now: its loop's, and its name lookups' (0 when idle)."""
        with self._changed:
            runner = self._runner
        return 0 if runner is None else runner.threads()

    def reset(self, tenant: str | None = None) -> None:
        """Drop every queued delivery (of one tenant, or all) and forget their attempts."""
        with self._changed:
            if tenant is None:
                self._resets += 1
            else:
                self._tenant_resets[tenant] = self._tenant_resets.get(tenant, 0) + 1
            for lane in self._lanes.values():
                kept = [job for job in lane if not self._stale(job)]
                self._forget(job for job in lane if self._stale(job))
                lane.clear()
                lane.extend(kept)
            kept_attempts = [
                a for a in self._attempts if tenant is not None and a.delivery.tenant != tenant
            ]
            self._attempts.clear()
            self._attempts.extend(kept_attempts)
            if self._runner is not None:
                self._runner.wake_sleepers()
            self._changed.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Drop everything queued, cut short the attempts under way and wait (at most
        `timeout` s) for the loop's thread. Deliveries enqueued afterwards start it again."""
        self.reset()
        with self._changed:
            runner, self._runner = self._runner, None
            for lane in self._lanes.values():
                self._forget(lane)
                lane.clear()
            self._lanes.clear()
            if runner is not None:
                runner.stop()
            self._changed.notify_all()
        if runner is not None:
            runner.thread.join(timeout)

    def _idle(self, runner: Loop) -> None:
        """`runner` has no work left and ends (called with the lock held)."""
        if self._runner is runner:
            self._runner = None

    def _abandon(self, runner: Loop) -> None:
        """`runner` stopped on a bug: drop what it held, so nothing waits for it forever."""
        with self._changed:
            if self._runner is not runner:
                return
            self._runner = None
            for lane in self._lanes.values():
                self._forget(lane)
                lane.clear()
            self._lanes.clear()
            self._changed.notify_all()

    # -- bookkeeping (call with the lock held) -------------------------------------------

    def _epoch(self, tenant: str) -> tuple[int, int]:
        return (self._resets, self._tenant_resets.get(tenant, 0))

    def _stale(self, job: _Job) -> bool:
        """Made before a reset that covers its tenant."""
        return job.epoch != self._epoch(job.delivery.tenant)

    def _forget(self, jobs: Iterable[_Job]) -> None:
        for job in list(jobs):
            self._pending -= 1
            self._pending_bytes -= len(job.delivery.body)

    def _keep(self, attempt: Attempt) -> None:
        self._attempts.append(_lean(attempt))
        if self._record_hook is not None:
            self._record_hook(attempt)

    def _give_up(self, delivery: Delivery, error: str) -> None:
        """Record a delivery that is not sent at all: one final attempt, no status."""
        self._keep(
            Attempt(
                delivery=delivery,
                number=1,
                status=None,
                error=error,
                headers=dict(delivery.headers),
                duration_ms=0.0,
                final=True,
            )
        )

    def _drop(self, delivery: Delivery) -> None:
        self._dropped += 1
        self._give_up(
            delivery,
            f"dropped: {self._pending} deliveries ({self._pending_bytes} bytes) were waiting "
            f"and this one ({len(delivery.body)} bytes) would pass the queue's cap of "
            f"{self.queue_cap} deliveries or {self.queue_bytes} bytes; nothing was sent",
        )
        if not self._full:
            self._full = True
            log.warning(
                "webhook queue full (%d deliveries, %d bytes): dropping %s %s to %s and "
                "whatever follows until receivers catch up",
                self._pending,
                self._pending_bytes,
                delivery.vendor,
                delivery.event,
                redact(delivery.url),
            )

    # -- what the loop runs ----------------------------------------------------------------

    async def _lane(self, url: str, lane: deque[_Job], runner: Loop) -> None:
        while True:
            with self._changed:
                if not lane:
                    # Decided under the lock, so enqueue() starts a new lane after this.
                    if self._lanes.get(url) is lane:
                        del self._lanes[url]
                    return
                job = lane.popleft()
            try:
                await self._deliver(job, runner)
            except asyncio.CancelledError:
                raise  # the dispatcher closes
            except Exception:  # a sandbox bug must not end the lane or the loop
                log.exception("sandbox bug while delivering a webhook to %s", redact(url))
            finally:
                with self._changed:
                    self._forget([job])
                    self._changed.notify_all()

    async def _deliver(self, job: _Job, runner: Loop) -> None:
        delivery = job.delivery
        last = self.retries + 1
        # The sink is this process's own memory: it takes no network slot, so deliveries to
        # it never wait behind receivers that are slow to answer.
        sink = delivery.url == SINK_URL
        for number in range(1, last + 1):
            async with runner.gate if not sink else contextlib.nullcontext():
                if self._is_stale(job):
                    return
                headers = dict(delivery.headers)
                signer = delivery.signer
                # Signed once it may leave: a wait for a slot must not age the timestamp.
                signed = dict(signer(delivery.body, self._now_ms())) if signer else {}
                headers.update(signed)
                started = time.perf_counter()
                status: int | None
                error: str | None
                if delivery.url == SINK_URL:
                    if not self._to_sink(job, headers):
                        return
                    status, error = SINK_STATUS, None
                else:
                    status, error = await _post(runner.client(), delivery, headers)
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
                self._keep(attempt)
            if attempt.final:
                return
            if await runner.pause(self.backoff_s * 2 ** (number - 1), lambda: self._is_stale(job)):
                return

    def _is_stale(self, job: _Job) -> bool:
        with self._changed:
            return self._stale(job)

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


def _lean(attempt: Attempt) -> Attempt:
    """An attempt as it is kept to list: a body too large for the journal is not kept."""
    if len(attempt.delivery.body) <= KEPT_BODY_BYTES:
        return attempt
    return replace(attempt, delivery=replace(attempt.delivery, body=b""))


async def _post(
    client: httpx.AsyncClient, delivery: Delivery, headers: dict[str, str]
) -> tuple[int | None, str | None]:
    """The receiver's status, or why there was none. The response's body is not read."""
    import httpx

    try:
        async with asyncio.timeout(delivery.timeout_s):
            async with client.stream(
                "POST",
                delivery.url,
                content=delivery.body,
                headers=headers,
                timeout=delivery.timeout_s,
            ) as response:
                return response.status_code, None
    except (TimeoutError, httpx.TimeoutException):
        return None, f"no answer within {delivery.timeout_s} s"
    except Exception as error:  # refused, reset, unresolvable, an invalid URL...
        return None, redact_in(f"{type(error).__name__}: {error}", delivery.url)
