"""Each query text parsed and examined once: its document, or why it is refused, and what
each of its operations costs.

The schema's extension hands strawberry the parsed document (so strawberry parses
nothing itself) and refuses, before any validation rule runs, a document over a limit
(schema/limits.py) or one without a single operation to run. The API asks the same
examination for an operation's price before it opens a session (api/graphql.py), so a
requester whose bucket is empty costs one dictionary look-up, not an operation.

One extension instead of strawberry's MaxTokensLimiter, ParserCache and AddValidationRules
(and its depth and alias limiters): strawberry prepares every extension's hooks on every
request, about 18 µs each here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from schema.errors import BadUserInput, QueryTooComplex
from schema.inputs import unstorable_variable
from schema.limits import Limits, Verdict, examine


@dataclass(frozen=True)
class Examined:
    """A query text: its document and verdict, or the error it does not parse with."""

    document: DocumentNode | None
    verdict: Verdict | None
    error: GraphQLError | None

    def refusal(self, operation_name: str | None) -> GraphQLError | None:
        """Why this text cannot run as `operation_name` before it is validated, if it cannot."""
        if self.error is not None:
            return self.error
        assert self.verdict is not None
        problem = operation_problem(self.verdict, operation_name)
        if problem is not None:
            return GraphQLError(problem.message, original_error=problem)
        if self.verdict.problem is not None:
            too_complex = QueryTooComplex(self.verdict.problem)
            return GraphQLError(too_complex.message, original_error=too_complex)
        return None

    def price(self, operation_name: str | None) -> int | None:
        """The operation's query cost; None where it will not run (refused above)."""
        if self.refusal(operation_name) is not None:
            return None
        assert self.verdict is not None
        return self.verdict.costs[operation_name if operation_name is not None
                                  else next(iter(self.verdict.costs))]


def operation_problem(verdict: Verdict, requested: str | None) -> BadUserInput | None:
    """The GraphQL spec's GetOperation: the named operation, or the only one."""
    if not verdict.costs:
        return BadUserInput("query", "the document defines no operation")
    if requested is not None:
        if requested not in verdict.costs:
            return BadUserInput("operationName", "the document defines no operation of that name")
        return None
    if len(verdict.costs) > 1:
        return BadUserInput("operationName",
                            "the document defines several operations: name the one to run")
    return None


# The validation errors of a document (none, mostly) for a schema and rules: the same
# documents as the examiner keeps, by the same bound.
_validated = lru_cache(maxsize=256)(validate_document)


class DocumentExaminer:
    """The last `size` query texts, each parsed (at most `limits.max_tokens` tokens) and
    examined once."""

    def __init__(self, limits: Limits, rules: Sequence[type[ASTValidationRule]] = (),
                 size: int = 256) -> None:
        self.limits = limits
        # Validation rules beside graphql-core's own (the validation cache keys on them); one that
        # extends one of graphql-core's takes its place.
        self.rules = tuple(rules)
        # What ours replace, and the rules an operation then validates with (strawberry's
        # are the same every request: a tuple compared, not rebuilt).
        self.replaced = frozenset(base for rule in self.rules for base in rule.__mro__[1:])
        self._validation: tuple[Any, tuple[type[ASTValidationRule], ...]] | None = None
        self._size = size
        self._examined: OrderedDict[str, Examined] = OrderedDict()

    def examine(self, query: str) -> Examined:
        found = self._examined.get(query)
        if found is not None:
            return found
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            found = Examined(None, None, error)
        else:
            found = Examined(document, examine(document, self.limits), None)
        self._examined[query] = found
        if len(self._examined) > self._size:
            self._examined.popitem(last=False)
        return found

    def validation_rules(self, theirs: Any) -> tuple[type[ASTValidationRule], ...]:
        """`theirs` (strawberry's rules) with ours in place of those they extend."""
        known = self._validation
        if known is not None and known[0] == theirs:
            return known[1]
        rules = (*(rule for rule in theirs if rule not in self.replaced), *self.rules)
        self._validation = (theirs, rules)
        return rules

    def extension(self) -> SchemaExtension:
        """A fresh extension for one operation (strawberry asks for one per request)."""
        return _ExaminedDocument(self)


class _ExaminedDocument(SchemaExtension):
    """One hook: strawberry builds a context manager for each hook an extension defines, on
    every request (issue 13: the examiner's four hooks were a tenth of `{ me }`). So the
    parse hook also validates: strawberry runs no validation of its own where an extension
    has set the errors already, and answers them without executing. It runs after every
    extension's `on_operation` (the rules they add are in `validation_rules` by then), and
    before strawberry's check of the operation's type, which answers as it would have (a
    subscription is refused whatever its errors)."""

    def __init__(self, examiner: DocumentExaminer) -> None:
        super().__init__()
        self.examiner = examiner

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            examined = self.examiner.examine(context.query)
            # strawberry keeps the requested name only here; its `operation_name` property
            # falls back to the first operation, which would run one of several unnamed ones.
            refusal = examined.refusal(context._provided_operation_name)
            if refusal is not None:
                # Raised before strawberry parses: it answers it as an error, unvalidated.
                raise refusal
            context.graphql_document = examined.document
            # strawberry's ValidationCache, here: each document is validated once.
            context.validation_rules = self.examiner.validation_rules(context.validation_rules)
            errors = _validated(context.schema._schema, examined.document,
                                context.validation_rules)
            if not errors:
                # A valid document whose variables hold text no database can store is
                # refused before anything runs, as a request error (no field ran).
                refusal = unstorable_variable(context.variables)
                if refusal is not None:
                    errors = [refusal]
            context.pre_execution_errors = errors
        yield
