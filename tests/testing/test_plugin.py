"""The pytest plugin as a user's project meets it, run with pytester: fixtures, the marker,
options, environment variables and their precedence, the report header, a clean sandbox for
every test, and --sandbox-url against a server started here."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

# httpx imports httpcore lazily, and pytester unloads modules first imported by an inner run:
# httpx would then keep mapping the exceptions of an unloaded httpcore. Import it out here.
import httpcore  # noqa: F401
import pytest
from starlette.applications import Starlette

from sandbox import __version__
from sandbox.dialect.vendor import VendorSandbox
from sandbox.resources import fixtures_dir
from sandbox.serve.server import BackgroundServer
from sandbox.store.backend import finish

pytest_plugins = ["pytester"]

# Helpers for the inner test files; nothing here names a vendor.
CONFTEST = """
import pytest
from sandbox.vendors import VENDORS


def _creating():
    return next((v, e) for v in VENDORS for e in v.examples if e.status == 201)


@pytest.fixture
def create_call():
    def create(client, handle):
        vendor, example = _creating()
        route = next(r for r in vendor.routes if r.name == example.route)
        response = client.request(
            route.method,
            handle.mount_url(vendor.name) + example.path,
            json=example.body,
            headers=handle.keys(vendor.name),
        )
        assert response.status_code == 201, response.text
        return response
    return create


def changes(app):
    return sum(app.state.sandbox.store.snapshot().values())
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in ("SANDBOX_SEED", "SANDBOX_FIXTURES", "SANDBOX_URL"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(CONFTEST)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The inner run is as strict as ours: warnings are errors, markers must be registered."""
    return pytester.runpytest(
        "-W", "error", "--strict-markers", "-p", "no:cacheprovider", "-ra", *args
    )


def _seed_folder(base: Path, seed: int) -> Path:
    target = base / f"fixtures-{seed}"
    shutil.copytree(fixtures_dir(), target)
    main = target / "sandbox.yaml"
    main.write_text(main.read_text().replace("seed: 20260320", f"seed: {seed}"))
    return target


def test_the_fixtures(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import json, urllib.request
        import httpx, pytest
        from sandbox.vendors import VENDORS

        def test_handle(sandbox):
            state = sandbox.app.state.sandbox
            assert state.settings.raise_on_schema_error
            for vendor in VENDORS:
                mount = "http://sandbox.test/" + vendor.name
                assert sandbox.mount_url(vendor.name) == mount
                assert sandbox.base_url(vendor.name) == mount + vendor.base_path
                assert sandbox.keys(vendor.name) == state.credentials(vendor.name)

        def test_sync_client(sandbox, sandbox_client):
            assert isinstance(sandbox_client, httpx.Client)
            for vendor in VENDORS:
                call = sandbox.app.state.sandbox.fixtures.pinned[0]
                path = vendor.lookup_path(vendor.external_id(call))
                response = sandbox_client.get(
                    sandbox.mount_url(vendor.name) + path, headers=sandbox.keys(vendor.name)
                )
                assert response.status_code == 200, response.text
                assert response.headers["content-type"] == vendor.content_type

        @pytest.mark.anyio
        async def test_async_client(sandbox_async_client):
            assert isinstance(sandbox_async_client, httpx.AsyncClient)
            response = await sandbox_async_client.get("/_sandbox/health")
            assert response.json()["vendors"] == [v.name for v in VENDORS]

        def test_server(sandbox_server):
            assert sandbox_server.url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(sandbox_server.url + "/_sandbox/keys") as answer:
                keys = json.load(answer)
            assert keys == {v.name: sandbox_server.keys(v.name) for v in VENDORS}
        """
    )
    run(project).assert_outcomes(passed=4)


