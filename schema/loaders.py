"""Data loaders: every relation a list can reach costs one query per page, not per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from db.models import Agency, ExecutionEvent, Offender

if TYPE_CHECKING:
    from schema.context import Context


class Loaders:
    """Each loader is made when a request first uses it: most requests use none or one, and
    a DataLoader costs more to make than a small request's decision."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._named: dict[str, DataLoader[Any, Any]] = {}

    @cached_property
    def offender(self) -> DataLoader[int, Offender | None]:
        return DataLoader(self._offenders)

    @cached_property
    def agency(self) -> DataLoader[int, Agency | None]:
        return DataLoader(self._agencies)

    @cached_property
    def agency_by_code(self) -> DataLoader[str, Agency | None]:
        return DataLoader(self._agencies_by_code)

    @cached_property
    def executions(self) -> DataLoader[int, list[ExecutionEvent]]:
        return DataLoader(self._executions)

    def named(self, name: str,
              load: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]) -> DataLoader[Any, Any]:
        """A loader defined by another module (e.g. one that needs the visibility filter)."""
        loader = self._named.get(name)
        if loader is None:
            loader = self._named[name] = DataLoader(load)  # type: ignore[arg-type]
        return loader

    async def _offenders(self, ids: Sequence[int]) -> list[Offender | None]:
        rows = await self._ctx.scalars(select(Offender).where(col(Offender.id).in_(ids)))
        return _in_order(ids, {r.id: r for r in rows})

    async def _agencies(self, ids: Sequence[int]) -> list[Agency | None]:
        rows = await self._ctx.scalars(select(Agency).where(col(Agency.id).in_(ids)))
        return _in_order(ids, {r.id: r for r in rows})

    async def _agencies_by_code(self, codes: Sequence[str]) -> list[Agency | None]:
        rows = await self._ctx.scalars(select(Agency).where(col(Agency.code).in_(codes)))
        return _in_order(codes, {r.code: r for r in rows})

    async def _executions(self, judgment_ids: Sequence[int]) -> list[list[ExecutionEvent]]:
        rows = await self._ctx.scalars(
            select(ExecutionEvent)
            .where(col(ExecutionEvent.judgment_id).in_(judgment_ids))
            .order_by(col(ExecutionEvent.date), col(ExecutionEvent.id)))
        grouped: dict[int, list[ExecutionEvent]] = defaultdict(list)
        for row in rows:
            grouped[row.judgment_id].append(row)
        return [grouped.get(i, []) for i in judgment_ids]


def _in_order(keys: Sequence[Any], found: dict[Any, Any]) -> list[Any]:
    return [found.get(k) for k in keys]


def settled(loader: DataLoader[Any, Any], key: Any,
            then: Callable[[Any], Any] | None = None) -> Any:
    """`loader`'s value for `key` (passed through `then`): at once when the loader already
    holds it (primed, or loaded earlier in the request), else an awaitable of it. A field
    whose value is at hand then resolves without a coroutine and a task of its own."""
    future = loader.cache_map.get(key)
    if future is not None and future.done() and not future.cancelled() \
            and future.exception() is None:
        value = future.result()
        return value if then is None else then(value)
    pending = loader.load(key)
    if then is None:
        return pending
    return _then(pending, then)


async def _then(pending: Awaitable[Any], then: Callable[[Any], Any]) -> Any:
    return then(await pending)
