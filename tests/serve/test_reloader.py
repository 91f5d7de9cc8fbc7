"""`serve --reload`: a fixture change swaps in a rebuilt sandbox; a broken one keeps the old."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from starlette.applications import Starlette

from sandbox import Settings, create_app
from sandbox.resources import fixtures_dir
from sandbox.serve.reloader import FixtureReloader, snapshot
from sandbox.serve.switch import Switch


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), target)
    return target


def _seed(app: object) -> int:
    assert isinstance(app, Starlette)
    seed: int = app.state.sandbox.fixtures.seed
    return seed


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    # Make the change visible even on filesystems with a coarse mtime.
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def _reloader(folder: Path) -> FixtureReloader:
    settings = Settings(fixtures=folder)
    return FixtureReloader(Switch(create_app(settings)), folder, lambda: create_app(settings))


def test_nothing_changed_nothing_rebuilt(folder: Path) -> None:
    reloader = _reloader(folder)
    before = reloader.switch.app
    assert reloader.check() is False
    assert reloader.switch.app is before


def test_a_changed_seed_is_served(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    reloader = _reloader(folder)
    _edit(folder / "sandbox.yaml", "seed: 20260320", "seed: 4242")
    with caplog.at_level(logging.INFO, logger="sandbox"):
        assert reloader.check() is True
    assert _seed(reloader.switch.app) == 4242
    assert f"fixtures changed in {folder}: reloaded (seed 4242)" in caplog.messages


def test_a_new_pinned_calls_file_counts_as_a_change(folder: Path) -> None:
    reloader = _reloader(folder)
    shutil.copy(folder / "calls" / "retell-docs.yaml", folder / "calls" / "zz-copy.yaml")
    assert snapshot(folder) != reloader._seen
    # Same ids twice: the fixtures no longer load, so the previous sandbox stays.
    before = reloader.switch.app
    assert reloader.check() is False
    assert reloader.switch.app is before


def test_a_broken_file_keeps_the_previous_sandbox(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reloader = _reloader(folder)
    before = reloader.switch.app
    _edit(folder / "sandbox.yaml", "seed: 20260320", "seed: [unclosed")
    with caplog.at_level(logging.INFO, logger="sandbox"):
        assert reloader.check() is False
    assert reloader.switch.app is before
    [record] = [r for r in caplog.records if r.name == "sandbox"]
    assert record.levelno == logging.ERROR
    assert "still serving the previous ones" in record.getMessage()
    assert "not valid YAML" in record.getMessage()
    # Fixed again: picked up on the next look.
    _edit(folder / "sandbox.yaml", "seed: [unclosed", "seed: 7")
    assert reloader.check() is True
    assert _seed(reloader.switch.app) == 7


def test_the_watcher_thread_starts_and_stops(folder: Path) -> None:
    settings = Settings(fixtures=folder)
    reloader = FixtureReloader(
        Switch(create_app(settings)), folder, lambda: create_app(settings), interval=0.05
    ).start()
    try:
        _edit(folder / "sandbox.yaml", "seed: 20260320", "seed: 99")
        for _ in range(200):  # bounded: 10 s at most
            if _seed(reloader.switch.app) == 99:
                break
            reloader._stop.wait(0.05)
        assert _seed(reloader.switch.app) == 99
    finally:
        reloader.stop()
    assert not reloader._thread.is_alive()
