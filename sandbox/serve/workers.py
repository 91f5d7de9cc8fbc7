"""`call-sandbox serve --workers N`: N uvicorn worker processes behind one listening socket.

uvicorn starts each worker as a fresh process that imports the app by name, so the settings
travel in an environment variable (JSON) and `app_from_environment` builds each worker's app
with create_app(), like every other mode. Generated calls are the same in every worker (a pure
function of the seed); what clients change is shared through the store (`--store redis://...`),
which is why the CLI refuses several workers over the in-memory store.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from uvicorn.supervisors import Multiprocess

from sandbox.http.connection import ServedConnections
from sandbox.settings import Settings

ENVIRONMENT = "CALL_SANDBOX_SETTINGS"
SUPERVISOR = "CALL_SANDBOX_SUPERVISOR"  # the pid of the process that starts the workers
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
FACTORY = "sandbox.serve.workers:app_from_environment"


def settings_to_json(settings: Settings) -> str:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        values[field.name] = str(value) if isinstance(value, Path) else value
    return json.dumps(values)


def settings_from_json(text: str) -> Settings:
    values = json.loads(text)
    paths = {f.name for f in dataclasses.fields(Settings) if "Path" in str(f.type)}
    for name in paths:
        if values.get(name) is not None:
            values[name] = Path(values[name])
    return Settings(**values)


def app_from_environment() -> ServedConnections:
    """The app of one worker, from the settings the CLI put in the environment, served as
    `call-sandbox serve` serves it (so drop and hang faults close the socket there too)."""
    from sandbox.app import create_app

    text = os.environ.get(ENVIRONMENT)
    if text is None:
        raise RuntimeError(f"{ENVIRONMENT} is not set: start workers with `call-sandbox serve`")
    _die_with_supervisor()
    return ServedConnections(create_app(settings_from_json(text)))


def _die_with_supervisor() -> None:
    """uvicorn's supervisor stops its workers on SIGTERM or SIGINT; killed outright (SIGKILL,
    an OOM kill, a test harness giving up), it cannot, and its workers would go on holding the
    port with nobody left to stop them. On Linux the kernel sends them SIGTERM instead."""
    expected = os.environ.get(SUPERVISOR)
    if expected is None or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # no prctl here: workers outlive a killed supervisor
        return
    if os.getppid() != int(expected):  # it was gone before we asked
        raise SystemExit("call-sandbox: the supervisor of this worker has exited")


def run(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    sock: socket.socket | None = None,
) -> None:
    """Serve with `workers` processes in the foreground until SIGINT or SIGTERM; uvicorn's
    supervisor stops every worker (each finishing its requests in flight) and returns."""
    from sandbox.serve.server import exit_zero_on_sigterm, foreground_config

    os.environ[ENVIRONMENT] = settings_to_json(settings)
    os.environ[SUPERVISOR] = str(os.getpid())
    # What `uvicorn.run` does for workers, with the sandbox's protocols (the config, head
    # timeout included, is pickled for each worker process).
    config = foreground_config(
        FACTORY,
        host=host,
        port=port,
        header_timeout_s=settings.header_timeout_s,
        factory=True,
        workers=workers,
    )
    with exit_zero_on_sigterm(), contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock if sock is not None else config.bind_socket()]).run()
