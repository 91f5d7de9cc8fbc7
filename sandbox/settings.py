"""How one sandbox is configured. The CLI, the container and the pytest plugin all build one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    fixtures: Path | None = None  # None: the fixtures embedded in the package
    seed: int | None = None  # None: the fixtures' own seed
    vendor_at_root: str | None = None  # also serve this vendor at "/", for hard-coded paths
    raise_on_schema_error: bool = False  # the pytest plugin sets it, so sandbox bugs fail tests
    max_body_bytes: int = 1_048_576
    # Slow clients (*inferred*; Node's own limits, 60 s for a head and 300 s for a request,
    # are longer than a test should wait): a request's head must be complete within
    # `header_timeout_s` of its first byte (or of the connection opening), or the connection
    # is closed; a body that stalls for `body_timeout_s` gets the vendor's 408, and the
    # connection is closed.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    open_tenancy: bool = False  # any well-formed key gets a tenant of its own
    time_scale: float = 0.0  # 0: the clock moves only when advanced; 60: a minute per second
    prefer: bool = True  # honour `Prefer: code=|delay=|scenario=` (--no-prefer turns it off)
    admin_token: str | None = None  # when set, /_sandbox (but health, ready) needs this Bearer
    access_log: bool = True  # one `sandbox.access` log line per request (method, path, status, ms)
    # Webhooks: retries after a failed delivery, the first back-off (doubling each time), and
    # how long one attempt waits for an answer (Retell's agent webhook_timeout_ms: 10000).
    webhook_retries: int = 3
    webhook_backoff_s: float = 0.2
    webhook_timeout_s: float = 10.0
    # Webhook URLs on link-local (169.254.0.0/16, fe80::/10) and cloud metadata addresses are
    # refused, so a client cannot aim the sandbox at its host's credentials
    # (sandbox.webhooks.urls); `--webhook-allow-link-local` lets them through.
    webhook_allow_link_local: bool = False
    # Where what clients change is kept: "memory" (this process) or a Redis URL shared by
    # every worker and replica (`--store`); and a file that keeps an in-memory store's
    # changes across restarts (`--state`: loaded at start, written at shutdown).
    store_url: str = "memory"
    state_file: Path | None = None
