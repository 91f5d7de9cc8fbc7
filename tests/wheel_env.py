"""Building the wheel and installing it into fresh virtual environments, as a user (or the
container image) does. Slow, so the conftest builds each once per session."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# pip's words for "the package index cannot be reached from here", as opposed to a broken wheel.
_UNREACHABLE = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeoutError",
    "Read timed out",
    "ProxyError",
    "No matching distribution found",
    "Could not find a version that satisfies the requirement",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess that must not see this checkout or its settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SANDBOX_", "PYTEST_", "PYTHON", "VIRTUAL_ENV"))
    }
    return {**env, **extra}


def build_wheel(out: Path) -> Path:
    """`python -m build --wheel`; without isolation when the build backend is already here
    (no download needed), isolated otherwise."""
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)]
    if importlib.util.find_spec("hatchling") is not None:
        command.insert(4, "--no-isolation")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0 and any(sign in output for sign in _UNREACHABLE):
        pytest.skip(f"the build backend cannot be installed here: {_tail(output)}")
    assert result.returncode == 0, f"the wheel did not build:\n{output}"
    [wheel] = out.glob("call_sandbox-*.whl")
    return wheel


def make_venv(where: Path, *requirements: str) -> Path:
    """A fresh venv with `requirements` pip-installed (non-editable); returns its bin folder.
    Skips the test, saying why, only when pip cannot reach the package index."""
    subprocess.run(
        [sys.executable, "-m", "venv", str(where)], check=True, timeout=300, env=clean_env()
    )
    bin_dir = where / "bin"
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    result = subprocess.run(
        [*pip, *requirements],
        capture_output=True,
        text=True,
        timeout=900,
        env=clean_env(),
        check=False,
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        if any(sign in output for sign in _UNREACHABLE):
            pytest.skip(f"pip cannot install {' '.join(requirements)} here: {_tail(output)}")
        raise AssertionError(f"pip install failed:\n{output}")
    return bin_dir


def _tail(output: str) -> str:
    return " | ".join(output.strip().splitlines()[-3:])
