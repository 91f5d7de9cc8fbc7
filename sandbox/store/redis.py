"""The shared backend: what clients changed lives in a Redis server, so that every worker of
`--workers N` and every replica behind a load balancer is one sandbox: the same created,
patched and deleted calls, the same clock, the same creation numbers.

Redis is the one source of truth; each process keeps a mirror of it (an in-memory backend)
and reads only the mirror, so a read never waits on a socket. The mirror learns of every
change without asking: each change is published on a channel the process subscribes to, in
the order Redis committed it (a global version number). Writes never lock: a request's
changes are collected while its handler runs and committed in one script that first checks
nobody changed the tenant since the version the handler read (optimistic concurrency); when
somebody did, nothing is written, the mirror catches up and the request runs again. So no
request cut off half way (a client gone, an outage) can leave anything behind that blocks
the next one.

Read-your-writes across replicas: a change is published (and so on its way to every
subscriber's socket) before the writer hears it committed, so before its client has the
answer and can ask another replica. A replica that is asked for a call it does not know, or
asked to change one, first catches up with one round trip.

Outages: while the server does not answer (the subscription dropped, or a ping went
unanswered for `DOWN_AFTER_S`), `live` is False and every request is answered 503 at once;
a write in flight gives up after `COMMAND_TIMEOUT_S`. The process reconnects every
`RETRY_S`, reads the whole state again, and answers as before. A change is acknowledged only
once Redis committed it; whether Redis keeps it across its own restart is Redis's setting
(`appendonly yes` keeps every acknowledged change).

Layout, under `call-sandbox:<namespace>:` (the namespace is the seed, so sandboxes of two
seeds can share a database without seeing each other's calls):

    version              int   the last commit's number (every commit: +1)
    changes              the channel: "<version> <server time> <JSON changes>" per commit
    reset_at             int   the version of the last reset of every tenant
    tenants              set   tenants with changes
    t:<tenant>:created   hash  call id -> {"sequence": n, "call": <codec JSON>}
    t:<tenant>:patched   hash  call id -> <codec JSON>
    t:<tenant>:deleted   set   call ids
    t:<tenant>:counter   int   the last creation number given out
    t:<tenant>:at        int   the version of the tenant's last change
    clock:offset         int   ms the clock was advanced by
    clock:anchor         str   the server's TIME at the last reset ("seconds micros")
    events               int   the instant lifecycle events were published up to
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from sandbox.calls import codec
from sandbox.calls.clock import ClockState
from sandbox.calls.model import Call
from sandbox.errors import StoreDown
from sandbox.store.backend import Conflict, Entry, Overlay, StoreUnavailable
from sandbox.store.changes import (
    Change,
    ClockAdvanced,
    ClockReset,
    Created,
    Deleted,
    Patched,
    Reset,
)
from sandbox.store.memory import MemoryBackend
from sandbox.store.records import Answerer, Book, Refusal, Window

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger("sandbox")

CONNECT_TIMEOUT_S = 5.0  # at start-up, before the first request
COMMAND_TIMEOUT_S = 1.0  # a commit, a catch-up, a claim: then 503
REPLY_GRACE_S = 0.25  # beyond it, for the answer of a commit the server ran in time
PING_EVERY_S = 0.25
DOWN_AFTER_S = 1.0  # no answer to a ping for this long: the store is down
RETRY_S = 0.25  # how often a process whose store is down tries again

# Commit a request's changes, unless the tenant changed after the version its handler read.
# ARGV: prefix, tenant ("" for the clock), read version (-1: no check), payload (the changes
# as subscribers decode them), the deadline (server time, seconds), then an operation per
# change: name, call id, value.
_COMMIT = """
local p = ARGV[1]
local tenant = ARGV[2]
local read = tonumber(ARGV[3])
local now = redis.call('TIME')
-- A commit that reaches the server after its writer gave up (the server was paused, or busy)
-- must not happen: the writer's client was told nothing changed.
if tonumber(now[1]) + tonumber(now[2]) / 1e6 > tonumber(ARGV[5]) then return -2 end
if read >= 0 then
  local at = tonumber(redis.call('GET', p .. 't:' .. tenant .. ':at') or '0')
  local reset_at = tonumber(redis.call('GET', p .. 'reset_at') or '0')
  if at > read or reset_at > read then return -1 end
end
local version = redis.call('INCR', p .. 'version')
local t = p .. 't:' .. tenant .. ':'
local function drop(name)
  local k = p .. 't:' .. name .. ':'
  redis.call('DEL', k .. 'created', k .. 'patched', k .. 'deleted', k .. 'counter')
  redis.call('SET', k .. 'at', version)
  redis.call('SREM', p .. 'tenants', name)
