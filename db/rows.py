"""Read-only rows for the read paths: a table's columns as a named tuple, no ORM instance.

A page of judgments with their people and courts is 60 ORM instances; building them (the
identity map, instance state, sqlmodel's attribute hooks) cost about a tenth of a page's
time. A read that only hands values on reads the same columns into `row_type(Model)`
instead: the same attribute names and the same Python values (the columns' own types
convert them, as for the ORM), nothing to flush, nothing to expire. Writes keep the
sqlmodel classes.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Column


@cache
def row_type(model: Any) -> type[Any]:
    """The named tuple of `model`'s columns, in table order; `row_type(M).model` is M."""
    names = tuple(column.key for column in model.__table__.columns)
    base = namedtuple(f"{model.__name__}Row", names)  # type: ignore[misc]  # noqa: PYI024
    return type(base.__name__, (base,), {"__slots__": (), "model": model,
                                         "__doc__": f"A {model.__name__} row, read only."})


def columns_of(model: Any) -> Sequence[Column[Any]]:
    return tuple(model.__table__.columns)


def split_row(values: Sequence[Any], models: Sequence[Any]) -> list[Any]:
    """`values` of one result row holding `models`' columns one after another, as a row of
    each (None for a model whose primary key is null: an outer join that found nothing)."""
    found: list[Any] = []
    start = 0
    for model in models:
        kind = row_type(model)
        end = start + len(kind._fields)
        part = values[start:end]
        found.append(None if part[_key_position(model)] is None else kind._make(part))
        start = end
    return found


@cache
def _key_position(model: Any) -> int:
    [key] = model.__table__.primary_key.columns
    return tuple(model.__table__.columns).index(key)


def is_row_of(obj: Any, model: Any) -> bool:
    return getattr(type(obj), "model", None) is model and isinstance(obj, tuple)
