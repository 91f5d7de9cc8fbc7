"""The pytest plugin: `pip install call-sandbox` and a test can ask for the sandbox.

Registered through `[project.entry-points.pytest11]`, as pytest-httpx is. Fixtures:

- `sandbox`: the handle (`sandbox.testing.SandboxHandle`): `.app`, `.base_url(vendor)`,
  `.keys(vendor)`, `.reset()`, and `.httpx_client()` / `.transport()` for vendor SDKs.
- `sandbox_client`: an `httpx.Client` on the sandbox, in-process (no socket).
- `sandbox_async_client`: an `httpx.AsyncClient` over `httpx.ASGITransport`.
- `sandbox_server`: a real uvicorn on an ephemeral 127.0.0.1 port, once per session, serving
  the current test's sandbox; for clients that need a URL (requests, a subprocess, an SDK
  without a transport hook).

Every test that uses one of them starts from a clean sandbox: calls created, updated or deleted
by an earlier test are gone; the generated population is as seeded. The sandbox is built from
the embedded fixtures and their seed unless `@pytest.mark.sandbox(seed=..., fixtures=...)`,
`--sandbox-seed` / `--sandbox-fixtures` or `SANDBOX_SEED` / `SANDBOX_FIXTURES` say otherwise
(marker > command line > environment > fixtures). `--sandbox-url` / `SANDBOX_URL` points every
fixture at a sandbox running elsewhere (a CI service container), reset between tests;
`--sandbox-admin-token` / `SANDBOX_ADMIN_TOKEN` is the token that sandbox's control plane wants.

Under the plugin a body that breaks its own schema raises instead of answering a 500, so a
sandbox bug fails the test that met it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from sandbox.app import create_app
from sandbox.calls.fixtures import FixtureError
from sandbox.resources import fixtures_dir
from sandbox.settings import Settings
from sandbox.testing.handles import (
    InProcessSandbox,
    RemoteSandbox,
    SandboxHandle,
    SandboxUnavailable,
)
from sandbox.version import __version__

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from sandbox.serve.switch import Switch

ENV_SEED = "SANDBOX_SEED"
ENV_FIXTURES = "SANDBOX_FIXTURES"
ENV_URL = "SANDBOX_URL"
ENV_ADMIN_TOKEN = "SANDBOX_ADMIN_TOKEN"
MARKER = "sandbox"
_MARKER_OPTIONS = ("seed", "fixtures")


@dataclass(frozen=True, slots=True)
class Options:
    """The session's choices: command line over environment; None means the default."""

    seed: int | None
    fixtures: Path | None
    url: str | None
    admin_token: str | None = None


@dataclass(slots=True)
class _Session:
    options: Options
    apps: dict[Settings, Starlette] = field(default_factory=dict)
    switch: Switch | None = None  # set while the session's background server runs
    current: Starlette | None = None  # the running test's in-process sandbox
    remote_seed: int | None = None

    def settings(self, seed: int | None, fixtures: Path | None) -> Settings:
        return Settings(fixtures=fixtures, seed=seed, raise_on_schema_error=True)

    def app(self, settings: Settings) -> Starlette:
        """One app per distinct settings for the whole session (building one takes a while);
        each test resets it instead."""
        if settings not in self.apps:
            try:
                self.apps[settings] = create_app(settings)
            except FixtureError as error:
                pytest.fail(f"call-sandbox: fixture error: {error}", pytrace=False)
        return self.apps[settings]


