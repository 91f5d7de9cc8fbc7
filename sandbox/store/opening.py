"""`--store URL`: which backend keeps what clients changed.

`memory` (the default) keeps it in this process; `redis://host:port/db` in a Redis server that
every worker and replica pointed at it shares: they see the same calls, number creations
without collisions and serialise one tenant's changes.
"""

from __future__ import annotations

from sandbox.store.backend import Backend, StoreUnavailable
from sandbox.store.memory import MemoryBackend


def open_backend(url: str, *, namespace: str) -> Backend:
    """The backend `--store URL` names. `namespace` keeps sandboxes of different seeds apart
    in one Redis database."""
    if url == "memory":
        return MemoryBackend()
    if url.startswith(("redis://", "rediss://", "unix://")):
        # The Redis client is an optional extra (`call-sandbox[redis]`): imported only when named.
        from sandbox.store.redis import RedisBackend

        return RedisBackend(url, namespace=namespace)
    raise StoreUnavailable(
        f"--store {url!r}: use 'memory' (the default) or a Redis URL such as "
        "redis://127.0.0.1:6379/0"
    )
