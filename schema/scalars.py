"""The Date, DateTime and JSON scalars (CONTRACT.md §4), with the ranges the service keeps.

Strawberry's own accept any value Python can hold: the year 9999, a datetime without an
offset or one whose UTC instant lies past the year 9999 (`9999-12-31T23:59:59-14:00`),
NaN and Infinity. Each broke something further down (a day added to 9999-12-31, a naive
time given to a column of instants, NaN in a stored policy and in the JSON response) and
came out as INTERNAL or a 500. Here they are refused where they are read, so the error
names the field (a variable's path, or a literal's through schema/inputs.py).

Dates of this registry lie in [1900-01-01, 2999-12-31]: no one it records was born
before 1900, and the range leaves centuries for the arithmetic done on them (ages,
sealing periods, deadlines, report windows). A DateTime needs an offset and is read as
the same instant in UTC.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

import dateutil.parser
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.scalars import JSON
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Refused(StrawberryInputCoercionError):
    """A coercion error: graphql-core reports it with the variable's or literal's path."""


def _in_range(day: date, what: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Refused(f"{what} must be between {FIRST_DAY} and {LAST_DAY}")


def parse_date(value: object) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise Refused("a Date is written YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise Refused("not a day of the calendar") from None
    _in_range(parsed, "a Date")
    return parsed


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise Refused("a DateTime is an ISO 8601 string with an offset")
    try:
        parsed: datetime = dateutil.parser.isoparse(value)
    except (ValueError, OverflowError):
        raise Refused("a DateTime is an ISO 8601 string with an offset") from None
    if parsed.utcoffset() is None:
        raise Refused("a DateTime needs an offset (Z, +08:00, ...)")
    if not FIRST_DAY <= parsed.date() <= LAST_DAY:  # before astimezone, which overflows
        _in_range(parsed.date(), "a DateTime")
    instant = parsed.astimezone(UTC)
    _in_range(instant.date(), "a DateTime")
    return instant


def parse_json(value: Any) -> Any:
    """Python's JSON reader takes NaN and Infinity (and reads 1e400 as infinity); no JSON
    writer does, so a value holding one could be neither stored nor answered."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise Refused("JSON numbers must be finite (no NaN, no Infinity, none beyond "
                          "1e308)")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


RFC_3339 = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"

SCALARS: dict[object, ScalarDefinition] = {
    date: ScalarDefinition(
        name="Date",
        description="A calendar day, RFC 3339 full-date (2026-11-27), from 1900-01-01 to "
                    "2999-12-31.",
        specified_by_url=RFC_3339, serialize=DateDefinition.serialize, parse_value=parse_date,
        parse_literal=None, origin=date),
    datetime: ScalarDefinition(
        name="DateTime",
        description="An instant, RFC 3339 date-time with an offset "
                    "(2026-11-27T09:30:00+08:00); answered in UTC (+00:00).",
        specified_by_url=RFC_3339, serialize=DateTimeDefinition.serialize,
        parse_value=parse_datetime, parse_literal=None, origin=datetime),
    JSON: ScalarDefinition(
        name="JSON",
        description="Any JSON value (ECMA-404): object, array, string, boolean, null or a "
                    "finite number.",
        specified_by_url=DEFAULT_SCALAR_REGISTRY[JSON].specified_by_url,
        serialize=DEFAULT_SCALAR_REGISTRY[JSON].serialize, parse_value=parse_json,
        parse_literal=None, origin=JSON),
}
