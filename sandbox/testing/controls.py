"""The control plane as Python methods on a sandbox handle: `sandbox.journal`,
`sandbox.faults` and `sandbox.rate_limits`.

They call the same /_sandbox endpoints whether the sandbox runs in this process or elsewhere
(a CI service container), so a test reads and behaves the same in both modes:

    sandbox.faults.add({"type": "status", "status": 503}, vendor="retell", when={"first": 2})
    sandbox.rate_limits.set(limit=1, per_seconds=1, vendor="retell")
    sandbox.journal.assert_called(vendor="retell", route="get-call", times=3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sandbox.control.verify import check_called


class ControlCall(Protocol):
    """What a handle gives these objects: one request to its control plane, the JSON answer
    (ValueError for a request the control plane refuses)."""

    def __call__(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any: ...


def _params(**given: object) -> dict[str, str]:
    return {name: str(value) for name, value in given.items() if value is not None}


class JournalControls:
    """Every vendor request the sandbox handled (and webhook deliveries), oldest first."""

    def __init__(self, call: ControlCall, routes: Mapping[str, Sequence[str]]) -> None:
        self._call = call
        self._routes = routes  # vendor -> its route names, to catch a misspelt criterion

    def entries(
        self,
        *,
        vendor: str | None = None,
        route: str | None = None,
        tenant: str | None = None,
        kind: str | None = None,
        since: int | str | None = None,
        until: int | str | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Entries matching every given filter (`since`/`until`: sandbox-clock epoch ms or
        ISO-8601; `after`: a sequence number; `limit`: the newest N)."""
        params = _params(
            vendor=vendor,
            route=route,
            tenant=tenant,
            kind=kind,
            since=since,
            until=until,
            after=after,
            limit=limit,
        )
        found: list[dict[str, Any]] = self._call("GET", "/_sandbox/journal", params)["entries"]
        return found

    def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        deleted: int = self._call("DELETE", "/_sandbox/journal")["deleted"]
        return deleted

    def assert_called(
        self,
        *,
        vendor: str | None = None,
        route: str | None = None,
        tenant: str | None = None,
        method: str | None = None,
        status: int | None = None,
        times: int | None = None,
    ) -> list[dict[str, Any]]:
        """The requests matching every given criterion; AssertionError, listing the near
        misses, unless there are exactly `times` of them (at least one if `times` is None)."""
        self._check(vendor, route)
        criteria = {
            "vendor": vendor,
            "route": route,
            "tenant": tenant,
            "method": method.upper() if method else None,
            "status": status,
        }
        entries = self.entries(kind="request")
        return [dict(e) for e in check_called(entries, criteria, times)]

    def assert_not_called(self, **criteria: Any) -> None:
        """AssertionError, listing what matched, if any request matches every criterion."""
        self.assert_called(**criteria, times=0)

    def _check(self, vendor: str | None, route: str | None) -> None:
        if vendor is not None and vendor not in self._routes:
            raise ValueError(f"no vendor {vendor!r} here; choose one of {', '.join(self._routes)}")
        if route is None:
            return
        names = (
            self._routes[vendor]
            if vendor
            else sorted({r for v in self._routes.values() for r in v})
        )
        if route not in names:
            whose = f"{vendor} has no route" if vendor else "no vendor has a route"
            raise ValueError(f"{whose} {route!r}; route names: {', '.join(names)}")


class FaultControls:
    """Fault rules: what goes wrong on purpose (schemas/sandbox/fault.json)."""

    def __init__(self, call: ControlCall) -> None:
        self._call = call

    def add(
        self,
        fault: Mapping[str, Any] | None = None,
        /,
        *,
        vendor: str | None = None,
        route: str | None = None,
        tenant: str | None = None,
        when: Mapping[str, Any] | None = None,
        **fault_fields: Any,
    ) -> dict[str, Any]:
        """Add a rule; returns it with its id. The fault is a mapping, or its fields as
        keywords: `add(type="status", status=503, vendor="retell", when={"every": 2})`."""
        body: dict[str, Any] = {"fault": {**(fault or {}), **fault_fields}}
        for name, value in (("vendor", vendor), ("route", route), ("tenant", tenant)):
            if value is not None:
                body[name] = value
        if when is not None:
            body["when"] = dict(when)
        added: dict[str, Any] = self._call("POST", "/_sandbox/faults", json=body)
        return added

    def rules(self) -> list[dict[str, Any]]:
        """Every rule, with how many requests it matched and applied its fault to."""
        rules: list[dict[str, Any]] = self._call("GET", "/_sandbox/faults")["faults"]
        return rules

    def get(self, rule_id: int) -> dict[str, Any]:
        rule: dict[str, Any] = self._call("GET", f"/_sandbox/faults/{rule_id}")
        return rule

    def remove(self, rule_id: int) -> dict[str, Any]:
        rule: dict[str, Any] = self._call("DELETE", f"/_sandbox/faults/{rule_id}")
        return rule

    def clear(self) -> int:
        deleted: int = self._call("DELETE", "/_sandbox/faults")["deleted"]
        return deleted


class RateLimitControls:
    """Rate limits per key (schemas/sandbox/rate-limit.json)."""

    def __init__(self, call: ControlCall) -> None:
        self._call = call

    def set(
        self,
        *,
        limit: int,
        per_seconds: float,
        vendor: str | None = None,
        route: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """At most `limit` requests per `per_seconds` for each key; returns the rule."""
        body: dict[str, Any] = {"limit": limit, "per_seconds": per_seconds}
        for name, value in (("vendor", vendor), ("route", route), ("tenant", tenant)):
            if value is not None:
                body[name] = value
        added: dict[str, Any] = self._call("POST", "/_sandbox/rate-limits", json=body)
        return added

    def rules(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self._call("GET", "/_sandbox/rate-limits")["rate_limits"]
        return rules

    def remove(self, rule_id: int) -> dict[str, Any]:
        rule: dict[str, Any] = self._call("DELETE", f"/_sandbox/rate-limits/{rule_id}")
        return rule

    def clear(self) -> int:
        deleted: int = self._call("DELETE", "/_sandbox/rate-limits")["deleted"]
        return deleted


class ClockControls:
    """The sandbox clock: `.advance(seconds=...)` moves every call on through its lifecycle
    (and sends the webhooks of what happened meanwhile); `.now()` reads it."""

    def __init__(self, call: ControlCall) -> None:
        self._call = call

    def now(self) -> dict[str, Any]:
        """`{"now_ms", "now", "reference_ms", "elapsed_ms", "time_scale"}`."""
        body: dict[str, Any] = self._call("GET", "/_sandbox/clock")
        return body

    def advance(self, *, seconds: float) -> list[dict[str, Any]]:
        """Move the clock forward; the lifecycle events that happened meanwhile, in order."""
        body = self._call("POST", "/_sandbox/clock/advance", None, {"seconds": seconds})
        events: list[dict[str, Any]] = body["events"]
        return events
