"""`call-sandbox`: serve, check, show, keys, healthcheck. Every command builds its app with
create_app(), the same function behind the container and the pytest plugin."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from sandbox.app import create_app
from sandbox.calls.fixtures import FixtureError
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.inprocess import request
from sandbox.schemas import SchemaViolation
from sandbox.settings import Settings
from sandbox.version import __version__

DEFAULT_PORT = 8080
CHECK_SAMPLE = 50  # generated calls per tenant, spread over the population


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text!r}")
    return value


def _settings(args: argparse.Namespace, **extra: object) -> Settings:
    return Settings(fixtures=args.fixtures, seed=args.seed, **extra)  # type: ignore[arg-type]


def _state(args: argparse.Namespace) -> VendorSandbox:
    state: VendorSandbox = create_app(_settings(args)).state.sandbox
    return state


def banner(
    state: VendorSandbox, host: str, port: int, *, reload: bool = False, workers: int = 1
) -> str:
    """What a developer needs at start: where each vendor lives, which keys to send, and the
    seed and fixtures that make this run reproducible."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # listening everywhere
    lines = [
        f"call-sandbox {__version__}  seed {state.fixtures.seed}  "
        f"fixtures {state.fixtures.directory}",
        f"default tenant: {state.default_tenant.id} ({state.default_tenant.name})",
    ]
    for name, vendor in state.vendors.items():
        headers = "  ".join(f"{k}: {v}" for k, v in state.credentials(name).items())
        lines.append(
            f"  {vendor.title:<12} http://{shown}:{port}/{name}{vendor.base_path}"
            f"  (for {vendor.docs_base_url})"
        )
        lines.append(f"  {'':<12} {headers}")
    root = state.settings.vendor_at_root
    if root is not None:
        lines.append(f"  {state.vendors[root].title} is also served at http://{shown}:{port}/")
    if state.settings.store_url != "memory" or workers > 1:
        lines.append(f"store: {state.backend.url}  workers: {workers}")
    if state.settings.state_file is not None:
        from sandbox.store.statefile import describe

        loaded = describe(state.backend.overlays())
        lines.append(f"state: {state.settings.state_file} ({loaded}; saved at shutdown)")
    lines.append(f"control: http://{shown}:{port}/_sandbox/health  /_sandbox/reset  /_sandbox/keys")
    if state.settings.admin_token is not None:
        lines.append("control: every /_sandbox endpoint but health and ready needs the admin token")
    if reload:
        lines.append(f"reload: watching {state.fixtures.directory} for fixture changes")
    return "\n".join(lines)


def cmd_serve(args: argparse.Namespace) -> int:
    from sandbox.serve import server as serving
    from sandbox.serve import workers
    from sandbox.serve.reloader import FixtureReloader
    from sandbox.serve.switch import Switch

    problem = _scale_out_problem(args)
    if problem is not None:
        print(f"call-sandbox: {problem}", file=sys.stderr)
        return 2

    settings = _settings(
        args,
        vendor_at_root=args.vendor,
        access_log=args.access_log,
        open_tenancy=args.open_tenancy,
        time_scale=args.time_scale,
        prefer=args.prefer,
        admin_token=args.admin_token or None,
        store_url=args.store,
        state_file=args.state,
    )
    try:
        app = create_app(settings)
    except ValueError as error:  # --vendor names no vendor; the store or state file is bad
        print(f"call-sandbox: {error}", file=sys.stderr)
        return 2
    state: VendorSandbox = app.state.sandbox
    print(banner(state, args.host, args.port, reload=args.reload, workers=args.workers), flush=True)
    if args.workers > 1:
        workers.run(settings, host=args.host, port=args.port, workers=args.workers)
        return 0
    if not args.reload:
        serving.run(app, host=args.host, port=args.port)
        return _save(state, args.state)
    switch = Switch(app)
    # A reload clears what clients created (the state file is read at start only).
    rebuilt = dataclasses.replace(settings, state_file=None)
    reloader = FixtureReloader(switch, state.fixtures.directory, lambda: create_app(rebuilt))
    reloader.start()
    try:
        serving.run(switch, host=args.host, port=args.port)
    finally:
        reloader.stop()
    return _save(switch.app.state.sandbox, args.state)  # type: ignore[attr-defined]


def _save(state: VendorSandbox, path: Path | None) -> int:
    """Write the state file at shutdown (`--state`): 0, or 1 saying why it could not be."""
    from sandbox.store.statefile import save_state

    if path is None:
        return 0
    try:
        save_state(state, path)
    except OSError as error:
        print(f"call-sandbox: could not write the state file {path}: {error}", file=sys.stderr)
        return 1
    return 0


def _scale_out_problem(args: argparse.Namespace) -> str | None:
    """Why --workers, --store and --state cannot go together as given, or None."""
    if args.workers < 1:
        return f"--workers must be at least 1, not {args.workers}"
    if args.workers > 1 and args.store == "memory":
        return (
            f"--workers {args.workers} needs a shared store: each worker would keep its own "
            "calls in memory; add --store redis://HOST:PORT/DB"
        )
    if args.workers > 1 and args.reload:
        return "--reload serves one process; drop --workers or --reload"
    if args.state is not None and args.store != "memory":
        return "--state keeps an in-memory store's calls, a Redis store keeps its own: drop one"
    return None


