"""What every input value must be, whatever its field, and the field named when it is not.

- A bad literal names its field like a bad variable does (CONTRACT.md §6). graphql-core's
  ValuesOfCorrectTypeRule finds the path of a bad value inside an argument
  (`input: {penalty: {termMonths: "x"}}`) but reports only the message; the rule here,
  in its place, puts the argument and the path into `extensions.field`
  (`input.penalty.termMonths`, `input.crimes[0].name`; a variable's name for a bad
  default value), which schema/errors.py hands on.
- No text carries U+0000 or an unpaired surrogate (JSON can escape both: `"\\u0000"`,
  `"\\ud800"`). PostgreSQL refuses the first in any text, no database or UTF-8 response
  can hold the second, and neither has a meaning here; both are refused before any
  resolver runs, in literals and in variables (JSON scalars' keys and strings included).
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    ArgumentNode,
    GraphQLError,
    GraphQLInputType,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    ValuesOfCorrectTypeRule,
    VariableDefinitionNode,
    VisitorAction,
)
from graphql.language import SKIP
from graphql.utilities.validate_input_value import validate_input_literal

from schema.errors import BadUserInput

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = "must not contain the character U+0000 or an unpaired surrogate"


def field_path(name: str, path: list[str | int] | tuple[str | int, ...]) -> str:
    return name + "".join(f"[{step}]" if isinstance(step, int) else f".{step}"
                          for step in path)


def unstorable_text(value: Any, path: tuple[str | int, ...] = ()
                    ) -> tuple[str | int, ...] | None:
    """The path to the first string (or object key) in `value` that no database can
    store, or None."""
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _UNSTORABLE.search(key):
                return path
            found = unstorable_text(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_text(item, (*path, index))
            if found is not None:
                return found
    return None


def _unstorable_literal(node: ValueNode, path: tuple[str | int, ...] = ()
                        ) -> tuple[str | int, ...] | None:
    if isinstance(node, StringValueNode):
        return path if _UNSTORABLE.search(node.value) else None
    children: list[tuple[str | int, ValueNode]] = []
    if isinstance(node, ObjectValueNode):
        children = [(f.name.value, f.value) for f in node.fields]
    elif isinstance(node, ListValueNode):
        children = list(enumerate(node.values))
    for step, child in children:
        found = _unstorable_literal(child, (*path, step))
        if found is not None:
            return found
    return None


class NamedValuesOfCorrectTypeRule(ValuesOfCorrectTypeRule):
    field = ""

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.field = node.name.value

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        self.field = node.variable.name.value

    def is_valid_value_node(self, node: ValueNode,
                            input_type: GraphQLInputType | None) -> VisitorAction:
        if input_type:
            field = self.field

            def on_error(error: GraphQLError, path: list[str | int]) -> None:
                self.report_error(GraphQLError(error.message, error.nodes,
                                               extensions={"field": field_path(field, path)}))

            validate_input_literal(node, input_type, on_error, None, None,
                                   self.context.hide_suggestions)
            found = _unstorable_literal(node)
            if found is not None:
                self.report_error(GraphQLError(
                    f"{field_path(field, found)}: {UNSTORABLE}", node,
                    extensions={"field": field_path(field, found)}))
        return SKIP


def unstorable_variable(variables: dict[str, Any] | None) -> GraphQLError | None:
    """The refusal of the first variable holding text no database can store, if any."""
    for name, value in (variables or {}).items():
        found = unstorable_text(value)
        if found is not None:
            refusal = BadUserInput(field_path(name, found), UNSTORABLE)
            return GraphQLError(refusal.message, original_error=refusal)
    return None
