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
from urllib.parse import urlencode

from starlette.applications import Starlette

from sandbox.app import create_app
from sandbox.calls.credibility import ended, sample_problems
from sandbox.calls.fixtures import FixtureError
from sandbox.dialect.vendor import VendorSandbox
from sandbox.http.inprocess import request
from sandbox.schemas import SchemaViolation
from sandbox.settings import Settings
from sandbox.vendors import VENDORS
from sandbox.version import __version__

DEFAULT_PORT = 8080


def _show_flags() -> dict[str, tuple[list[str] | None, str]]:
    """The query parameters of the vendors' get-one-call routes (ContactShip's
    include_transcript, include_words, include_tools, transcript_format), as `show` options:
    name -> (the values it takes, help)."""
    flags: dict[str, tuple[list[str] | None, str]] = {}
    for vendor in VENDORS:
        route = next(r for r in vendor.routes if r.name == vendor.lookup_route)
        for param in route.query:
            schema = param.schema
            choices = (
                [str(v) for v in schema["enum"]]
                if "enum" in schema
                else ["true", "false"]
                if schema.get("type") == "boolean"
                else None
            )
            users = flags.get(param.name, (None, ""))[1]
            flags[param.name] = (choices, f"{users}, {vendor.title}" if users else vendor.title)
    return flags


SHOW_FLAGS = _show_flags()
CHECK_SAMPLE = 50  # generated calls per tenant, spread over the population
CREDIBLE_SAMPLE = 2_000  # generated calls per tenant read for credibility (the newest)


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text!r}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text!r}")
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
    if state.keeper is not None:
        from sandbox.store.statefile import describe

        loaded = describe(state.backend.overlays())
        journal = state.keeper.log_path
        lines.append(f"state: {state.keeper.path} ({loaded}; each change logged to {journal})")
        if state.keeper.recovery is not None:
            lines.append(state.keeper.recovery.line())
    lines.append(f"inspector: http://{shown}:{port}/_sandbox/ui")
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
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        webhook_allow_link_local=args.webhook_allow_link_local,
    )
    # The port first: a second sandbox started by mistake stops here, before it reads (and
    # takes over) anything the running one keeps.
    try:
        sock = serving.bind(args.host, args.port)
    except OSError as error:
        print(
            f"call-sandbox: cannot listen on {args.host}:{args.port} ({error.strerror}): "
            "is another sandbox running there? Stop it, or choose another --port",
            file=sys.stderr,
        )
        return serving.STARTUP_FAILURE
    try:
        app = create_app(settings)
    except ValueError as error:  # --vendor names no vendor; the store or state file is bad
        sock.close()
        print(f"call-sandbox: {error}", file=sys.stderr)
        return 2
    state: VendorSandbox = app.state.sandbox
    if state.keeper is not None and state.keeper.recovery is not None:
        print(state.keeper.recovery.line(), file=sys.stderr, flush=True)
    print(banner(state, args.host, args.port, reload=args.reload, workers=args.workers), flush=True)
    if args.workers > 1:
        workers.run(settings, host=args.host, port=args.port, workers=args.workers, sock=sock)
        return 0
    if not args.reload:
        serving.run(
            app, host=args.host, port=args.port, header_timeout_s=args.header_timeout, sock=sock
        )
        return _save(state, args.state)
    switch = Switch(app)
    # A reload clears what clients created (the state file is read at start only); the new
    # sandbox's changes go to the state file from then on.
    rebuilt = dataclasses.replace(settings, state_file=None)
    keeper = state.keeper

    def rebuild() -> Starlette:
        fresh = create_app(rebuilt)
        if keeper is not None:
            keeper.rebind(fresh.state.sandbox)
            fresh.state.sandbox.keeper = keeper
        return fresh

    reloader = FixtureReloader(switch, state.fixtures.directory, rebuild)
    reloader.start()
    try:
        serving.run(
            switch,
            host=args.host,
            port=args.port,
            header_timeout_s=args.header_timeout,
            sock=sock,
        )
    finally:
        reloader.stop()
    return _save(switch.app.state.sandbox, args.state)  # type: ignore[attr-defined]


