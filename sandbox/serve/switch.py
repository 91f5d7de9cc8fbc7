"""An ASGI app that forwards to another one, which can be replaced while a server runs.

`call-sandbox serve --reload` swaps in a sandbox rebuilt from changed fixtures without dropping
the listening socket, and the pytest plugin's session-wide server serves each test's sandbox in
turn. Exceptions the current app raises are kept, so that a test can fail on a sandbox bug that
happened on the server's thread rather than only seeing a 500.
"""

from __future__ import annotations

import threading

from starlette.types import ASGIApp, Receive, Scope, Send


class Switch:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._errors: list[BaseException] = []
        self._in_flight = 0
        self._settled = threading.Condition()

    @property
    def app(self) -> ASGIApp:
        return self._app

    @app.setter
    def app(self, app: ASGIApp) -> None:
        self._app = app  # requests already running finish on the app they started on

    def take_errors(self, settle: float = 5.0) -> list[BaseException]:
        """The exceptions raised since the last call, oldest first. A client may already hold
        the 500 of a request whose exception is still on its way up the server's stack, so
        this first waits (at most `settle` seconds) for the requests in flight to finish."""
        with self._settled:
            self._settled.wait_for(lambda: self._in_flight == 0, settle)
            errors, self._errors = self._errors, []
        return errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan lasts as long as the server: not a request
            await self._app(scope, receive, send)
            return
        with self._settled:
            self._in_flight += 1
        try:
            await self._app(scope, receive, send)
        except Exception as error:
            with self._settled:
                self._errors.append(error)
            raise
        finally:
            with self._settled:
                self._in_flight -= 1
                self._settled.notify_all()
