"""The inspector page at /_sandbox/ui: a tenant's calls, one call in every vendor's dialect with
its lifecycle on the virtual clock, the journal, fault rules, rate limits and webhooks. Served
by the sandbox itself from templates and static files shipped in the package (no build step,
nothing fetched from elsewhere)."""

from sandbox.control.ui.pages import ui_routes

__all__ = ["ui_routes"]
