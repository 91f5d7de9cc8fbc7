"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 (an ephemeral port) in a
thread, recording every request and answering from a script of statuses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Answers the statuses of `script` in turn, then `status` for ever after. While `hold`
    is clear, requests wait (at most WAIT_S) before they are answered."""

    def __init__(self, status: int = 204, script: Sequence[int] = ()) -> None:
        self.status = status
        self.script = list(script)
        self.hold = threading.Event()
        self.hold.set()
        self.requests: list[Request] = []
        self.answered: list[int] = []
        self._arrived = threading.Condition()
        self._server = HTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.hold.wait(WAIT_S)
                with receiver._arrived:
                    status = receiver.script.pop(0) if receiver.script else receiver.status
                    receiver.requests.append(Request(self.path, dict(self.headers), body))
                    receiver.answered.append(status)
                    receiver._arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        return Handler

    def wait(self, count: int, timeout: float = WAIT_S) -> list[Request]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the receiver got {len(self.requests)} requests, not {count}, "
                        f"within {timeout} s"
                    )
                self._arrived.wait(left)
            return list(self.requests)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(WAIT_S)


@contextmanager
def receiving(status: int = 204, script: Sequence[int] = ()) -> Iterator[Receiver]:
    with Receiver(status, script) as receiver:
        yield receiver
