"""Relay connections with opaque cursors (keyset on the opaque public id)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from schema.errors import BadUserInput

if TYPE_CHECKING:
    from schema.context import Context

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"c1:{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, field: str = "after") -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput(field, "not a cursor from this API") from None
    if not raw.startswith("c1:") or len(raw) > 64:
        raise BadUserInput(field, "not a cursor from this API")
    return raw[3:]


def page_size(first: int, maximum: int, field: str = "first") -> int:
    if first < 0:
        raise BadUserInput(field, "must not be negative")
    if first > maximum:
        raise BadUserInput(field, f"must be {maximum} or less")
    return first


def connection_of(edge: type[Any], connection: type[T], rows: Sequence[Any], total: int,
                  size: int) -> T:
    edges = [edge(cursor=encode_cursor(r.public_id), node=r) for r in rows[:size]]
    return connection(edges=edges, total_count=total,  # type: ignore[call-arg]
                      page_info=PageInfo(has_next_page=len(rows) > size,
                                         end_cursor=edges[-1].cursor if edges else None))


async def fetch_page(ctx: Context, model: Any, where: list[ColumnElement[bool]], size: int,
                     start: str | None) -> tuple[list[Any], int]:
    total = int(await ctx.scalar(select(func.count()).select_from(model).where(*where)) or 0)
    if total == 0 or size == 0:
        return [], total
    query = select(model).where(*where)
    if start is not None:
        query = query.where(col(model.public_id) > start)
    rows = await ctx.scalars(query.order_by(col(model.public_id)).limit(size + 1))
    return list(rows), total
