"""One record by its public id, asked the same way for every type: a missing id and one the
requester may not see answer alike (CONTRACT.md §6), and both are decisions, so both are
audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import col, select

from schema.context import Context


async def read_by_id(ctx: Context, model: Any, action: str, type_: str, id: str, *,
                     view: Callable[[Any], Awaitable[Any]] | None = None) -> Any | None:
    """The row with public id `id` (or `view` of it, the object its policy attributes come
    from), or `None` whether it is missing or not permitted."""
    row = await ctx.scalar(select(model).where(col(model.public_id) == id))
    if row is None:
        # Asked all the same: a missing id and a forbidden one look alike, and the
        # attempt is audited.
        ctx.authz.decide(action, {"type": type_, "id": id})
        return None
    found = row if view is None else await view(row)
    return found if ctx.authz.check_object(action, found) else None
