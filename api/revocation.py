"""Which tokens of the embedded issuer's clients still stand (CONTRACT.md §1: a disabled
client's tokens stop working within 60 s).

The resource server asks on every request, after the token's signature and claims (and
after the cache of verified tokens: a cached token is asked again). It answers from this
process's copy of the client table, reloaded at most every REGISTRY_CLIENT_POLL_SECONDS, so
a client disabled by `registry client disable` in another process is refused within that
interval, and a request costs a dict look-up.

A token that names a row stands while the row is active and the token was issued at or
after the row's `revoked_before`. Tokens of `registry token issue` (`registry-cli`) and of
tests name no row and stand; a `client-<hex>` id, the form `create_client` makes, without
a row names a deleted client and is refused.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta
from time import monotonic

from sqlmodel import col, select

from db.engine import Database
from db.models.base import utcnow
from db.models.clients import Client
from db.models.grants import Grant

REGISTERED_CLIENT_ID = re.compile(r"client-[0-9a-f]{24}")


@dataclass(frozen=True)
class _Standing:
    active: bool
    revoked_before: float | None  # epoch seconds


class ClientDirectory:
    def __init__(self, database: Database, poll_seconds: float) -> None:
        self._database = database
        self._poll_seconds = poll_seconds
        self._clients: dict[str, _Standing] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def revoked(self, client_id: str, issued_at: float) -> bool:
        """True when a token of `client_id` issued at `issued_at` no longer stands."""
        standing = (await self._current()).get(client_id)
        if standing is None:
            return REGISTERED_CLIENT_ID.fullmatch(client_id) is not None
        if not standing.active:
            return True
        return standing.revoked_before is not None and issued_at < standing.revoked_before

    async def _current(self) -> dict[str, _Standing]:
        if not self._stale():
            return self._clients
        async with self._lock:
            if self._stale():  # not reloaded by the request this one waited for
                self._clients = await self._load()
                self._loaded_at = monotonic()
        return self._clients

    def _stale(self) -> bool:
        return self._loaded_at is None or monotonic() - self._loaded_at >= self._poll_seconds

    async def _load(self) -> dict[str, _Standing]:
        async with self._database.session() as session:
            rows = (await session.execute(select(
                col(Client.client_id), col(Client.active), col(Client.revoked_before)))).all()
        return {client_id: _Standing(bool(active), revoked.timestamp() if revoked else None)
                for client_id, active, revoked in rows}


class GrantDirectory:
    """The revoked sign-ins (api/grants.py) whose access tokens may still be unexpired, as
    the client table above: reloaded at most every REGISTRY_CLIENT_POLL_SECONDS, a set
    look-up per request. A grant revoked longer ago than the longest token lifetime (and a
    minute) has no live token left and is not loaded."""

    def __init__(self, database: Database, poll_seconds: float, max_ttl: int) -> None:
        self._database = database
        self._poll_seconds = poll_seconds
        self._window = timedelta(seconds=max_ttl + 60)
        self._revoked: frozenset[str] = frozenset()
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def revoked(self, grant_id: str) -> bool:
        if self._stale():
            async with self._lock:
                if self._stale():
                    self._revoked = await self._load()
                    self._loaded_at = monotonic()
        return grant_id in self._revoked

    def _stale(self) -> bool:
        return self._loaded_at is None or monotonic() - self._loaded_at >= self._poll_seconds

    async def _load(self) -> frozenset[str]:
        async with self._database.session() as session:
            rows = await session.scalars(select(col(Grant.grant_id)).where(
                col(Grant.revoked_at) >= utcnow() - self._window))
            return frozenset(rows)
