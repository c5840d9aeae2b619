"""Hypothesis strategies for the arguments of any GraphQL field, read from the built schema.

A value is drawn for an argument's GraphQL type (recursively through input objects and
lists), weighted to the extremes of that type, and mixed with plausible values looked up
by the argument's or input field's name (so that an otherwise valid input reaches the
check of the one field that is not). Input objects also come as a valid base with one or
two leaves replaced by extremes. Values are Python values ready for JSON variables;
`literal` prints them as GraphQL literals where the language can express them.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import timedelta, timezone
from functools import cache
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
    is_required_argument,
)
from hypothesis import strategies as st
from sqlmodel import SQLModel

import db.models  # noqa: F401 - the tables, for their column lengths
from schema.pagination import encode_cursor, encode_tagged_cursor

# The lengths of every VARCHAR(n) column: strings of n and of n + 1 characters are drawn.
COLUMN_LENGTHS = sorted({column.type.length for table in SQLModel.metadata.tables.values()
                         for column in table.columns
                         if getattr(column.type, "length", None)})
ODD_TEXT = [
    "", " ", "\t", "a\x00b", "\x00", "\x01\x02\x1f", "\x1b[31m", "\x7f", "\u0085", "\u2028",
    "\ufeff", "\u200b", "\uffff", "\U0010ffff", "\U0001f600" * 40, "e\u0301\u0301\u0301",
    "\u202eevil.exe", "\u0645\u0631\u062d\u0628\u0627", "\u738b\u4f1f", "' OR '1'='1",
    "'; DROP TABLE judgment; --", "%", "_", "\\", '"', "%_\\'\"", '{"a": 1}', "[]", "null",
    "NaN", "-1", "0", "1e999", "9" * 30, "$.role", "../../etc/passwd", "<script>",
    "9999-12-31", "0001-01-01", "2026-02-30", "2026-11-27T00:00:00+14:00",
    "110101199005170011", "11010119900517001X", "ofd_00000000000000000000",
    "00000000-0000-0000-0000-000000000000", "\ud800", "a\udfffb", "\udbff\udfff",
]
CURSORS = [encode_cursor(key) for key in ("9" * 30, "-1", "", "x" * 61, "\x00", "1e5", "0")] \
    + ["YzE6", "c1:1", "====", "_-_-", "Yz" * 40] \
    + [encode_cursor(key) for key in ("pv.", "jv.-1", "jv." + "9" * 19, "agc.", "agc.AA",
                                      "agc." + "A" * 91, "pv.1.2", "xx.1")] \
    + [encode_tagged_cursor(tag, key) for tag, key in (
        ("pv", 2**63), ("jv", 0), ("agc", "\x00"), ("agc", "'; --"), ("agc", "\u738b" * 30))]


class Digits(str):
    """An integer longer than int() reads (4300 digits), printed as a literal; as a
    variable it is a string."""


INTS = [0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**53, 2**53 + 1, -(2**53),
        2**63, -(2**63) - 1, 10**30, Digits("1" + "0" * 4400)]
# Numbers JSON can carry but no Int may be: sent as variables only.
NUMBERS = [1.5, -0.0, 1e308, float("inf"), float("-inf"), float("nan"), "1", True]
DATES = ["0001-01-01", "0001-01-02", "9999-12-31", "9999-12-30", "1900-01-01", "1970-01-01",
         "2024-02-29", "2026-02-29", "2026-13-01", "2026-00-10", "", "x", "2026-1-1",
         "20261127", "2026-W48-5", "+12026-01-01", "2026-11-27T00:00:00", "2026-11-27 "]
DATETIMES = ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-14:00",
             "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59+14:00",
             "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z", "2026-01-01T00:00:00",
             "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+23:59", "2026-01-01T00:00:00+24:00",
             "2026-01-01", "2026-01-01T25:00:00Z", "2026-01-01T00:00:00.123456789Z",
             "2026-01-01T24:00:00Z", "", "x", "2026-01-01T00:00:00+14:00"]
NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
_DELETE = object()  # a mutation that removes the field
_SURROGATE = re.compile("[\ud800-\udfff]")


def long_text(length: int) -> str:
    return ("abcdefghij" * (length // 10 + 1))[:length]


@cache
def strings() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(ODD_TEXT),
        st.sampled_from(CURSORS),
        st.sampled_from(COLUMN_LENGTHS).flatmap(
            lambda n: st.sampled_from([long_text(n), long_text(n + 1), "\u738b" * (n + 1)])),
        st.just(long_text(10_001)),
        st.text(max_size=30),
    )


def offsets() -> st.SearchStrategy[timezone]:
    return st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


def scalar(name: str) -> st.SearchStrategy[Any]:
    if name == "Int":
        return st.one_of(st.sampled_from(INTS), st.integers())
    if name == "Float":
        return st.one_of(st.sampled_from(INTS), st.floats())
    if name == "Boolean":
        return st.booleans()
    if name == "Date":
        return st.one_of(st.sampled_from(DATES), st.dates().map(lambda d: d.isoformat()))
    if name == "DateTime":
        return st.one_of(st.sampled_from(DATETIMES),
                         st.datetimes(timezones=offsets()).map(lambda d: d.isoformat()),
                         st.datetimes().map(lambda d: d.isoformat()))
    if name == "JSON":
        return json_values()
    return strings()  # String, ID and any scalar added later


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for n in range(depth):
        value = [value] if n % 2 else {"a": value}
    return value


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=4),
                     st.dictionaries(strings(), inner, max_size=4))


@cache
def json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.booleans(), st.sampled_from(INTS), st.integers(),
                       st.floats(), strings())
    return st.one_of(
        st.recursive(leaves, _containers, max_leaves=12),
        st.sampled_from([10**400, -(10**400), float("nan"), float("inf"), 1e308]),
        st.sampled_from([10, 100, 800]).map(lambda d: nested(d, 1)),
        st.just(list(range(5000))),
        st.just({f"k{n}": n for n in range(3000)}),
    )


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += json_paths(item, (*prefix, index))
    return found


@st.composite
def json_mutated(draw: st.DrawFn, plausible: st.SearchStrategy[Any]) -> Any:
    """A plausible JSON document with one or two of its values (at any depth) made
    extreme, or removed."""
    value = copy.deepcopy(draw(plausible))
    paths = json_paths(value)
    if not paths:
        return value
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=2)):
        parent = value
        for step in path[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            replacement = draw(st.one_of(json_values(), st.just(_DELETE)))
            if replacement is not _DELETE:
                # `st.just` hands out one object: the second path may lie inside the first
                # replacement, and putting that object inside itself would be a cycle.
                replacement = copy.deepcopy(replacement)
            if isinstance(parent, dict):
                if replacement is _DELETE:
                    parent.pop(path[-1], None)
                else:
                    parent[path[-1]] = replacement
            elif isinstance(parent, list) and isinstance(path[-1], int) \
                    and path[-1] < len(parent) and replacement is not _DELETE:
                parent[path[-1]] = replacement
    return value


class Inputs:
    """Strategies for the arguments of GraphQL fields.

    `plausible` maps an argument or input field name, or a more precise "rootField.argument"
    or "InputType.field", to a strategy of valid-looking values; `bases` maps an input type
    name to a strategy of valid inputs of that type.
    """

    def __init__(self, plausible: Mapping[str, st.SearchStrategy[Any]],
                 bases: Mapping[str, st.SearchStrategy[dict[str, Any]]]) -> None:
        self.plausible = plausible
        self.bases = bases

    def arguments(self, root: str, field: GraphQLField) -> st.SearchStrategy[dict[str, Any]]:
        """A dict of argument values; an optional argument may be left out."""
        parts: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        for name, argument in field.args.items():
            value = self.value(argument.type, name, f"{root}.{name}")
            if is_required_argument(argument):
                parts[name] = value
            else:
                optional[name] = value
        return st.fixed_dictionaries(parts, optional=optional)

    def value(self, type_: GraphQLInputType, name: str, key: str = "",
              depth: int = 0) -> st.SearchStrategy[Any]:
        if isinstance(type_, GraphQLNonNull):
            return self._non_null(type_.of_type, name, key, depth)
        return st.one_of(self._non_null(type_, name, key, depth), st.none())

    def _non_null(self, type_: GraphQLInputType, name: str, key: str,
                  depth: int) -> st.SearchStrategy[Any]:
        plausible = self.plausible.get(key, self.plausible.get(name))
        extreme = self._extreme(type_, name, depth)
        if plausible is None:
            return extreme
        if isinstance(type_, GraphQLScalarType) and type_.name == "JSON":
            return st.one_of(plausible, json_mutated(plausible), extreme)
        return st.one_of(plausible, extreme)

    def _extreme(self, type_: GraphQLInputType, name: str, depth: int) -> st.SearchStrategy[Any]:
        if isinstance(type_, GraphQLNonNull):
            return self._non_null(type_.of_type, name, "", depth)
        if isinstance(type_, GraphQLList):
            item = self.value(type_.of_type, name, "", depth + 1)
            return st.one_of(st.lists(item, max_size=3), st.just([]),
                             item.map(lambda v: [v] * 300), st.just([None]))
        if isinstance(type_, GraphQLEnumType):
            return st.one_of(st.sampled_from(sorted(type_.values)),
                             st.sampled_from(["", "open", "NOT_A_VALUE", "OPEN "]))
        if isinstance(type_, GraphQLInputObjectType):
            return self._input_object(type_, depth)
        assert isinstance(type_, GraphQLScalarType)
        number = st.sampled_from(NUMBERS) if type_.name in ("Int", "Float") else st.nothing()
        return st.one_of(scalar(type_.name), number)

    def _input_object(self, type_: GraphQLInputObjectType,
                      depth: int) -> st.SearchStrategy[Any]:
        if depth > 3:
            return st.just({})
        values = {n: self.value(f.type, n, f"{type_.name}.{n}", depth + 1)
                  for n, f in type_.fields.items()}
        required = {n: v for n, v in values.items()
                    if isinstance(type_.fields[n].type, GraphQLNonNull)}
        optional = {n: v for n, v in values.items() if n not in required}
        generic = st.fixed_dictionaries(required, optional=optional)
        base = self.bases.get(type_.name)
        if base is None:
            return generic
        paths = leaf_paths(type_)

        @st.composite
        def mutated(draw: st.DrawFn) -> dict[str, Any]:
            value = copy.deepcopy(draw(base))
            for path, leaf_type in draw(st.lists(st.sampled_from(paths), min_size=1,
                                                 max_size=2)):
                name = next((p for p in reversed(path) if isinstance(p, str)), "")
                _set(value, path, draw(st.one_of(self._extreme(leaf_type, name, 2),
                                                  st.just(_DELETE))))
            return value

        return st.one_of(base, mutated(), generic)


def leaf_paths(type_: GraphQLInputObjectType, prefix: tuple[str | int, ...] = (),
               depth: int = 0) -> list[tuple[tuple[str | int, ...], GraphQLInputType]]:
    """Every field of `type_` and of the input objects inside it (lists by their first
    item), with its type: the places where one bad value can be put into a valid input."""
    found: list[tuple[tuple[str | int, ...], GraphQLInputType]] = []
    for name, field in type_.fields.items():
        path = (*prefix, name)
        found.append((path, field.type))
        inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if isinstance(inner, GraphQLList):
            path = (*path, 0)
            inner = inner.of_type.of_type if isinstance(inner.of_type, GraphQLNonNull) \
                else inner.of_type
        if isinstance(inner, GraphQLInputObjectType) and depth < 3:
            found += leaf_paths(inner, path, depth + 1)
    return found


def _set(value: Any, path: tuple[str | int, ...], replacement: Any) -> None:
    for step, following in zip(path, path[1:], strict=False):
        if isinstance(value, list):
            if not value or not isinstance(value[0], (dict, list)):
                value[:1] = [{} if isinstance(following, str) else []]
            value = value[0]
        else:
            if not isinstance(value.get(step), (dict, list)):
                value[step] = {} if isinstance(following, str) else []
            value = value[step]
    last = path[-1]
    if isinstance(value, list):
        value[:1] = [] if replacement is _DELETE else [replacement]
    elif replacement is _DELETE:
        value.pop(last, None)
    else:
        value[last] = replacement


# -- documents ---------------------------------------------------------------------------

def selection(type_: Any, nested: Mapping[str, str], depth: int = 0) -> str:
    """The leaves of `type_` and of the objects in it, two levels down: enough to run the
    resolvers of what a root field returns. A field with arguments is selected with those
    `nested` gives it (by "Type.field"), printed as literals."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    # An interface (`Node`): its own fields, as every type implementing it has them.
    assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
    parts = []
    for name, field in named.fields.items():
        arguments = nested.get(f"{named.name}.{name}", "")
        if field.args and f"{named.name}.{name}" not in nested:
            continue
        if is_leaf_type(get_named_type(field.type)):
            parts.append(name + arguments)
        elif depth < 2 and (inner := selection(field.type, nested, depth + 1)):
            parts.append(f"{name}{arguments} {inner}")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


