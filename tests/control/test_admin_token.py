"""`--admin-token`: every /_sandbox endpoint but health and ready wants `Authorization: Bearer`
(401 in the sandbox's own shape otherwise); no vendor mount reaches the control plane; the
handles and the pytest plugin send the token."""

from __future__ import annotations

from collections.abc import Iterator

# httpx imports httpcore lazily, and pytester unloads modules first imported by an inner run:
# httpx would then keep mapping the exceptions of an unloaded httpcore. Import it out here.
import httpcore  # noqa: F401
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.control.admin import MESSAGE
from sandbox.control.routes import declared
from sandbox.errors import RouteNotFound, Unauthorized
from sandbox.serve.cli import parser
from sandbox.serve.server import BackgroundServer
from sandbox.testing.handles import InProcessSandbox, RemoteSandbox, SandboxUnavailable
from sandbox.vendors import VENDORS

pytest_plugins = ["pytester"]

TOKEN = "adm-7c1e9f"
UNAUTHORIZED = {"error": "unauthorized", "message": MESSAGE}


@pytest.fixture(scope="module")
def guarded() -> Starlette:
    return create_app(Settings(admin_token=TOKEN, raise_on_schema_error=True))


@pytest.fixture
def guarded_client(guarded: Starlette) -> Iterator[TestClient]:
    with TestClient(guarded) as client:
        client.post("/_sandbox/reset", headers={"Authorization": f"Bearer {TOKEN}"})
        yield client


def test_every_control_endpoint_but_health_wants_the_token(
    guarded: Starlette, guarded_client: TestClient
) -> None:
    routes = declared(guarded.state.sandbox, guarded.state.webhooks)
    for route in routes:
        path = "/_sandbox" + route.path.replace("{id}", "1")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = guarded_client.request(route.method, path, headers=headers)
            if route.public:
                assert response.status_code == 200, path
                continue
            assert response.status_code == 401, (route.method, path, headers)
            assert response.json() == UNAUTHORIZED
            assert response.headers["www-authenticate"] == 'Bearer realm="call-sandbox"'
            assert response.headers["content-type"] == "application/json"
        allowed = guarded_client.request(
            route.method, path, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert allowed.status_code != 401, path
    guarded.state.sandbox.schemas.check("sandbox/error.json", UNAUTHORIZED)
    assert {r.path for r in routes if r.public} == {"/health", "/ready"}


def test_the_whole_prefix_is_guarded(guarded_client: TestClient) -> None:
    for path in ("/_sandbox/openapi/retell.json", "/_sandbox/no-such-thing", "/_sandbox"):
        assert guarded_client.get(path).status_code == 401, path


@pytest.mark.parametrize("token", [None, TOKEN])
def test_no_vendor_mount_reaches_the_control_plane(token: str | None) -> None:
    app = create_app(Settings(admin_token=token, raise_on_schema_error=True))
    state = app.state.sandbox
    with TestClient(app) as client:
        for vendor in VENDORS:
            path = f"/{vendor.name}{vendor.base_path}/_sandbox/reset"
            keyed = client.post(path, headers=state.credentials(vendor.name))
            expected = vendor.render_error(RouteNotFound("POST", "/_sandbox/reset"))
            assert (keyed.status_code, keyed.json().keys()) == (
                expected.status,
                expected.body.keys(),
            )
            assert keyed.headers["content-type"] == vendor.content_type
            bare = client.post(path)
            assert bare.json() == vendor.render_error(Unauthorized("x")).body


def test_vendors_need_only_their_own_keys(guarded_client: TestClient, guarded: Starlette) -> None:
    state = guarded.state.sandbox
    vendor = VENDORS[0]
    call = state.fixtures.pinned[0]
    path = f"/{vendor.name}{vendor.lookup_path(vendor.external_id(call))}"
    assert guarded_client.get(path, headers=state.credentials(vendor.name)).status_code == 200


def test_the_handles_send_the_token(guarded: Starlette) -> None:
    in_process = InProcessSandbox(guarded)
    in_process.reset()
    assert in_process.faults.add(type="drop")["id"] == 1
    with BackgroundServer(guarded) as server:
        remote = RemoteSandbox(server.url, admin_token=TOKEN)
        assert remote.faults.rules()[0]["fault"] == {"type": "drop"}
        remote.reset()
        assert remote.journal.entries() == []
        anonymous = RemoteSandbox(server.url)
        assert anonymous.vendors == tuple(v.name for v in VENDORS)  # health is open
        with pytest.raises(SandboxUnavailable, match="--sandbox-admin-token"):
            anonymous.reset()
        remote.close()
        anonymous.close()


def test_the_cli_takes_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDBOX_ADMIN_TOKEN", raising=False)
    assert parser().parse_args(["serve"]).admin_token is None
    assert parser().parse_args(["serve", "--admin-token", "t"]).admin_token == "t"
    monkeypatch.setenv("SANDBOX_ADMIN_TOKEN", "from-env")
    assert parser().parse_args(["serve"]).admin_token == "from-env"


def test_the_plugin_passes_the_token(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, guarded: Starlette
) -> None:
    for name in ("SANDBOX_SEED", "SANDBOX_FIXTURES", "SANDBOX_URL", "SANDBOX_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(
        """
        def test_controls(sandbox):
            sandbox.faults.add(type="status", status=503, vendor="retell")
            assert sandbox.faults.rules()[0]["id"] == 1
            sandbox.journal.assert_not_called(vendor="retell")
        """
    )
    with BackgroundServer(guarded) as server:
        args = ["-W", "error", "-p", "no:cacheprovider", "--sandbox-url", server.url]
        pytester.runpytest(*args, "--sandbox-admin-token", TOKEN).assert_outcomes(passed=1)
        monkeypatch.setenv("SANDBOX_ADMIN_TOKEN", TOKEN)
        pytester.runpytest(*args).assert_outcomes(passed=1)
        monkeypatch.delenv("SANDBOX_ADMIN_TOKEN")
        result = pytester.runpytest(*args)
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*wants its admin token*--sandbox-admin-token*"])