def test_every_test_starts_from_a_clean_sandbox(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import httpx
        from conftest import changes

        def test_1_creates_in_process(sandbox, sandbox_client, create_call):
            create_call(sandbox_client, sandbox)
            assert changes(sandbox.app) == 1

        def test_2_clean_again(sandbox):
            assert changes(sandbox.app) == 0

        def test_3_creates_through_the_server(sandbox_server, create_call):
            with httpx.Client() as client:
                create_call(client, sandbox_server)
                create_call(client, sandbox_server)

        def test_4_the_server_is_clean_and_shares_the_test_sandbox(sandbox, sandbox_server):
            assert changes(sandbox.app) == 0
            with httpx.Client() as client:
                client.post(sandbox_server.url + "/_sandbox/reset")
            assert changes(sandbox.app) == 0

        def test_5_reset_by_hand(sandbox, sandbox_client, create_call):
            create_call(sandbox_client, sandbox)
            sandbox.reset()
            assert changes(sandbox.app) == 0
        """
    )
    run(project).assert_outcomes(passed=5)


def test_a_test_using_only_the_server_gets_it_reset(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import httpx, pytest
        from conftest import changes

        @pytest.fixture(scope="session")
        def service_url(sandbox_server):
            # A user's session fixture (say, their service in a subprocess) built on the URL.
            return sandbox_server.url

        def served_app(request):
            from sandbox.testing.plugin import _SESSION
            [app] = request.config.stash[_SESSION].apps.values()
            return app

        def test_1(service_url, sandbox_server, create_call, request):
            with httpx.Client() as client:
                create_call(client, sandbox_server)
            assert changes(served_app(request)) == 1

        def test_2(service_url, request):
            assert changes(served_app(request)) == 0
            with httpx.Client() as client:
                health = client.get(service_url + "/_sandbox/health").json()
            assert health["status"] == "ok"

        def test_3_not_using_it(request):
            assert changes(served_app(request)) == 0
        """
    )
    run(project).assert_outcomes(passed=3)


def test_the_marker_sets_seed_and_fixtures(project: pytest.Pytester) -> None:
    _seed_folder(project.path, 77)
    project.makepyfile(
        test_function_markers="""
        import httpx, pytest

        def seed(handle_or_server):
            with httpx.Client() as client:
                return client.get(handle_or_server.url + "/_sandbox/health").json()["seed"]

        @pytest.mark.sandbox(seed=5)
        def test_seed(sandbox, sandbox_server):
            assert sandbox.app.state.sandbox.fixtures.seed == 5
            assert seed(sandbox_server) == 5

        def test_default_again(sandbox, sandbox_server):
            assert sandbox.app.state.sandbox.fixtures.seed == 20260320
            assert seed(sandbox_server) == 20260320

        @pytest.mark.sandbox(fixtures="fixtures-77")
        def test_fixtures_relative_to_the_test_file(sandbox, request):
            state = sandbox.app.state.sandbox
            assert state.fixtures.directory == request.path.parent / "fixtures-77"
            assert state.fixtures.seed == 77
        """,
        test_module_marker="""
        import pytest

        pytestmark = pytest.mark.sandbox(seed=6)

        def test_module_marker(sandbox):
            assert sandbox.app.state.sandbox.fixtures.seed == 6
        """,
    )
    run(project).assert_outcomes(passed=4)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("sandbox(5)", "@pytest.mark.sandbox takes keywords only: seed=..., fixtures=..."),
        ("sandbox(sead=5)", "@pytest.mark.sandbox: unknown option(s) sead; use seed= or fixtures="),
        ("sandbox(seed='5')", "@pytest.mark.sandbox(seed='5'): give an integer"),
        ("sandbox(fixtures='nowhere')", "call-sandbox: fixture error: */nowhere/sandbox.yaml: *"),
    ],
)
def test_a_wrong_marker_says_what_to_fix(
    project: pytest.Pytester, marker: str, message: str
) -> None:
    project.makepyfile(
        f"""
        import pytest

        @pytest.mark.{marker}
        def test_it(sandbox):
            pass
        """
    )
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*{message}*"])


