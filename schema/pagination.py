"""Relay connections with opaque cursors (keyset on the opaque public id)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from graphql import NullValueNode, VariableNode
from sqlalchemy import ColumnElement, Integer, Select, bindparam, func
from sqlmodel import col, select
from strawberry.dataloader import DataLoader
from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from db.rows import columns_of, split_row
from schema.errors import BadUserInput

if TYPE_CHECKING:
    from schema.context import Context

T = TypeVar("T")


@strawberry.type(description=(
    "Where a page stands in its list (Relay). Paging forward (`first`/`after`): "
    "hasNextPage tells whether rows follow the page (true after a `first: 0` page when "
    "rows exist), hasPreviousPage is false. Paging backward (`last`/`before`): "
    "hasPreviousPage tells whether rows come before the page, hasNextPage is false."))
class PageInfo:
    has_next_page: bool = strawberry.field(description=(
        "Forward paging: whether rows follow this page. Backward paging: false."))
    end_cursor: str | None = strawberry.field(description=(
        "The cursor of the page's last row (pass it as `after`); null on an empty page."))
    has_previous_page: bool = strawberry.field(default=False, description=(
        "Backward paging: whether rows come before this page. Forward paging: false."))
    start_cursor: str | None = strawberry.field(default=None, description=(
        "The cursor of the page's first row (pass it as `before`); null on an empty page."))


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"c1:{key}".encode()).decode().rstrip("=")


# What this API puts in a cursor: a public id (db/ids.py) or an audit sequence number.
_KEY = re.compile(r"[A-Za-z0-9_-]{1,60}")
_SEQUENCE = re.compile(r"[0-9]{1,18}")  # below 2^63: a BIGINT on both databases


def _cursor_text(cursor: str, field: str) -> str:
    """What follows `c1:` in a cursor of this API's form."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        text = raw.decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput(field, "not a cursor from this API") from None
    if not text.startswith("c1:"):
        raise BadUserInput(field, "not a cursor from this API")
    return text[3:]


def decode_cursor(cursor: str | None, field: str = "after") -> str | None:
    """The key in a cursor this API made; anything else (a NUL byte, 30 digits, text)
    is refused here, before it reaches a database that would choke on it."""
    if cursor is None:
        return None
    key = _cursor_text(cursor, field)
    if not _KEY.fullmatch(key):
        raise BadUserInput(field, "not a cursor from this API")
    return key


def decode_sequence_cursor(cursor: str | None, field: str = "after") -> int | None:
    """A cursor holding a sequence number (the audit trail's), as that number."""
    key = decode_cursor(cursor, field)
    if key is None:
        return None
    if not _SEQUENCE.fullmatch(key):
        raise BadUserInput(field, "not a cursor from this API")
    return int(key)


# Cursors of the connections whose key is no public id: `c1:<tag>.<key>`, one tag per
# connection, so that a cursor of another connection (a judgment's, another list's version
# number) is refused naming the argument rather than read as a position in this one.
_TAGGED = re.compile(r"([a-z]{2,3})\.([A-Za-z0-9_-]{1,90})")


def encode_tagged_cursor(tag: str, key: int | str) -> str:
    """A cursor of the connection `tag` names: `key` a number (a version), or text (an
    agency code), kept whole as base64 whatever its characters."""
    text = str(key) if isinstance(key, int) else \
        base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    return encode_cursor(f"{tag}.{text}")


def _tagged(cursor: str, field: str, tag: str) -> str:
    found = _TAGGED.fullmatch(_cursor_text(cursor, field))
    if found is None or found.group(1) != tag:
        raise BadUserInput(field, "not a cursor of this list")
    return found.group(2)


def number_cursor(tag: str) -> Callable[[str | None, str], int | None]:
    """`window`'s decoder for the cursors `encode_tagged_cursor(tag, n)` makes: the number."""
    def decode(cursor: str | None, field: str = "after") -> int | None:
        if cursor is None:
            return None
        key = _tagged(cursor, field, tag)
        if not _SEQUENCE.fullmatch(key):
            raise BadUserInput(field, "not a cursor of this list")
        return int(key)
    return decode