end
local i = 6
while i <= #ARGV do
  local op, id, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 'created' then
    redis.call('HSET', t .. 'created', id, value)
    local counter = tonumber(redis.call('GET', t .. 'counter') or '0')
    if tonumber(ARGV[i + 3]) > counter then redis.call('SET', t .. 'counter', ARGV[i + 3]) end
    i = i + 1
  elseif op == 'patched' then
    redis.call('HSET', t .. 'patched', id, value)
  elseif op == 'deleted' then
    redis.call('SADD', t .. 'deleted', id)
    redis.call('HDEL', t .. 'patched', id)
  elseif op == 'reset' then
    drop(tenant)
  elseif op == 'reset_all' then
    for _, name in ipairs(redis.call('SMEMBERS', p .. 'tenants')) do drop(name) end
    redis.call('SET', p .. 'reset_at', version)
  elseif op == 'clock_advanced' then
    redis.call('INCRBY', p .. 'clock:offset', value)
  elseif op == 'clock_reset' then
    redis.call('SET', p .. 'clock:offset', 0)
    redis.call('SET', p .. 'clock:anchor', now[1] .. ' ' .. now[2])
  elseif op == 'record_put' then
    redis.call('HSET', p .. 'records:' .. id, value, ARGV[i + 3])
    i = i + 1
  elseif op == 'record_drop' then
    if value == '' then
      redis.call('DEL', p .. 'records:' .. id, p .. 'records:' .. id .. ':next')
    else
      redis.call('HDEL', p .. 'records:' .. id, unpack(cjson.decode(value)))
    end
  end
  i = i + 3
end
if tenant ~= '' then
  redis.call('SET', t .. 'at', version)
  if redis.call('EXISTS', t .. 'created', t .. 'patched', t .. 'deleted') > 0 then
    redis.call('SADD', p .. 'tenants', tenant)
  end
