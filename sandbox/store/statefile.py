"""`--state FILE`: what clients changed in an in-memory store, kept across restarts and
crashes.

Two files keep it. `FILE` is a snapshot: the calls clients created with their creation
numbers, the copies they patched, the ids they deleted, and how far the clock was moved; it is
written to a temporary file beside it, flushed and renamed over it, so it is always the old
one or the new one, never half of one. `FILE.log` (`sandbox.store.changelog`) is the change
log: every change after the snapshot, one line each, on disk before the request that made it
is answered. So a change a client saw acknowledged survives SIGKILL, the OOM killer or a
power cut.

A start loads the snapshot and replays the log. A log present at start means the last run
did not stop cleanly (a clean stop writes a last snapshot and removes the log): the start
says so in one line, with what the log gave back, folds it into a fresh snapshot and starts
a new log. A running server does the same whenever the log grows past `COMPACT_AT_BYTES`
(64 MiB) and past the last snapshot's size. The log names the snapshot it follows, so one
already folded into a newer snapshot (a stop between the two writes) is never replayed twice.

A file that is not one this sandbox wrote (damaged, nested too deeply, not UTF-8, another
seed, an unknown tenant) stops start-up with what is wrong: the server never starts on state
it would silently drop.

A Redis store keeps its state in the server, so `--state` goes with the in-memory store only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sandbox.calls import codec
from sandbox.calls.clock import Clock
from sandbox.calls.fixtures import FixtureSet
from sandbox.calls.model import Call
from sandbox.errors import ServerError
from sandbox.store import changelog
from sandbox.store.backend import Backend, Overlay
from sandbox.store.changelog import OPEN_TENANT, ChangeLog, ChangeLogError, Header
from sandbox.store.changes import Change, ClockAdvanced, Created, Deleted, Patched, Reset
from sandbox.store.memory import MemoryBackend

FORMAT = "call-sandbox-state"
VERSION = 1
# Past this size, or past the last snapshot's size if that is larger, the running server
# folds the change log into a new snapshot, so the log (and the replay at the next start) is
# never much larger than the state itself. Writing a snapshot holds off every change for
# about 0.06 s per MB of state (0.28 s for 1,050 created calls, 4.9 MB), paid once per
# that many bytes of changes.
COMPACT_AT_BYTES = 64 * 1024 * 1024

log = logging.getLogger("sandbox")


class Kept(Protocol):
    """What a state file is written from and read into: the store's backend and clock, and
    the fixtures that say which seed and tenants its calls belong to (a sandbox has them)."""

    @property
    def backend(self) -> Backend: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def fixtures(self) -> FixtureSet: ...


class StateFileError(ValueError):
    def __init__(
        self,
        path: Path,
        problem: str,
        *,
        kind: str = "state file",
        otherwise: str = "start with no saved calls",
    ) -> None:
        super().__init__(f"{kind} {path}: {problem}; fix it, or move it away to {otherwise}")
        self.path = path
        self.problem = problem


def log_path(path: Path) -> Path:
    """Where the change log of state file `path` lives: beside it, `.log` appended."""
    return path.with_name(path.name + ".log")


def snapshot(sandbox: Kept) -> dict[str, Any]:
    """The state file's content: JSON-able, tenants and calls in a fixed order."""
    overlays = sandbox.backend.overlays()
    tenants: dict[str, Any] = {}
    for name in sorted(overlays):
        overlay = overlays[name]
        created = sorted(overlay.created.values(), key=lambda pair: pair[0])
        tenants[name] = {
            "counter": overlay.counter,
            "created": [{"sequence": s, "call": codec.encode_call(c)} for s, c in created],
            "patched": [codec.encode_call(overlay.patched[i]) for i in sorted(overlay.patched)],
            "deleted": sorted(overlay.deleted),
        }
    return {
        "format": FORMAT,
        "version": VERSION,
        "seed": sandbox.fixtures.seed,
        "clock_offset_ms": sandbox.clock.now_ms() - sandbox.clock.reference_ms,
        "tenants": tenants,
    }


