"""The guard of the token endpoint (CONTRACT.md §2): failed client authentications are counted
per client_id and per address in a moving window of a minute, and the secret checks (scrypt:
16 MB and ~35 ms of CPU each) run one at a time per process, behind a short queue.

The counts are `limits`' moving window: in Redis when REGISTRY_REDIS_URL is set (one Lua
script per hit, atomic across every process that names the same Redis), in memory otherwise.
A throttled request is refused before its secret is looked at, so a correct secret does not
end the throttle early, and an unknown client id counts and is answered like a known one.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from api.settings import Settings

T = TypeVar("T")

FAILURES_PER_CLIENT: RateLimitItem = RateLimitItemPerMinute(5)
FAILURES_PER_ADDRESS: RateLimitItem = RateLimitItemPerMinute(20)
# One scrypt at a time per process leaves the other CPUs to the event loop and to requests
# that are not sign-ins; checks beyond the queue are refused at once instead of piling up.
CHECK_THREADS = 1
CHECK_QUEUE = 8
BUSY_RETRY_AFTER = 1
_LIMITS_SCHEMES = {"redis": "async+redis", "rediss": "async+rediss", "unix": "async+redis+unix"}


class Busy(Exception):
    """The queue of secret checks is full."""


class TokenThrottle:
    def __init__(self, settings: Settings) -> None:
        self._pool: ConnectionPool | None = None
        storage: Storage
        if settings.redis_url is None:
            storage = MemoryStorage()
        else:
            self._pool = ConnectionPool.from_url(settings.redis_url)
            scheme, rest = settings.redis_url.split(":", 1)
            # Our own pool (limits types its options as scalars), so that close() can end it.
            options: dict[str, Any] = {"connection_pool": self._pool}
            storage = RedisStorage(f"{_LIMITS_SCHEMES[scheme]}:{rest}", implementation="redispy",
                                   key_prefix=f"{settings.redis_prefix}:token-failures",
                                   wrap_exceptions=True, **options)
        self._window = MovingWindowRateLimiter(storage)
        self._slots = anyio.CapacityLimiter(CHECK_THREADS)
        self._threads = anyio.CapacityLimiter(CHECK_THREADS)

    async def retry_after(self, client_id: str | None, address: str | None) -> int | None:
        """Whole seconds until this client id and address may try again; None while both
        have attempts left. Raises `limits.errors.StorageError` when Redis does not answer."""
        waits = []
        for item, key in _counters(client_id, address):
            stats = await self._window.get_window_stats(item, *key)
            if stats.remaining <= 0:
                waits.append(stats.reset_time - time.time())
        if not waits:
            return None
        return min(60, max(1, math.ceil(max(waits))))

    async def failed(self, client_id: str | None, address: str | None) -> None:
        for item, key in _counters(client_id, address):
            await self._window.hit(item, *key)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A turn to check a secret; `Busy` when CHECK_QUEUE requests already wait for one."""
        if self._slots.statistics().tasks_waiting >= CHECK_QUEUE:
            raise Busy
        async with self._slots:
            yield

    async def run(self, work: Callable[[], T]) -> T:
        """`work` (authlib's synchronous token endpoint) in a thread of this throttle's own."""
        return await anyio.to_thread.run_sync(work, limiter=self._threads)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


def _counters(client_id: str | None, address: str | None
              ) -> list[tuple[RateLimitItem, tuple[str, str]]]:
    counters = []
    if client_id:
        # Hashed: a client id is whatever the request sent, up to the 16 KB body.
        digest = hashlib.sha256(client_id.encode("utf-8", "replace")).hexdigest()[:32]
        counters.append((FAILURES_PER_CLIENT, ("client", digest)))
    counters.append((FAILURES_PER_ADDRESS, ("address", address or "unknown")))
    return counters