end
redis.call('PUBLISH', p .. 'changes', version .. ' ' .. now[1] .. '.' .. now[2] .. ' ' .. ARGV[4])
return version
"""

# Everything, as of one version: [version, server time, clock offset, clock anchor, the number
# of record kinds, then per kind (ARGV[2:]): kind, records (flat hash), then per tenant: name,
# counter, created (flat hash), patched (flat hash), deleted ids].
_SNAPSHOT = """
local p = ARGV[1]
local now = redis.call('TIME')
local out = {redis.call('GET', p .. 'version') or '0', now[1] .. '.' .. now[2],
             redis.call('GET', p .. 'clock:offset') or '0',
             redis.call('GET', p .. 'clock:anchor') or '', #ARGV - 1}
for i = 2, #ARGV do
  table.insert(out, ARGV[i])
  table.insert(out, redis.call('HGETALL', p .. 'records:' .. ARGV[i]))
end
for _, name in ipairs(redis.call('SMEMBERS', p .. 'tenants')) do
  local t = p .. 't:' .. name .. ':'
  table.insert(out, name)
  table.insert(out, redis.call('GET', t .. 'counter') or '0')
  table.insert(out, redis.call('HGETALL', t .. 'created'))
  table.insert(out, redis.call('HGETALL', t .. 'patched'))
  table.insert(out, redis.call('SMEMBERS', t .. 'deleted'))
end
return out
"""

_CLOCK_START = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[1], now[1] .. ' ' .. now[2])
end
return 1
"""

# Move the events mark forward; answer where it was.
_CLAIM = """
local previous = redis.call('GET', KEYS[1])
if previous == false then previous = ARGV[1] end
if tonumber(ARGV[1]) > tonumber(previous) then redis.call('SET', KEYS[1], ARGV[1]) end
return previous
"""

# A request's changes, collected while its handler runs (None outside a transaction).
_OPEN: contextvars.ContextVar[_Transaction | None] = contextvars.ContextVar(
    "call_sandbox_transaction", default=None
)


def _client_module() -> Any:
    try:
        import redis
    except ImportError:
        raise StoreUnavailable(
            "a Redis store needs the `redis` package: pip install 'call-sandbox[redis]'"
        ) from None
    return redis


def masked(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # IPv6
    user = f"{parts.username}:***@" if parts.username else ":***@"
    netloc = f"{user}{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(slots=True)
class _Transaction:
    """One request's changes to one tenant, before they are committed."""

    tenant: str
    read: int  # the version the mirror had when the handler started
    base: Overlay  # the tenant's overlays in the mirror
    changes: list[Change] = field(default_factory=list)
    created: dict[str, tuple[int, Call]] = field(default_factory=dict)
    patched: dict[str, Call] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    counter: int = 0

    def entry(self, call_id: str) -> Entry:
        base = self.base.entry(call_id)
        deleted = base.deleted or call_id in self.deleted
        patched = None if call_id in self.deleted else self.patched.get(call_id, base.patched)
        created = self.created.get(call_id, base.created)
        return Entry(deleted, patched, created)

    def overlay(self) -> Overlay:
        """The tenant as this transaction sees it (a copy, once it wrote: it is being written;
        before, the mirror's own, as a request that only reads, a POST list, sees it)."""
        if not self.changes and self.counter == self.base.counter:
            return self.base
        patched = {**self.base.patched, **self.patched}
        for gone in self.deleted:
            patched.pop(gone, None)
        return Overlay(
            created={**self.base.created, **self.created},
            patched=patched,
            deleted=self.base.deleted | self.deleted,
            counter=self.counter,
            revision=self.base.revision,
        )


class RedisBackend:
    def __init__(self, url: str, *, namespace: str) -> None:
        module = _client_module()
        self.url = masked(url)
        self._address = url
        self._module = module
        self._errors: tuple[type[Exception], ...] = (module.RedisError, OSError)
        self._failures: tuple[type[Exception], ...] = (TimeoutError, *self._errors)
        self._prefix = f"call-sandbox:{namespace}:"
        self._channel = self._prefix + "changes"
        self.mirror = MemoryBackend()
        self.records = SharedRecords(self)
        self._ask = self._prefix + "ask"
        self._version = 0  # the last commit the mirror reflects
        self._skew = 0.0  # the server's clock minus this process's (for a time-scaled clock)
        self._anchor = 0.0  # the server's time at the clock's last reset
        self._live = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: redis.asyncio.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._writers: dict[str, asyncio.Lock] = {}
        self._starting: asyncio.Lock | None = None
        self._sending: set[asyncio.Task[None]] = set()  # answers on their way
        self._broken = False  # the subscription missed a change: read everything again
        # Start-up reads the state with a blocking client: a server that is not there stops
        # `serve` with the reason before it listens (the event loop is not running yet).
        try:
            client = module.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)
            client.ping()
            # The clock's anchor (for a time scale) is the first process's start, on the server.
            client.eval(_CLOCK_START, 1, self._prefix + "clock:anchor")
            self._skew = _skew(client)
            self._load(client.eval(_SNAPSHOT, 0, self._prefix, *self.records.books))
            client.close()
        except codec.CodecError as exc:
            raise StoreUnavailable(
                f"the Redis store {self.url} holds a damaged call: {exc}"
            ) from None
        except (module.RedisError, ValueError, OSError) as exc:
            raise StoreUnavailable(f"cannot use the Redis store {self.url}: {exc}") from None

    # -- reads: the mirror, never a socket ----------------------------------------------------

    @property
    def live(self) -> bool:
        return self._live and self._loop is _running_loop()

    def entry(self, tenant: str, call_id: str) -> Entry:
        open_ = _OPEN.get()
        if open_ is not None and open_.tenant == tenant:
            return open_.entry(call_id)
        return self.mirror.entry(tenant, call_id)

    def overlay(self, tenant: str) -> Overlay:
        open_ = _OPEN.get()
        if open_ is not None and open_.tenant == tenant:
            return open_.overlay()
        return self.mirror.overlay(tenant)

    def overlays(self) -> Mapping[str, Overlay]:
        return self.mirror.overlays()

    # -- writes: collected by the request's transaction --------------------------------------

    def _open(self, tenant: str) -> _Transaction:
        open_ = _OPEN.get()
        if open_ is None or open_.tenant != tenant:
            raise RuntimeError(
                f"a change to tenant {tenant} of a shared store is made inside "
                "`transaction(tenant)` (a request's): it is committed when the request is done"
            )
        return open_

    def next_sequence(self, tenant: str) -> int:
        open_ = self._open(tenant)
        open_.counter += 1
        return open_.counter

    def release_sequence(self, tenant: str, sequence: int) -> None:
        open_ = self._open(tenant)
        if open_.counter == sequence:
            open_.counter -= 1

    def put_created(self, tenant: str, sequence: int, call: Call) -> None:
        open_ = self._open(tenant)
        open_.created[call.id] = (sequence, call)
        open_.changes.append(Created(tenant, sequence, open_.counter, call))

    def put_patched(self, tenant: str, call: Call) -> None:
        open_ = self._open(tenant)
        open_.patched[call.id] = call
        open_.changes.append(Patched(tenant, call))

    def put_deleted(self, tenant: str, call_id: str) -> None:
        open_ = self._open(tenant)
        open_.deleted.add(call_id)
        open_.patched.pop(call_id, None)
        open_.changes.append(Deleted(tenant, call_id))

    def mutation(self, tenant: str) -> AbstractContextManager[None]:
        self._open(tenant)  # (a request's transaction is open: join it)
        return contextlib.nullcontext()

    def transaction(self, tenant: str) -> AbstractAsyncContextManager[None]:
        return self._transaction(tenant)

    @contextlib.asynccontextmanager
    async def _transaction(self, tenant: str) -> AsyncIterator[None]:
        await self.ensure()
        # One writer per tenant in this process: they would only conflict with each other.
        writer = self._writers.get(tenant)
        if writer is None:
            writer = self._writers[tenant] = asyncio.Lock()
        async with writer:
            base = self.mirror.overlay(tenant)
            open_ = _Transaction(tenant, self._version, base, counter=base.counter)
            token = _OPEN.set(open_)
            try:
                yield
            finally:
                _OPEN.reset(token)
            if open_.changes:
                await self._commit(tenant, open_.read, open_.changes)

    async def reset(self, tenant: str | None = None) -> None:
        await self._commit(tenant or "", -1, [Reset(tenant)])

    # -- commits -----------------------------------------------------------------------------

    async def _commit(self, tenant: str, read: int, changes: Sequence[Shared]) -> None:
        """Commit `changes` in one script; wait until the mirror shows them (so the answer that
        follows, and every later request to this process, reads them)."""
        # The server runs the commit only until the moment this process stops waiting for it.
        deadline = time.time() + self._skew + COMMAND_TIMEOUT_S
        args: list[str | int | bytes] = [
            self._prefix,
            tenant,
            read,
            _payload(changes),
            f"{deadline:.6f}",
        ]
        for change in changes:
            args += _operation(change)
        version = int(
            await self._command(lambda client: client.eval(_COMMIT, 0, *args), "a change")
        )
        if version == -2:
            raise StoreDown(
                f"the Redis store {self.url} took more than {COMMAND_TIMEOUT_S} s to take a "
                "change; nothing was changed; retry"
            )
        if version < 0:
            await self.catch_up()
            raise Conflict(tenant)
        await self._reached(version)

    async def _command(self, run: Any, what: str) -> Any:
        """One round trip, given up after COMMAND_TIMEOUT_S (plus REPLY_GRACE_S for a commit's
        answer to travel): the vendor's 503. Whether the store is down is the subscription's to
        say (a paused server may answer the next command at once). Started on this event loop
        first if it is not (`ensure`): every round trip goes through here."""
        if not self.live:
            await self.ensure()
        client = self._client
        if client is None:
            raise StoreDown(self._down_message())
        try:
            return await asyncio.wait_for(run(client), COMMAND_TIMEOUT_S + REPLY_GRACE_S)
        except self._failures as exc:
            reason = str(exc) or f"no answer within {COMMAND_TIMEOUT_S} s"
            log.warning("the Redis store %s did not take %s: %s", self.url, what, reason)
            raise StoreDown(
                f"the Redis store {self.url} did not take {what} ({reason}); nothing was "
                "changed; retry"
            ) from None

    def _down_message(self) -> str:
        return (
            f"the Redis store {self.url} does not answer; the sandbox reconnects by itself "
            f"every {RETRY_S} s: retry"
        )

    async def catch_up(self) -> None:
        raw = await self._command(lambda client: client.get(self._prefix + "version"), "a read")
        await self._reached(int(raw or 0))

    async def _reached(self, version: int) -> None:
        """Wait until the mirror reflects `version` (its change is on its way to us)."""
        if self._version >= version:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((version, waiter))
        try:
            await asyncio.wait_for(asyncio.shield(waiter), COMMAND_TIMEOUT_S)
        except TimeoutError:
            self._fall(f"change {version} did not arrive within {COMMAND_TIMEOUT_S} s")
            self._broken = True  # (the follow task reconnects)
        if self._version < version:  # (woken by a fall)
            raise StoreDown(self._down_message())

    # -- the clock and the lifecycle events ----------------------------------------------------

    def clock_state(self, *, timed: bool) -> ClockState:
        return _MirroredClock(self, timed=timed)

    async def move_clock(self, ms: int) -> None:
        await self._commit("", -1, [ClockAdvanced(ms)])

    async def reset_clock(self) -> None:
        await self._commit("", -1, [ClockReset()])

    def start_events(self, at: int) -> None:
        client = self._module.Redis.from_url(
            self._address, socket_connect_timeout=CONNECT_TIMEOUT_S
        )
        try:
            client.set(self._prefix + "events", at, nx=True)
        except self._errors as exc:
            raise StoreUnavailable(f"cannot use the Redis store {self.url}: {exc}") from None
        finally:
            client.close()

    async def claim_events(self, until: int) -> int:
        key = self._prefix + "events"
        previous = await self._command(
            lambda client: client.eval(_CLAIM, 1, key, until), "the lifecycle events' mark"
        )
        return int(previous)

    async def restart_events(self, at: int) -> None:
        key = self._prefix + "events"
        await self._command(lambda client: client.set(key, at), "the lifecycle events' mark")

    # -- the subscription: connect, follow, fall, reconnect ------------------------------------

    async def ensure(self) -> None:
        if self.live:
            return
        await self.start()
        if not self.live:
            raise StoreDown(self._down_message())

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._tasks:
            return
        if self._starting is None or self._loop is not loop:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._loop is loop and self._tasks:
                return
            self._abandon()  # (a loop of an earlier test client, gone)
            self._loop = loop
            self._client = self._module.asyncio.Redis.from_url(
                self._address,
                socket_connect_timeout=COMMAND_TIMEOUT_S,
                socket_timeout=COMMAND_TIMEOUT_S,
            )
            connected = loop.create_future()
            self._tasks = [
                asyncio.create_task(self._follow(connected), name="call-sandbox store: follow")
            ]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(connected), COMMAND_TIMEOUT_S)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()
        self._live = False

    def _abandon(self) -> None:
        for task in self._tasks:
            if not task.done():
                task.cancel()
        self._tasks = []
        self._client = None
        self._live = False
        self._waiters = []
        self._writers = {}

    async def _follow(self, connected: asyncio.Future[None]) -> None:
        """Subscribe, read the whole state, apply every change as it comes; when the server
        goes, mark the store down and try again every RETRY_S."""
        while True:
            try:
                await self._subscribed(connected)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # (a dropped connection, a timeout, a damaged record)
                self._fall(str(exc) or type(exc).__name__)
            await asyncio.sleep(RETRY_S)

    async def _subscribed(self, connected: asyncio.Future[None]) -> None:
        client = self._client
        assert client is not None
        pubsub = client.pubsub()
        try:
            await asyncio.wait_for(pubsub.subscribe(self._channel, self._ask), COMMAND_TIMEOUT_S)
            self._skew = await asyncio.wait_for(_skew_async(client), COMMAND_TIMEOUT_S)
            # Subscribed first, then read: a change committed meanwhile is in the snapshot,
            # or arrives after it (and one in both is skipped by its version).
            snapshot = await asyncio.wait_for(
                client.eval(_SNAPSHOT, 0, self._prefix, *self.records.books), COMMAND_TIMEOUT_S
            )
            self._load(snapshot)
            self._broken = False
            self._rise()
            if not connected.done():
                connected.set_result(None)
            answered = time.monotonic()
            pinged: float | None = None  # when the ping still unanswered was sent
            while True:
                message = await pubsub.get_message(timeout=PING_EVERY_S)
                now = time.monotonic()
                if message is not None:
                    answered, pinged = now, None
                    if message["type"] != "message":
                        continue
                    if _text(message["channel"]) == self._ask:
                        self.records.asked(message["data"])
                    elif not self._apply(message["data"]):
                        return  # (a gap: read everything again)
                    continue
                # Down only when a ping went unanswered: a loop held up by other work (a
                # long handler) is late reading, which is no sign of the server's health.
                if self._broken:
                    raise ConnectionError("changes stopped arriving")
                if pinged is not None and now - pinged > DOWN_AFTER_S:
                    raise TimeoutError(f"no answer to a ping for {DOWN_AFTER_S} s")
                if pinged is None and now - answered >= PING_EVERY_S:
                    await pubsub.ping()
                    pinged = now
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), 0.1)  # type: ignore[no-untyped-call]

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("could not answer a question: %s", task.exception())

    def _rise(self) -> None:
        if not self._live:
            log.info("the Redis store %s answers", self.url)
        self._live = True
        self._wake()

    def _fall(self, reason: str) -> None:
        if self._live:
            log.error(
                "the Redis store %s does not answer (%s): requests get 503 until it does; "
                "trying again every %s s",
                self.url,
                reason,
                RETRY_S,
            )
        self._live = False
        waiters, self._waiters = self._waiters, []
        for _, waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _wake(self) -> None:
        ready = [w for w in self._waiters if w[0] <= self._version]
        if ready:
            self._waiters = [w for w in self._waiters if w[0] > self._version]
            for _, waiter in ready:
                if not waiter.done():
                    waiter.set_result(None)

    # -- applying what the server says ---------------------------------------------------------

    def _load(self, snapshot: list[Any]) -> None:
        """Replace the mirror with a snapshot (`_SNAPSHOT`'s answer)."""
        version, server_time, offset, anchor, kinds = snapshot[:5]
        books: dict[str, dict[str, str]] = {}
        for at in range(5, 5 + 2 * int(kinds), 2):
            flat = snapshot[at + 1]
            books[_text(snapshot[at])] = {
                _text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)
            }
        overlays: dict[str, Overlay] = {}
        rest = snapshot[5 + 2 * int(kinds) :]
        for at in range(0, len(rest), 5):
            name, counter, created, patched, deleted = rest[at : at + 5]
            overlays[_text(name)] = Overlay(
                created={
                    _text(created[i]): _created(created[i + 1]) for i in range(0, len(created), 2)
                },
                patched={
                    _text(patched[i]): codec.loads(patched[i + 1], "patched")
                    for i in range(0, len(patched), 2)
                },
                deleted={_text(d) for d in deleted},
                counter=int(counter),
            )
        self.mirror.load(overlays)
        for kind, records in books.items():
            self.records.books[kind].load(records)
        self.mirror.restore(ClockReset())
        self.mirror.restore(ClockAdvanced(int(offset)))
        self._anchor = _seconds(_text(anchor)) if anchor else float(_text(server_time))
        self._version = int(version)
        self._wake()

    def _apply(self, data: bytes | str) -> bool:
        """Apply one published commit; False when one before it was missed."""
        version_text, server_time, payload = _text(data).split(" ", 2)
        version = int(version_text)
        if version <= self._version:
            return True  # (already in the snapshot)
        if version != self._version + 1:
            log.warning("missed changes before %s: reading the whole store again", version)
            return False
        for change in _decoded(payload):
            if isinstance(change, RecordPut):
                self.records.books[change.kind].put(change.key, change.value)
            elif isinstance(change, RecordsDropped):
                self.records.books[change.kind].drop(change.keys)
            else:
                if isinstance(change, ClockReset):
                    self._anchor = float(server_time)
                self.mirror.restore(change)
        self._version = version
        self._wake()
        return True

    def close(self) -> None:
        self._abandon()


