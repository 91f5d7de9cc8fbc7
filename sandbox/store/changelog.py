"""`--state FILE`'s change log, `FILE.log`: every change a client made, one JSON line each,
on disk before the request that made it is answered.

The first line says which snapshot the changes follow (the SHA-256 of the state file's bytes,
or null when there is none yet), so that a log already folded into a newer snapshot (the
process died between writing the snapshot and starting a new log) is recognised and not
applied twice. Each change is written with one `write()` on a descriptor opened with
O_APPEND and then `fdatasync()`ed: about 140 µs per change on a local SSD, paid once per
create, update, delete, reset or clock move. A process killed mid-write leaves at most a torn
last line without its newline; reading ignores it (that change was never answered) and says
so. A complete line that is not a change this sandbox wrote is damage, and stops start-up.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.calls import codec
from sandbox.store.changes import (
    Change,
    ClockAdvanced,
    ClockReset,
    Created,
    Deleted,
    Patched,
    Reset,
)

FORMAT = "call-sandbox-changes"
VERSION = 1
# Tenants made by open tenancy are named after their key; they come back on the key's next use.
OPEN_TENANT = re.compile(r"key-[0-9a-f]{16}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ChangeLogError(ValueError):
    """A complete line of the log that is not one this sandbox wrote."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


# -- one change as one line ---------------------------------------------------------------


def encode(change: Change) -> dict[str, Any]:
    if isinstance(change, Created):
        return {
            "op": "created",
            "tenant": change.tenant,
            "sequence": change.sequence,
            "counter": change.counter,
            "call": codec.encode_call(change.call),
        }
    if isinstance(change, Patched):
        return {"op": "patched", "tenant": change.tenant, "call": codec.encode_call(change.call)}
    if isinstance(change, Deleted):
        return {"op": "deleted", "tenant": change.tenant, "call_id": change.call_id}
    if isinstance(change, Reset):
        return {"op": "reset", "tenant": change.tenant}
    if isinstance(change, ClockAdvanced):
        return {"op": "clock-advanced", "ms": change.ms}
    return {"op": "clock-reset"}


