"""`--state FILE`'s change log: every acknowledged change is on disk before its answer, a
start after a crash replays it and says so in one line, a torn last line is ignored, a log
already in the snapshot is not applied twice, the log is folded into the snapshot when it
grows, and a damaged log of any kind stops start-up with what is wrong, never a traceback."""

from __future__ import annotations

import errno
import itertools
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.calls.clock import Clock
from sandbox.calls.fixtures import FixtureSet
from sandbox.dialect.vendor import VendorSandbox
from sandbox.serve.cli import main
from sandbox.store import changelog, statefile
from sandbox.store.memory import MemoryBackend
from sandbox.store.statefile import StateFileError, load_state, save_state, snapshot

RETELL = {"Authorization": "Bearer key_127f60598b07bc1e334fd13b8d"}
ZUDU = {
    "X-API-KEY": "sk_yJFV30QbWdCoMWqYmNgJQvV9eCjGdJQd",
    "X-API-SECRET": "s3cr3t_AgG4sYZIt0NAxe6P6GvsbIJ2JOgQAZjHGqH9Jf8q",
}
NUMBERS = {"from_number": "+14155550142", "to_number": "+12125550101"}
LOG_FIX = "; fix it, or move it away to start from the state file alone"


def _app(state_file: Path) -> Starlette:
    return create_app(Settings(state_file=state_file))


def _sandbox(app: Starlette) -> VendorSandbox:
    state: VendorSandbox = app.state.sandbox
    return state


def _keeper(app: Starlette) -> statefile.Keeper:
    keeper = _sandbox(app).keeper
    assert keeper is not None
    return keeper


def _create(client: TestClient, headers: dict[str, str] = RETELL) -> str:
    made = client.post("/retell/v2/create-phone-call", headers=headers, json=NUMBERS)
    assert made.status_code == 201, made.text
    call_id: str = made.json()["call_id"]
    return call_id


def _bodies(app: Starlette, call_ids: list[str]) -> list[tuple[int, bytes]]:
    """What Retell answers for each call (Retell takes any vendor's form of an id)."""
    with TestClient(app) as client:
        answers = [client.get(f"/retell/v2/get-call/{i}", headers=RETELL) for i in call_ids]
    return [(answer.status_code, answer.content) for answer in answers]


def _lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _busy(state_file: Path) -> tuple[Starlette, list[str]]:
    """A sandbox where clients created, updated and deleted calls, one tenant was reset and
    the clock moved: every kind of change, none of it saved in a snapshot yet."""
    app = _app(state_file)
    state = _sandbox(app)
    with TestClient(app) as client:
        made = [_create(client) for _ in range(3)]
        globex = state.credentials("retell", "globex")
        _create(client, globex)
        zudu = client.post("/zudu/api/calls/create-phone-call", headers=ZUDU, json=NUMBERS)
        assert zudu.status_code == 200, zudu.text
        zudu_id = zudu.json()["data"]["call"]["call_id"]
        for target in (zudu_id, "call-456"):  # a created call, and a pinned one
            put = client.put(f"/zudu/api/calls/{target}", headers=ZUDU, json={"metadata": {"k": 1}})
            assert put.status_code == 200, put.text
        gone = client.delete(f"/retell/v2/delete-call/{made[-1]}", headers=RETELL)
        assert gone.status_code == 204
    state.advance(90_000)
    state.reset("globex")
    return app, [*made, zudu_id]