# Windows: count one request in every window (KEYS), unless one is full: then in none, and
# answer which (1-based) and how many ms it stays full. ARGV: limit and ms of each, in turn.
_WINDOWS = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[2 * i - 1]) then
    return {i, redis.call('PTTL', key)}
  end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[2 * i]) end
end
return {0, 0}
"""
COUNT_TTL_S = 86_400  # a count or an answer nobody reads again goes after a day
ANSWER_TTL_MS = 10_000


class SharedRecords:
    """The test double's records in the shared store (`sandbox.store.records.Records`): each
    change is committed and published like a change to the calls, and applied in every
    process before it is acknowledged here; counts and windows are Redis counters; a question
    is published to every process, and each one's answer collected."""

    def __init__(self, backend: RedisBackend) -> None:
        self._backend = backend
        self.books: dict[str, Book] = {}
        self._answerers: dict[str, tuple[Answerer, bool]] = {}

    def _key(self, *parts: str) -> str:
        return self._backend._prefix + ":".join(parts)

    def follow(self, kind: str, book: Book) -> None:
        self.books[kind] = book

    async def next_id(self, kind: str) -> int:
        key = self._key("records", kind, "next")
        return int(await self._backend._command(lambda c: c.incr(key), "a record's number"))

    async def put(self, kind: str, key: str, value: str) -> None:
        await self._backend._commit("", -1, [RecordPut(kind, key, value)])

    async def drop(self, kind: str, keys: Sequence[str] | None) -> None:
        await self._backend._commit("", -1, [RecordsDropped(kind, keys)])

    async def bump(self, name: str, field: str) -> int:
        key = self._key("counts", name)

        async def run(client: Any) -> int:
            async with client.pipeline(transaction=True) as pipe:
                pipe.hincrby(key, field, 1)
                pipe.expire(key, COUNT_TTL_S)
                value, _ = await pipe.execute()
            return int(value)

        return int(await self._backend._command(run, "a rule's count"))

    async def counts(self, names: Sequence[str]) -> list[dict[str, int]]:
        if not names:
            return []

        async def run(client: Any) -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hgetall(self._key("counts", name))
                return list(await pipe.execute())

        found = await self._backend._command(run, "the rules' counts")
        return [{_text(k): int(v) for k, v in counts.items()} for counts in found]

    async def forget(self, names: Sequence[str]) -> None:
        if not names:
            return
        keys = [self._key(where, name) for name in names for where in ("counts", "window")]
        await self._backend._command(lambda c: c.delete(*keys), "forgetting counts")

    async def windows(self, windows: Sequence[Window]) -> Refusal | None:
        keys = [self._key("window", w.key) for w in windows]
        args: list[int] = []
        for window in windows:
            args += [window.limit, max(1, round(window.per_seconds * 1000))]
        index, ttl = await self._backend._command(
            lambda c: c.eval(_WINDOWS, len(keys), *keys, *args), "a rate limit's window"
        )
        if int(index) == 0:
            return None
        return Refusal(int(index) - 1, max(1, math.ceil(int(ttl) / 1000)))

    # -- questions to every process ------------------------------------------------------------

    def answer(self, question: str, answerer: Answerer, *, off_loop: bool = False) -> None:
        self._answerers[question] = (answerer, off_loop)

    async def gather(self, question: str, args: Mapping[str, Any]) -> list[Any]:
        """Publish the question; every process following the store (this one too) answers on
        a list of its own; collect as many answers as processes heard it, for at most
        COMMAND_TIMEOUT_S (a process that died meanwhile does not answer)."""
        backend = self._backend
        nonce = uuid.uuid4().hex
        asked = json.dumps({"nonce": nonce, "question": question, "args": args})
        heard = int(await backend._command(lambda c: c.publish(backend._ask, asked), "a question"))
        key = self._key("answers", nonce)
        answers: list[Any] = []
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while len(answers) < heard:
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("%s of %s processes answered %r in time", len(answers), heard, question)
                break
            wait = max(0.01, min(left, COMMAND_TIMEOUT_S / 2))
            popped = await backend._command(
                lambda c, wait=wait: c.blpop([key], timeout=wait), "an answer"
            )
            if popped is not None:
                answers.append(json.loads(popped[1]))
        return answers

    def asked(self, data: bytes | str) -> None:
        """A question published by some process: answer it from what this one keeps."""
        asked = json.loads(data)
        found = self._answerers.get(asked["question"])
        key = self._key("answers", asked["nonce"])

        async def send(client: Any) -> None:
            answer: Any = None
            if found is not None:
                answerer, off_loop = found
                args = asked["args"]
                answer = await asyncio.to_thread(answerer, args) if off_loop else answerer(args)
            encoded = json.dumps(answer, separators=(",", ":"), ensure_ascii=False)
            async with client.pipeline(transaction=True) as pipe:
                pipe.rpush(key, encoded)
                pipe.pexpire(key, ANSWER_TTL_MS)
                await pipe.execute()

        task = asyncio.create_task(self._answer(send))
        self._backend._sending.add(task)
        task.add_done_callback(self._backend._sent)

    async def _answer(self, send: Any) -> None:
        client = self._backend._client
        if client is not None:
            await send(client)


