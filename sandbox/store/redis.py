"""The shared backend: the overlays live in a Redis server, so that every worker of
`--workers N` and every replica behind a load balancer sees the same created, patched and
deleted calls, the same clock and the same creation numbers.

Layout, under `call-sandbox:<namespace>:` (the namespace is the seed, so sandboxes of two seeds
can share a database without seeing each other's calls):

    t:<tenant>:created   hash  call id -> {"sequence": n, "call": <codec JSON>}
    t:<tenant>:patched   hash  call id -> <codec JSON>
    t:<tenant>:deleted   set   call ids
    t:<tenant>:counter   int   the last creation number given out (INCR)
    t:<tenant>:log       list  the call id of every change, in order
    t:<tenant>:epoch     int   bumped by every reset of the tenant
    tenants              set   tenants with changes
    lock:<tenant>        str   the tenant's write lock: a token, SET NX PX
    clock:offset         int   ms the clock was advanced by
    clock:anchor         str   the server's TIME at the last reset ("seconds micros")
    events               int   the instant lifecycle events were published up to

Each worker keeps a decoded mirror of each tenant's overlays and brings it up to date before
every read with one round trip (the epoch and the log entries it has not applied yet), then
fetches only the calls that changed. Every write is one MULTI transaction, so a reader never
sees half a change.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from sandbox.calls import codec
from sandbox.calls.clock import ClockState
from sandbox.calls.model import Call
from sandbox.errors import ServerError
from sandbox.store.backend import Entry, Overlay, StoreUnavailable

if TYPE_CHECKING:
    import redis

T = TypeVar("T")

# A tenant's write lock expires on its own after LOCK_TTL_MS (a worker killed while holding
# it cannot block the others for longer); a writer waits at most LOCK_WAIT_S for it.
LOCK_TTL_MS = 10_000
LOCK_WAIT_S = 5.0
LOCK_POLL_S = 0.002
CONNECT_TIMEOUT_S = 5.0

# Compare-and-delete: release the lock only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Give a creation number back only if nobody took a later one.
_GIVE_BACK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DECR', KEYS[1]) end
return 0
"""
# Reset the clock: offset 0, anchored at the server's own time (one time source for all).
_CLOCK_RESET = """
local now = redis.call('TIME')
redis.call('SET', KEYS[1], 0)
redis.call('SET', KEYS[2], now[1] .. ' ' .. now[2])
return 1
"""
_CLOCK_START = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] .. ' ' .. now[2])
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
class _Mirror:
    epoch: int
    applied: int  # log entries reflected in `overlay`
    overlay: Overlay


