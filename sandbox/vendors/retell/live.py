"""Retell's actions on a call while it happens, and analysing an ended one again.

- `POST /v2/stop-call/{call_id}`: ends an ongoing call now; Retell records a call ended
  through the API as `manual_stopped`. 204, no body.
- `POST /v2/listen-live-call/{call_id}`: a subscribe-only token for an ongoing call's room and
  the `participant_id` the listener joins as.
- `POST /v2/take-over-live-call/{call_id}`: that listener takes the call over from the agent.
  The agent's part of the call ends there (`call_take_over`): Retell records no more of it.
- `PATCH /v2/update-live-call/{call_id}`: metadata, data storage setting and dynamic variables
  of an ongoing call; `call_control` is accepted (no agent runs in the sandbox to obey it).
- `PUT /rerun-call-analysis/{call_id}`: the post-call analysis is made again, and
  `call_analyzed` is sent again once it is ready.

Each answers Retell's 400 for a call at the wrong stage, naming the stage it needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from sandbox.calls.lifecycle import observe
from sandbox.calls.live import JOIN_WINDOW_MS, analysed_again, cut
from sandbox.calls.model import Call, Scenario
from sandbox.dialect.live import change_now
from sandbox.dialect.vendor import Context, Reply
from sandbox.errors import CallNotFound, InvalidRequest
from sandbox.vendors.retell.errors import CallNotInState
from sandbox.vendors.retell.registered import ICE_SERVERS
from sandbox.vendors.retell.render import STATUS, call_id, render_call
from sandbox.vendors.retell.storage import storage_overrides

# What Retell keeps about a live call beside the call object (never rendered): the listeners
# it let in, and the dynamic variables as they were before the first live override.
LIVE_KEY = "_retell_live"
GATEWAY_IP = "192.0.2.1"  # TEST-NET-1 (RFC 5737): documentation only, nothing answers


def _plan(context: Context) -> Call:
    plan = context.find_plan(context.path["call_id"])
    if plan is None:
        raise CallNotFound(context.path["call_id"])
    return plan


def _live(plan: Call) -> Mapping[str, Any]:
    return plan.vendor_overrides.get(LIVE_KEY) or {}


def _with_live(plan: Call, **entries: Any) -> Call:
    return replace(
        plan, vendor_overrides={**plan.vendor_overrides, LIVE_KEY: {**_live(plan), **entries}}
    )


def _ongoing(action: str) -> Callable[[Call, int], Call]:
    """A check that the call is ongoing at `now`, answering the call as observed then."""

    def check(plan: Call, now: int) -> Call:
        seen = observe(plan, now)
        if seen.scenario is not Scenario.IN_PROGRESS:
            raise CallNotInState(call_id(plan), STATUS[seen.scenario], action, "ongoing")
        return seen

    return check


def _change(context: Context, change: Callable[[Call, int], Call]) -> Call:
    plan = _plan(context)
    return change_now(context.sandbox, context.tenant.id, plan.id, change)


def stop_call(context: Context) -> Reply:
    is_ongoing = _ongoing("stop-call")

    def stop(plan: Call, now: int) -> Call:
        is_ongoing(plan, now)
        return cut(plan, now, "manual_stopped")

    _change(context, stop)
    return Reply(204, None, None)


def _participant(plan: Call, number: int) -> str:
    digest = hashlib.sha256(f"listener:{plan.id}:{number}".encode()).hexdigest()
    return "listener_" + digest[:24]


def listen_live_call(context: Context) -> Reply:
    is_ongoing = _ongoing("listen-live-call")
    minted: list[tuple[str, int]] = []

    def listen(plan: Call, now: int) -> Call:
        is_ongoing(plan, now)
        listeners = list(_live(plan).get("listeners", ()))
        participant = _participant(plan, len(listeners))
        minted.append((participant, now))
        return _with_live(plan, listeners=[*listeners, participant])

    call = _change(context, listen)
    participant, now = minted[-1]
    token = hashlib.sha256(f"listen:{call.id}:{participant}".encode()).hexdigest()
    body = {
        "access_token": "eyJhbGciOiJIUzI1NiJ9." + token[:32],
        # A listener's token lasts as long as a web client's, from when it was asked for.
        "expires_at": now + JOIN_WINDOW_MS,
        "participant_id": participant,
        "room_name": call_id(call),
        "gateway_ip": GATEWAY_IP,
        "ice_servers": [dict(server) for server in ICE_SERVERS],
        "transport": "gateway",
    }
    return Reply(200, body, "retell/listen-live-call.json")


def take_over_live_call(context: Context) -> Reply:
    is_ongoing = _ongoing("take-over-live-call")
    participant = context.body["participant_id"]

    def take_over(plan: Call, now: int) -> Call:
        is_ongoing(plan, now)
        if participant not in _live(plan).get("listeners", ()):
            raise InvalidRequest.one(
                "body.participant_id",
                f"{participant!r} is not listening to this call; use the participant_id "
                "that POST /v2/listen-live-call answered for it",
            )
        return cut(plan, now, "call_take_over")

    _change(context, take_over)
    return Reply(200, {"success": True}, "retell/success.json")


def update_live_call(context: Context) -> Reply:
    is_ongoing = _ongoing("update-live-call")
    fields = context.body.get("fields_to_override") or {}

    def update(plan: Call, now: int) -> Call:
        is_ongoing(plan, now)
        changed = plan
        if "metadata" in fields:
            changed = replace(changed, metadata=fields["metadata"])
        if "data_storage_setting" in fields:
            overrides = storage_overrides(
                changed,
                fields["data_storage_setting"],
                "body.fields_to_override.data_storage_setting",
            )
            changed = replace(changed, vendor_overrides=overrides)
        if "override_dynamic_variables" in fields:
            before = _live(changed).get("dynamic_variables", dict(changed.dynamic_variables))
            wanted = fields["override_dynamic_variables"]
            # Only the delta is sent; null removes every override made so far.
            variables = dict(before) if wanted is None else {**changed.dynamic_variables, **wanted}
            changed = _with_live(
                replace(changed, dynamic_variables=variables), dynamic_variables=before
            )
        return changed

    _change(context, update)
    return Reply(200, {"success": True}, "retell/success.json")


def rerun_call_analysis(context: Context) -> Reply:
    def rerun(plan: Call, now: int) -> Call:
        seen = observe(plan, now)
        if not seen.scenario.connected or seen.scenario.live or seen.analysis is None:
            status = STATUS[seen.scenario]
            stage = "ended, with its first analysis done" if status == "ended" else "ended"
            raise CallNotInState(call_id(plan), status, "rerun-call-analysis", stage)
        return analysed_again(plan, now)

    call = _change(context, rerun)
    return Reply(200, render_call(call), "retell/call.json")