def cmd_check(args: argparse.Namespace) -> int:
    state = _state(args)
    failures: list[str] = []
    checked = 0
    calls = list(state.fixtures.pinned)
    for tenant in state.fixtures.tenants:
        size = state.generator.size(tenant)
        step = max(size // max(args.sample, 1), 1)
        calls += [state.generator.call(tenant, i) for i in range(0, size, step)]
    for call in calls:
        for vendor in state.vendors.values():
            for schema, body in vendor.renderings(call):
                checked += 1
                try:
                    state.schemas.check(schema, body)
                except SchemaViolation as violation:
                    failures.append(
                        f"{vendor.name} {vendor.external_id(call)} ({call.source}): {violation}"
                    )
    for failure in failures:
        print(f"FAIL {failure}")
    print(
        f"{'FAILED' if failures else 'ok'}: {checked} bodies of {len(calls)} calls "
        f"({len(state.fixtures.pinned)} pinned) rendered for {len(state.vendors)} vendors; "
        f"{len(failures)} broke their schema"
    )
    return 1 if failures else 0


def cmd_show(args: argparse.Namespace) -> int:
    app = create_app(_settings(args))
    state: VendorSandbox = app.state.sandbox
    if args.vendor not in state.vendors:
        print(
            f"unknown vendor {args.vendor!r}; choose one of {', '.join(state.vendors)}",
            file=sys.stderr,
        )
        return 2
    if args.tenant not in (None, *state.fixtures.tenants):
        print(
            f"unknown tenant {args.tenant!r}; choose one of {', '.join(state.fixtures.tenants)}",
            file=sys.stderr,
        )
        return 2
    vendor = state.vendors[args.vendor]
    path = f"/{vendor.name}{vendor.lookup_path(args.call_id)}"
    answer = request(app, "GET", path, headers=state.credentials(vendor.name, args.tenant))
    print(f"GET {path} -> {answer.status}", file=sys.stderr)
    print(json.dumps(json.loads(answer.body), indent=2, ensure_ascii=False))
    return 0 if answer.status < 300 else 1


def cmd_keys(args: argparse.Namespace) -> int:
    state = _state(args)
    if args.json:
        print(json.dumps({v: state.credentials(v) for v in state.vendors}, indent=2))
        return 0
    for name, vendor in state.vendors.items():
        print(f"{vendor.title} (/{name}):")
        for tenant in state.fixtures.tenants.values():
            if name not in tenant.keys:
                continue
            mark = " (default)" if tenant.id == state.default_tenant.id else ""
            headers = "  ".join(f"{k}: {v}" for k, v in state.credentials(name, tenant.id).items())
            print(f"  {tenant.id}{mark}: {headers}")
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/") + "/_sandbox/health"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            healthy = response.status == 200 and json.load(response).get("status") == "ok"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    print(f"{'healthy' if healthy else 'unhealthy'}: {url}")
    return 0 if healthy else 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="call-sandbox", description=__doc__)
    top.add_argument("--version", action="version", version=f"call-sandbox {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

    def with_data(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--fixtures", type=Path, help="fixtures folder (default: the embedded one)"
        )
        sub.add_argument("--seed", type=int, help="override the fixtures' seed")
        return sub

    serve = with_data(commands.add_parser("serve", help="run the sandbox server"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--vendor", help="also serve this vendor at the root, for hard-coded paths")
    serve.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="do not log a line per request (method, path, status, ms)",
    )
    serve.add_argument(
        "--reload",
        action="store_true",
        help="rebuild the sandbox when a file in the fixtures folder changes",
    )
    serve.add_argument(
        "--open-tenancy",
        action="store_true",
        help="give every well-formed key no fixture names a tenant of its own",
    )
    serve.add_argument(
        "--time-scale",
        type=_non_negative,
        default=0.0,
        metavar="X",
        help="let the sandbox clock run X times real time (default 0: it moves only when advanced)",
    )
    serve.add_argument(
        "--no-prefer",
        dest="prefer",
        action="store_false",
        help="ignore the Prefer request header (code=, delay=, scenario=)",
    )
    serve.add_argument(
        "--admin-token",
        default=os.environ.get("SANDBOX_ADMIN_TOKEN"),
        metavar="TOKEN",
        help="require `Authorization: Bearer TOKEN` on /_sandbox (but health and ready); "
        "default: $SANDBOX_ADMIN_TOKEN",
    )
    serve.add_argument(
        "--store",
        default="memory",
        metavar="URL",
        help="where created calls live: memory (default, one process) or a Redis URL such as "
        "redis://127.0.0.1:6379/0, shared by every worker and replica",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve with N processes (N > 1 needs --store redis://...)",
    )
    serve.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="keep created calls and the clock across restarts: loaded at start, written at "
        "shutdown (in-memory store only)",
    )
    serve.set_defaults(run=cmd_serve)

    check = with_data(commands.add_parser("check", help="validate fixtures and rendered bodies"))
    check.add_argument(
        "--sample", type=int, default=CHECK_SAMPLE, help="generated calls to render per tenant"
    )
    check.set_defaults(run=cmd_check)

    show = with_data(commands.add_parser("show", help="print what a vendor answers for a call"))
    show.add_argument("vendor")
    show.add_argument("call_id")
    show.add_argument("--tenant", help="the tenant whose key to send (default: the default tenant)")
    show.set_defaults(run=cmd_show)

    keys = with_data(commands.add_parser("keys", help="print the auth headers of each tenant"))
    keys.add_argument("--json", action="store_true", help="the default tenant's headers as JSON")
    keys.set_defaults(run=cmd_keys)

    health = commands.add_parser(
        "healthcheck", help="exit 0 when a sandbox answers its health check"
    )
    health.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}")
    health.add_argument("--timeout", type=float, default=2.0)
    health.set_defaults(run=cmd_healthcheck)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except FixtureError as error:
        print(f"call-sandbox: fixture error: {error}", file=sys.stderr)
        return 2
    return code