class _MirroredClock:
    """The clock as the mirror knows it: the offset every replica advanced, and (for a time
    scale) the real time since the server's last reset, on the server's clock."""

    def __init__(self, backend: RedisBackend, *, timed: bool) -> None:
        self._backend = backend
        self._timed = timed

    def read(self) -> tuple[int, float]:
        offset, _ = self._backend.mirror.clock_state(timed=False).read()
        if not self._timed:
            return offset, 0.0
        return offset, max(0.0, time.time() + self._backend._skew - self._backend._anchor)

    def add(self, ms: int) -> None:
        raise RuntimeError("a shared store's clock moves with `await backend.move_clock(ms)`")

    def reset(self) -> None:
        raise RuntimeError("a shared store's clock is reset with `await backend.reset_clock()`")


# -- the wire: changes as published, and as the commit script's operations -----------------------


@dataclass(frozen=True, slots=True)
class RecordPut:
    """A record of the test double's (a fault rule, say) made or replaced."""

    kind: str
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RecordsDropped:
    kind: str
    keys: Sequence[str] | None  # None: every record of the kind (and numbers start again)


Shared = Change | RecordPut | RecordsDropped


def _payload(changes: Sequence[Shared]) -> str:
    records: list[dict[str, Any]] = []
    for change in changes:
        if isinstance(change, Created):
            records.append(
                {
                    "kind": "created",
                    "tenant": change.tenant,
                    "sequence": change.sequence,
                    "counter": change.counter,
                    "call": codec.encode_call(change.call),
                }
            )
        elif isinstance(change, Patched):
            records.append(
                {"kind": "patched", "tenant": change.tenant, "call": codec.encode_call(change.call)}
            )
        elif isinstance(change, Deleted):
            records.append({"kind": "deleted", "tenant": change.tenant, "id": change.call_id})
        elif isinstance(change, Reset):
            records.append({"kind": "reset", "tenant": change.tenant})
        elif isinstance(change, ClockAdvanced):
            records.append({"kind": "clock_advanced", "ms": change.ms})
        elif isinstance(change, RecordPut):
            put = {"book": change.kind, "key": change.key, "value": change.value}
            records.append({"kind": "record_put", **put})
        elif isinstance(change, RecordsDropped):
            keys = None if change.keys is None else list(change.keys)
            records.append({"kind": "record_drop", "book": change.kind, "keys": keys})
        else:
            records.append({"kind": "clock_reset"})
    return json.dumps(records, separators=(",", ":"), ensure_ascii=False)