def text_cursor(tag: str) -> Callable[[str | None, str], str | None]:
    """`window`'s decoder for the cursors `encode_tagged_cursor(tag, text)` makes: the text."""
    def decode(cursor: str | None, field: str = "after") -> str | None:
        if cursor is None:
            return None
        key = _tagged(cursor, field, tag)
        try:
            text = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
        except (binascii.Error, UnicodeError, ValueError):
            raise BadUserInput(field, "not a cursor of this list") from None
        if not text or "\x00" in text:
            raise BadUserInput(field, "not a cursor of this list")
        return text
    return decode


# CONTRACT.md §4: every `first` is exactly `Int = 20`, `null` meaning the default
# (`auditEvents` is `Int = 50`). schema/limits.py prices an absent or null `first` at the
# same defaults (DEFAULT_PAGES there; tests/api/test_pagination.py keeps the two in step).
DEFAULT_PAGE_SIZE = 20

# The Relay arguments' descriptions, alike on every connection.
FIRST = "Rows in the page, 0 to 100; null or absent: 20. 0 answers totalCount alone."
AFTER = "The endCursor of the page before; null or absent: the first page."
LAST = ("Page backward: the last rows (before `before`, else of the list), 0 to 100. Not "
        "together with `first`.")
BEFORE = "The startCursor of the page after; rows before it only."
# The four Relay arguments as every connection declares them (each field keeps its own
# defaults: `first: First = 20`).
First = Annotated[int | None, strawberry.argument(description=FIRST)]
After = Annotated[str | None, strawberry.argument(description=AFTER)]
Last = Annotated[int | None, strawberry.argument(description=LAST)]
Before = Annotated[str | None, strawberry.argument(description=BEFORE)]


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


@dataclass(frozen=True)
class Window:
    """The rows a connection's arguments ask for: `size` rows after `after` and before
    `before` (keys, not cursors), the first ones, or the last ones when `backward`."""

    size: int
    after: Any = None
    before: Any = None
    backward: bool = False


def given(info: Info[Any, Any], name: str) -> bool:
    """Whether the request itself names argument `name` with a value (not null, not an
    absent variable): a default `first` is not a `first` the client asked for."""
    raw = info._raw_info
    for node in raw.field_nodes:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            if isinstance(argument.value, VariableNode):
                return info.variable_values.get(argument.value.name.value) is not None
            return not isinstance(argument.value, NullValueNode)
    return False


def window(info: Info[Any, Any], first: int | None, after: str | None, last: int | None,
           before: str | None, maximum: int, *, default: int = DEFAULT_PAGE_SIZE,
           decode: Callable[[str | None, str], Any] = decode_cursor) -> Window:
    """The page the Relay arguments ask for. `first` and `last` together are refused (the
    Relay spec discourages it), naming `last`; `last` is bounded as `first` is."""
    if last is not None and first is not None and given(info, "first"):
        raise BadUserInput("last", "not together with first: page forward with first and "
                                   "after, or backward with last and before")
    size = page_size(last, maximum, "last", default=default) if last is not None \
        else page_size(first, maximum, default=default)
    return Window(size, decode(after, "after"), decode(before, "before"), last is not None)


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


def page_info(edges: Sequence[Any], more: bool, backward: bool) -> PageInfo:
    """`more`: a row beyond the page was found, in the direction of paging."""
    return PageInfo(has_next_page=more and not backward, has_previous_page=more and backward,
                    start_cursor=edges[0].cursor if edges else None,
                    end_cursor=edges[-1].cursor if edges else None)


def connection_of(edge: type[Any], connection: type[T], rows: Sequence[Any], total: int | None,
                  size: int, backward: bool = False, *,
                  cursor: Callable[[Any], str] | None = None, more: bool | None = None) -> T:
    """`rows`: up to `size` + 1, in the order of paging (backward: nearest `before` first).
    `total` is None when nobody asked for it: `totalCount` (non-null) then resolves to an
    error, never to a number nobody counted. `cursor`: a row's cursor (default: its public
    id's). `more`: whether a row lies beyond the page, where `rows` holds the page alone."""
    page = list(rows[:size])
    if backward:
        page.reverse()
    edges = [edge(cursor=encode_cursor(r.public_id) if cursor is None else cursor(r), node=r)
             for r in page]
    beyond = len(rows) > size if more is None else more
    return connection(edges=edges, total_count=total,  # type: ignore[call-arg]
                      page_info=page_info(edges, beyond, backward))


