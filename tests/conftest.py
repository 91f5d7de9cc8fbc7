"""Shared fixtures of the sandbox's own tests: one app built from the embedded fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.state import Sandbox


@pytest.fixture
def app() -> Starlette:
    return create_app(Settings(raise_on_schema_error=True))


@pytest.fixture
def state(app: Starlette) -> Sandbox:
    sandbox: Sandbox = app.state.sandbox
    return sandbox


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client
