# mypy: disallow-untyped-decorators=False
"""Every field of the schema carries `Authorize` (STYLE.md §6), and a root resolver that
forgets to ask the authorizer fails closed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition

import schema
from schema.fields import Authorize, ResolverDidNotAsk, authorized

# Purely structural types: they hold no record data, only the shape of a page. Their
# fields are listed exactly; anything else on them must carry Authorize.
STRUCTURAL_FIELDS: dict[str, set[str]] = {
    "PageInfo": {"hasNextPage", "endCursor", "hasPreviousPage", "startCursor"},
}
CONNECTION_FIELDS = {"edges", "pageInfo", "totalCount"}
EDGE_STRUCTURAL_FIELDS = {"cursor"}


def exempt_fields(type_name: str) -> set[str]:
    if type_name in STRUCTURAL_FIELDS:
        return STRUCTURAL_FIELDS[type_name]
    if type_name.endswith("Connection"):
        return CONNECTION_FIELDS
    if type_name.endswith("Edge"):
        return EDGE_STRUCTURAL_FIELDS
    return set()


def object_types(built: strawberry.Schema) -> dict[str, StrawberryObjectDefinition]:
    found = {}
    for name, gql_type in built._schema.type_map.items():
        if name.startswith("__") or not isinstance(gql_type, GraphQLObjectType):
            continue
        definition = built.get_type_by_name(name)
        assert isinstance(definition, StrawberryObjectDefinition), name
        found[name] = definition
    return found


def graphql_fields(built: strawberry.Schema,
                   definition: StrawberryObjectDefinition) -> dict[str, Any]:
    return {built.config.name_converter.get_graphql_name(f): f for f in definition.fields}


@pytest.fixture(scope="module")
def built() -> strawberry.Schema:
    return schema.build_schema()


def test_the_walk_sees_the_whole_schema(built: strawberry.Schema) -> None:
    types = object_types(built)
    for name in ("Query", "Mutation", "Judgment", "Offender", "Notice", "Agency", "Subject",
                 "JudgmentConnection", "JudgmentEdge", "PageInfo"):
        assert name in types, name
    for name, definition in types.items():
        in_graphql = set(built._schema.type_map[name].fields)  # type: ignore[attr-defined]
        assert set(graphql_fields(built, definition)) == in_graphql, name


def test_every_field_carries_authorize_except_the_shape_of_a_page(
        built: strawberry.Schema) -> None:
    missing = []
    for name, definition in object_types(built).items():
        exempt = exempt_fields(name)
        for field_name, strawberry_field in graphql_fields(built, definition).items():
            if field_name in exempt:
                continue
            if not any(isinstance(e, Authorize) for e in strawberry_field.extensions):
                missing.append(f"{name}.{field_name}")
    assert missing == []


def test_structural_types_hold_nothing_but_structure(built: strawberry.Schema) -> None:
    for name, definition in object_types(built).items():
        fields = set(graphql_fields(built, definition))
        if name in STRUCTURAL_FIELDS:
            assert fields == STRUCTURAL_FIELDS[name], name
        elif name.endswith("Connection"):
            assert fields == CONNECTION_FIELDS, name
        elif name.endswith("Edge"):
            assert fields == EDGE_STRUCTURAL_FIELDS | {"node"}, name
            node = graphql_fields(built, definition)["node"]
            assert any(isinstance(e, Authorize) for e in node.extensions), name


def test_root_fields_authorize_with_an_action(built: strawberry.Schema) -> None:
    for root in ("Query", "Mutation"):
        definition = built.get_type_by_name(root)
        assert isinstance(definition, StrawberryObjectDefinition)
        for strawberry_field in definition.fields:
            [extension] = [e for e in strawberry_field.extensions if isinstance(e, Authorize)]
            assert ":" in str(extension.action), (root, strawberry_field.name)


# -- a root resolver that does not ask fails closed ---------------------------------------

@dataclass
class FakeAuthz:
    """Permits everything, counting the questions: only asking is under test here."""

    asked: int = 0
    subject: dict[str, Any] = field(default_factory=dict)

    def check_object(self, action: str, obj: Any) -> bool:
        self.asked += 1
        return True

    def require(self, action: str, resource: Any) -> None:
        self.asked += 1


@dataclass
class FakeContext:
    authz: FakeAuthz = field(default_factory=FakeAuthz)


@strawberry.type
class Secret:
    value: str = authorized("secret:read")


@strawberry.type
class Query:
    @authorized("secret:read")
    def forgetful(self) -> str:
        return "the secret"

    @authorized("secret:read")
    def forgetful_nullable(self) -> str | None:
        return "the secret"

    @authorized("secret:read")
    async def forgetful_async(self) -> Secret:
        await asyncio.sleep(0)
        return Secret(value="the secret")

    @authorized("secret:read")
    async def slow_forgetful(self) -> str | None:
        for _ in range(5):
            await asyncio.sleep(0)  # other root fields ask meanwhile
        return "the secret"

    @authorized("secret:read")
    async def asking(self, info: Info) -> str:
        info.context.authz.require("secret:read", {"type": "secret"})
        return "permitted"

    @authorized("secret:read")
    async def asking_later(self, info: Info) -> str:
        await asyncio.sleep(0)
        info.context.authz.require("secret:read", {"type": "secret"})
        return "permitted"


@strawberry.type
class Mutation:
    @authorized("secret:write")
    def forgetful_write(self) -> str:
        return "written"


TINY = strawberry.Schema(query=Query, mutation=Mutation)
# The same, its sync root fields compiled as the registry's are (schema.fields).
COMPILED_TINY = strawberry.Schema(query=Query, mutation=Mutation)


def test_the_tiny_schema_has_compiled_root_fields() -> None:
    from schema.fields import compile_authorization

    # forgetful, forgetfulNullable, forgetfulWrite: sync, no argument; the async ones stay.
    assert compile_authorization(COMPILED_TINY) == 3


@pytest.mark.parametrize("document", ["{ forgetful }", "mutation { forgetfulWrite }"])
async def test_a_compiled_root_resolver_that_does_not_ask_gives_an_error_not_data(
        document: str) -> None:
    from schema.fields import compile_authorization

    compile_authorization(COMPILED_TINY)
    result = await COMPILED_TINY.execute(document, context_value=FakeContext())
    assert result.data is None
    assert result.errors
    assert isinstance(result.errors[0].original_error, ResolverDidNotAsk)


@pytest.mark.parametrize("document", [
    "{ forgetful }",
    "{ forgetfulAsync { value } }",
    "mutation { forgetfulWrite }",
])
async def test_a_root_resolver_that_does_not_ask_gives_an_error_not_data(document: str) -> None:
    result = await TINY.execute(document, context_value=FakeContext())
    assert result.data is None
    assert result.errors
    assert isinstance(result.errors[0].original_error, ResolverDidNotAsk)
    assert "the secret" not in str(result.data)


async def test_a_nullable_root_field_that_does_not_ask_is_null() -> None:
    result = await TINY.execute("{ forgetfulNullable }", context_value=FakeContext())
    assert result.data == {"forgetfulNullable": None}
    assert result.errors is not None
    assert isinstance(result.errors[0].original_error, ResolverDidNotAsk)


async def test_a_root_resolver_that_asks_gives_data() -> None:
    result = await TINY.execute("{ asking }", context_value=FakeContext())
    assert result.errors is None
    assert result.data == {"asking": "permitted"}


async def test_a_sibling_root_field_asking_does_not_vouch_for_one_that_did_not() -> None:
    # Root fields of a query resolve concurrently: a shared "anyone asked?" counter would
    # let the sibling's question count for the forgetful resolver.
    result = await TINY.execute("{ slowForgetful askingLater }", context_value=FakeContext())
    assert result.data is not None
    assert result.data["askingLater"] == "permitted"
    assert result.data["slowForgetful"] is None
    assert any(isinstance(e.original_error, ResolverDidNotAsk) for e in result.errors or [])


# -- the compiled resolvers ask what Authorize asks ---------------------------------------

def test_every_nested_field_graphql_core_calls_asks_its_own_authorize(
        built: strawberry.Schema) -> None:
    """`compile_authorization` replaces strawberry's resolver chain on nested fields: the
    resolver graphql-core calls is either strawberry's (which runs the extension) or one
    compiled from that very extension, never a resolver that skips it."""
    compiled = 0
    for name, definition in object_types(built).items():
        if name in ("Query", "Mutation"):
            continue
        gql_type = built._schema.type_map[name]
        for field_name, strawberry_field in graphql_fields(built, definition).items():
            guards = [e for e in strawberry_field.extensions if isinstance(e, Authorize)]
            resolve = gql_type.fields[field_name].resolve  # type: ignore[attr-defined]
            own = getattr(resolve, "authorize", None)
            if own is not None:
                compiled += 1
                assert guards == [own], f"{name}.{field_name}"
            elif guards:
                # strawberry's own path: its resolver runs the field's extensions.
                assert getattr(resolve, "__qualname__", "").startswith(
                    "GraphQLCoreConverter.from_resolver"), f"{name}.{field_name}"
    assert compiled > 100  # the judgment, offender, notice... fields


@dataclass
class DenyingAuthz:
    """Denies one object, permits the rest, remembering every question."""

    denied: Any = None
    questions: list[tuple[str, Any]] = field(default_factory=list)
    asked: int = 0

    def check_object(self, action: str, obj: Any) -> bool:
        self.asked += 1
        self.questions.append((action, obj))
        return obj is not self.denied


@dataclass
class Record:
    label: str
    parent: Any = None


@strawberry.type
class RecordNode:
    @authorized("record:read")
    def label(self: Record) -> str:  # type: ignore[misc]
        return self.label

    @authorized("record:read")
    def with_info(self: Record, info: Info) -> str:  # type: ignore[misc]
        return f"{self.label}:{info.field_name}"

    @authorized("record:read")
    async def later(self: Record) -> str:  # type: ignore[misc]
        await asyncio.sleep(0)
        return self.label


@strawberry.type
class Holder:
    item: RecordNode | None = authorized("record:read", target="value")
    items: list[RecordNode] = authorized("record:read", target="value")


@strawberry.type(name="Query")
class RecordQuery:
    @authorized("record:list")
    def holder(self, info: Info) -> Holder:
        info.context.authz.asked += 1
        return Holder(item=FIRST, items=[FIRST, SECOND])  # type: ignore[arg-type]


FIRST, SECOND = Record("first"), Record("second")


def compiled_schema() -> strawberry.Schema:
    from schema.fields import compile_authorization

    built_schema = strawberry.Schema(query=RecordQuery)
    assert compile_authorization(built_schema) == 6  # holder and its five fields
    return built_schema


@pytest.mark.parametrize("denied, expected", [
    (None, {"item": {"label": "first", "withInfo": "first:withInfo", "later": "first"},
            "items": [{"label": "first"}, {"label": "second"}]}),
    (FIRST, {"item": None, "items": [{"label": "second"}]}),
])
async def test_a_compiled_field_answers_what_authorize_answers(denied: Any,
                                                              expected: Any) -> None:
    document = "{ holder { item { label withInfo later } items { label } } }"
    authz = DenyingAuthz(denied=denied)
    result = await compiled_schema().execute(document, context_value=FakeContext(authz))  # type: ignore[arg-type]
    assert result.errors is None
    assert result.data == {"holder": expected}
    assert ("record:read", FIRST) in authz.questions


RAN: list[str] = []


@strawberry.type
class Watched:
    @authorized("record:read")
    def label(self: Record) -> str | None:  # type: ignore[misc]
        RAN.append(self.label)
        return self.label


@strawberry.type(name="Query")
class WatchedQuery:
    @authorized("record:list")
    def watched(self, info: Info) -> list[Watched]:
        info.context.authz.asked += 1
        return [FIRST, SECOND]  # type: ignore[list-item]


async def test_a_compiled_field_of_a_denied_object_is_null_without_running_its_resolver(
        ) -> None:
    from schema.fields import compile_authorization

    built_schema = strawberry.Schema(query=WatchedQuery)
    assert compile_authorization(built_schema) == 2  # watched and its label
    RAN.clear()
    authz = DenyingAuthz(denied=FIRST)
    result = await built_schema.execute("{ watched { label } }",
                                        context_value=FakeContext(authz))  # type: ignore[arg-type]
    assert result.data == {"watched": [{"label": None}, {"label": "second"}]}
    assert RAN == ["second"]
