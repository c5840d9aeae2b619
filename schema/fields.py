"""`Authorize`: the field extension every field of the schema carries.

- On a root field (Query, Mutation) the resolver asks the authorizer itself, with the
  record it loaded; the extension checks afterwards that it did, and fails closed
  (INTERNAL) if a resolver returned without asking.
- On a nested field it asks for the parent object (`target="parent"`, memoised per
  object and request) or for the value the field returns (`target="value"`, e.g. a
  payload's record); a denied object reads as `null`, exactly like a missing one.

tests/api/test_schema_authorization.py walks the schema and fails on a field without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types import Info

ROOT_TYPES = frozenset({"Query", "Mutation"})


class ResolverDidNotAsk(RuntimeError):
    pass


class Authorize(FieldExtension):
    def __init__(self, action: str, target: Literal["parent", "value"] = "parent") -> None:
        self.action = action
        self.target = target

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        authz = info.context.authz
        if info.path.typename in ROOT_TYPES:
            asked = authz.asked
            result = next_(source, info, **kwargs)
            self._ensure_asked(authz, asked, info)
            return result
        if self.target == "parent":
            return next_(source, info, **kwargs) if authz.check_object(self.action, source) \
                else None
        value = next_(source, info, **kwargs)
        return self._filter(authz, value)

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info,
                            **kwargs: Any) -> Any:
        authz = info.context.authz
        if info.path.typename in ROOT_TYPES:
            # Root fields of a query resolve concurrently, and `asked` counts every
            # decision of the request: one at a time, so a sibling's question cannot
            # count for a resolver that asked nothing.
            async with _root_lock(info.context):
                asked = authz.asked
                result = await next_(source, info, **kwargs)
                self._ensure_asked(authz, asked, info)
            return result
        if self.target == "parent":
            if not authz.check_object(self.action, source):
                return None
            return await next_(source, info, **kwargs)
        return self._filter(authz, await next_(source, info, **kwargs))

    def _filter(self, authz: Any, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [v for v in value if authz.check_object(self.action, v)]
        return value if authz.check_object(self.action, value) else None

    @staticmethod
    def _ensure_asked(authz: Any, asked_before: int, info: Info) -> None:
        if authz.asked == asked_before:
            raise ResolverDidNotAsk(f"{info.path.typename}.{info.field_name}")


def _root_lock(context: Any) -> asyncio.Lock:
    lock: asyncio.Lock | None = getattr(context, "_authorize_root_lock", None)
    if lock is None:
        lock = asyncio.Lock()
        context._authorize_root_lock = lock
    return lock


def authorized(action: str, *, target: Literal["parent", "value"] = "parent",
               **kwargs: Any) -> Any:
    """`strawberry.field` with `Authorize` attached: use it for every field."""
    return strawberry.field(extensions=[Authorize(action, target)], **kwargs)


def attribute(name: str, *, of: str | None = None) -> Callable[[Any], Any]:
    """A field resolver that reads `name` of the view, or of the view's `of` attribute (the
    row a view wraps): for the many fields that only hand a value on, once guarded."""
    def resolve(self: Any) -> Any:
        return getattr(self if of is None else getattr(self, of), name)
    return resolve
