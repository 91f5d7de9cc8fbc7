"""Control endpoints for what goes wrong on purpose: fault rules and rate limits.

    POST   /_sandbox/faults             add a rule (schemas/sandbox/fault.json) -> 201, with its id
    GET    /_sandbox/faults             every rule, with how often each matched and applied
    GET    /_sandbox/faults/{id}        one rule
    DELETE /_sandbox/faults/{id}        remove one rule
    DELETE /_sandbox/faults             remove every rule (ids start again at 1)

and the same under /_sandbox/rate-limits (schemas/sandbox/rate-limit.json).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sandbox.control.api import ControlError, ControlReply, ControlRequest, ControlRoute, Param
from sandbox.dialect.vendor import VendorSandbox

ID = Param("id", "path", {"type": "integer", "minimum": 1}, "the id the rule was given")


class _Rules(Protocol):
    async def add(self, body: Mapping[str, Any]) -> dict[str, Any]: ...
    async def rules(self) -> list[dict[str, Any]]: ...
    async def remove(self, rule_id: int) -> dict[str, Any] | None: ...
    async def clear(self) -> int: ...


def check_target(state: VendorSandbox, body: Mapping[str, Any]) -> None:
    """The vendor, route and tenant a rule names must exist, or it would never match."""
    vendor, route, tenant = body.get("vendor"), body.get("route"), body.get("tenant")
    if vendor is not None and vendor not in state.vendors:
        raise ControlError.bad(
            f"body.vendor: no vendor {vendor!r} here; use one of {', '.join(state.vendors)}"
        )
    if route is not None:
        owners = [state.vendors[vendor]] if vendor is not None else list(state.vendors.values())
        names = sorted({r.name for v in owners for r in v.routes})
        if route not in names:
            whose = f"{vendor} has no route" if vendor is not None else "no vendor has a route"
            raise ControlError.bad(
                f"body.route: {whose} {route!r}; route names: {', '.join(names)}"
            )
    if tenant is not None and tenant not in state.tenants and not state.settings.open_tenancy:
        raise ControlError.bad(
            f"body.tenant: no tenant {tenant!r}; use one of {', '.join(state.tenants)}"
        )


def _check_fault(state: VendorSandbox, body: Mapping[str, Any]) -> None:
    check_target(state, body)
    uniform = body["fault"].get("uniform")
    if uniform is not None and uniform["min_ms"] > uniform["max_ms"]:
        raise ControlError.bad(
            f"body.fault.uniform: min_ms ({uniform['min_ms']}) is greater than max_ms "
            f"({uniform['max_ms']})"
        )


def _collection(
    state: VendorSandbox,
    rules: _Rules,
    *,
    path: str,
    noun: str,
    key: str,
    schema: str,
    check: Callable[[VendorSandbox, Mapping[str, Any]], None],
    operation: str,
) -> list[ControlRoute]:
    one, many = f"sandbox/{schema}-rule.json", f"sandbox/{schema}-rules.json"

    async def add(request: ControlRequest) -> ControlReply:
        check(state, request.body)
        return ControlReply(201, await rules.add(request.body), one)

    async def listed(request: ControlRequest) -> ControlReply:
        return ControlReply(200, {key: await rules.rules()}, many)

    async def found(rule_id: int) -> dict[str, Any]:
        rule = next((r for r in await rules.rules() if r["id"] == rule_id), None)
        if rule is None:
            raise ControlError.not_found(f"no {noun} {rule_id}; GET /_sandbox{path} lists them")
        return rule

    async def get(request: ControlRequest) -> ControlReply:
        return ControlReply(200, await found(request.params["id"]), one)

    async def remove(request: ControlRequest) -> ControlReply:
        await found(request.params["id"])
        removed = await rules.remove(request.params["id"])
        if removed is None:  # (removed meanwhile by another client)
            raise ControlError.not_found(f"no {noun} {request.params['id']}")
        return ControlReply(200, removed, one)

    async def clear(request: ControlRequest) -> ControlReply:
        return ControlReply(200, {"deleted": await rules.clear()}, "sandbox/deleted.json")

    title = operation[0].upper() + operation[1:]
    return [
        ControlRoute(
            "POST",
            path,
            f"add{title}",
            f"Add a {noun}",
            add,
            {201: one, 400: "sandbox/error.json"},
            body_schema=f"sandbox/{schema}.json",
        ),
        ControlRoute("GET", path, f"list{title}s", f"Every {noun}", listed, {200: many}),
        ControlRoute(
            "DELETE",
            path,
            f"clear{title}s",
            f"Remove every {noun}",
            clear,
            {200: "sandbox/deleted.json"},
        ),
        ControlRoute(
            "GET",
            f"{path}/{{id}}",
            f"get{title}",
            f"One {noun}",
            get,
            {200: one, 400: "sandbox/error.json", 404: "sandbox/error.json"},
            params=(ID,),
        ),
        ControlRoute(
            "DELETE",
            f"{path}/{{id}}",
            f"remove{title}",
            f"Remove one {noun}",
            remove,
            {200: one, 400: "sandbox/error.json", 404: "sandbox/error.json"},
            params=(ID,),
        ),
    ]


def routes(state: VendorSandbox) -> list[ControlRoute]:
    return [
        *_collection(
            state,
            state.faults,
            path="/faults",
            noun="fault rule",
            key="faults",
            schema="fault",
            check=_check_fault,
            operation="fault",
        ),
        *_collection(
            state,
            state.rate_limits,
            path="/rate-limits",
            noun="rate limit",
            key="rate_limits",
            schema="rate-limit",
            check=check_target,
            operation="rateLimit",
        ),
    ]
