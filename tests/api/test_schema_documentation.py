"""The schema as typed clients see it (issue 14 item 4): every type, root field and root
argument described, the scalars specified, the vocabularies enums, and the SDL that
codegen reads offline (`schema.graphql`) current."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLScalarType, GraphQLSchema

import schema

SDL_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


@pytest.fixture(scope="module")
def graphql_schema() -> GraphQLSchema:
    return schema.build_schema()._schema


def test_every_type_has_a_description(graphql_schema: GraphQLSchema) -> None:
    missing = sorted(name for name, named in graphql_schema.type_map.items()
                     if not name.startswith("__") and name not in BUILT_IN_SCALARS
                     and not named.description)
    assert missing == []


def test_every_root_field_and_its_arguments_have_a_description(
        graphql_schema: GraphQLSchema) -> None:
    missing = []
    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            if not field.description:
                missing.append(f"{root.name}.{name}")
            missing.extend(f"{root.name}.{name}({arg})" for arg, argument in field.args.items()
                           if not argument.description)
    assert missing == []


def test_date_datetime_and_json_say_which_standard_they_follow(
        graphql_schema: GraphQLSchema) -> None:
    specified = {}
    for name in ("Date", "DateTime", "JSON"):
        scalar = graphql_schema.type_map[name]
        assert isinstance(scalar, GraphQLScalarType) and scalar.description, name
        specified[name] = scalar.specified_by_url
    assert specified == {
        "Date": "https://www.rfc-editor.org/rfc/rfc3339#section-5.6",
        "DateTime": "https://www.rfc-editor.org/rfc/rfc3339#section-5.6",
        "JSON": ("https://ecma-international.org/wp-content/uploads/"
                 "ECMA-404_2nd_edition_december_2017.pdf"),
    }


@pytest.mark.parametrize(("type_name", "field_name", "enum_name", "values"), [
    ("AuditEvent", "outcome", "AuditOutcome", {"permit", "deny"}),
    ("Policy", "effect", "PolicyEffect", {"allow", "deny"}),
    ("PolicyPreview", "change", "PolicyChangeKind", {"CREATE", "UPDATE", "DELETE", "ROLLBACK"}),
])
def test_vocabulary_fields_outside_the_contract_are_enums_with_the_values_sent_before(
        graphql_schema: GraphQLSchema, type_name: str, field_name: str, enum_name: str,
        values: set[str]) -> None:
    field_type = graphql_schema.type_map[type_name].fields[field_name].type  # type: ignore[attr-defined]
    enum = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    assert isinstance(enum, GraphQLEnumType) and enum.name == enum_name
    assert set(enum.values) == values


def test_the_audit_filter_takes_the_outcome_enum(graphql_schema: GraphQLSchema) -> None:
    outcome = graphql_schema.type_map["AuditFilter"].fields["outcome"].type  # type: ignore[attr-defined]
    assert outcome is graphql_schema.type_map["AuditOutcome"]


@pytest.mark.parametrize(("type_name", "field_name"), [
    ("Agency", "kind"), ("Notice", "kind"), ("ExecutionEvent", "kind"), ("Subject", "role"),
    ("Offender", "gender"), ("PersonInput", "gender"), ("PolicyChange", "kind"),
])
def test_fields_the_contract_fixes_as_strings_stay_strings_and_name_their_values(
        graphql_schema: GraphQLSchema, type_name: str, field_name: str) -> None:
    field = graphql_schema.type_map[type_name].fields[field_name]  # type: ignore[attr-defined]
    named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    assert named.name == "String"
    assert field.description


def test_the_committed_sdl_is_the_schema_served() -> None:
    current = schema.build_schema().as_str() + "\n"
    assert SDL_FILE.read_text(encoding="utf-8") == current, (
        "schema.graphql is stale: `registry schema export > schema.graphql`")