def _decoded(payload: str) -> Iterator[Shared]:
    for record in json.loads(payload):
        kind = record["kind"]
        if kind == "created":
            call = codec.decode_call(record["call"], "created.call")
            yield Created(record["tenant"], record["sequence"], record["counter"], call)
        elif kind == "patched":
            yield Patched(record["tenant"], codec.decode_call(record["call"], "patched"))
        elif kind == "deleted":
            yield Deleted(record["tenant"], record["id"])
        elif kind == "reset":
            yield Reset(record["tenant"])
        elif kind == "clock_advanced":
            yield ClockAdvanced(record["ms"])
        elif kind == "record_put":
            yield RecordPut(record["book"], record["key"], record["value"])
        elif kind == "record_drop":
            yield RecordsDropped(record["book"], record["keys"])
        else:
            yield ClockReset()


def _operation(change: Shared) -> list[str | int | bytes]:
    """The commit script's arguments for one change."""
    if isinstance(change, Created):
        record = {"sequence": change.sequence, "call": codec.encode_call(change.call)}
        value = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        return ["created", change.call.id, value, max(change.counter, change.sequence)]
    if isinstance(change, Patched):
        return ["patched", change.call.id, codec.dumps(change.call)]
    if isinstance(change, Deleted):
        return ["deleted", change.call_id, ""]
    if isinstance(change, Reset):
        return ["reset" if change.tenant is not None else "reset_all", "", ""]
    if isinstance(change, ClockAdvanced):
        return ["clock_advanced", "", change.ms]
    if isinstance(change, RecordPut):
        return ["record_put", change.kind, change.key, change.value]
    if isinstance(change, RecordsDropped):
        keys = "" if change.keys is None else json.dumps(list(change.keys))
        return ["record_drop", change.kind, keys]
    return ["clock_reset", "", ""]


