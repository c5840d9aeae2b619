"""Documents over a limit are refused with QUERY_TOO_COMPLEX before any resolver runs.

CONTRACT.md §2: over 2,000 tokens, deeper than 10, more than 15 aliases or 50
directives, or over the cost budget. "Before any resolver runs" is checked through the
audit trail: every resolver asks the authorizer, and every decision is audited, so a
refused document leaves no audit event (and a refused mutation changes nothing).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from graphql.language import Lexer, Source, TokenKind

from db.models import Judgment, Notice
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input
from tests.security.conftest import audit_count, count, post

SCALARS = ["id", "judgmentNumber", "prosecutor", "judgmentDate", "effectiveDate",
           "offenseDate", "ageAtOffense", "sealStatus"]


def tokens(document: str) -> int:
    lexer = Lexer(Source(document))
    n = 0
    while lexer.advance().kind != TokenKind.EOF:
        n += 1
    return n


def with_tokens(total: int) -> str:
    """A valid, cheap query of exactly `total` lexical tokens (distinct names keep
    graphql-core's own overlap check within its budget)."""
    head = "{ judgments(first: 1) { edges { node { "
    tail = " } } } }"
    padding = total - tokens(head + tail)
    document = head + " ".join(SCALARS[i % len(SCALARS)] for i in range(padding)) + tail
    assert tokens(document) == total
    return document


def deep(levels: int) -> str:
    """judgments{edges{node{offender{judgments{...}}}}}, `levels` fields deep, cheap."""
    chain = ["judgments(first: 1)", "edges", "node", "offender"]
    leaf = {0: "totalCount", 1: "cursor", 2: "id", 3: "id"}
    inner = leaf[(levels - 2) % 4]
    for i in reversed(range(levels - 1)):
        inner = f"{chain[i % 4]} {{ {inner} }}"
    return "{ " + inner + " }"


def literal(value: Any, key: str = "") -> str:
    """A Python value as a GraphQL input literal (enum values unquoted)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v, k)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, str) and key == "kind":
        return value
    return json.dumps(value)


def report_literal(supplementary: int = 0) -> str:
    """The REPORT mutation with its input inline, padded by `supplementary` list items."""
    value = report_input()
    if supplementary:
        value["penalty"]["supplementary"] = ["deprivation of political rights"] * supplementary
    return ("mutation { reportJudgment(input: " + literal(value) + ") "
            "{ notice { id status } } }")


@pytest.fixture(autouse=True)
async def one_judgment(registry: Registry) -> None:
    """A judgment the clerk may read: a query that ran would decide on it, and audit."""
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)


async def refused(registry: Registry, document: str, *,
                  as_: tuple[str, str, str | None] = CLERK_DONGCHENG,
                  variables: dict[str, Any] | None = None) -> dict[str, Any]:
    audited = await audit_count(registry)
    response = await post(registry, document, variables, as_=as_)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "data" not in body, body  # a request error: nothing ran
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"QUERY_TOO_COMPLEX"}, body["errors"]
    assert await audit_count(registry) == audited, "a resolver ran for a refused document"
    return body


async def accepted(registry: Registry, document: str, *,
                   as_: tuple[str, str, str | None] = CLERK_DONGCHENG,
                   variables: dict[str, Any] | None = None) -> dict[str, Any]:
    audited = await audit_count(registry)
    body = await registry.gql(document, variables, as_=as_)
    assert "errors" not in body, body["errors"]
    assert body["data"] is not None
    assert await audit_count(registry) > audited  # the control: the resolvers did run
    return body


# -- tokens ------------------------------------------------------------------------------

async def test_a_query_of_2001_tokens_is_refused(registry: Registry) -> None:
    await refused(registry, with_tokens(2001))


async def test_a_query_of_exactly_2000_tokens_is_accepted(registry: Registry) -> None:
    await accepted(registry, with_tokens(2000))


async def test_a_mutation_over_2000_tokens_is_refused_and_changes_nothing(
        registry: Registry) -> None:
    document = report_literal(supplementary=2000)
    assert tokens(document) > 2000
    await refused(registry, document, as_=JUDGE)
    assert await count(registry, Notice) == 1  # the judgment of the fixture only
    assert await count(registry, Judgment) == 1


async def test_a_mutation_just_under_2000_tokens_is_executed(registry: Registry) -> None:
    base = tokens(report_literal(supplementary=1))
    document = report_literal(supplementary=1 + 2000 - base)
    assert tokens(document) == 2000
    await accepted(registry, document, as_=JUDGE)
    assert await count(registry, Notice) == 2


async def test_comments_cannot_smuggle_a_huge_document_past_the_token_limit(
        registry: Registry) -> None:
    await refused(registry, "{ me { sub } }\n" + "#\n" * 5000)


# -- depth -------------------------------------------------------------------------------

async def test_a_query_deeper_than_10_is_refused(registry: Registry) -> None:
    await refused(registry, deep(12))


async def test_a_query_10_deep_is_accepted(registry: Registry) -> None:
    await accepted(registry, deep(11))


async def test_depth_hidden_in_fragments_is_refused(registry: Registry) -> None:
    document = """
      fragment Deeper on Offender { judgments(first: 1) { edges { node { id } } } }
      fragment Deep on Judgment {
        offender { judgments(first: 1) { edges { node { offender { ...Deeper } } } } }
      }
      { judgments(first: 1) { edges { node { ...Deep } } } }"""
    await refused(registry, document)


async def test_depth_hidden_in_inline_fragments_is_refused(registry: Registry) -> None:
    document = """{ judgments(first: 1) { edges { node { ... on Judgment { offender {
        ... { judgments(first: 1) { edges { node { ... on Judgment { offender {
        ... @include(if: true) { judgments(first: 1) { edges { node { id } } } }
        } } } } } } } } } } } }"""
    await refused(registry, document)


async def test_a_deep_mutation_payload_is_refused_and_changes_nothing(
        registry: Registry) -> None:
    document = """mutation Report($input: ReportJudgmentInput!) {
      reportJudgment(input: $input) { judgment { offender { judgments(first: 1) { edges {
        node { offender { judgments(first: 1) { edges { node { offender { id } } } } } } } } } }
      } }"""
    await refused(registry, document, as_=JUDGE, variables={"input": report_input()})
    assert await count(registry, Notice) == 1


# -- aliases -----------------------------------------------------------------------------

def aliased(n: int, prefix: str = "a", field: str = "sub") -> str:
    return " ".join(f"{prefix}{i}: {field}" for i in range(n))


async def test_16_aliases_are_refused(registry: Registry) -> None:
    await refused(registry, "{ me { " + aliased(16) + " } }")


async def test_15_aliases_are_accepted(registry: Registry) -> None:
    # On a judgment: reading one is audited, which is how `accepted` knows resolvers ran.
    body = await accepted(registry, "{ judgments(first: 1) { edges { node { "
                          + aliased(15, field="id") + " } } } }")
    node = body["data"]["judgments"]["edges"][0]["node"]
    assert node["a14"] == node["a0"] and node["a14"].startswith("jdg_")


async def test_aliases_spread_across_fragments_are_counted_together(
        registry: Registry) -> None:
    document = ("fragment A on Subject { " + aliased(6, "x") + " } "
                "fragment B on Subject { " + aliased(5, "y") + " ...A } "
                "{ me { ...B ... on Subject { " + aliased(5, "z") + " } } }")
    await refused(registry, document)


async def test_aliases_of_root_fields_are_counted(registry: Registry) -> None:
    document = "{ " + " ".join(f"m{i}: me {{ sub }}" for i in range(16)) + " }"
    await refused(registry, document)


# -- directives --------------------------------------------------------------------------

def directed(n: int, field: str = "sub") -> str:
    return " ".join(f"{field} @include(if: true)" for _ in range(n))


async def test_51_directives_are_refused(registry: Registry) -> None:
    await refused(registry, "{ me { " + directed(51) + " } }")


async def test_50_directives_are_accepted(registry: Registry) -> None:
    await accepted(registry, "{ judgments(first: 1) { edges { node { "
                   + directed(50, field="id") + " } } } }")


async def test_directives_in_fragments_are_counted(registry: Registry) -> None:
    document = ("fragment F on Subject { " + directed(20) + " } "
                "{ me { ...F @skip(if: false) ... on Subject @include(if: true) { "
                + directed(29) + " } } }")
    await refused(registry, document)


# -- cost --------------------------------------------------------------------------------

async def test_a_query_over_the_cost_budget_is_refused(registry: Registry) -> None:
    document = """{ judgments(first: 100) { edges { node { offender {
        judgments(first: 100) { edges { node { id } } } } } } } }"""
    await refused(registry, document)


async def test_default_page_sizes_count_towards_the_cost(registry: Registry) -> None:
    # No `first` anywhere: 20 x 20 x 20 judgments would be loaded.
    document = """{ judgments { edges { node { offender { judgments { edges { node {
        offender { judgments { totalCount } } } } } } } } } }"""
    await refused(registry, document)


async def test_a_page_size_in_a_variable_is_costed_as_the_largest_page(
        registry: Registry) -> None:
    document = """query ($n: Int) { judgments(first: $n) { edges { node { offender {
        judgments(first: $n) { edges { node { id } } } } } } } }"""
    await refused(registry, document, variables={"n": 1})


async def test_cost_hidden_in_fragments_is_counted(registry: Registry) -> None:
    document = """
      fragment Inner on Offender { judgments(first: 100) { edges { node { id } } } }
      fragment Outer on Judgment { offender { ...Inner } }
      { judgments(first: 100) { edges { node { ...Outer } } } }"""
    await refused(registry, document)


async def test_a_query_within_the_cost_budget_is_accepted(registry: Registry) -> None:
    document = """{ judgments(first: 100) { edges { node { offender {
        judgments(first: 10) { edges { node { id } } } } } } } }"""
    await accepted(registry, document)


# -- page size ---------------------------------------------------------------------------

async def test_a_page_of_101_is_bad_user_input_naming_first(registry: Registry) -> None:
    body = await registry.gql("{ judgments(first: 101) { totalCount } }", as_=CLERK_DONGCHENG)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "first"


async def test_a_page_of_101_in_a_variable_is_bad_user_input(registry: Registry) -> None:
    body = await registry.gql("query ($n: Int!) { offenders(first: $n) { totalCount } }",
                              {"n": 101}, as_=CLERK_DONGCHENG)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "first"


async def test_a_negative_page_is_bad_user_input(registry: Registry) -> None:
    body = await registry.gql("{ judgments(first: -1) { totalCount } }", as_=CLERK_DONGCHENG)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "first"


async def test_a_page_of_100_is_accepted(registry: Registry) -> None:
    await accepted(registry, "{ judgments(first: 100) { totalCount } }")


# -- fragment cycles and validation budgets ------------------------------------------------

async def test_a_fragment_cycle_is_refused_without_hanging(registry: Registry) -> None:
    audited = await audit_count(registry)
    for document in (
        "fragment A on Subject { ...B } fragment B on Subject { ...A } { me { ...A } }",
        "fragment A on Subject { sub ...A } { me { ...A } }",
        "fragment J on Judgment { offender { judgments(first: 1) { edges { node { ...J } } } } }"
        " { judgments(first: 1) { edges { node { ...J } } } }",
    ):
        response = await asyncio.wait_for(post(registry, document, as_=CLERK_DONGCHENG),
                                          timeout=10)
        assert response.status_code == 200
        body = response.json()
        assert "data" not in body  # a request error: nothing ran
        assert body["errors"]
        assert "INTERNAL" not in {e["extensions"]["code"] for e in body["errors"]}
    assert await audit_count(registry) == audited


async def test_a_document_too_costly_to_validate_is_query_too_complex(
        registry: Registry) -> None:
    # 1,000 copies of one field: graphql-core gives up comparing them ("Validation
    # aborted."), which is a document too complex, not a mistake in the user's input.
    await refused(registry, "{ me { " + "sub " * 1000 + "} }")
