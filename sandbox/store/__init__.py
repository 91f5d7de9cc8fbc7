"""What the sandbox keeps: the store of calls (`store`) over a backend in this process (`memory`)
or in Redis (`redis`), the state file (`statefile`), and the test double's records (fault rules,
rate limits, the journal and what it redacts).

Imports `sandbox.calls` and the ground; never the state, the HTTP engine or a vendor.
"""
