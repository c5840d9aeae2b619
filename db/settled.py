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
from collections.abc import Awaitable
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
    """Passes everything to `session`; its coroutine methods are awaited `settled`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._session, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await settled(attribute(*args, **kwargs))

        return call