def test_options_environment_and_precedence(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        """
        import os, pytest

        def test_seed(sandbox):
            assert sandbox.app.state.sandbox.fixtures.seed == int(os.environ["EXPECTED_SEED"])

        @pytest.mark.sandbox(seed=3)
        def test_marker_wins(sandbox):
            assert sandbox.app.state.sandbox.fixtures.seed == 3
        """
    )
    monkeypatch.setenv("EXPECTED_SEED", "20260320")
    result = run(project)
    result.assert_outcomes(passed=2)
    header = f"call-sandbox {__version__}: seed 20260320 (replay: --sandbox-seed 20260320), "
    result.stdout.fnmatch_lines([f"{header}in-process, fixtures {fixtures_dir()}"])

    monkeypatch.setenv("SANDBOX_SEED", "12")
    monkeypatch.setenv("EXPECTED_SEED", "12")
    result = run(project)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["call-sandbox *: seed 12 (replay: --sandbox-seed 12), *"])

    monkeypatch.setenv("EXPECTED_SEED", "11")  # the command line beats the environment
    result = run(project, "--sandbox-seed", "11")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["call-sandbox *: seed 11 (replay: --sandbox-seed 11), *"])


def test_fixtures_option_and_environment(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_folder(project.path, 41)
    _seed_folder(project.path, 42)
    project.makepyfile(
        """
        import os

        def test_folder(sandbox):
            assert sandbox.app.state.sandbox.fixtures.seed == int(os.environ["EXPECTED_SEED"])
        """
    )
    monkeypatch.setenv("SANDBOX_FIXTURES", str(project.path / "fixtures-41"))
    monkeypatch.setenv("EXPECTED_SEED", "41")
    result = run(project)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"*seed 41 *, in-process, fixtures {project.path / 'fixtures-41'}"]
    )
    monkeypatch.setenv("EXPECTED_SEED", "42")
    result = run(project, "--sandbox-fixtures", "fixtures-42")  # relative to where pytest runs
    result.assert_outcomes(passed=1)


def test_bad_settings_are_usage_errors(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile("def test_nothing(): pass")
    monkeypatch.setenv("SANDBOX_SEED", "soon")
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: SANDBOX_SEED='soon': give an integer seed"])
    monkeypatch.delenv("SANDBOX_SEED")
    result = run(project, "--sandbox-url", "localhost:8080")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*give an http:// or https:// URL"])
    result = run(project, "--sandbox-url", "http://127.0.0.1:9", "--sandbox-fixtures", "x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*start that one with `call-sandbox serve --fixtures DIR` instead"]
    )


