"""Zudu's success envelope, which every answer shares: `{message, status, error, data}`."""

from __future__ import annotations

from typing import Any


def success(message: str, data: Any) -> dict[str, Any]:
    return {"message": message, "status": "success", "error": None, "data": data}
