"""Call Sandbox: an offline stand-in for the call APIs of Retell AI, Callab, ContactShip, Zudu."""

from __future__ import annotations

from sandbox.app import create_app
from sandbox.settings import Settings
from sandbox.version import __version__

__all__ = ["Settings", "__version__", "create_app"]
