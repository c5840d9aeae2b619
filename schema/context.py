"""The typed request context that every resolver receives (built by api/context.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from db.locks import lock_key
from db.settled import SettledSession
from schema.authz import Authorizer
from schema.loaders import Loaders

if TYPE_CHECKING:
    from schema.batch import ReportBatch

T = TypeVar("T")


@dataclass(frozen=True)
class Requester:
    sub: str
    role: str
    agency_code: str | None
    client_id: str | None
    authenticated: bool


@dataclass
class Context:
    request_id: str
    requester: Requester
    session: AsyncSession
    authz: Authorizer
    max_page_size: int = 100
    production: bool = False
    # Reporting deadline in days per notice kind (Settings.deadlines).
    deadlines: dict[str, int] = field(default_factory=lambda: {
        "JUDGMENT": 30, "RELEASE": 30, "CORRECTION_EXPIRY": 30})
    # What a reporting mutation did with its notice: registered, duplicate, queued (the
    # bulk importer's summary reads it; the API answer is the same either way).
    notice_outcome: str = ""
    # One AsyncSession serves the whole operation, and strawberry resolves sibling
    # fields concurrently: every statement goes through this lock.
    db_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    loaders: Loaders = field(init=False)
    # Answers computed once per request (e.g. the registration authorities a notice may be
    # routed to), by name.
    memo: dict[str, Any] = field(default_factory=dict)
    wrote: bool = False
    # A policy was changed: once committed, this process reloads its policy set at once.
    policy_changed: bool = False
    # Distinct security admins a policy change needs, the proposer included (Settings).
    policy_approvers: int = 1
    # Entries for the answer's `extensions` (e.g. the policy change a mutation recorded).
    response_extensions: dict[str, Any] = field(default_factory=dict)
    # Audit events the operation wrote, once committed (the metrics, api/metrics.py).
    audit_events: int = 0
    # A line of the bulk importer's run of judgment lines: its reads and writes go through
    # the run's set-wise ones (schema/batch.py). None for every API request.
    batch: ReportBatch | None = None

    def __post_init__(self) -> None:
        self.loaders = Loaders(self)
        # A statement a failing sibling field cancels still ends (db/settled.py).
        if not isinstance(self.session, SettledSession):
            self.session = cast(AsyncSession, SettledSession(self.session))

    async def execute(self, statement: Executable) -> Result[Any]:
        async with self.db_lock:
            return await self.session.execute(statement)

    async def rows(self, statement: Executable, parameters: dict[str, Any]) -> Sequence[Any]:
        """The rows of a Core statement (no ORM entity in it), run on the session's
        connection: no ORM result set up around plain rows."""
        async with self.db_lock:
            connection = await self.session.connection()
            return (await connection.execute(statement, parameters)).all()

    async def scalars(self, statement: Executable) -> Sequence[Any]:
        async with self.db_lock:
            return (await self.session.scalars(statement)).all()

    async def scalar(self, statement: Executable) -> Any:
        async with self.db_lock:
            return await self.session.scalar(statement)

    async def lock(self, namespace: int, key: str, *refresh: Any) -> None:
        """Holds `key` until the operation's transaction ends (db/locks.py), then reads the
        `refresh` objects again: a concurrent writer of the same key has committed by then."""
        async with self.db_lock:
            await lock_key(self.session, namespace, key)
            for obj in refresh:
                await self.session.refresh(obj)

    async def flush(self, *objects: Any) -> None:
        if self.batch is not None:  # staged, written with the batch's other lines
            async with self.db_lock:
                await self.batch.stage(objects)
            self.wrote = True
            return
        async with self.db_lock:
            self.session.add_all(objects)
            await self.session.flush()
        self.wrote = True
