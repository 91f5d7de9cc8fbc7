"""The plugin as a user meets it: the wheel built from this checkout, installed into a fresh
venv with pip (no editable install, no checkout on the path), and a tiny separate project whose
tests use the `sandbox` fixtures with the Retell SDK and httpx. Nothing else is configured:
the `pytest11` entry point is all it takes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sandbox import __version__
from tests.wheel_env import clean_env, make_venv

USER_TEST = '''
"""A user's project: their own test, the sandbox fixture, the Retell SDK and httpx."""

import httpx
import pytest
import retell
from retell import AsyncRetell, Retell

DOCS_CALL = "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"  # the call in Retell's API reference
CREATED = []


def api_key(sandbox):
    return sandbox.keys("retell")["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def client(sandbox):
    return Retell(
        api_key=api_key(sandbox),
        base_url=sandbox.base_url("retell"),
        http_client=sandbox.httpx_client(),
        max_retries=0,
    )


def test_the_docs_call(client):
    call = client.call.retrieve(DOCS_CALL)
    assert call.call_id == DOCS_CALL
    assert call.agent_id == "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"


def test_1_create_a_call(client):
    created = client.call.create_phone_call(from_number="+14155550142", to_number="+12125550101")
    assert client.call.retrieve(created.call_id).call_id == created.call_id
    CREATED.append(created.call_id)


def test_2_each_test_starts_clean(client):
    [earlier] = CREATED
    with pytest.raises(retell.APIStatusError, match="Cannot find requested asset"):
        client.call.retrieve(earlier)


def test_a_wrong_key(sandbox):
    stranger = Retell(
        api_key="key_wrong", base_url=sandbox.base_url("retell"), http_client=sandbox.httpx_client()
    )
    with pytest.raises(retell.AuthenticationError):
        stranger.call.retrieve(DOCS_CALL)


def test_httpx_against_the_server(sandbox_server):
    response = httpx.get(
        f"{sandbox_server.base_url('retell')}/v2/get-call/{DOCS_CALL}",
        headers=sandbox_server.keys("retell"),
    )
    assert response.status_code == 200
    assert response.json()["call_id"] == DOCS_CALL


@pytest.mark.anyio
async def test_the_async_sdk(sandbox):
    client = AsyncRetell(
        api_key=api_key(sandbox),
        base_url=sandbox.base_url("retell"),
        http_client=sandbox.httpx_async_client(),
    )
    call = await client.call.retrieve(DOCS_CALL)
    assert call.call_id == DOCS_CALL
'''


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory, built_wheel: Path) -> Path:
    # What a user's project adds: the sandbox, their vendor SDK and pytest. httpx comes with
    # the sandbox (and the SDK); the anyio pytest plugin comes with anyio.
    where = tmp_path_factory.mktemp("user-venv") / "venv"
    return make_venv(where, str(built_wheel), "retell-sdk==6.2.13", "pytest==9.2.0")


def test_a_user_project_uses_the_plugin_from_the_wheel(user_venv: Path, tmp_path: Path) -> None:
    project = tmp_path / "their-project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_calls.py").write_text(USER_TEST)
    (project / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\naddopts = "-p no:cacheprovider"\n'
    )
    result = subprocess.run(
        [str(user_venv / "python"), "-m", "pytest", "-v", "-ra"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert (
        f"call-sandbox {__version__}: seed 20260320 (replay: --sandbox-seed 20260320), " in output
    )
    [plugins] = [line for line in output.splitlines() if line.startswith("plugins: ")]
    assert f"call-sandbox-{__version__}" in plugins
    assert " 6 passed" in output, output
    located = subprocess.run(
        [str(user_venv / "python"), "-c", "import sandbox; print(sandbox.__file__)"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(located).is_relative_to(user_venv.parent), located
