"""The sandbox in a test suite: the pytest plugin (`plugin`), the in-process and remote handles
(`handles`) with their controls and webhook methods, and the sync ASGI transport.

The top layer: imports anything below it. `InProcessSandbox`, `RemoteSandbox` and
`SandboxHandle` are re-exported here.
"""

from __future__ import annotations

from sandbox.testing.handles import (
    InProcessSandbox,
    RemoteSandbox,
    SandboxHandle,
    SandboxUnavailable,
)

__all__ = ["InProcessSandbox", "RemoteSandbox", "SandboxHandle", "SandboxUnavailable"]
