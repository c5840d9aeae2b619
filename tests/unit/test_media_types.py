"""Which media type a GraphQL answer is sent as (CONTRACT.md §2, GraphQL over HTTP)."""

from __future__ import annotations

import pytest

from api.media import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, response_media_type, status_for

GRAPHQL = GRAPHQL_RESPONSE_JSON


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/graphql-response+json", GRAPHQL),
    ("application/graphql-response+json, application/json;q=0.9", GRAPHQL),
    ("application/json, application/graphql-response+json", GRAPHQL),  # equal: the new one
    ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL),
    ("application/graphql-response+json;q=0.5, application/json", APPLICATION_JSON),
    ("application/graphql-response+json;q=0.5, */*", APPLICATION_JSON),
    ("application/graphql-response+json;q=0", APPLICATION_JSON),
    ("application/graphql-response+json;q=nonsense", APPLICATION_JSON),
    ("application/graphql-response+json;q=7", APPLICATION_JSON),
    ("application/json", APPLICATION_JSON),
    ("*/*", APPLICATION_JSON),
    ("text/html", APPLICATION_JSON),  # neither: the default, as the GraphQL over HTTP draft allows
    ("", APPLICATION_JSON),
    (None, APPLICATION_JSON),
])
def test_a_client_gets_graphql_response_json_only_where_it_prefers_it(
        accept: str | None, expected: str) -> None:
    assert response_media_type(accept) == expected


def test_an_application_json_answer_is_always_200() -> None:
    assert status_for(APPLICATION_JSON, {"errors": []}, rate_limited=False) == 200
    assert status_for(APPLICATION_JSON, {"errors": []}, rate_limited=True) == 200


def test_a_graphql_response_json_answer_that_never_ran_is_4xx() -> None:
    assert status_for(GRAPHQL, {"errors": []}, rate_limited=False) == 400
    assert status_for(GRAPHQL, {"errors": []}, rate_limited=True) == 429


def test_a_graphql_response_json_answer_that_ran_is_200_even_with_null_data() -> None:
    assert status_for(GRAPHQL, {"data": None, "errors": []}, rate_limited=False) == 200
    assert status_for(GRAPHQL, {"data": {"me": None}}, rate_limited=False) == 200