_SESSION = pytest.StashKey[_Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("call-sandbox", "call-sandbox (the voice-call API sandbox)")
    group.addoption(
        "--sandbox-seed",
        type=int,
        metavar="N",
        help=f"seed of the generated calls (default: ${ENV_SEED}, else the fixtures' seed)",
    )
    group.addoption(
        "--sandbox-fixtures",
        metavar="DIR",
        help=f"fixtures folder (default: ${ENV_FIXTURES}, else the embedded fixtures)",
    )
    group.addoption(
        "--sandbox-url",
        metavar="URL",
        help=f"use the sandbox running at URL (e.g. a CI service container) for every fixture, "
        f"resetting it between tests (default: ${ENV_URL}, else run it in-process)",
    )
    group.addoption(
        "--sandbox-admin-token",
        metavar="TOKEN",
        help=f"the admin token of the sandbox at --sandbox-url, sent to its control plane "
        f"(default: ${ENV_ADMIN_TOKEN})",
    )


def _options(config: pytest.Config) -> Options:
    seed: int | None = config.getoption("sandbox_seed")
    if seed is None and os.environ.get(ENV_SEED, "").strip():
        raw = os.environ[ENV_SEED].strip()
        try:
            seed = int(raw)
        except ValueError:
            raise pytest.UsageError(f"{ENV_SEED}={raw!r}: give an integer seed") from None
    fixtures_option = config.getoption("sandbox_fixtures") or os.environ.get(ENV_FIXTURES) or None
    fixtures = None
    if fixtures_option:
        fixtures = Path(fixtures_option)
        if not fixtures.is_absolute():
            fixtures = config.invocation_params.dir / fixtures
    url = config.getoption("sandbox_url") or os.environ.get(ENV_URL) or None
    if url is not None:
        if not url.startswith(("http://", "https://")):
            raise pytest.UsageError(f"--sandbox-url {url!r}: give an http:// or https:// URL")
        if fixtures is not None:
            raise pytest.UsageError(
                "--sandbox-fixtures (or $SANDBOX_FIXTURES) cannot apply to the sandbox at "
                f"{url}: start that one with `call-sandbox serve --fixtures DIR` instead"
            )
        url = url.rstrip("/")
    token = config.getoption("sandbox_admin_token") or os.environ.get(ENV_ADMIN_TOKEN) or None
    return Options(seed=seed, fixtures=fixtures, url=url, admin_token=token)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(seed=None, fixtures=None): build this test's sandbox with this seed and/or "
        "fixtures folder (a relative folder is relative to the test file)",
    )
    config.stash[_SESSION] = _Session(_options(config))


