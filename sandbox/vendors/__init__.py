"""The vendor list. Adding a vendor is one module and one line here."""

from __future__ import annotations

from sandbox.vendor import Vendor
from sandbox.vendors.retell import VENDOR as RETELL

VENDORS: tuple[Vendor, ...] = (RETELL,)