def _encoded(sandbox: Kept) -> bytes:
    text = json.dumps(snapshot(sandbox), separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8") + b"\n"


def _digest(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def _write(path: Path, data: bytes) -> None:
    """A temporary file beside `path`, flushed, then renamed over it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    changelog.sync_folder(path.parent)


def save_state(sandbox: Kept, path: Path) -> None:
    """Write the state file atomically. When the sandbox keeps this very file (`--state`),
    its change log starts anew after the snapshot (the changes are in it now)."""
    keeper = _keeper_of(sandbox, path)
    if keeper is not None:
        keeper.compact()
    else:
        _write(path, _encoded(sandbox))


def _keeper_of(sandbox: Kept, path: Path) -> Keeper | None:
    backend = sandbox.backend
    if isinstance(backend, MemoryBackend):
        recorder = backend.recorder
        if isinstance(recorder, Keeper) and recorder.path == path:
            return recorder
    return None


@dataclass(frozen=True, slots=True)
class Recovery:
    """What a start after an unclean stop got back from the change log."""

    log: Path
    created: int = 0
    patched: int = 0
    deleted: int = 0
    resets: int = 0
    clock_moves: int = 0
    torn: int = 0  # bytes of a last line the crash cut short (that change was never answered)
    stale: bool = False  # the log was already in the snapshot (the stop came while writing it)

    @property
    def changes(self) -> int:
        return self.created + self.patched + self.deleted + self.resets + self.clock_moves

    def line(self) -> str:
        """One line for stderr and the banner."""
        head = "state: recovered after an unclean stop: "
        if self.stale:
            return head + f"nothing to replay (the change log {self.log} was already saved)"
        counts = [f"{self.created} created", f"{self.patched} patched", f"{self.deleted} deleted"]
        if self.resets:
            counts.append(f"{self.resets} resets")
        if self.clock_moves:
            counts.append(f"{self.clock_moves} clock moves")
        text = head + ", ".join(counts) + f" from the change log {self.log}"
        if self.torn:
            text += f"; ignored its torn last line ({self.torn} bytes, never answered)"
        return text


class Keeper:
    """A running sandbox's state file and change log: records each change before the
    backend applies it, folds the log into the snapshot when it grows long, and writes the
    last snapshot at a clean stop. It is the backend's `Recorder`."""

    def __init__(
        self,
        sandbox: Kept,
        backend: MemoryBackend,
        path: Path,
        journal: ChangeLog,
        recovery: Recovery | None,
        *,
        compact_at: int = COMPACT_AT_BYTES,
        snapshot_size: int = 0,
    ) -> None:
        self.path = path
        self.recovery = recovery
        self._sandbox = sandbox
        self._backend = backend
        self._log = journal
        self._compact_at = compact_at
        self._next_compaction = max(compact_at, snapshot_size)

    @property
    def log_path(self) -> Path:
        return self._log.path

    @property
    def log_size(self) -> int:
        return self._log.size

    def record(self, change: Change) -> None:
        try:
            self._log.append(change)
        except OSError as error:
            # Not on disk, so not made: the client gets the vendor's 500, as from a store
            # server that failed, and the change can be sent again.
            raise ServerError(
                f"the change was not made: the change log {self._log.path} could not be "
                f"written ({error})"
            ) from None

    def settle(self) -> None:
        if self._log.size < self._next_compaction:
            return
        try:
            self.compact()
        except OSError as error:
            # The change is safe in the log; only the log stays long. Try again later.
            log.error("could not fold the change log into %s: %s", self.path, error)
            self._next_compaction = self._log.size + self._compact_at

    def compact(self) -> None:
        """A new snapshot of everything so far, then a new, empty log after it."""
        self._restart(self._sandbox, self._backend)

    def rebind(self, sandbox: Kept) -> None:
        """Keep `sandbox` from now on instead (`--reload` built a new one, empty). When its
        snapshot cannot be written, this raises and the old sandbox stays kept."""
        backend = sandbox.backend
        if not isinstance(backend, MemoryBackend):
            raise TypeError(f"--state keeps an in-memory store, not {backend.url}")
        self._restart(sandbox, backend)

    def _restart(self, sandbox: Kept, backend: MemoryBackend) -> None:
        """Snapshot `sandbox` and start a new log after it, which its changes go to."""
        with self._backend.writing(), backend.writing():
            data = _encoded(sandbox)
            previous = self._log
            # The log that follows the new snapshot is ready before the snapshot replaces the
            # old one: a failure before that rename leaves the old snapshot and log in use,
            # as if nothing had been tried.
            pending = ChangeLog.prepare(previous.path, Header(sandbox.fixtures.seed, _digest(data)))
            try:
                _write(self.path, data)
            except BaseException:
                pending.discard()
                raise
            # The old log now follows an older snapshot: nothing may go into it any more
            # (a change there would be skipped as already saved at the next start).
            self._log = pending.install()
            previous.close()
            if backend is not self._backend:
                self._backend.record_to(None)
                self._sandbox, self._backend = sandbox, backend
                backend.record_to(self)
            self._next_compaction = max(self._compact_at, len(data))

    def close(self) -> None:
        """A clean stop: the last snapshot, then no log (which tells the next start so)."""
        with self._backend.writing():
            _write(self.path, _encoded(self._sandbox))
            self._backend.record_to(None)
            self._log.close()
            self._log.path.unlink(missing_ok=True)
            changelog.sync_folder(self.path.parent)


# The state files this process holds the lock of, by path: a sandbox rebuilt in the same
# process (`--reload`, tests) keeps using it; another process is refused.
_HELD: dict[Path, int] = {}


def _lock(path: Path) -> None:
    """Hold `FILE.lock` for as long as this process lives: two servers appending to one change
    log (a second `serve --state` started by mistake) would each lose the other's changes."""
    where = path.resolve()
    if where in _HELD:
        return
    lock = where.with_name(where.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise StateFileError(path, f"its lock file {lock} cannot be opened ({error})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StateFileError(
            path,
            f"another sandbox is using it (it holds {lock}): stop that one, or give this one "
            "its own --state FILE",
        ) from None
    _HELD[where] = fd


def load_state(sandbox: Kept, path: Path, *, compact_at: int | None = None) -> Keeper:
    """Restore the state file and its change log into a fresh sandbox's in-memory store and
    clock (neither there: a first start), and keep them from now on."""
    backend = sandbox.backend
    if not isinstance(backend, MemoryBackend):
        raise StateFileError(
            path, f"--state keeps an in-memory store; the store {backend.url} keeps its own"
        )
    if not path.parent.is_dir():
        raise StateFileError(
            path, f"its folder {path.parent} does not exist, so it could not be written"
        )
    _lock(path)
    data = _read(path)
    if data is not None:
        offset, overlays = _parse(sandbox, path, _json(path, data))
        backend.load(overlays)
        sandbox.clock.advance(offset)  # nothing records yet: this is not a change
    follows = _digest(data)
    journal = log_path(path)
    recovery = _replay(sandbox, backend, journal, follows) if journal.exists() else None
    try:
        if recovery is not None and (recovery.changes or recovery.torn):
            data = _encoded(sandbox)
            _write(path, data)
            follows = _digest(data)
        opened = ChangeLog.start(journal, Header(sandbox.fixtures.seed, follows))
    except OSError as error:
        raise StateFileError(path, f"cannot be written ({error})") from None
    limit = compact_at if compact_at is not None else COMPACT_AT_BYTES
    size = len(data) if data is not None else 0
    keeper = Keeper(sandbox, backend, path, opened, recovery, compact_at=limit, snapshot_size=size)
    backend.record_to(keeper)
    return keeper


def _read(path: Path) -> bytes | None:
    try:
        if path.exists() and not path.is_file():
            raise StateFileError(path, "is not a regular file")
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(path, f"cannot be read ({exc})") from None


def _json(path: Path, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise StateFileError(path, f"is not UTF-8 ({exc})") from None
    except ValueError as exc:
        raise StateFileError(path, f"is not JSON ({exc})") from None
    except RecursionError:
        raise StateFileError(path, "is not JSON (nested too deeply)") from None


def _replay(sandbox: Kept, backend: MemoryBackend, journal: Path, follows: str | None) -> Recovery:
    """Apply the change log to the state just loaded, counting what it gave back."""

    def fail(problem: str) -> StateFileError:
        return StateFileError(
            journal,
            problem,
            kind="change log",
            otherwise="start from the state file alone (losing the changes since it was written)",
        )

    if not journal.is_file():
        raise fail("is not a regular file")
    try:
        found = changelog.read(journal, sandbox.fixtures.tenants)
    except ChangeLogError as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"cannot be read ({error})") from None
    header = found.header
    if header is not None and header.seed != sandbox.fixtures.seed:
        raise fail(
            f"was written by a sandbox with seed {header.seed}, this one has seed "
            f"{sandbox.fixtures.seed}: start with that --seed"
        )
    if header is not None and header.follows != follows:
        return Recovery(journal, stale=True)
    created = patched = deleted = resets = clock_moves = latest = 0
    for change in found.changes:
        if isinstance(change, Created | Patched):
            latest = max(latest, change.call.created_ms, change.call.updated_ms)
        if isinstance(change, Created):
            # An update of a created call stores it again under its creation number.
            if backend.entry(change.tenant, change.call.id).created is None:
                created += 1
            else:
                patched += 1
        elif isinstance(change, Patched):
            patched += 1
        elif isinstance(change, Deleted):
            deleted += 1
        elif isinstance(change, Reset):
            resets += 1
        else:
            clock_moves += 1
        backend.restore(change)
    # With a time scale the clock also moved on its own, which no change says: it goes on
    # from the last change a client saw at least, never from before it.
    behind = latest - sandbox.clock.now_ms()
    if behind > 0:
        backend.restore(ClockAdvanced(behind))
    return Recovery(journal, created, patched, deleted, resets, clock_moves, found.torn)


def _parse(sandbox: Kept, path: Path, data: Any) -> tuple[int, dict[str, Overlay]]:
    def fail(problem: str) -> StateFileError:
        return StateFileError(path, problem)

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise fail(f'is not a call-sandbox state file (no "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise fail(f"has version {data.get('version')!r}; this sandbox reads version {VERSION}")
    expected = {"format", "version", "seed", "clock_offset_ms", "tenants"}
    if set(data) != expected:
        raise fail(f"has fields {sorted(data)}; expected {sorted(expected)}")
    seed = sandbox.fixtures.seed
    if data["seed"] != seed:
        raise fail(
            f"was written by a sandbox with seed {data['seed']!r}, this one has seed {seed} "
            "(its calls' ids depend on the seed): start with that --seed"
        )
    offset = data["clock_offset_ms"]
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise fail(f"clock_offset_ms must be an integer >= 0, not {offset!r}")
    tenants = data["tenants"]
    if not isinstance(tenants, dict):
        raise fail("tenants must be an object")
    try:
        overlays = {name: _overlay(sandbox, name, raw) for name, raw in tenants.items()}
    except codec.CodecError as error:
        raise fail(str(error)) from None
    except (TypeError, KeyError, AttributeError, IndexError, RecursionError) as error:
        # What the checks above did not foresee is still damage, never a traceback.
        raise fail(f"is damaged ({type(error).__name__}: {error})") from None
    return offset, overlays


def _overlay(sandbox: Kept, tenant: str, raw: Any) -> Overlay:
    where = f"tenants.{tenant}"
    if tenant not in sandbox.fixtures.tenants and not OPEN_TENANT.fullmatch(tenant):
        known = ", ".join(sandbox.fixtures.tenants)
        raise codec.CodecError(where, f"no such tenant in the fixtures (they have {known})")
    if not isinstance(raw, dict) or set(raw) != {"counter", "created", "patched", "deleted"}:
        raise codec.CodecError(where, "expected an object with counter, created, patched, deleted")
    counter = raw["counter"]
    if isinstance(counter, bool) or not isinstance(counter, int) or counter < 0:
        raise codec.CodecError(f"{where}.counter", f"expected an integer >= 0, not {counter!r}")
    overlay = Overlay(counter=counter)
    for index, record in enumerate(_list(raw["created"], f"{where}.created")):
        at = f"{where}.created[{index}]"
        if not isinstance(record, dict) or set(record) != {"sequence", "call"}:
            raise codec.CodecError(at, "expected an object with sequence and call")
        sequence = record["sequence"]
        if isinstance(sequence, bool) or not isinstance(sequence, int):
            raise codec.CodecError(f"{at}.sequence", "expected an integer")
        if not 1 <= sequence <= counter:
            raise codec.CodecError(f"{at}.sequence", f"must be between 1 and counter {counter}")
        call = codec.decode_call(record["call"], f"{at}.call")
        overlay.created[call.id] = (sequence, _owned(call, tenant, f"{at}.call"))
    for index, record in enumerate(_list(raw["patched"], f"{where}.patched")):
        at = f"{where}.patched[{index}]"
        call = codec.decode_call(record, at)
        overlay.patched[call.id] = _owned(call, tenant, at)
    for index, call_id in enumerate(_list(raw["deleted"], f"{where}.deleted")):
        if not isinstance(call_id, str):
            raise codec.CodecError(f"{where}.deleted[{index}]", "expected a call id")
        overlay.deleted.add(call_id)
    return overlay


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise codec.CodecError(path, "expected an array")
    return value


def _owned(call: Call, tenant: str, path: str) -> Call:
    if call.tenant != tenant:
        raise codec.CodecError(f"{path}.tenant", f"is {call.tenant!r}, under tenant {tenant!r}")
    return call


def describe(overlays: Mapping[str, Overlay]) -> str:
    """`N created, N patched, N deleted` over every tenant, for the banner."""
    created = sum(len(o.created) for o in overlays.values())
    patched = sum(len(o.patched) for o in overlays.values())
    deleted = sum(len(o.deleted) for o in overlays.values())
    return f"{created} created, {patched} patched, {deleted} deleted"