def _declared_seed(fixtures: Path | None) -> str:
    """The seed a fixtures folder declares, read without building a sandbox."""
    import yaml

    path = fixtures_dir(fixtures) / "sandbox.yaml"
    try:
        seed = yaml.safe_load(path.read_text(encoding="utf-8"))["seed"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        return f"unknown ({path}: {error})"
    return str(seed)


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = config.stash[_SESSION].options
    if options.url is not None:
        try:
            probe = RemoteSandbox(options.url, timeout=2.0, admin_token=options.admin_token)
            seed = str(probe.health()["seed"])
        except (SandboxUnavailable, ValueError, KeyError) as error:
            seed = f"unknown ({error})"
        where = f"the sandbox at {options.url}"
    else:
        seed = str(options.seed) if options.seed is not None else _declared_seed(options.fixtures)
        where = f"in-process, fixtures {options.fixtures or fixtures_dir()}"
    replay = f" (replay: --sandbox-seed {seed})" if seed.isdigit() else ""
    return [f"call-sandbox {__version__}: seed {seed}{replay}, {where}"]


def _marker_choices(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return {}
    if marker.args:
        pytest.fail(
            f"@pytest.mark.{MARKER} takes keywords only: seed=..., fixtures=...", pytrace=False
        )
    unknown = sorted(set(marker.kwargs) - set(_MARKER_OPTIONS))
    if unknown:
        pytest.fail(
            f"@pytest.mark.{MARKER}: unknown option(s) {', '.join(unknown)}; "
            "use seed= or fixtures=",
            pytrace=False,
        )
    choices = dict(marker.kwargs)
    seed = choices.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        pytest.fail(f"@pytest.mark.{MARKER}(seed={seed!r}): give an integer", pytrace=False)
    fixtures = choices.get("fixtures")
    if fixtures is not None:
        folder = Path(fixtures)
        choices["fixtures"] = folder if folder.is_absolute() else request.path.parent / folder
    return choices


def _remote(session: _Session, url: str, choices: dict[str, Any]) -> RemoteSandbox:
    handle = RemoteSandbox(url, admin_token=session.options.admin_token)
    if "fixtures" in choices and choices["fixtures"] is not None:
        pytest.fail(
            f"this test asks for fixtures {choices['fixtures']}, which the sandbox at {url} "
            "cannot load; run it in-process (without --sandbox-url)",
            pytrace=False,
        )
    wanted = choices.get("seed", session.options.seed)
    try:
        if wanted is not None:
            if session.remote_seed is None:
                session.remote_seed = int(handle.health()["seed"])
            if wanted != session.remote_seed:
                pytest.fail(
                    f"this test asks for seed {wanted}, but the sandbox at {url} runs seed "
                    f"{session.remote_seed}; start it with `call-sandbox serve --seed {wanted}`",
                    pytrace=False,
                )
        handle.reset()
    except SandboxUnavailable as error:
        pytest.fail(f"call-sandbox: {error}", pytrace=False)
    return handle


@pytest.fixture
def _sandbox_current(request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    """This test's sandbox, reset once, before anything of the test's touches it."""
    session = request.config.stash[_SESSION]
    choices = _marker_choices(request)
    handle: SandboxHandle
    if session.options.url is not None:
        handle = _remote(session, session.options.url, choices)
    else:
        seed = choices.get("seed", session.options.seed)
        fixtures = choices.get("fixtures", session.options.fixtures)
        handle = InProcessSandbox(session.app(session.settings(seed, fixtures)))
        handle.reset()
        session.current = handle.app
        if session.switch is not None:
            session.switch.app = handle.app
            session.switch.take_errors()
    yield handle
    session.current = None
    handle.close()
    switch = session.switch
    errors = switch.take_errors() if switch is not None else []
    if errors:
        listed = "; ".join(f"{type(e).__name__}: {e}" for e in errors)
        pytest.fail(f"the sandbox server raised while serving this test: {listed}", pytrace=False)


@pytest.fixture(autouse=True)
def _sandbox_autoreset(request: pytest.FixtureRequest) -> None:
    """Resets the sandbox for every test that reaches it (through `sandbox`, a client, or
    `sandbox_server`, directly or through the test's own fixtures), and for no other test."""
    if {"_sandbox_current", "sandbox_server"} & set(request.fixturenames):
        request.getfixturevalue("_sandbox_current")


@pytest.fixture
def sandbox(_sandbox_current: SandboxHandle) -> SandboxHandle:
    """The sandbox of this test: `.app`, `.base_url(vendor)`, `.keys(vendor)`, `.reset()`."""
    return _sandbox_current


@pytest.fixture
def sandbox_client(sandbox: SandboxHandle) -> httpx.Client:
    """An `httpx.Client` on the sandbox (in-process, no socket); `base_url` is its origin."""
    return sandbox.httpx_client()


@pytest.fixture
def sandbox_async_client(sandbox: SandboxHandle) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` on the sandbox (over `httpx.ASGITransport` in-process)."""
    return sandbox.httpx_async_client()


@pytest.fixture(scope="session")
def sandbox_server(request: pytest.FixtureRequest) -> Iterator[RemoteSandbox]:
    """A real HTTP server on 127.0.0.1 (ephemeral port) serving the current test's sandbox:
    `.url`, `.base_url(vendor)`, `.keys(vendor)`, `.reset()`. One per session; each test that
    uses it starts from a clean sandbox. With --sandbox-url it is that sandbox instead."""
    session = request.config.stash[_SESSION]
    if session.options.url is not None:
        remote = RemoteSandbox(session.options.url, admin_token=session.options.admin_token)
        yield remote
        remote.close()
        return
    from sandbox.serve.server import BackgroundServer
    from sandbox.serve.switch import Switch

    options = session.options
    # Started from inside a test (getfixturevalue), it serves that test's sandbox at once.
    app = session.current or session.app(session.settings(options.seed, options.fixtures))
    switch = Switch(app)
    with BackgroundServer(switch) as server:
        session.switch = switch
        handle = RemoteSandbox(server.url)
        try:
            yield handle
        finally:
            session.switch = None
            handle.close()
