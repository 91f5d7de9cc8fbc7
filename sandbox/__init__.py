"""Call Sandbox: an offline stand-in for the call APIs of Retell AI, Callab, ContactShip and Zudu."""

from __future__ import annotations

__version__ = "0.1.0"

from sandbox.app import create_app  # noqa: E402
from sandbox.settings import Settings  # noqa: E402

__all__ = ["Settings", "__version__", "create_app"]
