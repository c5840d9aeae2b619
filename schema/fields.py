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
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.field import StrawberryField

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


def compile_authorization(schema: strawberry.Schema) -> int:
    """Gives the nested fields that carry `Authorize` and take no argument a graphql-core
    resolver of their own that asks exactly what `Authorize.resolve` asks, then calls the
    field's function: the same decision (memoised per object and request), without
    strawberry's per-call chain (an `Info` built, arguments converted, the extension's
    partials; about a third of a page's time). Root fields, fields with arguments and
    fields with other extensions keep strawberry's path. Returns the fields compiled
    (tests/api/test_schema_authorization.py checks each asks)."""
    compiled = 0
    graphql_schema = schema._schema
    roots = {graphql_schema.query_type, graphql_schema.mutation_type,
             graphql_schema.subscription_type}
    for name, gql_type in graphql_schema.type_map.items():
        if name.startswith("__") or not isinstance(gql_type, GraphQLObjectType):
            continue
        root = gql_type in roots or name in ROOT_TYPES
        for gql_field in gql_type.fields.values():
            definition = (gql_field.extensions or {}).get("strawberry-definition")
            resolver = _compiled_root(schema, definition) if root else \
                _compiled(schema, definition)
            if resolver is not None:
                gql_field.resolve = resolver
                compiled += 1
    return compiled


def _compiled_root(schema: strawberry.Schema, field: Any) -> Callable[..., Any] | None:
    """A root field with a plain function of no argument (`me`): called, then checked to
    have asked, as `Authorize.resolve` does. An async one keeps strawberry's path (its
    check needs the root lock)."""
    guard = _sole_guard(field)
    if guard is None:
        return None
    base = field.base_resolver
    if base is None or base.is_async or base.root_parameter or base.parent_parameter:
        return None
    function = base._unbound_wrapped_func
    info_parameter = base.info_parameter
    info_class = schema.config.info_class
    takes_self = base.self_parameter is not None
    expected = {p.name for p in (base.self_parameter, info_parameter) if p is not None}
    if set(inspect.signature(function).parameters) != expected:
        return None

    def resolver(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        authz = info.context.authz
        asked = authz.asked
        given = (source,) if takes_self else ()
        if info_parameter is None:
            result = function(*given)
        else:
            result = function(*given, **{info_parameter.name: info_class(_raw_info=info,
                                                                         _field=field)})
        guard._ensure_asked(authz, asked, info)  # type: ignore[arg-type]
        return result

    resolver.authorize = guard  # type: ignore[attr-defined]
    return resolver


def _sole_guard(field: Any) -> Authorize | None:
    """The field's `Authorize` when it is the field's only extension and the field takes no
    argument: the fields a resolver is compiled for."""
    if not isinstance(field, StrawberryField) or field.arguments or len(field.extensions) != 1:
        return None
    guard = field.extensions[0]
    return guard if type(guard) is Authorize else None


def _compiled(schema: strawberry.Schema, field: Any) -> Callable[..., Any] | None:
    guard = _sole_guard(field)
    if guard is None:
        return None
    action, check_value = guard.action, guard.target == "value"
    base = field.base_resolver
    if base is None:
        if not check_value:
            return None  # strawberry's path: a plain attribute guarded by its parent
        attribute_name = field.python_name

        def value_resolver(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return guard._filter(info.context.authz, getattr(source, attribute_name))

        value_resolver.authorize = guard  # type: ignore[attr-defined]
        return value_resolver
    if (check_value or base.self_parameter is None or base.root_parameter is not None
            or base.parent_parameter is not None):
        return None
    function = base._unbound_wrapped_func
    info_parameter = base.info_parameter
    info_class = schema.config.info_class

    if info_parameter is None:
        def resolver(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            if not info.context.authz.check_object(action, source):
                return None
            return function(source)
    else:
        info_name = info_parameter.name

        def resolver(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            if not info.context.authz.check_object(action, source):
                return None
            return function(source, **{info_name: info_class(_raw_info=info, _field=field)})

    resolver.authorize = guard  # type: ignore[attr-defined]
    return resolver


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
