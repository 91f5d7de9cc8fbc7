"""`--state FILE`: what clients changed in an in-memory store, kept across restarts.

`call-sandbox serve --state FILE` loads the file at start (when it exists) and writes it when
the server stops (SIGTERM, Ctrl-C): the calls clients created with their creation numbers,
the copies they patched, the ids they deleted, and how far the clock was moved. The file is
written to a temporary file beside it and renamed over it, so a stop at any moment leaves
either the old file or the new one, never half of one. A file that is not one this sandbox
wrote (damaged, another seed, an unknown tenant) stops start-up with what is wrong: the
server never starts on state it would silently drop.

A Redis store keeps its state in the server, so `--state` goes with the in-memory store only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from sandbox.calls import codec
from sandbox.calls.clock import Clock
from sandbox.calls.fixtures import FixtureSet
from sandbox.calls.model import Call
from sandbox.store.backend import Backend, Overlay
from sandbox.store.memory import MemoryBackend

FORMAT = "call-sandbox-state"
VERSION = 1
# Tenants made by open tenancy are named after their key; they come back on the key's next use.
_OPEN_TENANT = re.compile(r"key-[0-9a-f]{16}")


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
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"state file {path}: {problem}; fix it, or move it away to start with no saved calls"
        )


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


def save_state(sandbox: Kept, path: Path) -> None:
    """Write the state file atomically: a temporary file beside it, flushed, then renamed."""
    data = json.dumps(snapshot(sandbox), separators=(",", ":"), ensure_ascii=False)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            out.write(data + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_state(sandbox: Kept, path: Path) -> None:
    """Restore a state file into a fresh sandbox's in-memory store and clock (a missing file
    is a first start: nothing to restore)."""
    if not isinstance(sandbox.backend, MemoryBackend):
        raise StateFileError(
            path, f"--state keeps an in-memory store; the store {sandbox.backend.url} keeps its own"
        )
    if not path.parent.is_dir():
        raise StateFileError(
            path, f"its folder {path.parent} does not exist, so it could not be written"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(path, f"cannot be read ({exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateFileError(path, f"is not JSON ({exc})") from None
    offset, overlays = _parse(sandbox, path, data)
    sandbox.backend.load(overlays)
    sandbox.clock.advance(offset)


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
    return offset, overlays


def _overlay(sandbox: Kept, tenant: str, raw: Any) -> Overlay:
    where = f"tenants.{tenant}"
    if tenant not in sandbox.fixtures.tenants and not _OPEN_TENANT.fullmatch(tenant):
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
