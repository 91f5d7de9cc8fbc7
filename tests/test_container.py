"""The container image's contract, tested without a container runtime (none can run here).

The Dockerfile is read, not assumed: its ENTRYPOINT and HEALTHCHECK commands are taken from the
file and run exactly, from a fresh venv where the wheel is installed non-editable as the image
installs it, in an empty folder so that every byte served comes from the wheel's own data.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
from fnmatch import fnmatch
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from sandbox.dialect.vendor import VendorSandbox
from sandbox.testing.transport import SyncASGITransport
from sandbox.vendors import VENDORS
from tests.servers import Served, free_port, served, wait_for
from tests.wheel_env import ROOT, clean_env, make_venv

IMAGE_PORT = 8080


def instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip().removesuffix("\\")
        if not line.rstrip().endswith("\\"):
            logical.append(pending)
            pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1].strip()) for text in logical]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    start = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[start:]


def exec_form(name: str) -> list[str]:
    """The JSON (exec form) command of ENTRYPOINT, or of HEALTHCHECK's CMD."""
    [arguments] = [args for step, args in final_stage() if step == name]
    if name == "HEALTHCHECK":
        arguments = arguments.split("CMD", 1)[1]
    command = json.loads(arguments)
    assert isinstance(command, list)
    return [str(part) for part in command]


def test_the_base_image_is_a_build_argument() -> None:
    steps = instructions()
    assert steps[0][0] == "ARG"
    name, _, default = steps[0][1].partition("=")
    assert name == "BASE_IMAGE"
    assert re.fullmatch(r"python:3\.1[1-9]-slim", default), default
    froms = [args for step, args in steps if step == "FROM"]
    assert froms
    assert all(args.split()[0] == "${BASE_IMAGE}" for args in froms)


def test_the_final_stage_installs_the_wheel_and_runs_unprivileged() -> None:
    stage = final_stage()
    runs = " ".join(args for step, args in stage if step == "RUN")
    installs = re.findall(r"pip install ([^&]+)", runs)
    assert installs
    assert all(".whl" in line for line in installs)
    assert not any(flag in runs for flag in (" -e ", "--editable"))
    [user] = [args for step, args in stage if step == "USER"]
    assert user not in ("root", "0")
    assert ("EXPOSE", str(IMAGE_PORT)) in stage
    everything = " ".join(args for _, args in instructions())
    assert "curl" not in everything
    assert "wget" not in everything


def image_extras() -> list[str]:
    """The extras the image installs with the wheel: `"$(echo /tmp/dist/*.whl)[a,b]"`."""
    runs = " ".join(args for step, args in final_stage() if step == "RUN")
    found = re.search(r"\.whl\)\[([\w,-]+)\]", runs)
    assert found, "the image installs the wheel without extras"
    return found.group(1).split(",")


def test_the_image_has_the_fast_parser_and_the_redis_client() -> None:
    # uvloop and httptools: the speed the benchmark reports; redis: replicas of the image can
    # share one store.
    assert sorted(image_extras()) == ["fast", "redis"]


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory, built_wheel: Path) -> Path:
    """A fresh venv holding the wheel, its dependencies and the image's extras only, as the
    image installs them; returns its bin folder."""
    requirement = f"{built_wheel}[{','.join(image_extras())}]"
    return make_venv(tmp_path_factory.mktemp("image-venv") / "venv", requirement)


def test_entrypoint_and_healthcheck_are_the_sandbox_itself() -> None:
    host_port = ["--host", "0.0.0.0", "--port", str(IMAGE_PORT)]
    assert exec_form("ENTRYPOINT") == ["call-sandbox", "serve", *host_port]
    assert exec_form("HEALTHCHECK")[:2] == ["call-sandbox", "healthcheck"]
    [healthcheck] = [args for step, args in final_stage() if step == "HEALTHCHECK"]
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", healthcheck.split("CMD", 1)[0]))
    assert set(options) == {"interval", "timeout", "start-period", "retries"}


def test_the_build_context_keeps_what_the_image_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def kept(path: str) -> bool:
        verdict = True
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern.removeprefix("!").rstrip("/")
            if fnmatch(path, bare) or path.startswith(bare + "/"):
                verdict = negated
        return verdict

    copied = [
        source
        for step, args in instructions()
        if step == "COPY" and not args.startswith("--from")
        for source in shlex.split(args)[:-1]
    ]
    assert {"pyproject.toml", "sandbox", "fixtures", "schemas"} <= set(copied)
    for source in copied:
        assert kept(source), f"COPY {source}: excluded by .dockerignore"
    assert not kept("tests/test_container.py")
    assert not kept(".git/HEAD")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _healthcheck(command: list[str], bin_dir: Path, cwd: Path) -> int:
    env = clean_env(PATH=f"{bin_dir}:{clean_env()['PATH']}")
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=30).returncode


def test_the_image_command_serves_the_wheel_and_stops_on_sigterm(
    wheel_venv: Path, tmp_path: Path, app: Starlette, state: VendorSandbox
) -> None:
    entrypoint, healthcheck = exec_form("ENTRYPOINT"), exec_form("HEALTHCHECK")
    port = IMAGE_PORT
    if not _port_free(IMAGE_PORT):
        # Something else on this machine holds 8080. `docker run IMAGE --port N` appends to
        # the ENTRYPOINT in just this way; the health check is pointed at the same port.
        port = free_port()
        entrypoint += ["--port", str(port)]
        healthcheck += ["--url", f"http://127.0.0.1:{port}"]
    empty = tmp_path / "workdir"
    empty.mkdir()
    assert _healthcheck(healthcheck, wheel_venv, empty) != 0  # nothing is serving yet

    data = subprocess.run(
        [
            str(wheel_venv / "python"),
            "-c",
            "import sandbox.resources as r; print(r.data_dir('fixtures'))",
        ],
        cwd=empty,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(data).is_relative_to(wheel_venv.parent), data  # the wheel's copy, not ours
    extras = [str(wheel_venv / "python"), "-c", "import httptools, redis.asyncio, uvloop"]
    assert subprocess.run(extras, cwd=empty, env=clean_env(), timeout=60).returncode == 0

    env = clean_env(PATH=f"{wheel_venv}:{clean_env()['PATH']}")
    argv = [str(wheel_venv / entrypoint[0]), *entrypoint[1:]]
    url = f"http://127.0.0.1:{port}"
    with served(argv, url=url, logs=tmp_path / "logs", cwd=empty, env=env) as server:
        wait_for(
            lambda: _alive(server) and _healthcheck(healthcheck, wheel_venv, empty) == 0,
            30.0,
            "the HEALTHCHECK command to pass",
        )
        assert f"fixtures {data}" in server.stdout().splitlines()[0]
        reference = httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox.test")
        with reference, httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
            for vendor in VENDORS:
                call = next(c for c in state.fixtures.pinned if c.tenant == state.default_tenant.id)
                path = f"/{vendor.name}{vendor.lookup_path(vendor.external_id(call))}"
                keys = state.credentials(vendor.name)
                answer = client.get(path, headers=keys)
                assert answer.status_code == 200, answer.text
                assert answer.content == reference.get(path, headers=keys).content
        code, seconds = server.terminate()
        assert code == 0, server.output()
        assert seconds < 1.0
        assert "GET /_sandbox/health 200 " in server.stdout()
    assert _healthcheck(healthcheck, wheel_venv, empty) != 0


def _alive(server: Served) -> bool:
    assert server.process.poll() is None, f"the server exited:\n{server.output()}"
    return True
