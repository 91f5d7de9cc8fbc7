"""Handles onto a sandbox for tests: what the pytest plugin's fixtures give a test.

`InProcessSandbox` wraps an app built by create_app() in this process; `RemoteSandbox` talks
HTTP to a sandbox elsewhere (the plugin's background server, or a CI service container given
with `--sandbox-url`). Both offer the same methods, so a test reads the same in either mode:

    def test_lookup(sandbox, sandbox_client):
        answer = sandbox_client.get(
            sandbox.base_url("retell") + "/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6",
            headers=sandbox.keys("retell"),
        )

A vendor SDK built on httpx takes one of the handle's clients: `sandbox.httpx_client()` is an
`httpx.Client` that reaches the in-process app without a socket, for example

    retell.Retell(
        api_key=sandbox.keys("retell")["Authorization"].removeprefix("Bearer "),
        base_url=sandbox.base_url("retell"),
        http_client=sandbox.httpx_client(),
    )
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import httpx
from starlette.applications import Starlette

from sandbox.dialect.vendor import VendorSandbox
from sandbox.testing.controls import (
    ClockControls,
    FaultControls,
    JournalControls,
    RateLimitControls,
)
from sandbox.testing.transport import AsyncASGITransport, SyncASGITransport
from sandbox.testing.webhooks import InProcessWebhooks, WebhookControls, WebhooksHandle
from sandbox.vendors import VENDORS
from sandbox.webhooks.engine import Webhooks

# A remote sandbox runs this same package, so its vendors are these.
_BASE_PATHS = {v.name: v.base_path for v in VENDORS}
_ROUTES = {v.name: [r.name for r in v.routes] for v in VENDORS}

__all__ = [
    "IN_PROCESS_URL",
    "InProcessSandbox",
    "RemoteSandbox",
    "SandboxHandle",
    "SandboxUnavailable",
]

# The origin of an in-process sandbox. `.test` is reserved (RFC 2606) and never resolves, so a
# request that escapes to a real client fails at once instead of reaching some host.
IN_PROCESS_URL = "http://sandbox.test"


class SandboxUnavailable(Exception):
    """A sandbox over HTTP did not answer, or answered its control plane with an error."""


class SandboxHandle(ABC):
    """One sandbox, wherever it runs. Clients made by a handle are closed by `close()`, which
    the pytest plugin calls when the test (or, for the server, the session) ends."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._clients: list[httpx.Client | httpx.BaseTransport] = []

    @property
    @abstractmethod
    def vendors(self) -> Sequence[str]:
        """The names of the vendors mounted, e.g. ("retell", ...): the first path segment."""

    @property
    @abstractmethod
    def app(self) -> Starlette:
        """The ASGI app, for an in-process sandbox only."""

    @abstractmethod
    def keys(self, vendor: str, tenant: str | None = None) -> dict[str, str]:
        """The auth headers `tenant` (default: the fixtures' default tenant) sends to `vendor`."""

    @abstractmethod
    def reset(self, tenant: str | None = None) -> None:
        """Forget what clients did (created, updated, deleted calls): all tenants, or one."""

    @abstractmethod
    def transport(self) -> httpx.BaseTransport:
        """A transport for a sync httpx client of your own that reaches this sandbox."""

    @abstractmethod
    def async_transport(self) -> httpx.AsyncBaseTransport:
        """A transport for an `httpx.AsyncClient` of your own that reaches this sandbox."""

    @abstractmethod
    def _control(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """One request to the control plane: its JSON answer; ValueError when it refuses."""

    @cached_property
    def journal(self) -> JournalControls:
        """The requests the sandbox handled: `.entries(...)`, `.assert_called(...)`, `.clear()`."""
        return JournalControls(self._control, {v: _ROUTES.get(v, []) for v in self.vendors})

    @cached_property
    def clock(self) -> ClockControls:
        """The sandbox clock: `.advance(seconds=...)`, `.now()`."""
        return ClockControls(self._control)

    @cached_property
    def faults(self) -> FaultControls:
        """Fault rules: `.add(...)`, `.rules()`, `.remove(id)`, `.clear()`."""
        return FaultControls(self._control)

    @cached_property
    def rate_limits(self) -> RateLimitControls:
        """Rate limits per key: `.set(limit=, per_seconds=, ...)`, `.rules()`, `.clear()`."""
        return RateLimitControls(self._control)

    @cached_property
    def webhooks(self) -> WebhooksHandle:
        """Webhook subscriptions and the sink: `.subscribe(vendor, url=None)` (None: the sink),
        `.deliveries`, `.wait(count, event=..., call_id=...)`, `.attempts()`, `.clear()`."""
        return WebhookControls(self._control)

    def base_url(self, vendor: str) -> str:
        """What replaces the vendor's documented base URL (`https://api.callab.ai/v1` becomes
        `<url>/callab/v1`): the prefix to put before the paths its docs show."""
        return self.mount_url(vendor) + _BASE_PATHS.get(vendor, "")

    def mount_url(self, vendor: str) -> str:
        """The vendor's mount (`<url>/callab`): the prefix of the route paths in `Vendor.routes`."""
        self._check_vendor(vendor)
        return f"{self.url}/{vendor}"

    def httpx_client(self, **options: Any) -> httpx.Client:
        """An `httpx.Client` on this sandbox, with `base_url` set to its origin."""
        client = httpx.Client(**{"transport": self.transport(), "base_url": self.url, **options})
        self._clients.append(client)
        return client

    def httpx_async_client(self, **options: Any) -> httpx.AsyncClient:
        """An `httpx.AsyncClient` on this sandbox, with `base_url` set to its origin."""
        return httpx.AsyncClient(
            **{"transport": self.async_transport(), "base_url": self.url, **options}
        )

    def close(self) -> None:
        """Close the sync clients and transports this handle made."""
        clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def _check_vendor(self, vendor: str) -> None:
        if vendor not in self.vendors:
            raise ValueError(f"no vendor {vendor!r} here; choose one of {', '.join(self.vendors)}")


class InProcessSandbox(SandboxHandle):
    """A sandbox app in this process: its clients reach it over ASGI, with no socket."""

    def __init__(self, app: Starlette, url: str = IN_PROCESS_URL) -> None:
        super().__init__(url)
        self._app = app
        self._state: VendorSandbox = app.state.sandbox
        self._webhooks: Webhooks = app.state.webhooks

    @property
    def vendors(self) -> Sequence[str]:
        return tuple(self._state.vendors)

    @property
    def app(self) -> Starlette:
        return self._app

    def keys(self, vendor: str, tenant: str | None = None) -> dict[str, str]:
        self._check_vendor(vendor)
        tenants = self._state.tenants
        chosen = tenants.get(tenant or self._state.default_tenant.id)
        if chosen is None:
            raise ValueError(f"no tenant {tenant!r}; choose one of {', '.join(tenants)}")
        if vendor not in chosen.keys:
            raise ValueError(f"tenant {chosen.id!r} has no {vendor} keys in the fixtures")
        return self._state.credentials(vendor, chosen.id)

    def reset(self, tenant: str | None = None) -> None:
        if tenant is not None and tenant not in self._state.tenants:
            known = ", ".join(self._state.tenants)
            raise ValueError(f"no tenant {tenant!r}; choose one of {known}")
        self._state.reset(tenant)

    @cached_property
    def webhooks(self) -> WebhooksHandle:
        # The engine itself: the sink's waits wake on arrival instead of polling.
        return InProcessWebhooks(self._webhooks)

    def transport(self) -> httpx.BaseTransport:
        return SyncASGITransport(self._app)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        return AsyncASGITransport(app=self._app)

    def _control(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        token = self._state.settings.admin_token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = SyncASGITransport(self._app)
        with httpx.Client(transport=transport, base_url=self.url, timeout=None) as client:
            response = client.request(method, path, params=params, json=json, headers=headers)
        return _answer(response, self.url)


# A test sandbox needs no connection reuse, and without it no socket outlives its response, so
# an unclosed client leaks nothing (and raises no ResourceWarning in a strict test run).
_NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)
CONTROL_TIMEOUT_S = 10.0


class RemoteSandbox(SandboxHandle):
    """A sandbox in another process or thread, reached over HTTP at `url`."""

    def __init__(
        self, url: str, *, timeout: float = CONTROL_TIMEOUT_S, admin_token: str | None = None
    ) -> None:
        super().__init__(url)
        self.timeout = timeout
        self.admin_token = admin_token  # the server's --admin-token, if it has one
        self._vendors: tuple[str, ...] | None = None

    def health(self) -> dict[str, Any]:
        """GET /_sandbox/health: status, version, seed, vendors and tenants."""
        body: dict[str, Any] = self._control("GET", "/_sandbox/health")
        return body

    @property
    def vendors(self) -> Sequence[str]:
        if self._vendors is None:
            self._vendors = tuple(self.health()["vendors"])
        return self._vendors

    @property
    def app(self) -> Starlette:
        raise RuntimeError(
            f"the sandbox at {self.url} runs in another process, so it has no app here; use "
            "base_url(), keys() and the clients (sandbox_client, httpx_client()) instead"
        )

    def keys(self, vendor: str, tenant: str | None = None) -> dict[str, str]:
        self._check_vendor(vendor)
        params = {"tenant": tenant} if tenant is not None else {}
        found: dict[str, dict[str, str]] = self._control("GET", "/_sandbox/keys", params)
        if vendor not in found:
            who = "the default tenant" if tenant is None else f"tenant {tenant!r}"
            raise ValueError(f"{who} has no {vendor} keys in the sandbox's fixtures")
        return found[vendor]

    def reset(self, tenant: str | None = None) -> None:
        params = {"tenant": tenant} if tenant is not None else {}
        self._control("POST", "/_sandbox/reset", params)

    def transport(self) -> httpx.BaseTransport:
        transport = httpx.HTTPTransport(limits=_NO_KEEPALIVE)
        self._clients.append(transport)
        return transport

    def async_transport(self) -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport(limits=_NO_KEEPALIVE)

    def _control(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        transport = httpx.HTTPTransport(limits=_NO_KEEPALIVE)
        with httpx.Client(transport=transport, timeout=self.timeout) as client:
            try:
                response = client.request(
                    method, self.url + path, params=params, json=json, headers=headers
                )
            except httpx.HTTPError as error:
                raise SandboxUnavailable(
                    f"the sandbox at {self.url} did not answer {method} {path} ({error}); "
                    "is it running, and is the URL right?"
                ) from None
        return _answer(response, self.url)


def _answer(response: httpx.Response, url: str) -> Any:
    """A control-plane answer's JSON; its own errors as exceptions that say what to do."""
    request = response.request
    where = f"{request.method} {url}{request.url.path}"
    refusal = _refusal(response)
    if refusal is not None and response.status_code in (400, 404):
        raise ValueError(refusal)  # the control plane's own error: a bad argument
    if response.status_code == 401:
        raise SandboxUnavailable(
            f"{where} answered 401: the sandbox wants its admin token; pass "
            "--sandbox-admin-token (or set $SANDBOX_ADMIN_TOKEN) to pytest, or "
            "RemoteSandbox(url, admin_token=...)"
        )
    if not 200 <= response.status_code < 300:
        raise SandboxUnavailable(
            f"{where} answered {response.status_code}: {response.text[:200]}"
            " (is this URL a call-sandbox?)"
        )
    return response.json()


def _refusal(response: httpx.Response) -> str | None:
    """The message of the control plane's own error body (schemas/sandbox/error.json), or
    None when the body is not one (another server answered)."""
    try:
        body = response.json()
    except ValueError:
        return None
    message = body.get("message") if isinstance(body, dict) and "error" in body else None
    return message if isinstance(message, str) else None
