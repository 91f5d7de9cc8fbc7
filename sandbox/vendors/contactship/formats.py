"""String formats ContactShip's request fields take, as the patterns its request schemas use
and the class-validator sentences its 400s say when a value does not fit."""

from __future__ import annotations

import re
from collections.abc import Mapping

UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# The docs' example bodies spell agent and phone-number ids with a prefix (agent-<uuid>,
# pn-<uuid>) while their field tables say "UUID": both spellings are taken.
AGENT_ID = "^(agent-)?" + UUID[1:]
NUMBER_ID = "^(pn-)?" + UUID[1:]
AGENT_PREFIX = "agent-"
E164 = r"^\+[1-9][0-9]{6,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
URL = r"^https?://[^\s/$.?#][^\s]*$"
SCHEDULE_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"

DESCRIPTIONS: Mapping[str, str] = {
    UUID: "must be a UUID",
    AGENT_ID: "must be a UUID (agent-<uuid> also works)",
    NUMBER_ID: "must be a UUID (pn-<uuid> also works)",
    E164: "must be a valid phone number in E.164 format, like +14155550123",
    EMAIL: "must be an email",
    URL: "must be a URL address",
    SCHEDULE_DATE: "must be a date like 2026-03-21 09:30:00 (yyyy-MM-dd HH:mm:ss)",
}


def matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None
