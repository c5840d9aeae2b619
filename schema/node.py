"""The Relay `Node` interface: the record types whose ids are opaque public ids (db/ids.py),
found again by `node(id:)` (schema/__init__.py), the id's prefix telling the type."""

from __future__ import annotations

from typing import Any

import strawberry

# The object each record type is resolved from (a row, or a view of one) -> its GraphQL type
# name; filled where the types are assembled (schema/__init__.py).
NODE_TYPES: dict[type, str] = {}


@strawberry.interface(description=(
    "A record with an opaque id, found again by `node(id:)` (Relay): Judgment, Offender, "
    "Notice, Inquiry, Detention."))
class Node:
    @strawberry.field(description=(
        "Opaque; its prefix names the type (jdg_, ofd_, ntc_, inq_, dtn_)."))
    def id(self) -> strawberry.ID:
        """Never resolved here: each type resolves (and guards) its own `id`."""
        raise NotImplementedError

    @classmethod
    def resolve_type(cls, obj: Any, *_: Any) -> str:
        return NODE_TYPES[type(obj)]

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        """As before the interface: a field typed as one record type takes the row or view
        its resolver returns (never checked against a Python class)."""
        return True
