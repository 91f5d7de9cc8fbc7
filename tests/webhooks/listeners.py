"""A receiver that never answers: a 127.0.0.1 port that accepts connections, reads nothing
and replies nothing, so every webhook sent to it waits for its timeout."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

POLL_S = 0.05  # how often the accepting thread looks whether it is to stop


class Silent:
    def __init__(self) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1024)
        self._server.settimeout(POLL_S)
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._server.getsockname()[1]
        return port

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def accepted(self) -> int:
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            with self._lock:
                self._held.append(connection)

    def __enter__(self) -> Silent:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()
        with self._lock:
            for connection in self._held:
                connection.close()


@contextmanager
def silent() -> Iterator[Silent]:
    with Silent() as listener:
        yield listener
