"""The request pipeline and what it uses: mounts, head limits, the exchange that becomes a
journal entry, JSON encoding, query parameters, `Prefer`, kept answers, faults injected on
purpose and connection faults, the access log, and one in-process request.

Imports `sandbox.dialect` and below; never the control plane, the webhooks or a vendor.
"""
