"""`call-sandbox`: serve, check, show, keys, healthcheck. Every command builds its app with
create_app(), the same function behind the container and the pytest plugin."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from sandbox import __version__
from sandbox.app import create_app
from sandbox.fixtures import FixtureError
from sandbox.inprocess import request
from sandbox.schemas import SchemaViolation
from sandbox.settings import Settings
from sandbox.state import Sandbox

DEFAULT_PORT = 8080
CHECK_SAMPLE = 50  # generated calls per tenant, spread over the population


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text!r}")
    return value


def _settings(args: argparse.Namespace, **extra: object) -> Settings:
    return Settings(fixtures=args.fixtures, seed=args.seed, **extra)  # type: ignore[arg-type]


def _state(args: argparse.Namespace) -> Sandbox:
    state: Sandbox = create_app(_settings(args)).state.sandbox
    return state


def banner(state: Sandbox, host: str, port: int, *, reload: bool = False) -> str:
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
    lines.append(f"control: http://{shown}:{port}/_sandbox/health  /_sandbox/reset  /_sandbox/keys")
    if reload:
        lines.append(f"reload: watching {state.fixtures.directory} for fixture changes")
    return "\n".join(lines)


def cmd_serve(args: argparse.Namespace) -> int:
    from sandbox import serving
    from sandbox.reloader import FixtureReloader
    from sandbox.switch import Switch

    settings = _settings(
        args,
        vendor_at_root=args.vendor,
        access_log=args.access_log,
        open_tenancy=args.open_tenancy,
        time_scale=args.time_scale,
    )
    try:
        app = create_app(settings)
    except ValueError as error:  # --vendor names no vendor
        print(f"call-sandbox: {error}", file=sys.stderr)
        return 2
    state: Sandbox = app.state.sandbox
    print(banner(state, args.host, args.port, reload=args.reload), flush=True)
    if not args.reload:
        serving.run(app, host=args.host, port=args.port)
        return 0
    switch = Switch(app)
    reloader = FixtureReloader(switch, state.fixtures.directory, lambda: create_app(settings))
    reloader.start()
    try:
        serving.run(switch, host=args.host, port=args.port)
    finally:
        reloader.stop()
    return 0


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
    state: Sandbox = app.state.sandbox
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
