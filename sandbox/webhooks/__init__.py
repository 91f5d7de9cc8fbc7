"""Webhooks: the sandbox calls its clients back when a call moves through its lifecycle.

- `targets.py`: where deliveries go: subscriptions set through the control plane.
- `engine.py`: the lifecycle listener that turns each event into deliveries.
- `dispatcher.py`: sends them from one event loop on one thread, in order per URL, with
  retries, bounded concurrency and a bounded queue.
- `urls.py`: which URLs webhooks may go to (no link-local or metadata addresses unless
  allowed), and URLs as shown, userinfo redacted.
- `sink.py`: the in-process receiver behind the URL `sandbox://sink`.

What a vendor declares (event names, body, signature) is `sandbox.dialect.webhooks`; the
control-plane routes are `sandbox.control.webhooks`, the test handle's `sandbox.testing.webhooks`.
Imports `sandbox.dialect` and below; never the HTTP engine, the control plane or a vendor.
"""
