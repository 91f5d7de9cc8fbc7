"""Control endpoints that act on one call as the world outside the API would.

    POST /_sandbox/calls/{vendor}/{call_id}/join   {"scenario": "completed"}

A web call (Retell's create-web-call) or a call registered for the client's own telephony
(Retell's register-phone-call) waits for a web client or a phone line to join it, which the
sandbox cannot carry. This joins it now: the conversation starts at once and goes as
`scenario` says (completed when absent), with its webhooks. A call nobody joins ends in error
when its window is over (sandbox.calls.live.JOIN_WINDOW_MS).
"""

from __future__ import annotations

from typing import Any

from sandbox.calls.lifecycle import observe
from sandbox.calls.live import join_deadline, joined
from sandbox.calls.model import Call, Scenario
from sandbox.control.api import ControlError, ControlReply, ControlRequest, ControlRoute, Param
from sandbox.dialect.live import change_now
from sandbox.dialect.vendor import VendorSandbox, find_plan

ERROR = "sandbox/error.json"
JOINABLE = tuple(s.value for s in Scenario if s.connected and s.ended)


def routes(state: VendorSandbox) -> list[ControlRoute]:
    def find(vendor_name: str, external_id: str, tenant: str | None) -> tuple[str, Call]:
        vendor = state.vendors.get(vendor_name)
        if vendor is None:
            known = ", ".join(state.vendors)
            raise ControlError.not_found(f"no vendor {vendor_name!r}; use one of {known}")
        tenants = [tenant] if tenant is not None else list(state.tenants)
        for name in tenants:
            if name not in state.tenants:
                known = ", ".join(state.tenants)
                raise ControlError.bad(f"no tenant {name!r}; use one of {known}")
            plan = find_plan(state, vendor, name, external_id)
            if plan is not None:
                return name, plan
        raise ControlError.not_found(
            f"no {vendor_name} call {external_id!r}"
            + (f" for tenant {tenant!r}" if tenant is not None else "")
            + "; use the call_id the vendor's create answered"
        )

    async def join(request: ControlRequest) -> ControlReply:
        vendor = request.params["vendor"]
        tenant, plan = find(vendor, request.params["call_id"], request.params.get("tenant"))
        scenario = Scenario(request.body.get("scenario", Scenario.COMPLETED.value))
        plans: list[Call] = []

        def join_now(plan: Call, now: int) -> Call:
            deadline = join_deadline(plan)
            if deadline is None or now >= deadline:
                status = observe(plan, now)
                why = (
                    "its join window is over"
                    if deadline is not None
                    else "it is not a registered call waiting to be joined"
                )
                raise ControlError.bad(
                    f"call {request.params['call_id']!r} cannot be joined: {why} "
                    f"(it is {status.scenario.value}); join a web call or a registered phone "
                    f"call within its window"
                )
            plans.append(joined(state.store.generator.plan_created(plan, scenario), now))
            return plans[-1]

        await state.store.change(tenant, lambda: change_now(state, tenant, plan.id, join_now))
        body: dict[str, Any] = {
            "tenant": tenant,
            "vendor": vendor,
            "call_id": request.params["call_id"],
            "joined_ms": plans[-1].start_ms,
            "scenario": scenario.value,
            "end_ms": plans[-1].end_ms,
        }
        return ControlReply(200, body, "sandbox/call-joined.json")

    return [
        ControlRoute(
            "POST",
            "/calls/{vendor}/{call_id}/join",
            "joinCall",
            "A web client or the client's telephony joins a registered call now",
            join,
            {200: "sandbox/call-joined.json", 400: ERROR, 404: ERROR},
            params=(
                Param("vendor", "path", {"type": "string", "minLength": 1}, "the vendor's mount"),
                Param(
                    "call_id",
                    "path",
                    {"type": "string", "minLength": 1},
                    "the call id the vendor's create answered",
                ),
                Param(
                    "tenant",
                    "query",
                    {"type": "string", "minLength": 1},
                    "the call's tenant (default: whichever has the call)",
                ),
            ),
            body_schema="sandbox/call-join.request.json",
            description="The conversation starts now and goes as `scenario` says (default "
            "completed). Refused (400) for a call that is not waiting to be joined, or whose "
            f"window is over. Scenarios: {', '.join(JOINABLE)}.",
        ),
    ]
