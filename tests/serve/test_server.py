"""`call-sandbox serve` as a developer (and the container) runs it: the banner, one log line per
request, a clean stop on SIGTERM, `--reload`; and the background server of the pytest plugin."""

from __future__ import annotations

import re
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest
from starlette.applications import Starlette

from sandbox import Settings, create_app
from sandbox.dialect.vendor import VendorSandbox
from sandbox.resources import fixtures_dir
from sandbox.serve.cli import banner, main
from sandbox.serve.server import BackgroundServer
from sandbox.vendors import VENDORS
from tests.servers import free_port, get_json, serve, wait_for

ACCESS_LINE = re.compile(r"^INFO: +(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) [\d.]+ms$")


def _get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_serve_prints_the_banner_logs_requests_and_stops_on_sigterm(
    tmp_path: Path, state: VendorSandbox
) -> None:
    with serve(tmp_path) as server:
        paths = []
        for vendor in VENDORS:
            keys = state.credentials(vendor.name)
            path = (
                f"/{vendor.name}{vendor.lookup_path(vendor.external_id(state.fixtures.pinned[0]))}"
            )
            status = _get(f"{server.url}{path}?api_key=leak&token=leak", keys)
            paths.append((path, status))
        code, seconds = server.terminate()
        assert code == 0
        assert seconds < 1.0
        stdout = server.stdout()
    first = stdout.splitlines()[0]
    assert first == f"call-sandbox 0.1.0  seed {state.fixtures.seed}  fixtures {fixtures_dir()}"
    for vendor in VENDORS:
        assert (
            f"{vendor.title:<12} {server.url}/{vendor.name}{vendor.base_path}"
            f"  (for {vendor.docs_base_url})" in stdout
        )
        for header, value in state.credentials(vendor.name).items():
            assert f"{header}: {value}" in stdout
    access = [m for m in map(ACCESS_LINE.match, stdout.splitlines()) if m]
    assert [(m["method"], m["path"], int(m["status"])) for m in access[1:]] == [
        ("GET", path, status) for path, status in paths
    ]
    assert (access[0]["path"], access[0]["status"]) == ("/_sandbox/health", "200")
    secrets = [v for vendor in VENDORS for v in state.credentials(vendor.name).values()]
    for match in access:
        assert "leak" not in match.group(0)
        assert not any(secret.split()[-1] in match.group(0) for secret in secrets)


def test_no_access_log(tmp_path: Path) -> None:
    with serve(tmp_path, "--no-access-log") as server:
        get_json(server.url + "/_sandbox/health")
        assert server.terminate()[0] == 0
        assert not [line for line in server.stdout().splitlines() if ACCESS_LINE.match(line)]


def test_reload_serves_changed_fixtures(tmp_path: Path) -> None:
    folder = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), folder)
    with serve(tmp_path / "logs", "--reload", "--fixtures", str(folder)) as server:
        assert get_json(server.url + "/_sandbox/health")["seed"] == 20260320
        assert f"reload: watching {folder} for fixture changes" in server.stdout()
        main_file = folder / "sandbox.yaml"
        main_file.write_text(main_file.read_text().replace("seed: 20260320", "seed: 31337"))

        def reloaded() -> bool:
            return bool(get_json(server.url + "/_sandbox/health")["seed"] == 31337)

        wait_for(reloaded, 20.0, "the new seed to be served")
        assert server.terminate()[0] == 0
    assert "fixtures changed in" in server.output()


def test_serve_rejects_an_unknown_vendor_before_listening(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--vendor", "twilio", "--port", str(free_port())]) == 2
    assert "--vendor 'twilio': choose one of retell" in capsys.readouterr().err


def test_serve_on_a_busy_port_fails_before_the_banner(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""  # no banner: nothing claims to listen
    assert captured.err == (
        f"call-sandbox: cannot listen on 127.0.0.1:{port} (Address already in use): is another "
        "sandbox running there? Stop it, or choose another --port\n"
    )


def test_healthcheck(capsys: pytest.CaptureFixture[str], app: Starlette) -> None:
    with BackgroundServer(app) as server:
        assert main(["healthcheck", "--url", server.url]) == 0
        assert capsys.readouterr().out == f"healthy: {server.url}/_sandbox/health\n"
    closed = f"http://127.0.0.1:{free_port()}"
    assert main(["healthcheck", "--url", closed, "--timeout", "1"]) == 1
    assert capsys.readouterr().err.startswith(f"unhealthy: {closed}/_sandbox/health: ")


def test_banner_for_a_server_listening_everywhere(state: VendorSandbox) -> None:
    text = banner(state, "0.0.0.0", 8080)
    assert f"http://127.0.0.1:8080/{VENDORS[0].name}" in text
    assert "0.0.0.0" not in text
    assert text.splitlines()[-1] == (
        "control: http://127.0.0.1:8080/_sandbox/health  /_sandbox/reset  /_sandbox/keys"
    )


def test_banner_names_the_vendor_served_at_the_root() -> None:
    vendor = VENDORS[0]
    rooted: VendorSandbox = create_app(Settings(vendor_at_root=vendor.name)).state.sandbox
    assert f"{vendor.title} is also served at http://127.0.0.1:9/" in banner(rooted, "127.0.0.1", 9)


def test_background_server_binds_an_ephemeral_port_and_stops(app: Starlette) -> None:
    server = BackgroundServer(app).start()
    try:
        port = int(server.url.rsplit(":", 1)[1])
        assert port > 0
        assert get_json(server.url + "/_sandbox/health")["status"] == "ok"
    finally:
        server.stop()
    assert not server._thread.is_alive()
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_background_server_says_when_it_cannot_start(app: Starlette) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"could not start on 127.0.0.1:{port}"):
            BackgroundServer(app, port=port).start()
