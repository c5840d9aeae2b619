"""What errors say, and what they must never say (CONTRACT.md §4, §6)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from db.models import Notice
from tests.factories import (
    CLERK_DONGCHENG,
    JUDGE,
    REPORT,
    Registry,
    report_input,
    without_cost,
)
from tests.security.conftest import count, post, serve

INTROSPECTION = "{ __schema { types { name } } }"

MISSPELLED = [  # (document, the name graphql-core would suggest)
    ("{ judgmnts { totalCount } }", "'judgments'"),                          # a field
    ("{ judgments(frist: 1) { totalCount } }", "'first'"),                   # an argument
    ("{ judgments(filter: {sealStatus: OPN}) { totalCount } }", "'OPEN'"),   # an enum value
    ("{ judgments(filter: {idNumbr: \"x\"}) { totalCount } }", "'idNumber'"),  # input field
    ("query ($f: JudgmentFiltr) { judgments(filter: $f) { totalCount } }",
     "'JudgmentFilter'"),                                                    # a type
    ("{ me { agncy { code } } }", "'agency'"),                              # a nested field
]


async def test_development_suggests_field_names(registry: Registry) -> None:
    for document, suggestion in MISSPELLED:
        body = await registry.gql(document, as_=CLERK_DONGCHENG)
        assert "Did you mean" in body["errors"][0]["message"], document
        assert suggestion in body["errors"][0]["message"]


@pytest.mark.parametrize(("document", "suggestion"), MISSPELLED)
async def test_production_never_suggests_names(production: Registry, document: str,
                                               suggestion: str) -> None:
    response = await post(production, document, as_=CLERK_DONGCHENG)
    body = response.json()
    assert "data" not in body  # a request error: nothing ran
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Did you mean" not in response.text
    assert suggestion not in response.text


async def test_production_suggests_nothing_for_a_misspelled_variable_value(
        production: Registry) -> None:
    response = await post(production, "query ($f: JudgmentFilter) { judgments(filter: $f) "
                          "{ totalCount } }", {"f": {"sealStatus": "OPN"}}, as_=CLERK_DONGCHENG)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Did you mean" not in response.text
    assert "OPEN" not in response.text


@pytest.mark.parametrize("document", [
    INTROSPECTION,
    '{ __type(name: "Judgment") { fields { name } } }',
    "{ me { sub } __schema { queryType { name } } }",
    "fragment S on __Schema { types { name } } { __schema { ...S } }",
])
async def test_production_refuses_introspection(production: Registry, document: str) -> None:
    response = await post(production, document, as_=CLERK_DONGCHENG)
    body = response.json()
    assert "data" not in body  # a request error: nothing ran
    assert body["errors"]
    assert "clerk.dongcheng" not in response.text


async def test_development_allows_introspection(registry: Registry) -> None:
    body = await registry.gql(INTROSPECTION, as_=CLERK_DONGCHENG)
    assert "errors" not in body
    assert "Judgment" in {t["name"] for t in body["data"]["__schema"]["types"]}


async def test_introspection_allowed_in_development_stays_refused_in_production(
        registry: Registry) -> None:
    """The parser and validation caches are shared by every schema in the process."""
    assert "errors" not in await registry.gql(INTROSPECTION, as_=CLERK_DONGCHENG)
    async with serve(registry.settings.with_(env="production")) as production:
        response = await post(production, INTROSPECTION, as_=CLERK_DONGCHENG)
        assert "data" not in response.json()
        assert response.json()["errors"]
    assert "errors" not in await registry.gql(INTROSPECTION, as_=CLERK_DONGCHENG)


async def test_typename_is_not_introspection(production: Registry) -> None:
    response = await post(production, "{ __typename me { __typename sub } }",
                          as_=CLERK_DONGCHENG)
    assert without_cost(response.json()) == {"data": {"__typename": "Query",
                                         "me": {"__typename": "Subject",
                                                "sub": "clerk.dongcheng"}}}


async def test_an_unexpected_exception_is_masked_as_internal_with_a_request_id(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    async def leaky_page(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail: postgres://admin:hunter2@db/registry")

    monkeypatch.setattr("schema.records.fetch_page", leaky_page)
    response = await post(registry, "{ judgments { totalCount } }", as_=CLERK_DONGCHENG)
    assert response.status_code == 200
    body = response.json()
    assert "secret detail" not in response.text
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    [error] = body["errors"]
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert error["message"] == f"internal error (request {request_id})"


async def test_an_exception_in_a_nested_field_is_masked_too(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)

    async def leaky_load(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail in a data loader")

    # A judgment's execution events come through a loader, after the page's own statement.
    monkeypatch.setattr("schema.loaders.Loaders._executions", leaky_load)
    response = await post(registry,
                          "{ judgments { edges { node { id execution { kind } } } } }",
                          as_=CLERK_DONGCHENG)
    assert "secret detail" not in response.text
    codes = {e["extensions"]["code"] for e in response.json()["errors"]}
    assert codes == {"INTERNAL"}


async def test_a_record_the_requester_may_not_see_is_null_exactly_like_a_missing_one(
        registry: Registry) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    listed = await registry.gql("{ judgments { edges { node { id } } } }", as_=CLERK_DONGCHENG)
    real_id = listed["data"]["judgments"]["edges"][0]["node"]["id"]
    query = "query ($id: ID!) { judgment(id: $id) { id judgmentNumber } }"

    hidden = await post(registry, query, {"id": real_id}, as_=JUDGE)
    missing = await post(registry, query, {"id": uuid.uuid4().hex}, as_=JUDGE)
    assert without_cost(hidden.json()) == {"data": {"judgment": None}}
    assert hidden.content == missing.content
    assert hidden.status_code == missing.status_code == 200
    assert "FORBIDDEN" not in hidden.text


async def test_an_offender_the_requester_may_not_see_is_null_exactly_like_a_missing_one(
        registry: Registry) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    listed = await registry.gql("{ offenders { edges { node { id } } } }", as_=CLERK_DONGCHENG)
    real_id = listed["data"]["offenders"]["edges"][0]["node"]["id"]
    query = "query ($id: ID!) { offender(id: $id) { id name } }"
    hidden = await post(registry, query, {"id": real_id}, as_=JUDGE)
    missing = await post(registry, query, {"id": uuid.uuid4().hex}, as_=JUDGE)
    assert without_cost(hidden.json()) == {"data": {"offender": None}}
    assert hidden.content == missing.content


async def test_a_bad_variable_is_bad_user_input_naming_its_path(registry: Registry) -> None:
    report = report_input(defendant={"birthDate": "not-a-date"})
    body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    assert "data" not in body  # the variable did not coerce: nothing ran
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "input.defendant.birthDate"
    assert await count(registry, Notice) == 0


async def test_a_bad_enum_in_a_variable_names_its_path(registry: Registry) -> None:
    report = report_input(penalty={"kind": "FLOGGING"})
    body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "input.penalty.kind"


async def test_a_bad_list_item_in_a_variable_names_its_index(registry: Registry) -> None:
    report = report_input(crimes=[{"name": "Theft"}, {"name": None}])
    body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.crimes[1].name"}


async def test_a_missing_variable_names_the_variable(registry: Registry) -> None:
    body = await registry.gql(REPORT, {}, as_=JUDGE)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input"}


async def test_a_rule_broken_by_valid_input_names_the_field(registry: Registry) -> None:
    body = await registry.gql(REPORT, {"input": report_input(offenseDate="2030-01-01")},
                              as_=JUDGE)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"].startswith("input.")
