"""Webhooks: the sandbox calls its clients back when a call moves through its lifecycle.

- `targets.py`: where deliveries go: subscriptions set through the control plane.
- `engine.py`: the lifecycle listener that turns each event into deliveries.
- `dispatcher.py`: sends them on worker threads, in order per URL, with retries.
- `sink.py`: the in-process receiver behind the URL `sandbox://sink`.

What a vendor declares (event names, body, signature) is `sandbox.dialect.webhooks`; the
control-plane routes are `sandbox.control.webhooks`, the test handle's `sandbox.testing.webhooks`.
Imports `sandbox.dialect` and below; never the HTTP engine, the control plane or a vendor.
"""
