"""The SQL form of the yes/no relations that decide whether a row is visible (DESIGN.md §2).

The decision point is asked once per combination of few-valued attributes; the allowed
combinations become a WHERE clause built here. An attribute without a SQL form here is
an error, never ignored: the filter fails closed.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, false, not_, or_, true

# A mapped column as `sqlmodel.col(Model.field)` gives it (typed `Mapped[...]` by sqlmodel,
# a column expression at run time).
Column = Any


class UnfilterableAttribute(ValueError):
    pass


def division_prefix(division: str | None) -> str | None:
    """110000 -> "11", 110100 -> "1101", 110101 -> "110101"; anything else -> None."""
    if not division or len(division) != 6 or not division.isdigit() or division == "000000":
        return None
    if division.endswith("0000"):
        return division[:2]
    if division.endswith("00"):
        return division[:4]
    return division


def region_in_division(column: Column, division: str | None
                       ) -> ColumnElement[bool]:
    prefix = division_prefix(division)
    if prefix is None:
        return false()
    clause: ColumnElement[bool] = column.startswith(prefix, autoescape=True)
    return clause


def visibility_clause(
    combinations: Iterable[Mapping[str, str]],
    columns: Mapping[str, Column],
    *,
    region_column: Column,
    requester_division: str | None,
    constants: Mapping[str, str] | None = None,
    relations: Mapping[str, tuple[str, ColumnElement[bool]]] | None = None,
) -> ColumnElement[bool]:
    """OR over the allowed combinations, each an AND of its attributes' SQL forms.

    `columns` maps an attribute with a plain column (seal_status, verdict) to it; the
    relation `in_requester_division` is written with `region_column`; `constants` are
    attributes every row of the table shares (`type`): a combination that names another
    value matches no row. `relations` maps an attribute that relates the row to the
    requester (`owner_agency` of a notice) to (the value meaning "related", the SQL test).
    """
    constants = constants or {}
    relations = relations or {}
    terms: list[ColumnElement[bool]] = []
    for combination in combinations:
        parts: list[ColumnElement[bool]] = []
        for name, value in combination.items():
            if name in constants:
                if value != constants[name]:
                    parts.append(false())
            elif name == "in_requester_division":
                inside = region_in_division(region_column, requester_division)
                parts.append(inside if value == "yes" else not_(inside))
            elif name in relations:
                related_value, related = relations[name]
                parts.append(related if value == related_value else not_(related))
            elif name in columns:
                parts.append(columns[name] == value)
            else:
                raise UnfilterableAttribute(name)
        terms.append(and_(true(), *parts))
    return or_(false(), *terms)