async def fetch_page(ctx: Context, model: Any, where: list[ColumnElement[bool]], size: int,
                     start: str | None, *, counted: bool = True,
                     count: Select[Any] | None = None, before: str | None = None,
                     backward: bool = False,
                     related: Sequence[tuple[str, Any, DataLoader[Any, Any]]] = ()
                     ) -> tuple[list[Any], int | None]:
    """Up to `size` + 1 rows after `start` and before `before` (the first ones; with
    `backward`, the last ones, nearest `before` first), so that one row beyond the page tells
    whether there is more, even for a page of 0 rows; and the number of rows `where` lets
    through when
    `counted` (else None): `SELECT count(*)` over a large division is most of a page's cost,
    so it runs only for a selection that asks for `totalCount` (`asks_for_total`). `count`,
    where given, is a statement that gives the same number from kept counts. `related`:
    (column, model, loader) of rows each row names by id (its person, its court), read in
    the same statement and primed into their loaders, so that the page's fields find them
    at once (no second statement, no field waiting on a loader)."""
    total: int | None = None
    if counted:
        statement = count if count is not None else \
            select(func.count()).select_from(model).where(*where)
        total = int(await ctx.scalar(statement) or 0)
    if total == 0:
        return [], total
    if not related:
        query = _keyset(select(model).where(*where), model, start, before, backward, size + 1)
        return list(await ctx.scalars(query)), total
    models = (model, *(entity for _, entity, _ in related))
    joined_page = _joined_page(models, related, where, start is not None,
                               before is not None, backward)
    found: Sequence[Any] = await ctx.rows(
        joined_page, {"page_after": start, "page_before": before, "page_limit": size + 1})
    rows = []
    for values in found:
        row, *others = split_row(values, models)
        rows.append(row)
        for (column, _, loader), value in zip(related, others, strict=True):
            if value is not None:
                loader.prime(getattr(row, column), value)
    return rows, total


# Page statements by what they are built from (the filters by identity, kept in the value):
# a statement object reused keeps its cache key and its compiled SQL, where one built anew
# costs its construction and a walk of its 40-odd columns on every request. The visibility
# clauses are themselves reused (schema/records.py), so an unfiltered list hits here.
_PAGES: dict[tuple[Any, ...], tuple[tuple[Any, ...], Select[Any]]] = {}
_PAGES_LIMIT = 1024


def _keyset(query: Any, model: Any, after: Any, before: Any, backward: bool,
            limit: Any) -> Any:
    """`query` cut to a page of `model` by its public id: after `after`, before `before`
    (values or bound parameters; None: no bound), `limit` rows in the order of paging."""
    key = col(model.public_id)
    if after is not None:
        query = query.where(key > after)
    if before is not None:
        query = query.where(key < before)
    return query.order_by(key.desc() if backward else key).limit(limit)


def _joined_page(models: tuple[Any, ...], related: Sequence[tuple[str, Any, Any]],
                 where: Sequence[ColumnElement[bool]], after: bool, before: bool,
                 backward: bool) -> Select[Any]:
    """Plain rows (db/rows.py), not ORM instances, of `models` joined as `related` says:
    the page only hands values on. Bound parameters: page_after, page_before, page_limit."""
    key = (models, tuple(r[0] for r in related), tuple(id(w) for w in where), after, before,
           backward)
    cached = _PAGES.get(key)
    if cached is not None and len(cached[0]) == len(where) and all(
            a is b for a, b in zip(cached[0], where, strict=True)):
        return cached[1]
    model = models[0]
    # The page first, then what its rows name: the joins read 21 rows, whatever the
    # planner thinks of the filter (a join before the LIMIT read every visible row).
    rows = _keyset(select(*columns_of(model)).where(*where), model,
                   bindparam("page_after") if after else None,
                   bindparam("page_before") if before else None, backward,
                   bindparam("page_limit", type_=Integer)).subquery("page")
    joined: Any = rows
    for column, entity, _ in related:
        joined = joined.outerjoin(entity.__table__, col(entity.id) == rows.c[column])
    query: Select[Any] = select(*rows.c, *(c for m in models[1:] for c in columns_of(m))
                                ).select_from(joined).order_by(
        rows.c.public_id.desc() if backward else rows.c.public_id)
    if len(_PAGES) >= _PAGES_LIMIT:
        _PAGES.clear()
    _PAGES[key] = (tuple(where), query)
    return query
