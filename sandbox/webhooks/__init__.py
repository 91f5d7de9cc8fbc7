"""Webhooks: the sandbox calls its clients back when a call moves through its lifecycle.

- `scheme.py`: what a vendor module declares (its event names, body, signature, agent URLs);
  each vendor's lives in `sandbox/vendors/<name>/webhooks.py`.
- `targets.py`: where deliveries go: subscriptions set through the control plane.
- `engine.py`: the lifecycle listener that turns each event into deliveries.
- `dispatcher.py`: sends them on worker threads, in order per URL, with retries.
- `sink.py`: the in-process receiver behind the URL `sandbox://sink`.
- `control.py` and `handle.py`: the control-plane routes and the test handle's methods.

This module imports nothing, so that `sandbox.vendor` can import the scheme without a cycle.
"""
