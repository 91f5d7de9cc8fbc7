"""The contract between the engine and a vendor package: a `Vendor` with its auth scheme
(`auth`), routes as data, one error renderer, and its webhook scheme and signatures
(`webhooks`, `signing`). `VendorSandbox` is the state as everything above sees it.

Imports `sandbox.state` and below; the engine (http, control, webhooks) and the vendors import it.
"""