def test_help_and_markers(project: pytest.Pytester) -> None:
    result = run(project, "--help")
    result.stdout.fnmatch_lines(
        ["*--sandbox-seed=N*", "*--sandbox-fixtures=DIR*", "*--sandbox-url=URL*"]
    )
    result = run(project, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.sandbox(seed=None, fixtures=None): *"])


def test_a_schema_bug_fails_the_test_in_process_and_through_the_server(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import httpx, pytest
        from sandbox.schemas import SchemaViolation
        from sandbox.vendors import VENDORS

        def _break(monkeypatch, sandbox):
            schemas = sandbox.app.state.sandbox.schemas
            def check(name, instance):
                raise SchemaViolation(name, [])
            monkeypatch.setattr(schemas, "check", check)

        def _path(sandbox):
            vendor = VENDORS[0]
            call = sandbox.app.state.sandbox.fixtures.pinned[0]
            return vendor, vendor.lookup_path(vendor.external_id(call))

        def test_in_process(sandbox, sandbox_client, monkeypatch):
            _break(monkeypatch, sandbox)
            vendor, path = _path(sandbox)
            sandbox_client.get(
                sandbox.mount_url(vendor.name) + path, headers=sandbox.keys(vendor.name)
            )

        def test_through_the_server(sandbox, sandbox_server, monkeypatch):
            vendor, path = _path(sandbox)
            url, keys = sandbox_server.mount_url(vendor.name) + path, sandbox.keys(vendor.name)
            _break(monkeypatch, sandbox)
            with httpx.Client() as client:
                assert client.get(url, headers=keys).status_code == 500
        """
    )
    result = run(project)
    result.assert_outcomes(failed=1, passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_through_the_server*",
            "the sandbox server raised while serving this test: SchemaViolation: *",
            "*_ test_in_process _*",
            "E *sandbox.schemas.SchemaViolation: *",
        ]
    )


@pytest.fixture
def external(app: Starlette) -> Iterator[BackgroundServer]:
    """A sandbox in its own server, as a CI service container would be."""
    with BackgroundServer(app) as server:
        yield server


def test_sandbox_url_points_every_fixture_at_the_external_sandbox(
    project: pytest.Pytester, external: BackgroundServer, state: VendorSandbox
) -> None:
    project.makepyfile(
        f"""
        import json, urllib.request
        import httpx, pytest
        from sandbox.vendors import VENDORS

        URL = "{external.url}"

        def test_handle(sandbox):
            for vendor in VENDORS:
                assert sandbox.base_url(vendor.name) == URL + "/" + vendor.name + vendor.base_path
            with pytest.raises(RuntimeError, match="has no app here"):
                sandbox.app

        def test_1_create_over_http(sandbox, sandbox_client, create_call):
            assert str(sandbox_client.base_url) == URL
            create_call(sandbox_client, sandbox)

        @pytest.mark.anyio
        async def test_2_async_client_over_http(sandbox_async_client):
            assert str(sandbox_async_client.base_url) == URL
            response = await sandbox_async_client.get("/_sandbox/health")
            assert response.json()["status"] == "ok"

        def test_3_server_is_the_same(sandbox_server):
            assert sandbox_server.url == URL
        """
    )
    finish(state.store.reset())
    result = run(project, "--sandbox-url", external.url + "/")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [f"call-sandbox {__version__}: seed 20260320 (replay: *), the sandbox at {external.url}"]
    )
    # The keys came from the external sandbox, and the call test_1 created was reset away.
    assert sum(state.store.snapshot().values()) == 0


def test_sandbox_url_reaches_the_external_sandbox(
    project: pytest.Pytester,
    external: BackgroundServer,
    state: VendorSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project.makepyfile(
        """
        def test_create(sandbox, sandbox_client, create_call):
            create_call(sandbox_client, sandbox)
        """
    )
    monkeypatch.setenv("SANDBOX_URL", external.url)
    run(project).assert_outcomes(passed=1)
    assert sum(state.store.snapshot().values()) == 1  # created there; the next test would reset


def test_sandbox_url_refuses_what_it_cannot_honour(
    project: pytest.Pytester, external: BackgroundServer
) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.sandbox(seed=20260320)
        def test_same_seed(sandbox):
            pass

        @pytest.mark.sandbox(seed=9)
        def test_other_seed(sandbox):
            pass

        @pytest.mark.sandbox(fixtures="elsewhere")
        def test_fixtures(sandbox):
            pass
        """
    )
    result = run(project, "--sandbox-url", external.url)
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            f"*this test asks for seed 9, but the sandbox at {external.url} runs seed 20260320; "
            "start it with `call-sandbox serve --seed 9`",
            "*this test asks for fixtures */elsewhere, which the sandbox at * cannot load; *",
        ],
        consecutive=False,
    )


def test_sandbox_url_with_nothing_there(project: pytest.Pytester) -> None:
    from tests.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    project.makepyfile("def test_it(sandbox): pass")
    result = run(project, "--sandbox-url", url)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"call-sandbox *: seed unknown (*), the sandbox at {url}", "*did not answer*"]
    )