def fields_with_arguments(type_: Any, depth: int = 0) -> dict[str, GraphQLField]:
    """The fields `selection` may reach that take arguments, by "Type.field"."""
    named = get_named_type(type_)
    found: dict[str, GraphQLField] = {}
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        return found
    for name, field in named.fields.items():
        if field.args:
            found[f"{named.name}.{name}"] = field
        if depth < 2:
            found.update(fields_with_arguments(field.type, depth + 1))
    return found


def printed_arguments(field: GraphQLField, arguments: Mapping[str, Any]) -> str:
    """`(a: 1, b: "x")`, leaving out the values no literal can express."""
    parts = [f"{name}: {printed}" for name, value in arguments.items()
             if (printed := literal(value, field.args[name].type)) is not None]
    return f"({', '.join(parts)})" if parts else ""


def literal(value: Any, type_: GraphQLInputType, depth: int = 0) -> str | None:
    """`value` as a GraphQL literal of `type_`, or None where no literal can say it (a
    non-finite number, a JSON object key that is not a GraphQL name) or the parser would
    refuse it for its nesting."""
    named = get_named_type(type_)
    if depth > 200:
        return None
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, Digits):
        return str.__str__(value)
    if isinstance(value, str):
        if isinstance(named, GraphQLEnumType):
            return value if NAME.match(value) else None
        # GraphQL has no escape for an unpaired surrogate: such text goes as a variable.
        return None if _SURROGATE.search(value) else json.dumps(value, ensure_ascii=False)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(value, list):
        item_type = inner.of_type if isinstance(inner, GraphQLList) else inner
        items = [literal(v, item_type, depth + 1) for v in value]
        return None if None in items else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    if isinstance(value, dict):
        fields: dict[str, Any] = named.fields if isinstance(named, GraphQLInputObjectType) \
            else {}
        parts = []
        for key, item in value.items():
            if not NAME.match(key):
                return None
            printed = literal(item, fields[key].type if key in fields else named, depth + 1)
            if printed is None:
                return None
            parts.append(f"{key}: {printed}")
        return "{" + ", ".join(parts) + "}"
    return None


def document(kind: str, root: str, field: GraphQLField, arguments: dict[str, Any],
             inline: Callable[[str], bool], nested: Mapping[str, str]
             ) -> tuple[str, dict[str, Any]]:
    """An operation calling `root` with `arguments`, each inline where `inline(name)` says
    so and a literal can express it, else as a variable; `nested` as for `selection`."""
    definitions, passed, variables = [], [], {}
    for name, value in arguments.items():
        type_ = field.args[name].type
        printed = literal(value, type_) if inline(name) else None
        if printed is not None:
            passed.append(f"{name}: {printed}")
        else:
            definitions.append(f"${name}: {type_}")
            passed.append(f"{name}: ${name}")
            variables[name] = value
    head = f"{kind}({', '.join(definitions)})" if definitions else kind
    call = f"{root}({', '.join(passed)})" if passed else root
    return f"{head} {{ {call} {selection(field.type, nested)} }}", variables


def encode(body: Mapping[str, Any]) -> bytes:
    """JSON as Python's own parser reads it: NaN, Infinity and unpaired surrogates (as
    `\\ud800` escapes) included."""
    return json.dumps(body, ensure_ascii=True, allow_nan=True).encode()


