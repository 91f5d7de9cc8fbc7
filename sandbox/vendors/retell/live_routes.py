"""The routes of Retell's registered calls and of its actions on live calls, as data, and an
example request of each for the contract tests.

`{call_id}` in an example stands for one of the default tenant's ended calls, so the
examples of the actions on a live call are their documented refusal (400: the call is not
ongoing); tests/vendors/test_retell_live.py drives each of them to success through the SDK."""

from __future__ import annotations

from sandbox.dialect.vendor import Example, Route
from sandbox.vendors.retell.errors import CallNotInState, IdempotencyConflict
from sandbox.vendors.retell.live import (
    listen_live_call,
    rerun_call_analysis,
    stop_call,
    take_over_live_call,
    update_live_call,
)
from sandbox.vendors.retell.registered import (
    create_web_call,
    create_web_call_v2,
    register_phone_call,
)

_NOT_ONGOING = (CallNotInState("<call_id>", "ended", "this action", "ongoing"),)

LIVE_ROUTES = (
    Route(
        "POST",
        "/v3/create-web-call",
        "create-web-call",
        create_web_call,
        "retell/create-web-call.request.json",
        status=201,
        response_schema="retell/create-web-call-v3.json",
    ),
    Route(
        "POST",
        "/v2/create-web-call",
        "create-web-call-v2",
        create_web_call_v2,
        "retell/create-web-call.request.json",
        status=201,
        response_schema="retell/call.json",
    ),
    Route(
        "POST",
        "/v2/register-phone-call",
        "register-phone-call",
        register_phone_call,
        "retell/register-phone-call.request.json",
        status=201,
        response_schema="retell/call.json",
    ),
    Route(
        "POST",
        "/v2/stop-call/{call_id}",
        "stop-call",
        stop_call,
        status=204,
        raises=_NOT_ONGOING,
    ),
    Route(
        "POST",
        "/v2/listen-live-call/{call_id}",
        "listen-live-call",
        listen_live_call,
        response_schema="retell/listen-live-call.json",
        raises=_NOT_ONGOING,
    ),
    Route(
        "POST",
        "/v2/take-over-live-call/{call_id}",
        "take-over-live-call",
        take_over_live_call,
        "retell/take-over-live-call.request.json",
        response_schema="retell/success.json",
        raises=_NOT_ONGOING,
    ),
    Route(
        "PATCH",
        "/v2/update-live-call/{call_id}",
        "update-live-call",
        update_live_call,
        "retell/update-live-call.request.json",
        response_schema="retell/success.json",
        raises=_NOT_ONGOING,
    ),
    Route(
        "PUT",
        "/rerun-call-analysis/{call_id}",
        "rerun-call-analysis",
        rerun_call_analysis,
        response_schema="retell/call.json",
        raises=(CallNotInState("<call_id>", "ongoing", "this action", "ended"),),
    ),
)

# create-phone-call answers it for an idempotency_key reused with another body.
CONFLICT = IdempotencyConflict("<key>", 1)

LIVE_EXAMPLES = (
    Example(
        "create-web-call",
        "/v3/create-web-call",
        201,
        {"agent_id": "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"},
    ),
    Example(
        "create-web-call-v2",
        "/v2/create-web-call",
        201,
        {"agent_id": "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"},
    ),
    Example(
        "register-phone-call",
        "/v2/register-phone-call",
        201,
        {"agent_id": "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD", "from_number": "+14155550142"},
    ),
    Example("stop-call", "/v2/stop-call/{call_id}", 400),
    Example("listen-live-call", "/v2/listen-live-call/{call_id}", 400),
    Example(
        "update-live-call",
        "/v2/update-live-call/{call_id}",
        400,
        {"fields_to_override": {"metadata": {"k": "v"}}},
    ),
    Example(
        "take-over-live-call",
        "/v2/take-over-live-call/{call_id}",
        400,
        {"participant_id": "listener_x"},
    ),
    Example("rerun-call-analysis", "/rerun-call-analysis/{call_id}", 200),
)
