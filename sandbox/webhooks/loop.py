"""One background thread running one asyncio event loop, for as long as it has work.

Every webhook leaves from here (dispatcher.py submits one coroutine per URL with work). The
loop is its own, not the server's: the sandbox runs under uvicorn, in-process over ASGI and
under TestClient alike, and a slow receiver never slows the requests the server answers. On
it live what all URLs share:

- one `httpx.AsyncClient`, made when the first HTTP delivery leaves, with at most
  MAX_IN_FLIGHT connections and none kept idle (as before: no socket outlives its attempt);
- `gate`, a semaphore of MAX_IN_FLIGHT (32): the attempts under way at once, all URLs
  together;
- the loop's default executor, RESOLVERS (4) threads, which is where name lookups run (a URL
  with an IP address needs none).

When nothing is left to run the loop ends, its thread with it, and the owner is told
(`on_idle`, under the owner's lock, so that work submitted after that starts a new loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (imported when the first delivery leaves: it takes a tenth of a second)
    import httpx

log = logging.getLogger("sandbox.webhooks")

MAX_IN_FLIGHT = 32
RESOLVERS = 4
THREAD_NAME = "call-sandbox-webhooks"

Work = Callable[["Loop"], Coroutine[Any, Any, None]]


class Loop:
    """What is submitted, `stopping` and the decision to end are guarded by the owner's
    `lock`; everything else is touched by the loop's thread only, or through
    `call_soon_threadsafe`."""

    def __init__(
        self,
        *,
        lock: threading.Condition,
        in_flight: int = MAX_IN_FLIGHT,
        on_idle: Callable[[Loop], None],
        on_crash: Callable[[Loop], None],
    ) -> None:
        self._lock = lock
        self._in_flight = in_flight
        self._on_idle = on_idle
        self._on_crash = on_crash
        self._submitted: list[Work] = []
        self.stopping = False
        self.loop = asyncio.new_event_loop()
        self._executor = ThreadPoolExecutor(RESOLVERS, thread_name_prefix=f"{THREAD_NAME}-dns")
        self.loop.set_default_executor(self._executor)
        self.gate = asyncio.Semaphore(in_flight)
        self._wake = asyncio.Event()
        self._resets = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)

    # -- from any thread, with the owner's lock held ------------------------------------

    def submit(self, work: Work) -> None:
        """Run `work(self)` as a task on the loop; the thread starts with the first."""
        self._submitted.append(work)
        if self.thread.ident is None:
            self.thread.start()
        else:
            self.loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        """Cancel every task and end, whatever was submitted."""
        self.stopping = True
        self.loop.call_soon_threadsafe(self._wake.set)

    def wake_sleepers(self) -> None:
        """Something changed (a reset): every `pause` looks again whether it is to end."""
        self.loop.call_soon_threadsafe(self._on_reset)

    def threads(self) -> int:
        """The loop's thread, and its name lookups' threads."""
        return 1 + len(self._executor._threads)

    # -- on the loop ---------------------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=self._in_flight, max_keepalive_connections=0),
                follow_redirects=False,  # a redirect is the receiver's answer, not a new URL
                trust_env=False,  # webhooks go straight to the URL, no proxy
            )
        return self._client

    async def pause(self, seconds: float, done: Callable[[], bool]) -> bool:
        """Wait `seconds`, or until `done()` after a `wake_sleepers`; True if it was."""
        deadline = self.loop.time() + seconds
        while not done():
            left = deadline - self.loop.time()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._resets.wait(), left)
        return True

    def _on_reset(self) -> None:
        woken, self._resets = self._resets, asyncio.Event()
        woken.set()

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._main())
        except Exception:  # a sandbox bug: say so, and let the owner drop what it held
            log.exception("sandbox bug: the webhook loop stopped")
            self._on_crash(self)
        finally:
            # Lookups still running finish on their own; an idle pool's threads end now.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self.loop.close()

    async def _main(self) -> None:
        try:
            while True:
                with self._lock:
                    new, self._submitted = self._submitted, []
                    if self.stopping:
                        break
                    if not new and not self._tasks:
                        self._on_idle(self)
                        return
                for work in new:
                    task = self.loop.create_task(work(self))
                    self._tasks.add(task)
                    task.add_done_callback(self._ended)
                self._wake.clear()
                await self._wake.wait()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            if self._client is not None:
                await self._client.aclose()

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()
