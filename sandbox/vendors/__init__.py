"""The vendors: one package each (auth, routes as data, renderers, one error renderer,
webhooks), and the vendor list. Adding a vendor is one package and one line here.

Imports `sandbox.http`, `sandbox.dialect` and below; never the control plane or the app.
"""

from __future__ import annotations

from sandbox.dialect.vendor import Vendor
from sandbox.vendors.callab import VENDOR as CALLAB
from sandbox.vendors.contactship import VENDOR as CONTACTSHIP
from sandbox.vendors.retell import VENDOR as RETELL
from sandbox.vendors.zudu import VENDOR as ZUDU

VENDORS: tuple[Vendor, ...] = (
    RETELL,
    CALLAB,
    CONTACTSHIP,
    ZUDU,
)
