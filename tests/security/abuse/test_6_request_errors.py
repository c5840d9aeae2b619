"""Attack 6, the transport half: requests that are not a runnable operation. An empty query,
a document with only fragments, an unknown or empty `operationName` answered HTTP 500 in
plain text without a request id, and a document with two named operations and no
`operationName` ran the first. Each is a request error naming the field (`query` or
`operationName`), with no `data` key, and runs nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input
from tests.security.conftest import audit_count

TWO = "query A { judgments { totalCount } } query B { judgments { edges { node { id } } } }"

CASES = [
    ({"query": ""}, "query"),
    ({"query": "fragment F on Query { me { sub } }"}, "query"),
    ({"query": "{ judgments { totalCount } }", "operationName": "Nope"}, "operationName"),
    ({"query": "{ judgments { totalCount } }", "operationName": ""}, "operationName"),
    ({"query": TWO}, "operationName"),
    ({"query": TWO, "operationName": "C"}, "operationName"),
]


@pytest.fixture(autouse=True)
async def one_judgment(registry: Registry) -> None:
    """A judgment the clerk may read: an operation that ran would be audited."""
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)


@pytest.mark.parametrize(("payload", "field"), CASES,
                         ids=[f"{p.get('operationName', '-')}:{p['query'][:20]}" for p, _ in CASES])
async def test_a_request_without_one_operation_to_run_is_a_request_error_naming_the_field(
        registry: Registry, payload: dict[str, Any], field: str) -> None:
    audited = await audit_count(registry)
    response = await registry.http.post(
        "/graphql", json=payload,
        headers={"Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert body["extensions"]["cost"]["actualQueryCost"] == 1
    assert await audit_count(registry) == audited, "an operation ran"


async def test_of_several_operations_the_named_one_runs(registry: Registry) -> None:
    response = await registry.http.post(
        "/graphql", json={"query": TWO, "operationName": "B"},
        headers={"Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}"})
    data = response.json()["data"]
    assert set(data["judgments"]) == {"edges"}
