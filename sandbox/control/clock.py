"""Control endpoints of the sandbox clock.

    GET  /_sandbox/clock
    POST /_sandbox/clock/advance   {"seconds": N}

Advancing moves every call on through its lifecycle (a queued call dials, an ongoing one ends,
an ended one gets its analysis) and sends the webhooks of what happened meanwhile, in order.
Each event names its call by the id its client was given (`call_id`: the creating vendor's
spelling) and by every vendor's spelling (`vendor_ids`).
One request moves the clock by at most a year (the request schema says so), which keeps the
events it must publish bounded.
"""

from __future__ import annotations

from typing import Any

from sandbox.calls.instants import iso_millis
from sandbox.calls.model import Call
from sandbox.control.api import ControlReply, ControlRequest, ControlRoute
from sandbox.dialect.vendor import VendorSandbox


def clock_body(state: VendorSandbox) -> dict[str, Any]:
    now = state.clock.now_ms()
    return {
        "now_ms": now,
        "now": iso_millis(now),
        "reference_ms": state.clock.reference_ms,
        "elapsed_ms": now - state.clock.reference_ms,
        "time_scale": state.clock.scale,
    }


def routes(state: VendorSandbox) -> list[ControlRoute]:
    def read(request: ControlRequest) -> ControlReply:
        return ControlReply(200, clock_body(state), "sandbox/clock.json")

    async def advance(request: ControlRequest) -> ControlReply:
        happened = await state.aadvance(round(request.body["seconds"] * 1000))
        body = {
            **clock_body(state),
            "events": [
                {
                    "tenant": tenant,
                    # The id the client was given: the creating vendor's spelling (a
                    # generated call, made through none, goes by its canonical UUID).
                    "call_id": _given_id(call),
                    "vendor_ids": {name: v.external_id(call) for name, v in state.vendors.items()},
                    "event": step.event,
                    "at_ms": step.at_ms,
                }
                for tenant, call, step in happened
            ],
        }
        return ControlReply(200, body, "sandbox/clock-advanced.json")

    def _given_id(call: Call) -> str:
        origin = state.vendors.get(call.origin) if call.origin is not None else None
        return origin.external_id(call) if origin is not None else call.id

    return [
        ControlRoute(
            "GET", "/clock", "getClock", "The sandbox clock", read, {200: "sandbox/clock.json"}
        ),
        ControlRoute(
            "POST",
            "/clock/advance",
            "advanceClock",
            "Move the sandbox clock forward; calls move on and their webhooks are sent",
            advance,
            {200: "sandbox/clock-advanced.json", 400: "sandbox/error.json"},
            body_schema="sandbox/clock-advance.request.json",
        ),
    ]