def test_each_change_is_on_disk_before_it_is_answered(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    app = _app(state_file)
    log = tmp_path / "state.json.log"
    header = {"format": "call-sandbox-changes", "version": 1, "seed": 20260320, "follows": None}
    assert _lines(log) == [header]
    with TestClient(app) as client:
        call_id = _create(client)
        # The answer is back: the change is already in the file (no snapshot was written).
        logged = _lines(log)
        assert [line["op"] for line in logged[1:]] == ["created"]
        assert logged[1]["call"]["id"].replace("-", "") == call_id.removeprefix("call_")
        assert (logged[1]["tenant"], logged[1]["sequence"], logged[1]["counter"]) == ("acme", 1, 1)
    assert not state_file.exists()


def test_a_start_after_a_crash_gets_back_every_change_and_says_so(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    first_app, made = _busy(state_file)
    first = _sandbox(first_app)
    assert first.store.snapshot() == {"acme": 6, "globex": 0}
    # The process dies here: no snapshot, no clean stop. A new one starts on the same file.
    second_app = _app(state_file)
    second = _sandbox(second_app)
    assert snapshot(second) == snapshot(first)
    assert second.clock.now_ms() == first.clock.reference_ms + 90_000
    bodies = _bodies(second_app, made)
    assert bodies == _bodies(first_app, made)
    assert [status for status, _ in bodies] == [200, 200, 422, 200]  # the third was deleted
    recovery = _keeper(second_app).recovery
    assert recovery is not None
    # 5 creates, 2 updates (the created Zudu call's, stored again under its number, and the
    # pinned call's copy), 1 delete; a reset of globex; the clock moved once.
    assert recovery.line() == (
        "state: recovered after an unclean stop: 5 created, 2 patched, 1 deleted, 1 resets, "
        f"1 clock moves from the change log {state_file}.log"
    )
    # What the log gave back is in a new snapshot now, and the log starts anew after it.
    assert json.loads(state_file.read_text()) == snapshot(second)
    assert len(_lines(tmp_path / "state.json.log")) == 1
    # Numbering goes on where it stopped.
    with TestClient(first_app) as one, TestClient(second_app) as two:
        assert _create(one) == _create(two)


def test_a_clean_stop_leaves_no_log_and_the_next_start_is_quiet(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    app, _ = _busy(state_file)
    _keeper(app).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.lock"]
    again = _app(state_file)
    assert _keeper(again).recovery is None
    assert snapshot(_sandbox(again)) == snapshot(_sandbox(app))


def test_a_torn_last_line_is_ignored_and_said(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    app, _ = _busy(state_file)
    log = tmp_path / "state.json.log"
    whole = log.read_bytes()
    # Killed in the middle of writing a change: its line has no end (it was never answered).
    cut = whole.splitlines(keepends=True)[2][:77]
    log.write_bytes(whole + cut)
    again = _app(state_file)
    assert snapshot(_sandbox(again)) == snapshot(_sandbox(app))
    recovery = _keeper(again).recovery
    assert recovery is not None
    assert recovery.torn == 77
    assert recovery.line().endswith(
        f"from the change log {log}; ignored its torn last line (77 bytes, never answered)"
    )
    assert len(_lines(log)) == 1  # the torn bytes went with the old log


def test_a_log_already_in_the_snapshot_is_not_applied_twice(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    app, _ = _busy(state_file)
    log = tmp_path / "state.json.log"
    old = log.read_bytes()
    save_state(_sandbox(app), state_file)  # a new snapshot, then a new log...
    log.write_bytes(old)  # ...but the process died between the two: the old log is still there
    again = _app(state_file)
    # The clock moved 90 s once, not twice.
    assert snapshot(_sandbox(again)) == snapshot(_sandbox(app))
    recovery = _keeper(again).recovery
    assert recovery is not None
    assert recovery.line() == (
        "state: recovered after an unclean stop: nothing to replay "
        f"(the change log {log} was already saved)"
    )


def test_the_log_is_folded_into_the_snapshot_when_it_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statefile, "COMPACT_AT_BYTES", 20_000)
    state_file = tmp_path / "state.json"
    app = _app(state_file)
    log = tmp_path / "state.json.log"
    sizes, limits = [], []
    with TestClient(app) as client:
        made = []
        for _ in range(30):
            made.append(_create(client))
            sizes.append(log.stat().st_size)
            assert sizes[-1] == _keeper(app).log_size
            # Folded past the limit, or past the snapshot's size once that is larger.
            limits.append(max(20_000, state_file.stat().st_size if state_file.exists() else 0))
    line = max(b - a for a, b in itertools.pairwise(sizes) if b > a)
    assert all(size < limit + line for size, limit in zip(sizes, limits, strict=True))
    assert sizes.count(min(sizes)) >= 3  # folded several times (just the header then)
    # The snapshot holds the calls up to the last fold, the log the ones after it.
    saved = json.loads(state_file.read_text())
    assert len(saved["tenants"]["acme"]["created"]) + len(_lines(log)) - 1 == 30
    # A crash now: the snapshot and the rest of the log give back all 30.
    again = _app(state_file)
    assert snapshot(_sandbox(again)) == snapshot(_sandbox(app))
    assert _bodies(again, made) == _bodies(app, made)
    assert {status for status, _ in _bodies(again, made)} == {200}


def test_a_change_the_log_cannot_take_is_not_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_file = tmp_path / "state.json"
    app = _app(state_file)
    log = tmp_path / "state.json.log"
    write = os.write
    calls: list[int] = []

    def full(descriptor: int, data: Any) -> int:
        # The disk fills up halfway through the first change's line.
        if bytes(data[:7]) == b'{"op":"' and not calls:
            calls.append(len(data))
            write(descriptor, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(descriptor, data)

    with TestClient(app) as client:
        before = log.read_bytes()
        monkeypatch.setattr(os, "write", full)
        refused = client.post("/retell/v2/create-phone-call", headers=RETELL, json=NUMBERS)
        assert refused.status_code == 500
        assert refused.headers["content-type"].startswith("application/json")
        assert log.read_bytes() == before  # the half line was cut off again
        assert _sandbox(app).store.snapshot()["acme"] == 0
        assert calls, "the change log was not written"
        made = _create(client)  # the next one goes through, with the number the first missed
    assert json.loads(log.read_bytes().splitlines()[1])["sequence"] == 1
    assert _bodies(_app(state_file), [made])[0][0] == 200


def test_a_reload_keeps_the_new_sandbox(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    app, _ = _busy(state_file)
    reloaded = create_app(Settings())  # what --reload builds: no state of its own
    _keeper(app).rebind(_sandbox(reloaded))
    with TestClient(reloaded) as client:
        fresh = _create(client)
    with TestClient(app) as client:
        _create(client)  # the old sandbox, still answering a moment: no longer kept
    again = _app(state_file)
    assert _sandbox(again).store.snapshot() == {"acme": 1, "globex": 0}
    assert snapshot(_sandbox(again)) == snapshot(_sandbox(reloaded))
    assert _bodies(again, [fresh]) == _bodies(reloaded, [fresh])


def _damaged_log(tmp_path: Path, damage: bytes) -> Path:
    state_file = tmp_path / "state.json"
    _busy(state_file)
    log = tmp_path / "state.json.log"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:2]) + damage + b"".join(lines[2:]))
    return state_file


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (b"{not json\n", "line 3: not JSON (Expecting property name"),
        (b"[" * 100_000 + b"\n", "line 3: not JSON (nested too deeply)"),
        (b'{"op": "deleted\xff"}\n', "line 3: not UTF-8 ("),
        (b'{"op":"deleted","tenant":"acme","call_id":5}\n', "line 3: call_id: expected a call id"),
        (
            b'{"op":"deleted","tenant":"initech","call_id":"x"}\n',
            "line 3: tenant: 'initech' is no tenant of the fixtures (acme, globex)",
        ),
        (b'{"op":"renamed"}\n', "line 3: op: expected one of created, patched, deleted, reset"),
        (b'{"op":"clock-advanced","ms":-5}\n', "line 3: ms: expected an integer >= 0, not -5"),
        (b'{"op":"reset"}\n', "line 3: reset: expected the fields op, tenant"),
        (
            b'{"op":"created","tenant":"acme","sequence":1,"counter":1,"call":[]}\n',
            "line 3: call: expected an object, got list",
        ),
    ],
)
def test_a_damaged_log_stops_start_up_saying_what_is_wrong(
    tmp_path: Path, damage: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    state_file = _damaged_log(tmp_path, damage)
    _expect_log_error(state_file, message, capsys)


@pytest.mark.parametrize(
    ("log", "message"),
    [
        (b'{"format":"call-sandbox-changes","ver', "line 1: no complete header line"),
        (b'{"op":"clock-reset"}\n', 'line 1: not a call-sandbox change log (no "format": '),
        (
            b'{"format":"call-sandbox-changes","version":1,"seed":7,"follows":null}\n',
            "was written by a sandbox with seed 7, this one has seed 20260320",
        ),
        (
            b'{"format":"call-sandbox-changes","version":1,"seed":20260320,"follows":1}\n',
            "line 1: follows must be a SHA-256 in hex, or null",
        ),
    ],
)
def test_a_log_that_is_not_one_stops_start_up(
    tmp_path: Path, log: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    state_file = tmp_path / "state.json"
    (tmp_path / "state.json.log").write_bytes(log)
    _expect_log_error(state_file, message, capsys)


def _expect_log_error(state_file: Path, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(StateFileError) as caught:
        _app(state_file)
    text = str(caught.value)
    assert text.startswith(f"change log {state_file}.log: {message}")
    assert text.endswith(LOG_FIX + " (losing the changes since it was written)")
    # `serve` says so in one line and exits 2 before listening.
    assert main(["serve", "--port", "9", "--state", str(state_file)]) == 2
    err = capsys.readouterr().err
    assert err == f"call-sandbox: {text}\n"


@dataclass
class _Kept:
    """Just what load_state reads and fills: a store's backend, a clock, the fixtures."""

    backend: MemoryBackend
    clock: Clock
    fixtures: FixtureSet


def _kept(fixtures: FixtureSet) -> _Kept:
    backend = MemoryBackend()
    clock = Clock(fixtures.reference_ms, state=backend.clock_state(timed=False))
    return _Kept(backend, clock, fixtures)


def _mangle(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data))
    match rng.randrange(4):
        case 0:  # cut short
            return data[:at]
        case 1:  # a byte changed
            return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
        case 2:  # bytes dropped
            return data[:at] + data[at + rng.randrange(1, 40) :]
        case _:  # a value swapped for another type
            junk = rng.choice([b"null", b"[]", b"{}", b"-1", b'"x"', b"1e999", b"true", b"[[[["])
            return data[:at] + junk + data[at + rng.randrange(0, 8) :]


def test_any_damage_to_either_file_is_a_clear_error_never_a_traceback(tmp_path: Path) -> None:
    state_file = tmp_path / "good.json"
    app, _ = _busy(state_file)
    save_state(_sandbox(app), state_file)
    fixtures = _sandbox(app).fixtures
    good_snapshot = state_file.read_bytes()
    with TestClient(app) as client:
        for _ in range(3):
            _create(client)
    good_log = (tmp_path / "good.json.log").read_bytes()
    rng = random.Random(20260320)
    loaded, refused = 0, []
    for attempt in range(150):
        target = tmp_path / f"{attempt}" / "state.json"
        target.parent.mkdir()
        snapshot_damaged = attempt % 2 == 0
        target.write_bytes(_mangle(rng, good_snapshot) if snapshot_damaged else good_snapshot)
        log = good_log if snapshot_damaged else _mangle(rng, good_log)
        (target.parent / "state.json.log").write_bytes(log)
        try:
            load_state(_kept(fixtures), target)
        except StateFileError as error:
            refused.append(str(error))
        else:
            loaded += 1  # damage JSON shrugs off (a changed digit, a torn last line)
    assert len(refused) > 75, loaded  # (105 of 150 with these bytes)
    assert [text for text in refused if "\n" in text] == []


def test_the_clock_goes_on_from_the_last_change_a_client_saw(tmp_path: Path) -> None:
    # With a time scale the clock also moves on its own, which the log does not say: a call
    # made an hour in (of sandbox time) still is in the past after the crash.
    state_file = tmp_path / "state.json"
    app = _app(state_file)
    with TestClient(app) as client:
        _create(client)
    log = tmp_path / "state.json.log"
    header, line = log.read_bytes().splitlines()
    change = json.loads(line)
    later = _sandbox(app).clock.reference_ms + 3_600_000
    change["call"]["created_ms"] = change["call"]["updated_ms"] = later
    log.write_bytes(header + b"\n" + json.dumps(change).encode() + b"\n")
    again = create_app(Settings(state_file=state_file, time_scale=60))
    assert _sandbox(again).clock.now_ms() >= later


def test_a_reload_that_cannot_write_its_snapshot_keeps_the_old_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_file = tmp_path / "state.json"
    app, _ = _busy(state_file)

    def fail(source: Any, target: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", fail)
        with pytest.raises(OSError, match="No space left"):
            _keeper(app).rebind(_sandbox(create_app(Settings())))
    with TestClient(app) as client:
        _create(client)  # still kept: in the log before its answer
    again = _sandbox(_app(state_file))
    assert snapshot(again) == snapshot(_sandbox(app))


@pytest.mark.parametrize("failing", ["prepare", "snapshot"])
def test_a_fold_that_fails_leaves_the_log_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """The new log is made before the snapshot is replaced: when either cannot be written,
    the old snapshot and log stay in use, later changes are logged, and a crash loses none."""
    state_file = tmp_path / "state.json"
    app = _app(state_file)
    with TestClient(app) as client:
        before = _create(client)

        def refuse(*args: object, **kwargs: object) -> None:
            raise OSError(24, "Too many open files")

        with monkeypatch.context() as patched:
            if failing == "prepare":
                patched.setattr(changelog.ChangeLog, "prepare", refuse)
            else:
                patched.setattr(statefile, "_write", refuse)
            with pytest.raises(OSError, match="Too many open files"):
                _keeper(app).compact()
        after = [_create(client) for _ in range(2)]
    again = _app(state_file)  # (a crash: no clean stop wrote a snapshot)
    made = [before, *after]
    assert _bodies(again, made) == _bodies(app, made)
    assert {status for status, _ in _bodies(again, made)} == {200}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
