"""What the sandbox keeps: the store of calls (`store`) over a backend in this process (`memory`)
or in Redis (`redis`: the one source of truth of every worker and replica on it), the state file
(`statefile`), the test double's records (`records`: fault rules, rate limits, webhook
subscriptions, their counts, and questions asked of every process; the journal and what it
redacts), and work cut into slices that take turns with the event loop (`slices`).

Imports `sandbox.calls` and the ground; never the state, the HTTP engine or a vendor.
"""