def line_of(change: Change) -> bytes:
    text = json.dumps(encode(change), separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8") + b"\n"


_FIELDS: Mapping[str, frozenset[str]] = {
    "created": frozenset({"op", "tenant", "sequence", "counter", "call"}),
    "patched": frozenset({"op", "tenant", "call"}),
    "deleted": frozenset({"op", "tenant", "call_id"}),
    "reset": frozenset({"op", "tenant"}),
    "clock-advanced": frozenset({"op", "ms"}),
    "clock-reset": frozenset({"op"}),
}


def decode(data: Any, tenants: Mapping[str, object]) -> Change:
    """One parsed line as a change; `tenants` are the fixtures' (open tenants pass by name).
    Raises codec.CodecError naming the field that is wrong."""
    if not isinstance(data, dict) or data.get("op") not in _FIELDS:
        raise codec.CodecError("op", f"expected one of {', '.join(_FIELDS)}")
    op = data["op"]
    if set(data) != _FIELDS[op]:
        raise codec.CodecError(op, f"expected the fields {', '.join(sorted(_FIELDS[op]))}")
    if op == "clock-advanced":
        return ClockAdvanced(_count(data["ms"], "ms"))
    if op == "clock-reset":
        return ClockReset()
    if op == "reset":
        return Reset(None if data["tenant"] is None else _tenant(data["tenant"], tenants))
    tenant = _tenant(data["tenant"], tenants)
    if op == "deleted":
        call_id = data["call_id"]
        if not isinstance(call_id, str):
            raise codec.CodecError("call_id", "expected a call id")
        return Deleted(tenant, call_id)
    call = codec.decode_call(data["call"], "call")
    if call.tenant != tenant:
        raise codec.CodecError("call.tenant", f"is {call.tenant!r}, under tenant {tenant!r}")
    if op == "patched":
        return Patched(tenant, call)
    counter = _count(data["counter"], "counter")
    sequence = _count(data["sequence"], "sequence")
    if not 1 <= sequence <= counter:
        raise codec.CodecError("sequence", f"must be between 1 and counter {counter}")
    return Created(tenant, sequence, counter, call)


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise codec.CodecError(path, f"expected an integer >= 0, not {value!r}")
    return value


def _tenant(value: Any, tenants: Mapping[str, object]) -> str:
    if not isinstance(value, str):
        raise codec.CodecError("tenant", "expected a tenant id")
    if value not in tenants and not OPEN_TENANT.fullmatch(value):
        known = ", ".join(tenants)
        raise codec.CodecError("tenant", f"{value!r} is no tenant of the fixtures ({known})")
    return value


# -- the file -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    seed: int
    follows: str | None  # SHA-256 (hex) of the snapshot these changes follow; None: no snapshot

    def line(self) -> bytes:
        data = {"format": FORMAT, "version": VERSION, "seed": self.seed, "follows": self.follows}
        return json.dumps(data, separators=(",", ":")).encode("utf-8") + b"\n"


@dataclass(frozen=True, slots=True)
class Read:
    """What a log held: its header, its complete changes, and the bytes of a torn last line."""

    header: Header | None  # None: an empty file
    changes: list[Change]
    torn: int


def read(path: Path, tenants: Mapping[str, object]) -> Read:
    """Read a whole log. Raises OSError when it cannot be read, ChangeLogError when a complete
    line is damaged (the message names the line)."""
    data = path.read_bytes()
    complete, _, rest = data.rpartition(b"\n")
    torn = len(rest)
    if not complete and not data.endswith(b"\n"):
        if torn:
            # Not even the header made it whole: the log is written beside and renamed into
            # place, so this is damage, not a crash.
            raise ChangeLogError(1, "no complete header line")
        return Read(None, [], 0)
    lines = complete.split(b"\n")
    header = _header(_parse(lines[0], 1))
    changes: list[Change] = []
    for number, raw in enumerate(lines[1:], start=2):
        try:
            changes.append(decode(_parse(raw, number), tenants))
        except codec.CodecError as error:
            raise ChangeLogError(number, str(error)) from None
        except (TypeError, KeyError, AttributeError, IndexError, RecursionError) as error:
            raise ChangeLogError(
                number, f"not a change ({type(error).__name__}: {error})"
            ) from None
    return Read(header, changes, torn)


def _parse(raw: bytes, number: int) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ChangeLogError(number, f"not UTF-8 ({error})") from None
    except ValueError as error:
        raise ChangeLogError(number, f"not JSON ({error})") from None
    except RecursionError:
        raise ChangeLogError(number, "not JSON (nested too deeply)") from None


def _header(data: Any) -> Header:
    fields = {"format", "version", "seed", "follows"}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ChangeLogError(1, f'not a call-sandbox change log (no "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise ChangeLogError(1, f"version {data.get('version')!r}; this sandbox reads {VERSION}")
    if set(data) != fields:
        raise ChangeLogError(1, f"fields {sorted(data)}; expected {sorted(fields)}")
    seed, follows = data["seed"], data["follows"]
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ChangeLogError(1, f"seed must be an integer, not {seed!r}")
    if follows is not None and not (
        isinstance(follows, str) and re.fullmatch(r"[0-9a-f]{64}", follows)
    ):
        raise ChangeLogError(1, "follows must be a SHA-256 in hex, or null")
    return Header(seed, follows)


class ChangeLog:
    """The open log: appends one change at a time, each on disk before `append` returns."""

    def __init__(self, path: Path, descriptor: int, size: int) -> None:
        self.path = path
        self._fd = descriptor
        self.size = size
        self._broken: OSError | None = None

    @classmethod
    def start(cls, path: Path, header: Header) -> ChangeLog:
        """A new, empty log (only its header) in place of whatever was at `path`: written
        beside it and renamed over it, so a crash leaves the old log or the new one."""
        return cls.prepare(path, header).install()

    @classmethod
    def prepare(cls, path: Path, header: Header) -> PendingLog:
        """A new log written beside `path`, open, not yet in its place: whoever replaces a
        snapshot prepares the log that follows it first, so that no failure after the
        snapshot's rename can leave a sandbox without a usable log."""
        line = header.line()
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = -1
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            _write_all(descriptor, line)
            os.fsync(descriptor)
            # Open for appending before the rename: the descriptor then follows the file to
            # its place, whatever happens to the name.
            appending = os.open(temporary, os.O_WRONLY | os.O_APPEND)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            if descriptor >= 0:
                os.close(descriptor)
        return PendingLog(path, temporary, appending, len(line))

    def append(self, change: Change) -> None:
        if self._broken is not None:
            raise OSError(f"the change log {self.path} is unusable since: {self._broken}")
        line = line_of(change)
        try:
            _write_all(self._fd, line)
            _sync(self._fd)
        except OSError as error:
            # A half-written line would glue itself to the next one: cut it off again.
            try:
                os.ftruncate(self._fd, self.size)
            except OSError:
                self._broken = error
            raise
        self.size += len(line)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._broken = OSError("it was closed")


class PendingLog:
    """A prepared log: `install` renames it into its place; `discard` removes it."""

    def __init__(self, path: Path, temporary: Path, descriptor: int, size: int) -> None:
        self.path, self._temporary, self._fd, self._size = path, temporary, descriptor, size

    def install(self) -> ChangeLog:
        try:
            os.replace(self._temporary, self.path)
        except OSError:
            self.discard()
            raise
        sync_folder(self.path.parent)
        return ChangeLog(self.path, self._fd, self._size)

    def discard(self) -> None:
        os.close(self._fd)
        self._temporary.unlink(missing_ok=True)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


# fdatasync flushes the data and the file's size, which is all a reader needs.
_sync = getattr(os, "fdatasync", os.fsync)


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (where the platform can open a folder)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
