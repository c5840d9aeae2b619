"""Relay connections with opaque cursors (keyset on the opaque public id)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from sqlalchemy import ColumnElement, Select, func
from sqlmodel import col, select
from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

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


# What this API puts in a cursor: a public id (db/ids.py) or an audit sequence number.
_KEY = re.compile(r"[A-Za-z0-9_-]{1,60}")
_SEQUENCE = re.compile(r"[0-9]{1,18}")  # below 2^63: a BIGINT on both databases


def decode_cursor(cursor: str | None, field: str = "after") -> str | None:
    """The key in a cursor this API made; anything else (a NUL byte, 30 digits, text)
    is refused here, before it reaches a database that would choke on it."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        text = raw.decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput(field, "not a cursor from this API") from None
    if not text.startswith("c1:") or not _KEY.fullmatch(text[3:]):
        raise BadUserInput(field, "not a cursor from this API")
    return text[3:]


def decode_sequence_cursor(cursor: str | None, field: str = "after") -> int | None:
    """A cursor holding a sequence number (the audit trail's), as that number."""
    key = decode_cursor(cursor, field)
    if key is None:
        return None
    if not _SEQUENCE.fullmatch(key):
        raise BadUserInput(field, "not a cursor from this API")
    return int(key)


# CONTRACT.md §4: every `first` is exactly `Int = 20`, `null` meaning the default
# (`auditEvents` is `Int = 50`). schema/limits.py prices an absent or null `first` at the
# same defaults (DEFAULT_PAGES there; tests/api/test_pagination.py keeps the two in step).
DEFAULT_PAGE_SIZE = 20


def page_size(first: int | None, maximum: int, field: str = "first", *,
              default: int = DEFAULT_PAGE_SIZE) -> int:
    """The page size `first` asks for: null is the default (never more than `maximum`); 0 is
    a page of no rows (its `totalCount` alone); below 0 or above `maximum` is refused."""
    if first is None:
        return min(default, maximum)
    if first < 0:
        raise BadUserInput(field, "must not be negative")
    if first > maximum:
        raise BadUserInput(field, f"must be {maximum} or less")
    return first


def asks_for_total(info: Info[Any, Any]) -> bool:
    """Whether the connection being resolved has `totalCount` among its selected fields,
    under any alias, through any fragment, whatever the directives on it say (a count too
    many costs time; a count too few would be a wrong answer, and a count left out is
    never made up: the field then fails, see `connection_of`)."""
    pending: list[Selection] = [s for field in info.selected_fields
                                if isinstance(field, SelectedField) for s in field.selections]
    while pending:
        selection = pending.pop()
        if isinstance(selection, SelectedField):
            if selection.name == "totalCount":
                return True
        elif isinstance(selection, FragmentSpread | InlineFragment):
            pending.extend(selection.selections)
    return False


def connection_of(edge: type[Any], connection: type[T], rows: Sequence[Any], total: int | None,
                  size: int) -> T:
    """`total` is None when nobody asked for it: `totalCount` (non-null) then resolves to an
    error, never to a number nobody counted."""
    edges = [edge(cursor=encode_cursor(r.public_id), node=r) for r in rows[:size]]
    return connection(edges=edges, total_count=total,  # type: ignore[call-arg]
                      page_info=PageInfo(has_next_page=len(rows) > size,
                                         end_cursor=edges[-1].cursor if edges else None))


async def fetch_page(ctx: Context, model: Any, where: list[ColumnElement[bool]], size: int,
                     start: str | None, *, counted: bool = True,
                     count: Select[Any] | None = None) -> tuple[list[Any], int | None]:
    """Up to `size` + 1 rows after `start`, and the number of rows `where` lets through when
    `counted` (else None): `SELECT count(*)` over a large division is most of a page's cost,
    so it runs only for a selection that asks for `totalCount` (`asks_for_total`). `count`,
    where given, is a statement that gives the same number from kept counts."""
    total: int | None = None
    if counted:
        statement = count if count is not None else \
            select(func.count()).select_from(model).where(*where)
        total = int(await ctx.scalar(statement) or 0)
    if total == 0 or size == 0:
        return [], total
    query = select(model).where(*where)
    if start is not None:
        query = query.where(col(model.public_id) > start)
    rows = await ctx.scalars(query.order_by(col(model.public_id)).limit(size + 1))
    return list(rows), total
