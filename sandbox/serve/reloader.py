"""`call-sandbox serve --reload`: rebuild the sandbox when its fixtures change.

The folder is polled (a stat of each YAML file twice a second), so it needs nothing beyond the
standard library and works on every filesystem, bind mounts included. The new sandbox is built
beside the old one and swapped in only once it loaded: a half-saved or broken fixture file is
reported and the previous sandbox keeps answering, instead of the server going down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette

from sandbox.calls.fixtures import FixtureError
from sandbox.serve.switch import Switch

log = logging.getLogger("sandbox")

Snapshot = dict[Path, tuple[int, int]]
POLL_INTERVAL_S = 0.5


def snapshot(directory: Path) -> Snapshot:
    """Each fixture file's (mtime in ns, size): any edit, new file or removal changes it."""
    found: Snapshot = {}
    for path in directory.rglob("*.yaml"):  # what load_fixtures() reads
        try:
            status = path.stat()
        except OSError:  # removed between listing and stat: the next poll sees it gone
            continue
        found[path] = (status.st_mtime_ns, status.st_size)
    return found


class FixtureReloader:
    """Watches `directory` on a daemon thread; on a change, builds a new app and swaps it in."""

    def __init__(
        self,
        switch: Switch,
        directory: Path,
        build: Callable[[], Starlette],
        *,
        interval: float = POLL_INTERVAL_S,
    ) -> None:
        self.switch = switch
        self.directory = directory
        self.build = build
        self.interval = interval
        self._stop = threading.Event()
        self._seen = snapshot(directory)
        self._thread = threading.Thread(target=self._watch, name="fixture-reloader", daemon=True)

    def start(self) -> FixtureReloader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.interval * 4)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def check(self) -> bool:
        """Rebuild if anything changed since the last look; True if a new app was swapped in."""
        current = snapshot(self.directory)
        if current == self._seen:
            return False
        self._seen = current
        try:
            app = self.build()
        except FixtureError as error:
            log.error(
                "fixtures changed but do not load; still serving the previous ones: %s", error
            )
            return False
        except Exception:
            # A fixture edit must never take the server down; say what broke and keep serving.
            log.exception("fixtures changed but the sandbox could not be rebuilt; still serving")
            return False
        self.switch.app = app
        seed = app.state.sandbox.fixtures.seed
        log.info("fixtures changed in %s: reloaded (seed %s)", self.directory, seed)
        return True
