"""What an operation costs its requester: token buckets of cost points (CONTRACT.md §2,
DESIGN.md §3 "Abuse").

The price is the operation's query cost (schema/limits.py: each field 1, times the page
sizes around it). It is taken from the requester's bucket before the operation runs (no
session is opened for one that does not fit: RATE_LIMITED), and the part of the estimate
the answer did not use is given back afterwards. A request refused before it runs (it does
not parse, validate or fit a limit) costs one point, so a flood of junk empties the bucket
too. Every answer says so in `extensions.cost`.

Each bucket holds at most `capacity` points (REGISTRY_RATE_BUCKET) and regains
`restore_rate` points a second (REGISTRY_RATE_RESTORE). With REGISTRY_REDIS_URL the
buckets live in Redis, and every process takes from the same one: a take is one Lua
script, so two processes never both spend the last points, and the time is Redis's own,
so the processes' clocks do not matter. Without Redis each process keeps its own.

Why not the `limits` package: it counts hits in windows (fixed, moving, sliding), while
the contract's bucket refills continuously, reports what is available now, and takes
back the part of an estimate that the answer did not use; `limits` has no give-back.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from api.auth import CLI_CLIENT_ID, Principal
from schema.errors import QueryTooComplex, RegistryError

log = logging.getLogger("registry.ratelimit")

REFUSED_PRICE = 1


@dataclass(frozen=True)
class Throttle:
    """A bucket's state after one take or give-back."""

    allowed: bool
    available: float
    capacity: int
    restore_rate: float

    def retry_after(self, cost: int) -> int:
        """Whole seconds until `cost` points are back (at least 1)."""
        missing = max(0.0, cost - self.available)
        return max(1, math.ceil(missing / self.restore_rate))

    def status(self) -> dict[str, Any]:
        return {"maximumAvailable": self.capacity,
                "currentlyAvailable": int(self.available),
                "restoreRate": self.restore_rate}


class RateLimited(RegistryError):
    code = "RATE_LIMITED"

    def __init__(self, cost: int, throttle: Throttle) -> None:
        self.retry_after = throttle.retry_after(cost)
        super().__init__(f"this operation costs {cost} points and "
                         f"{int(throttle.available)} are available; retry in "
                         f"{self.retry_after} s", retryAfter=self.retry_after)


def actual_cost(data: Any) -> int:
    """The fields the answer holds, each instance counted once (a page of 3 rows costs its 3
    rows, not the 20 the estimate assumed)."""
    if isinstance(data, dict):
        return len(data) + sum(actual_cost(value) for value in data.values()
                               if isinstance(value, dict | list))
    if isinstance(data, list):
        return sum(actual_cost(item) for item in data if isinstance(item, dict | list))
    return 0


# KEYS[1] the bucket; ARGV capacity, restore rate, cost (negative: a give-back), points a
# lease gives back, points wanted for a new lease (taken only from the bucket's upper half).
# Returns {allowed 0/1, points available after (a string: Lua numbers become integers),
# points leased}.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local returned = tonumber(ARGV[4])
local wanted = tonumber(ARGV[5])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(saved[1]) or capacity
local at = tonumber(saved[2]) or now
points = math.min(capacity, points + math.max(0, now - at) * rate + returned)
local allowed = 0
local leased = 0
if cost <= points then
  points = math.min(capacity, points - cost)
  allowed = 1
  leased = math.max(0, math.min(wanted, math.floor(points - capacity / 2)))
  points = points - leased
