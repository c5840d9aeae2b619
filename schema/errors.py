"""Errors that carry their code (CONTRACT.md §6), and the masking of everything else.

A record the requester may not see is never an error: resolvers return `None` or leave
it out. Unknown exceptions become `INTERNAL` with the request id and nothing else.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError

log = logging.getLogger("registry.errors")


class RegistryError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(RegistryError):
    code = "UNAUTHENTICATED"


class Forbidden(RegistryError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "not permitted") -> None:
        super().__init__(message)


class BadUserInput(RegistryError):
    code = "BAD_USER_INPUT"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.field = field


class Conflict(RegistryError):
    code = "CONFLICT"


class QueryTooComplex(RegistryError):
    code = "QUERY_TOO_COMPLEX"


# Messages of the limits that are not QueryTooComplex errors: the parser's token limit
# (a parse error), our directives rule (schema/limits.py), and graphql-core's bare
# "Validation aborted." (a document that exhausts its validation budgets or recursion: too
# complex to check, not a mistake in an input field).
_TOO_COMPLEX = re.compile(
    r"Document contains more than \d+ tokens|directives found\. Allowed"
    r"|^Validation aborted\.$"
)
# graphql-core < 3.3: "Variable '$input' got invalid value 'x' at 'input.a.b'";
# graphql-core 3.3: "Variable '$input' has invalid value at .a.b: ..." (path after the name).
_VARIABLE_PATH = re.compile(r"^Variable '\$(\w+)' got invalid value .*? at '([\w.\[\]]+)'")
_VARIABLE_SUBPATH = re.compile(r"^Variable '\$(\w+)' has invalid value at ((?:\.\w+|\[\d+\])+):")
_VARIABLE_NAME = re.compile(r"^Variable '\$(\w+)'")
# graphql-core stops after 50 bad variable values, or 100 errors of validation (bad
# literals), and says so in one error more.
_TOO_MANY_VARIABLES = "Too many errors processing variables"
_TOO_MANY_LITERALS = "Too many validation errors"
_SUGGESTION = re.compile(r"\s*Did you mean .*?\?")


def format_error(error: GraphQLError, *, request_id: str, production: bool) -> dict[str, Any]:
    """One GraphQL error as the client sees it."""
    original = error.original_error
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [loc.formatted for loc in error.locations]
    if error.path:
        formatted["path"] = error.path
    if isinstance(original, RegistryError):
        formatted["message"] = original.message
        formatted["extensions"] = {"code": original.code, **original.extensions}
        return formatted
    if original is not None and not _is_input_error(error):
        # An exception nobody anticipated: log its type and the request id, show neither.
        log.error("internal error request_id=%s type=%s", request_id, type(original).__name__,
                  exc_info=original)
        return {"message": f"internal error (request {request_id})", "path": error.path,
                "extensions": {"code": "INTERNAL", "requestId": request_id}}
    message = error.message
    if production:
        message = _SUGGESTION.sub("", message)
    formatted["message"] = message
    if _TOO_COMPLEX.search(message):
        formatted["extensions"] = {"code": "QUERY_TOO_COMPLEX"}
        return formatted
    extensions: dict[str, Any] = {"code": "BAD_USER_INPUT"}
    if field := (error.extensions or {}).get("field"):  # a literal (schema/inputs.py)
        extensions["field"] = field
    elif match := _VARIABLE_PATH.match(message):
        extensions["field"] = match.group(2)
    elif match := _VARIABLE_SUBPATH.match(message):
        extensions["field"] = match.group(1) + match.group(2)
    elif match := _VARIABLE_NAME.match(message):
        extensions["field"] = match.group(1)
    elif message.startswith(_TOO_MANY_VARIABLES):
        extensions["field"] = "variables"  # the errors before this one name theirs
    elif message.startswith(_TOO_MANY_LITERALS):
        extensions["field"] = "query"
    formatted["extensions"] = extensions
    return formatted


def _is_input_error(error: GraphQLError) -> bool:
    """A variable that could not be coerced: graphql-core wraps the scalar's or enum's own
    GraphQLError, before execution (no path), so no resolver and no secret is involved."""
    return error.path is None and isinstance(error.original_error, GraphQLError)
