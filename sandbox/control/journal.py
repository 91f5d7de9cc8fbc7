"""Control endpoints of the journal.

    GET    /_sandbox/journal?vendor=&route=&tenant=&kind=&since=&until=&after=&limit=
    DELETE /_sandbox/journal

`since` and `until` are instants on the sandbox's clock (epoch ms, or ISO-8601), `after` a
sequence number (entries after it: what a poller last saw), `limit` keeps the newest N.

A read writes out (redacts, formats) every entry it returns, up to the journal's whole budget:
it runs in a worker thread, never holding the event loop. The answer says how many bytes the
entries kept take (`bytes`) against the journal's `budget`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.control.api import ControlError, ControlReply, ControlRequest, ControlRoute, Param
from sandbox.dialect.vendor import VendorSandbox
from sandbox.store.journal import KINDS, JournalQuery

INSTANT = {"type": "string", "description": "epoch ms, or an ISO-8601 instant"}


def instant(name: str, value: str | None) -> int | None:
    """Epoch ms from `1773964800000` or `2026-03-20T00:00:00Z` (UTC when no offset is given)."""
    if value is None:
        return None
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ControlError.bad(
            f"query.{name}: give epoch ms or an ISO-8601 instant such as "
            f"2026-03-20T12:00:00Z, not {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def routes(state: VendorSandbox) -> list[ControlRoute]:
    journal = state.journal
    params = (
        Param("vendor", "query", {"enum": list(state.vendors)}, "only this vendor's entries"),
        Param("route", "query", {"type": "string"}, "only entries of this route name"),
        Param("tenant", "query", {"type": "string"}, "only this tenant's entries"),
        Param("kind", "query", {"enum": list(KINDS)}, "only requests, or only webhooks"),
        Param("since", "query", INSTANT, "entries at or after this instant (sandbox clock)"),
        Param("until", "query", INSTANT, "entries before this instant (sandbox clock)"),
        Param("after", "query", {"type": "integer", "minimum": 0}, "entries with seq > this"),
        Param(
            "limit",
            "query",
            {"type": "integer", "minimum": 0, "maximum": journal.capacity},
            "the newest N entries that match",
        ),
    )

    async def entries(request: ControlRequest) -> ControlReply:
        found = request.params
        query = JournalQuery(
            vendor=found.get("vendor"),
            route=found.get("route"),
            tenant=found.get("tenant"),
            kind=found.get("kind"),
            since=instant("since", found.get("since")),
            until=instant("until", found.get("until")),
            after=found.get("after"),
            limit=found.get("limit"),
        )
        # Every worker's and replica's entries (written out on worker threads).
        read = await state.journal_entries(query)
        body = {
            "entries": read["entries"],
            "capacity": journal.capacity,
            "evicted": read["evicted"],
            "bytes": read["bytes"],
            "budget": journal.budget,
        }
        return ControlReply(200, body, "sandbox/journal.json")

    async def clear(request: ControlRequest) -> ControlReply:
        return ControlReply(200, {"deleted": await state.clear_journal()}, "sandbox/deleted.json")

    return [
        ControlRoute(
            "GET",
            "/journal",
            "listJournal",
            "The requests and webhook deliveries the sandbox handled, oldest first",
            entries,
            {200: "sandbox/journal.json", 400: "sandbox/error.json"},
            params=params,
        ),
        ControlRoute(
            "DELETE",
            "/journal",
            "clearJournal",
            "Forget every entry (numbering starts again at 1)",
            clear,
            {200: "sandbox/deleted.json"},
        ),
    ]
