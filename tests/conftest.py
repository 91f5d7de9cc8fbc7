"""Shared fixtures of the sandbox's own tests: one app built from the embedded fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.dialect.vendor import VendorSandbox
from tests.redis_server import redis_server, redis_url  # noqa: F401  (the Redis store's tests)
from tests.wheel_env import build_wheel


@pytest.fixture
def app() -> Starlette:
    return create_app(Settings(raise_on_schema_error=True))


@pytest.fixture
def state(app: Starlette) -> VendorSandbox:
    sandbox: VendorSandbox = app.state.sandbox
    return sandbox


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once per session from this checkout."""
    return build_wheel(tmp_path_factory.mktemp("dist"))
