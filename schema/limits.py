"""Query limits strawberry does not ship: directives per document, and a cost budget.

Both are validation rules, so a document over a limit is refused before any resolver
runs. Fragments are expanded (and a fragment cycle cannot loop: it is cut and left to
graphql-core's own NoFragmentCyclesRule).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)

DEFAULT_PAGE = 20


def max_directives_rule(limit: int) -> type[ValidationRule]:
    class MaxDirectives(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            self.count += 1

        def leave_document(self, *_: Any) -> None:
            if self.count > limit:
                self.report_error(GraphQLError(
                    f"{self.count} directives found. Allowed: {limit}"))

    return MaxDirectives


def cost_rule(budget: int) -> type[ValidationRule]:
    """Each field costs 1, times the page sizes (`first`) of the lists around it."""

    class QueryCost(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {d.name.value: d for d in self.context.document.definitions
                         if isinstance(d, FragmentDefinitionNode)}
            variables = self.context.document
            cost = _cost(node.selection_set, fragments, 1, frozenset(), variables, budget)
            if cost > budget:
                self.report_error(GraphQLError(
                    f"query cost {cost} exceeds the budget of {budget}", node))

    return QueryCost


def _cost(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
          multiplier: int, seen: frozenset[str], document: Any, budget: int) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if total > budget:
            return total
        if isinstance(selection, FieldNode):
            inner = multiplier * _page_size(selection)
            total += multiplier + _cost(selection.selection_set, fragments, inner, seen,
                                        document, budget)
        elif isinstance(selection, InlineFragmentNode):
            total += _cost(selection.selection_set, fragments, multiplier, seen, document,
                           budget)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            total += _cost(fragments[name].selection_set, fragments, multiplier,
                           seen | {name}, document, budget)
    return total


def _page_size(field: FieldNode) -> int:
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(1, int(argument.value.value))
            if isinstance(argument.value, VariableNode):
                return 100  # the largest page a variable may ask for
    if field.name.value in ("judgments", "offenders", "inquiries", "notices", "auditEvents",
                            "edges"):
        return 1 if field.name.value == "edges" else DEFAULT_PAGE
    return 1