end
redis.call('HSET', KEYS[1], 'points', tostring(points), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {allowed, tostring(points), leased}
"""


def bucket_key(principal: Principal) -> str:
    """The client, else the subject (DESIGN.md §3). Every requester of one client shares its
    bucket; the operator's own tokens (`registry token issue`) are each the subject's. A
    person signed in through a client (a token of the authorization-code grant, with a
    `grant_id`) is a requester of their own within that client: the lawyers of one firm's
    app, or the admins in the console, do not empty each other's bucket."""
    if principal.client_id and principal.client_id != CLI_CLIENT_ID:
        if principal.grant_id is not None:
            return f"person:{principal.client_id}:{principal.sub}"
        return f"client:{principal.client_id}"
    return f"sub:{principal.sub}"


class MemoryBuckets:
    """This process's buckets. Past `limit` requesters, the full ones are forgotten (a
    forgotten bucket is a full one); should that not free half of them, the longest idle
    go too, so that a crowd of requesters costs a scan now and then, not one per request."""

    def __init__(self, capacity: int, restore_rate: float, *, limit: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.restore_rate = restore_rate
        self._limit = limit
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    async def change(self, key: str, cost: int) -> Throttle:
        now = self._clock()
        points, at = self._buckets.get(key, (float(self.capacity), now))
        points = min(self.capacity, points + max(0.0, now - at) * self.restore_rate)
        allowed = cost <= points
        if allowed:
            points = min(float(self.capacity), points - cost)
        self._buckets[key] = (points, now)
        if len(self._buckets) > self._limit:
            self._forget_full(now)
        return Throttle(allowed, points, self.capacity, self.restore_rate)

    def _forget_full(self, now: float) -> None:
        buckets = self._buckets
        for key in [key for key, (points, at) in buckets.items()
                    if points + (now - at) * self.restore_rate >= self.capacity]:
            del buckets[key]
        if len(buckets) > self._limit // 2:
            idle = sorted(buckets, key=lambda key: buckets[key][1])
            for key in idle[:len(buckets) - self._limit // 2]:
                del buckets[key]

    async def close(self) -> None:
        self._buckets.clear()


@dataclass
class _Lease:
    """Points of one bucket that this process took from Redis ahead of need."""

    points: int
    until: float  # monotonic; past it, the rest goes back at this bucket's next take
    shared: float  # the bucket's points in Redis when this lease was taken


class RedisBuckets:
    """Buckets shared through Redis. While Redis cannot be reached, this process's own
    buckets stand in (logged): the limits then hold per process instead of failing every
    request, and the shared ones take over again as soon as Redis answers.

    A take costs one Redis round trip, ~110-150 µs of this process's CPU with redis-py:
    a third of a `{ me }`. So a process leases points ahead: a take that cheap requests
    could repeat (cost under LEASE_SHARE of the bucket) asks for a lease of that many points
    besides, which Redis grants only from the upper half of the bucket; the next takes are
    served from it without a round trip. Below half, every take is Redis's again, so the
    edge of a limit is as exact as without leases (every point spent was taken from Redis
    first). A lease lives LEASE_SECONDS: its rest goes back with the bucket's next take
    in this process, or, where none comes, is forfeited (at most LEASE_SHARE of the bucket,
    from its upper half). Takes of one bucket wait for its round trip in flight rather than
    start their own, and then use the lease it brought. `currentlyAvailable` counts the
    lease and the bucket's points as they were when it was taken."""

    LEASE_SHARE = 0.05
    LEASE_SECONDS = 1.0

    def __init__(self, url: str, prefix: str, capacity: int, restore_rate: float, *,
                 connections: int = 32, timeout: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.restore_rate = restore_rate
        self._prefix = f"{prefix}:rate:"
        # Blocking: a burst of requests waits for a connection instead of failing.
        self._pool = BlockingConnectionPool.from_url(url, max_connections=connections,
                                                     timeout=timeout, socket_timeout=timeout,
                                                     socket_connect_timeout=timeout)
        self._redis: Redis = Redis(connection_pool=self._pool)
        self._take: Any = self._redis.register_script(_TAKE)
        self._fallback = MemoryBuckets(capacity, restore_rate)
        self._warned_at = -math.inf
        self._clock = clock
        self._lease_size = int(capacity * self.LEASE_SHARE)
        self._leases: dict[str, _Lease] = {}
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self._swept_at = clock()

    async def change(self, key: str, cost: int) -> Throttle:
        if (throttle := self._from_lease(key, cost)) is not None:
            return throttle
        if cost <= 0 or cost >= self._lease_size:
            return await self._round_trip(key, cost, wanted=0)
        while (pending := self._in_flight.get(key)) is not None:
            await asyncio.wait({pending})  # not cancelled with this take
            if (throttle := self._from_lease(key, cost)) is not None:
                return throttle
        done = self._in_flight[key] = asyncio.get_running_loop().create_future()
        try:
            return await self._round_trip(key, cost, wanted=self._lease_size)
        finally:
            del self._in_flight[key]
            done.set_result(None)

    def _from_lease(self, key: str, cost: int) -> Throttle | None:
        """The take served by this process's lease, or None where it cannot be (no lease,
        one past its time, too few points, or a give-back that would make it too big)."""
        lease = self._leases.get(key)
        if lease is None or lease.until <= self._clock():
            return None
        left = lease.points - cost
        if not 0 <= left <= self._lease_size:
            return None
        lease.points = left
        return Throttle(True, lease.shared + left, self.capacity, self.restore_rate)

    async def _round_trip(self, key: str, cost: int, *, wanted: int) -> Throttle:
        lease = self._leases.pop(key, None)
        returned = lease.points if lease is not None else 0
        now = self._clock()
        if now - self._swept_at > self.LEASE_SECONDS:
            self._forfeit_expired(now)
        try:
            allowed, points, leased = await self._take(
                keys=[self._prefix + key],
                args=[self.capacity, self.restore_rate, cost, returned, wanted])
        except RedisError as error:
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate-limit buckets in Redis unavailable (%s): this process's "
                            "own buckets stand in", type(error).__name__)
            return await self._fallback.change(key, cost)
        shared = float(points)
        if leased:
            self._leases[key] = _Lease(int(leased), self._clock() + self.LEASE_SECONDS, shared)
        return Throttle(bool(allowed), shared + int(leased), self.capacity, self.restore_rate)

    def _forfeit_expired(self, now: float) -> None:
        self._swept_at = now
        for key in [key for key, lease in self._leases.items() if lease.until <= now]:
            del self._leases[key]

    async def close(self) -> None:
        await self._redis.aclose()
        await self._pool.disconnect()  # a pool passed in is not the client's to close


Buckets = MemoryBuckets | RedisBuckets


class Charge:
    """What one request pays: `before` it runs (an error where it may not run), `settle`d
    once it is answered."""

    def __init__(self, buckets: Buckets, principal: Principal) -> None:
        self._buckets = buckets
        self._key = bucket_key(principal)
        self.requested = 0
        self.taken = 0
        self.throttle: Throttle | None = None

    async def before(self, price: int | None) -> GraphQLError | None:
        """`price` None: the request will be refused before it runs; it pays when settled."""
        if price is None:
            return None
        self.requested = price
        if price > self._buckets.capacity:
            message = (f"query cost {price} exceeds the {self._buckets.capacity} points a "
                       "requester's bucket holds")  # it could never run: not RATE_LIMITED
            return GraphQLError(message, original_error=QueryTooComplex(message))
        self.throttle = await self._buckets.change(self._key, price)
        if not self.throttle.allowed:
            return GraphQLError("rate limited", original_error=RateLimited(price, self.throttle))
        self.taken = price
        return None

    async def settle(self, response: dict[str, Any]) -> None:
        """Gives back what the answer did not use, or takes the price of a refusal, and adds
        `extensions.cost` to the answer."""
        if self.taken:
            executed = "data" in response
            actual = max(REFUSED_PRICE, min(self.taken, actual_cost(response.get("data")))) \
                if executed else REFUSED_PRICE
            if actual < self.taken:
                self.throttle = await self._buckets.change(self._key, actual - self.taken)
        elif self.throttle is None:  # refused before it ran, its bucket never asked
            self.throttle = await self._buckets.change(self._key, REFUSED_PRICE)
            actual = REFUSED_PRICE if self.throttle.allowed else 0
        else:
            actual = 0  # RATE_LIMITED: nothing ran, nothing is charged
        assert self.throttle is not None
        extensions = response.setdefault("extensions", {})
        extensions["cost"] = {"requestedQueryCost": self.requested, "actualQueryCost": actual,
                              "throttleStatus": self.throttle.status()}


def buckets_for(redis_url: str | None, prefix: str, capacity: int,
                restore_rate: float) -> Buckets:
    if redis_url is None:
        return MemoryBuckets(capacity, restore_rate)
    return RedisBuckets(redis_url, prefix, capacity, restore_rate)