def _save(state: VendorSandbox, path: Path | None) -> int:
    """Write the state file at shutdown (`--state`), its last snapshot, and remove its change
    log (no log at the next start: this stop was clean): 0, or 1 saying why it could not be."""
    from sandbox.store.statefile import save_state

    if path is None:
        return 0
    try:
        if state.keeper is not None:
            state.keeper.close()
        else:
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
    unbelievable, read = _credibility(state)
    for problem in unbelievable:
        print(f"FAIL {problem}")
    print(
        f"{'FAILED' if unbelievable else 'ok'}: {read} generated calls read as a QA team would "
        f"(direction, turns, voicemail, analysis, lengths, variety); "
        f"{len(unbelievable)} problems"
    )
    return 1 if failures or unbelievable else 0


def _credibility(state: VendorSandbox) -> tuple[list[str], int]:
    """What a QA team would not believe in the first CREDIBLE_SAMPLE calls of every tenant
    (sandbox.calls.credibility), and how many ended calls were read."""
    people = state.generator.people
    names = frozenset(people.first) | frozenset(people.last)
    found: list[str] = []
    read = 0
    for tenant in state.fixtures.tenants:
        count = min(state.generator.size(tenant), CREDIBLE_SAMPLE)
        calls = ended(state.generator.call(tenant, i) for i in range(count))
        read += len(calls)
        found += [f"{tenant} {problem}" for problem in sample_problems(calls, names)]
    return found, read


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
    route = next(r for r in vendor.routes if r.name == vendor.lookup_route)
    takes = {p.name for p in route.query}
    flags = {name: value for name, value in vars(args).items() if name in SHOW_FLAGS}
    sent = {name: value for name, value in flags.items() if value is not None}
    refused = sorted(set(sent) - takes)
    if refused:
        shown = ", ".join("--" + name.replace("_", "-") for name in refused)
        accepted = ", ".join("--" + n.replace("_", "-") for n in sorted(takes)) or "none"
        print(
            f"{vendor.title}'s {route.name} takes no {shown} (it takes {accepted})", file=sys.stderr
        )
        return 2
    path = f"/{vendor.name}{vendor.lookup_path(args.call_id)}"
    if sent:
        path += "?" + urlencode(sent)
    answer = request(app, "GET", path, headers=state.credentials(vendor.name, args.tenant))
    print(f"GET {path} -> {answer.status}", file=sys.stderr)
    body = json.loads(answer.body)
    print(json.dumps(body, indent=2, ensure_ascii=False))
    return 1 if vendor.failed(answer.status, body) else 0


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
        help="keep created calls and the clock across restarts and crashes: each change is "
        "logged to FILE.log before it is answered (in-memory store only)",
    )
    serve.add_argument(
        "--webhook-allow-link-local",
        action="store_true",
        help="let webhook URLs point at link-local and cloud metadata addresses "
        "(169.254.0.0/16, fe80::/10, 100.100.100.200, fd00:ec2::254; refused by default)",
    )
    defaults = Settings()
    serve.add_argument(
        "--header-timeout",
        type=_positive,
        default=defaults.header_timeout_s,
        metavar="S",
        help="close a connection whose request head is not complete S seconds after its first "
        f"byte (default {defaults.header_timeout_s:g})",
    )
    serve.add_argument(
        "--body-timeout",
        type=_positive,
        default=defaults.body_timeout_s,
        metavar="S",
        help="answer the vendor's 408 and close the connection when a request body stalls for "
        f"S seconds (default {defaults.body_timeout_s:g})",
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
    for name, (choices, help_text) in SHOW_FLAGS.items():
        show.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            choices=choices,
            help=f"sent as ?{name}= (get-call of {help_text})",
        )
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
