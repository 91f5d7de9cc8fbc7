"""The `/_sandbox` plane: its endpoints declared as data with their OpenAPI document (`api`,
`routes`), the clock, fault rules and rate limits, the journal, webhook subscriptions, the
admin token and verification (`assert_called`'s near misses).

Imports `sandbox.openapi`, `sandbox.http`, `sandbox.webhooks` and below; never a vendor.
"""