def _created(raw: bytes) -> tuple[int, Call]:
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise codec.CodecError("created", f"not JSON ({exc})") from None
    if not isinstance(record, dict) or set(record) != {"sequence", "call"}:
        raise codec.CodecError("created", "expected an object with sequence and call")
    sequence = record["sequence"]
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise codec.CodecError("created.sequence", "expected an integer")
    return sequence, codec.decode_call(record["call"], "created.call")


def _skew(client: Any) -> float:
    """The server's clock minus this process's, from the quickest of a few TIME round trips
    (its midpoint is off by at most half of it): replicas' time-scaled clocks agree to that."""
    return min(_sample(time.time(), client.time(), time.time) for _ in range(5))[1]


async def _skew_async(client: Any) -> float:
    """`_skew` over the event loop's client (a server restarted elsewhere has another clock)."""
    samples = []
    for _ in range(3):
        sent = time.time()
        samples.append(_sample(sent, await client.time(), time.time))
    return min(samples)[1]


def _sample(
    sent: float, server: tuple[int, int], received: Callable[[], float]
) -> tuple[float, float]:
    """(the round trip, the skew it gives) of one TIME sent at `sent`."""
    back = received()
    seconds, micros = server
    return back - sent, seconds + micros / 1e6 - (sent + back) / 2


def _seconds(anchor: str) -> float:
    seconds, micros = anchor.split()
    return int(seconds) + int(micros) / 1e6


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
