"""Query limits, measured in time linear in the document (CONTRACT.md §2).

Depth, aliases and cost are properties of a document with its fragments expanded, and a
document of 800 bytes can spread one fragment 2^40 times (`F1` spreads `F0` twice, `F2`
spreads `F1` twice, ...). Walking that expansion, as strawberry's QueryDepthLimiter and
MaxAliasesLimiter do, froze the process. Here each fragment's shape is computed once and
reused wherever it is spread; schema/documents.py refuses a document over a limit with
QUERY_TOO_COMPLEX right after parsing, before any validation rule runs.

A fragment cycle is cut (counted as nothing) and left to graphql-core's NoFragmentCycles
rule; so is a spread of an unknown fragment (KnownFragmentNames).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
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
# The connections, by field name (`history`: Judgment.history). `policies`, `policyChanges`
# and `Offender.detentions` are plain lists (CONTRACT.md §4 fixes them so): 1 an item.
LIST_FIELDS = frozenset({"judgments", "offenders", "inquiries", "notices", "auditEvents", "cases",
                         "policyHistory", "reportingCompliance", "history"})
# A list's page where `first` is absent or null: its default in the schema (CONTRACT.md §4:
# every `first` is `Int = 20`, auditEvents' `Int = 50`).
DEFAULT_PAGES = {"auditEvents": 50}
# The largest page a variable may ask for (schema/pagination.page_size refuses more).
VARIABLE_PAGE = 100
# Counts past this are all "too many": it keeps the arithmetic of a fragment bomb small.
CEILING = 10**12
INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 2000
    max_depth: int = 10
    max_aliases: int = 15
    max_directives: int = 50
    max_cost: int = 5000


@dataclass(frozen=True)
class Shape:
    """A selection set with its fragments expanded: `cost` at a multiplier of one (each
    field costs 1, times the page sizes of the lists around it), the depth of nested
    selection sets (introspection fields not counted) and the number of aliased fields."""

    cost: int = 0
    depth: int = 0
    aliases: int = 0


NOTHING = Shape()


class _Expansion:
    """Shapes of one document's fragments, each computed once."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.done: dict[str, Shape] = {}
        self.open: set[str] = set()

    def fragment(self, name: str) -> Shape:
        shape = self.done.get(name)
        if shape is not None:
            return shape
        if name in self.open or name not in self.fragments:
            return NOTHING
        self.open.add(name)
        shape = self.selections(self.fragments[name].selection_set)
        self.open.discard(name)
        self.done[name] = shape
        return shape

    def selections(self, selection_set: SelectionSetNode | None) -> Shape:
        if selection_set is None:
            return NOTHING
        cost = depth = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.selections(selection.selection_set)
                cost += 1 + _page_size(selection) * inner.cost
                aliases += inner.aliases + (selection.alias is not None)
                if selection.selection_set is not None \
                        and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner.depth)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = self.selections(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
            else:  # pragma: no cover - the three kinds of selection above are all there is
                continue
            cost += inner.cost
            aliases += inner.aliases
            depth = max(depth, inner.depth)
        return Shape(min(cost, CEILING), depth, min(aliases, CEILING))


def _page_size(field: FieldNode) -> int:
    """`first` and `last` alike (both given, the resolver refuses them: the larger is the
    price); neither, or null, is the default."""
    sizes = [size for argument in field.arguments or ()
             if argument.name.value in ("first", "last")
             and (size := _asked(argument.value)) is not None]
    return max(sizes) if sizes else default_page(field.name.value)


def _asked(value: Any) -> int | None:
    if isinstance(value, IntValueNode):
        digits = value.value
        # Not a GraphQL Int (32 bits; int() refuses thousands of digits): validation refuses
        # it, naming the argument. 0 (its totalCount alone) costs as 1; below 0 or above the
        # largest page, the resolver refuses it, naming the argument.
        if len(digits) > 10 or int(digits) > INT_MAX:
            return 1
        return max(1, int(digits))
    if isinstance(value, VariableNode):
        # Its value is not known here: priced as the largest page it may ask for, a null
        # one too (the estimate's unused part is given back afterwards).
        return VARIABLE_PAGE
    return None  # null is the default, as an absent one (anything else: invalid)


def default_page(name: str) -> int:
    """What a list field named `name` costs per item of its selection without a `first`."""
    if name not in LIST_FIELDS:
        return 1
    return DEFAULT_PAGES.get(name, DEFAULT_PAGE)


@dataclass(frozen=True)
class Verdict:
    """Why a document is refused (None: it is not), and each operation's cost by name
    (None for the anonymous one)."""

    problem: str | None
    costs: dict[str | None, int]


def examine(document: DocumentNode, limits: Limits) -> Verdict:
    expansion = _Expansion(document)
    costs: dict[str | None, int] = {}
    problem: str | None = None
    try:
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            name = definition.name.value if definition.name else None
            shape = expansion.selections(definition.selection_set)
            costs[name] = shape.cost
            problem = problem or _over(shape, name, limits)
    except RecursionError:
        problem = "the document nests too deeply to be checked"
    return Verdict(problem, costs)


def _over(shape: Shape, name: str | None, limits: Limits) -> str | None:
    if shape.depth > limits.max_depth:
        return f"'{name or 'anonymous'}' exceeds maximum operation depth of {limits.max_depth}"
    if shape.aliases > limits.max_aliases:
        return f"{_count(shape.aliases)} aliases found. Allowed: {limits.max_aliases}"
    if shape.cost > limits.max_cost:
        return f"query cost {_count(shape.cost)} exceeds the budget of {limits.max_cost}"
    return None


def _count(n: int) -> str:
    return f"more than {CEILING}" if n >= CEILING else str(n)


def max_directives_rule(limit: int) -> type[ValidationRule]:
    """Directives are counted where they are written (each once): linear by nature."""

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
