"""GraphQL over HTTP (CONTRACT.md §2): a client that accepts
`application/graphql-response+json` gets it, with a 4xx status for a request that never
reached execution (400; 429 with `Retry-After` when rate-limited) and 200 for one that ran;
`application/json` clients get 200 as before. An answer that never reached execution has
no `data` key, for either media type. graphql-http's own audit of the served API is
tests/api/test_graphql_over_http_audit.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import _truncate
from tests.factories import CLERK_DONGCHENG, Registry
from tests.security.conftest import audit_count, serve

GRAPHQL_RESPONSE = "application/graphql-response+json"
ME = "{ me { sub } }"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Status codes and media types, not data: SQLite alone."""
    _truncate(sqlite_url)
    return sqlite_url


REQUEST_ERRORS = {
    "unparsable": {"query": "{ me { sub "},
    "invalid": {"query": "{ me { nosuchfield } }"},
    "too deep": {"query": "{ me " + "{ agency " * 12 + "{ code }" + " }" * 13},
    "variable not coercible": {"query": "query($f: Int) { offenders(first: $f) { totalCount } }",
                               "variables": {"f": "twenty"}},
    "empty": {"query": ""},
    "operation not in the document": {"query": ME, "operationName": "Nope"},
}


async def ask(registry: Registry, payload: Any, accept: str | None, **headers: str
              ) -> httpx.Response:
    sent = {"Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}", **headers}
    if accept is not None:
        sent["Accept"] = accept
    return await registry.http.post("/graphql", json=payload, headers=sent)


@pytest.mark.parametrize("payload", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_a_request_error_is_400_for_a_client_accepting_graphql_response_json(
        registry: Registry, payload: dict[str, Any]) -> None:
    audited = await audit_count(registry)
    response = await ask(registry, payload, GRAPHQL_RESPONSE)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.headers["vary"] == "Accept"
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == (
        "QUERY_TOO_COMPLEX" if payload is REQUEST_ERRORS["too deep"] else "BAD_USER_INPUT")
    assert await audit_count(registry) == audited


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
async def test_the_same_request_error_stays_200_for_an_application_json_client(
        registry: Registry, accept: str | None) -> None:
    response = await ask(registry, REQUEST_ERRORS["invalid"], accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "data" not in response.json()


async def test_an_operation_that_ran_is_200_for_graphql_response_json_even_when_data_is_null(
        registry: Registry) -> None:
    """`offenders` is non-null: its field error makes the whole `data` null, but the
    operation ran (GraphQL over HTTP: `data` present, even null, means 2xx)."""
    ran = await ask(registry, {"query": ME}, GRAPHQL_RESPONSE)
    assert ran.status_code == 200
    assert ran.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert ran.json()["data"] == {"me": {"sub": "clerk.dongcheng"}}

    nulled = await ask(registry, {"query": "{ me { sub } offenders(first: 101) { totalCount } }"},
                       GRAPHQL_RESPONSE)
    assert nulled.status_code == 200, nulled.text
    assert nulled.json()["data"] is None
    assert nulled.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT",
                                                        "field": "first"}


async def test_a_transport_error_is_answered_in_the_media_type_the_client_accepts(
        registry: Registry) -> None:
    token = {"Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}",
             "Accept": GRAPHQL_RESPONSE}
    not_json = await registry.http.post("/graphql", content=b"{ nope",
                                        headers={**token, "Content-Type": "application/json"})
    wrong_type = await registry.http.post("/graphql", content=b"{}",
                                          headers={**token, "Content-Type": "text/plain"})
    for response, status in ((not_json, 400), (wrong_type, 415)):
        assert response.status_code == status
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in response.json()


@pytest.mark.parametrize("extensions", [None, {}, {"persistedQuery": {"version": 1}}])
async def test_a_map_or_null_of_extensions_is_accepted(registry: Registry,
                                                       extensions: Any) -> None:
    response = await ask(registry, {"query": ME, "extensions": extensions}, None)
    assert response.status_code == 200
    assert response.json()["data"] == {"me": {"sub": "clerk.dongcheng"}}


@pytest.mark.parametrize("field", ["variables", "extensions"])
@pytest.mark.parametrize("value", ["string", 0, False, ["array"]])
async def test_variables_or_extensions_that_are_not_a_map_are_refused_with_400(
        registry: Registry, field: str, value: Any) -> None:
    response = await ask(registry, {"query": ME, field: value}, None)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == f"'{field}' must be a JSON object"


async def test_rate_limited_is_429_with_retry_after_for_graphql_response_json_only(
        registry: Registry) -> None:
    # `{ me { sub } }` costs 2: the bucket holds two of them, and refills too slowly to matter.
    async with serve(registry.settings.with_(rate_bucket=4, rate_restore=0.001)) as app:
        for _ in range(2):
            assert (await ask(app, {"query": ME}, GRAPHQL_RESPONSE)).status_code == 200
        limited = await ask(app, {"query": ME}, GRAPHQL_RESPONSE)
        legacy = await ask(app, {"query": ME}, "application/json")
    assert limited.status_code == 429, limited.text
    assert limited.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert int(limited.headers["retry-after"]) >= 1
    assert "data" not in limited.json()
    assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert legacy.status_code == 200
    assert legacy.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "retry-after" in legacy.headers