class RedisBackend:
    def __init__(self, url: str, *, namespace: str) -> None:
        module = _client_module()
        self.url = masked(url)
        self._errors: tuple[type[Exception], ...] = (module.RedisError,)
        try:
            self._redis: redis.Redis = module.Redis.from_url(
                url, socket_connect_timeout=CONNECT_TIMEOUT_S
            )
            self._redis.ping()
        except (module.RedisError, ValueError) as exc:
            raise StoreUnavailable(f"cannot use the Redis store {self.url}: {exc}") from None
        self._prefix = f"call-sandbox:{namespace}:"
        self._mirrors: dict[str, _Mirror] = {}
        self._lock = threading.Lock()  # the mirrors
        self._held = threading.local()  # this thread's locks: tenant -> (token, depth)
        self._release = self._redis.register_script(_RELEASE)
        self._give_back = self._redis.register_script(_GIVE_BACK)
        self._claim = self._redis.register_script(_CLAIM)
        self._clock_reset = self._redis.register_script(_CLOCK_RESET)
        self._clock_start = self._redis.register_script(_CLOCK_START)

    # -- keys and errors ---------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def _tenant_key(self, tenant: str, what: str) -> str:
        return self._key("t", tenant, what)

    def _call(self, action: Callable[[], T]) -> T:
        """Run a Redis round trip; a failure is the vendor's 500 with the reason in the hint."""
        try:
            return action()
        except self._errors as exc:
            raise ServerError(f"the Redis store {self.url} failed: {exc}") from None
        except codec.CodecError as exc:
            raise ServerError(f"the Redis store {self.url} holds a damaged call: {exc}") from None

    # -- reads -----------------------------------------------------------------------------

    def _sync(self, tenant: str) -> Overlay:
        """The tenant's overlays as they are now (the mirror, brought up to date)."""
        mirror = self._mirrors.get(tenant)
        if mirror is None:
            mirror = self._mirrors[tenant] = self._reload(tenant)
            return mirror.overlay
        with self._redis.pipeline() as pipe:
            pipe.get(self._tenant_key(tenant, "epoch"))
            pipe.lrange(self._tenant_key(tenant, "log"), mirror.applied, -1)
            raw_epoch, changed = pipe.execute()
        if mirror.epoch != int(raw_epoch or 0):
            mirror = self._reload(tenant)
        elif changed:
            mirror = self._apply(tenant, mirror, [c.decode() for c in changed])
        self._mirrors[tenant] = mirror
        return mirror.overlay

    def _reload(self, tenant: str) -> _Mirror:
        with self._redis.pipeline() as pipe:  # MULTI: one consistent snapshot
            pipe.get(self._tenant_key(tenant, "epoch"))
            pipe.hgetall(self._tenant_key(tenant, "created"))
            pipe.hgetall(self._tenant_key(tenant, "patched"))
            pipe.smembers(self._tenant_key(tenant, "deleted"))
            pipe.llen(self._tenant_key(tenant, "log"))
            raw_epoch, created, patched, deleted, length = pipe.execute()
        overlay = Overlay(
            created={k.decode(): self._created(v) for k, v in created.items()},
            patched={k.decode(): codec.loads(v, "patched") for k, v in patched.items()},
            deleted={d.decode() for d in deleted},
        )
        return _Mirror(int(raw_epoch or 0), int(length), overlay)

    def _apply(self, tenant: str, mirror: _Mirror, changed: list[str]) -> _Mirror:
        ids = list(dict.fromkeys(changed))
        with self._redis.pipeline() as pipe:
            pipe.get(self._tenant_key(tenant, "epoch"))
            pipe.hmget(self._tenant_key(tenant, "created"), ids)
            pipe.hmget(self._tenant_key(tenant, "patched"), ids)
            pipe.smismember(self._tenant_key(tenant, "deleted"), ids)
            raw_epoch, created, patched, deleted = pipe.execute()
        if int(raw_epoch or 0) != mirror.epoch:
            return self._reload(tenant)
        overlay = mirror.overlay
        for call_id, made, copy, gone in zip(ids, created, patched, deleted, strict=True):
            # Later changes than the log entries read may show here already; they are read
            # again when their own log entries are, which changes nothing.
            _set(overlay.created, call_id, None if made is None else self._created(made))
            _set(overlay.patched, call_id, None if copy is None else codec.loads(copy, "patched"))
            if gone:
                overlay.deleted.add(call_id)
            else:
                overlay.deleted.discard(call_id)
        return _Mirror(mirror.epoch, mirror.applied + len(changed), overlay)

    @staticmethod
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

    def entry(self, tenant: str, call_id: str) -> Entry:
        with self._lock:
            overlay = self._call(lambda: self._sync(tenant))
            return overlay.entry(call_id)

    def overlay(self, tenant: str) -> Overlay:
        with self._lock:
            overlay = self._call(lambda: self._sync(tenant))
            return Overlay(
                created=dict(overlay.created),
                patched=dict(overlay.patched),
                deleted=set(overlay.deleted),
            )

    def overlays(self) -> Mapping[str, Overlay]:
        members = self._call(lambda: self._redis.smembers(self._key("tenants")))
        tenants = sorted(_text(m) for m in members)
        return {tenant: self.overlay(tenant) for tenant in tenants}

    # -- writes ----------------------------------------------------------------------------

    def _write(self, tenant: str, call_id: str, commands: Callable[[Any], None]) -> None:
        """One MULTI: the change, its log entry, and the tenant's membership of `tenants`."""

        def run() -> None:
            with self._redis.pipeline() as pipe:
                commands(pipe)
                pipe.rpush(self._tenant_key(tenant, "log"), call_id)
                pipe.sadd(self._key("tenants"), tenant)
                pipe.execute()

        self._call(run)

    def next_sequence(self, tenant: str) -> int:
        def run() -> int:
            with self._redis.pipeline() as pipe:
                pipe.incr(self._tenant_key(tenant, "counter"))
                pipe.sadd(self._key("tenants"), tenant)
                sequence, _ = pipe.execute()
            return int(sequence)

        return self._call(run)

    def release_sequence(self, tenant: str, sequence: int) -> None:
        key = self._tenant_key(tenant, "counter")
        self._call(lambda: self._give_back(keys=[key], args=[sequence]))

    def put_created(self, tenant: str, sequence: int, call: Call) -> None:
        record = {"sequence": sequence, "call": codec.encode_call(call)}
        value = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        key = self._tenant_key(tenant, "created")
        self._write(tenant, call.id, lambda pipe: pipe.hset(key, call.id, value))

    def put_patched(self, tenant: str, call: Call) -> None:
        key = self._tenant_key(tenant, "patched")
        value = codec.dumps(call)
        self._write(tenant, call.id, lambda pipe: pipe.hset(key, call.id, value))

    def put_deleted(self, tenant: str, call_id: str) -> None:
        def commands(pipe: Any) -> None:
            pipe.sadd(self._tenant_key(tenant, "deleted"), call_id)
            pipe.hdel(self._tenant_key(tenant, "patched"), call_id)

        self._write(tenant, call_id, commands)

    def reset(self, tenant: str | None = None) -> None:
        def run() -> None:
            if tenant is None:
                # Every tenant with a key, whichever worker wrote it.
                keys = self._redis.scan_iter(match=self._key("t", "*"), count=1000)
                found = {_text(k)[len(self._key("t", "")) :].rsplit(":", 1)[0] for k in keys}
                tenants = sorted(found | set(self._mirrors))
            else:
                tenants = [tenant]
            with self._redis.pipeline() as pipe:
                for name in tenants:
                    pipe.delete(
                        *(
                            self._tenant_key(name, what)
                            for what in ("created", "patched", "deleted", "counter", "log")
                        )
                    )
                    pipe.incr(self._tenant_key(name, "epoch"))
                    pipe.srem(self._key("tenants"), name)
                pipe.execute()

        with self._lock:
            self._call(run)

    # -- the tenant's write lock -----------------------------------------------------------

    def mutation(self, tenant: str) -> AbstractContextManager[None]:
        return self._locked(tenant)

    @contextmanager
    def _locked(self, tenant: str) -> Iterator[None]:
        held: dict[str, list[Any]] = self._held.__dict__.setdefault("tenants", {})
        if tenant in held:  # re-entered by the same thread (a handler calling Store.update)
            held[tenant][1] += 1
            try:
                yield
            finally:
                held[tenant][1] -= 1
            return
        key = self._key("lock", tenant)
        # A random token (not seeded: it never reaches a body) tells our lock from the one
        # another worker took after ours expired.
        token = uuid.uuid4().hex
        deadline = time.monotonic() + LOCK_WAIT_S
        while not self._call(lambda: self._redis.set(key, token, nx=True, px=LOCK_TTL_MS)):
            if time.monotonic() > deadline:
                raise ServerError(
                    f"tenant {tenant}'s calls stayed locked for {LOCK_WAIT_S} s in the Redis "
                    f"store {self.url}: another worker is stuck; retry"
                )
            time.sleep(LOCK_POLL_S)
        held[tenant] = [token, 1]
        try:
            yield
        finally:
            del held[tenant]
            self._call(lambda: self._release(keys=[key], args=[token]))

    # -- the clock and the lifecycle events ------------------------------------------------

    def clock_state(self, *, timed: bool) -> ClockState:
        state = _RedisClock(self, timed=timed)
        if timed:
            self._call(
                lambda: self._clock_start(keys=[state.offset_key, state.anchor_key], args=[])
            )
        return state

    def start_events(self, at: int) -> None:
        self._call(lambda: self._redis.set(self._key("events"), at, nx=True))

    def claim_events(self, until: int) -> int:
        previous = self._call(lambda: self._claim(keys=[self._key("events")], args=[until]))
        return int(previous)

    def restart_events(self, at: int) -> None:
        self._call(lambda: self._redis.set(self._key("events"), at))

    def close(self) -> None:
        self._redis.close()


class _RedisClock:
    def __init__(self, backend: RedisBackend, *, timed: bool) -> None:
        self._backend = backend
        self._redis = backend._redis
        self._timed = timed
        self.offset_key = backend._key("clock", "offset")
        self.anchor_key = backend._key("clock", "anchor")

    def read(self) -> tuple[int, float]:
        if not self._timed:
            offset = self._backend._call(lambda: self._redis.get(self.offset_key))
            return int(offset or 0), 0.0

        def run() -> tuple[int, float]:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(self.offset_key)
                pipe.get(self.anchor_key)
                pipe.time()
                offset, anchor, (seconds, micros) = pipe.execute()
            if anchor is None:
                return int(offset or 0), 0.0
            since, since_micros = (int(part) for part in anchor.split())
            return int(offset or 0), (seconds - since) + (micros - since_micros) / 1e6

        return self._backend._call(run)

    def add(self, ms: int) -> None:
        self._backend._call(lambda: self._redis.incrby(self.offset_key, ms))

    def reset(self) -> None:
        self._backend._call(
            lambda: self._backend._clock_reset(keys=[self.offset_key, self.anchor_key], args=[])
        )


def _set(mapping: dict[str, T], key: str, value: T | None) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
