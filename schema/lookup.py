"""One record by its public id, asked the same way for every type: a missing id and one the
requester may not see answer alike (CONTRACT.md §6), and both are decisions, so both are
audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import col, select

from db.models import Agency
from schema.context import Context


async def read_by_id(ctx: Context, model: Any, action: str, type_: str, id: str, *,
                     view: Callable[[Any], Awaitable[Any]] | None = None,
                     agencies: Sequence[str] = (),
                     permitted: Callable[[Any], Awaitable[None]] | None = None) -> Any | None:
    """The row with public id `id` (or `view` of it, the object its policy attributes come
    from), or `None` whether it is missing or not permitted.

    A hidden id and a missing one run the same statements, one: the agencies the view
    needs (`agencies`: the row's columns holding agency ids) come in the row's statement
    and prime the agency loader, and whatever else the answer needs is read by
    `permitted`, only once the requester may see the row."""
    row, *named = await _row(ctx, model, id, agencies)
    if row is None:
        # Asked all the same: a missing id and a forbidden one look alike, and the
        # attempt is audited.
        ctx.authz.decide(action, {"type": type_, "id": id})
        return None
    for column, agency in zip(agencies, named, strict=True):
        if agency is not None:
            ctx.loaders.agency.prime(getattr(row, column), agency)
    found = row if view is None else await view(row)
    if not ctx.authz.check_object(action, found):
        return None
    if permitted is not None:
        await permitted(found)
    return found


async def _row(ctx: Context, model: Any, id: str, agencies: Sequence[str]) -> list[Any]:
    if not agencies:
        return [await ctx.scalar(select(model).where(col(model.public_id) == id))]
    joined = [aliased(Agency) for _ in agencies]
    statement = select(model, *joined).where(col(model.public_id) == id)
    for column, agency in zip(agencies, joined, strict=True):
        statement = statement.outerjoin(agency, agency.id == getattr(model, column))
    found = (await ctx.execute(statement)).first()
    return list(found) if found is not None else [None] * (1 + len(agencies))
