"""Call Sandbox: an offline stand-in for the call APIs of Retell AI, Callab, ContactShip, Zudu."""

from __future__ import annotations

__version__ = "0.1.0"

from sandbox.app import create_app
from sandbox.settings import Settings

__all__ = ["Settings", "__version__", "create_app"]
