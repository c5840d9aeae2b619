"""An AsyncSession whose calls run to their end even when the task awaiting one is cancelled.

graphql-core cancels the sibling fields of a field that fails (`gather_with_cancel`: a bad
argument of a nested field, an error under a non-null field). A statement cancelled in
flight closes its connection (psycopg and aiosqlite alike), and the operation's rollback
then failed on the closed connection: an HTTP 500 for what was a BAD_USER_INPUT. Here a
cancelled call first finishes (shielded), then the cancellation goes on.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def settled(awaitable: Awaitable[T]) -> T:
    task = asyncio.ensure_future(awaitable)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: the canceller does not want it
        raise


class SettledSession:
    """Passes everything to `session`; its coroutine methods are awaited `settled`.

    Given a session factory instead, it opens the session on first use: an operation that
    never reads a table (`{ me }`, a refused operation) creates none, and `opened` tells the
    unit of work whether there is one to commit or close (issue 13: building an unused
    AsyncSession cost a twentieth of such a request)."""

    def __init__(self, session: AsyncSession | Callable[[], AsyncSession]) -> None:
        self._session: AsyncSession | None = None
        self._factory: Callable[[], AsyncSession] | None = None
        if isinstance(session, AsyncSession):
            self._session = session
        else:
            self._factory = session

    @property
    def opened(self) -> AsyncSession | None:
        """The session, if one is open; None if nothing has used it yet."""
        return self._session

    def open(self) -> AsyncSession:
        """The session, opened now if it is not yet."""
        session = self._session
        if session is None:
            assert self._factory is not None
            session = self._session = self._factory()
        return session

    def __getattr__(self, name: str) -> Any:
        session = self._session
        attribute = getattr(self.open() if session is None else session, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await settled(attribute(*args, **kwargs))

        return call
