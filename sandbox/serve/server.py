"""Running a sandbox app under uvicorn: in the foreground for `call-sandbox serve` (and so for
the container), or on a background thread for the pytest plugin's `sandbox_server`.

Both serve the app create_app() built; nothing here changes what a request gets back.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from sandbox.http.connection import ServedConnections
from sandbox.serve.protocols import HEADER_TIMEOUT_S, Parser, SandboxConfig

# Requests in flight get this long to finish after SIGTERM; the sandbox answers in
# milliseconds, so a stop (`docker stop`, a CI job ending) completes within about a second.
GRACEFUL_SHUTDOWN_S = 1
STARTUP_FAILURE = 3  # uvicorn's exit code when it cannot start


def log_config() -> dict[str, Any]:
    """uvicorn's own logging, plus the sandbox's loggers: the request lines on stdout (where
    uvicorn writes its access log, which is off because the sandbox writes its own line) and
    the sandbox's warnings and errors on stderr."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["handlers"]["sandbox.access"] = {
        "formatter": "default",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["sandbox"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["loggers"]["sandbox.access"] = {
        "handlers": ["sandbox.access"],
        "level": "INFO",
        "propagate": False,
    }
    return config


class _Terminated(Exception):
    pass


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


@contextmanager
def exit_zero_on_sigterm() -> Iterator[None]:
    """SIGTERM is how a container runtime or CI asks the sandbox to stop: an orderly stop,
    so the process exits 0. uvicorn shuts down gracefully on SIGTERM and then re-raises the
    signal with the handler that was in place before it started; this is that handler."""
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    except _Terminated:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


# A served sandbox keeps thousands of calls in its caches, each hundreds of objects, and its
# requests make and drop garbage without reference cycles (reference counting frees it). With
# Python's default thresholds the collector would walk those caches over and over.
GC_THRESHOLDS = (10_000, 50, 1_000)


def tune_gc() -> None:
    """Collect what start-up left, set aside what it built (modules, schemas, fixtures: kept
    for good), and collect the young generation ten times less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def foreground_config(
    app: Any, *, host: str, port: int, header_timeout_s: float, **options: Any
) -> SandboxConfig:
    """How `serve` runs uvicorn (one process or the workers' supervisor): the sandbox's
    protocols and logging, no uvicorn access log (the sandbox writes its own), and a stop
    that waits at most GRACEFUL_SHUTDOWN_S for requests in flight."""
    return SandboxConfig(
        app,
        header_timeout_s=header_timeout_s,
        host=host,
        port=port,
        log_config=log_config(),
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **options,
    )


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is printed: a busy port (another sandbox
    still running) is an error at once, not a banner followed by uvicorn's. It is bound as
    uvicorn binds one (address reuse for TIME_WAIT, inheritable for worker processes);
    OSError says why it could not be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def run(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    header_timeout_s: float = HEADER_TIMEOUT_S,
    sock: socket.socket | None = None,
) -> None:
    """Serve `app` in the foreground until SIGINT or SIGTERM (what `uvicorn.run` does, with
    the sandbox's protocols), on `sock` when it is already bound."""
    tune_gc()
    config = foreground_config(
        ServedConnections(app), host=host, port=port, header_timeout_s=header_timeout_s
    )
    server = uvicorn.Server(config)
    with exit_zero_on_sigterm(), contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock] if sock is not None else None)
    if not server.started:  # (it could not bind; uvicorn has logged why)
        sys.exit(STARTUP_FAILURE)


class BackgroundServer:
    """uvicorn on a daemon thread, on an ephemeral 127.0.0.1 port unless told otherwise.

    It leaves the process's logging and signal handlers alone (it is a guest in a test run).
    `parser` is uvicorn's HTTP parser ("auto": httptools when installed).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        parser: Parser = "auto",
    ) -> None:
        config = SandboxConfig(
            ServedConnections(app),
            parser=parser,
            header_timeout_s=header_timeout_s,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="call-sandbox", daemon=True)
        self._host = host
        self._port = port

    def _serve(self) -> None:
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind; start() says so
            self._server.run()

    @property
    def url(self) -> str:
        """The origin to put before a vendor's mount, e.g. http://127.0.0.1:41234."""
        if not self._server.started:
            raise RuntimeError("the server is not running; call start() first")
        return f"http://{self._host}:{self._port}"

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(
                    f"the sandbox server could not start on {self._host}:{self._port}; "
                    "see the uvicorn error logged above"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox server did not start within {timeout} s")
            time.sleep(0.01)
        self._port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
