"""Transport rules of /graphql and the operational endpoints (CONTRACT.md §2)."""

from __future__ import annotations

import json

import pytest

from db.models import AuditEvent, Notice
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input
from tests.security.conftest import count

ME = "{ me { sub } }"


def _report_body() -> bytes:
    return json.dumps({"query": REPORT, "variables": {"input": report_input()}}).encode()


def _bearer(registry: Registry, principal: tuple[str, str, str | None]) -> dict[str, str]:
    return {"Authorization": f"Bearer {registry.token(*principal)}"}


@pytest.mark.parametrize("content_type", [
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "application/graphql",
    "application/json-patch+json",
    "application/jsonp",
    "application/json, text/plain",
])
async def test_a_mutation_sent_as_another_content_type_is_refused_and_not_executed(
        registry: Registry, content_type: str) -> None:
    # text/plain and form posts are what a cross-site form can send without a preflight.
    response = await registry.http.post("/graphql", content=_report_body(),
                                        headers={**_bearer(registry, JUDGE),
                                                 "Content-Type": content_type})
    assert response.status_code == 415
    assert "data" not in response.json()
    assert await count(registry, Notice) == 0
    assert await count(registry, AuditEvent) == 0


async def test_a_form_encoded_mutation_is_refused_and_not_executed(registry: Registry) -> None:
    response = await registry.http.post(
        "/graphql", data={"query": REPORT, "variables": json.dumps({"input": report_input()})},
        headers=_bearer(registry, JUDGE))
    assert response.status_code == 415
    assert await count(registry, Notice) == 0


async def test_a_multipart_mutation_is_refused_and_not_executed(registry: Registry) -> None:
    response = await registry.http.post(
        "/graphql", files={"operations": (None, _report_body().decode(), "application/json")},
        headers=_bearer(registry, JUDGE))
    assert response.status_code == 415
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert await count(registry, Notice) == 0


async def test_a_mutation_without_a_content_type_is_refused_and_not_executed(
        registry: Registry) -> None:
    response = await registry.http.post("/graphql", content=_report_body(),
                                        headers=_bearer(registry, JUDGE))
    assert "content-type" not in response.request.headers
    assert response.status_code == 415
    assert await count(registry, Notice) == 0


async def test_the_same_mutation_as_json_is_executed(registry: Registry) -> None:
    """The control for the refusals above: the body itself is a working report."""
    response = await registry.http.post("/graphql", content=_report_body(),
                                        headers={**_bearer(registry, JUDGE),
                                                 "Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    assert await count(registry, Notice) == 1


async def test_a_query_over_get_is_refused_with_405_and_no_data(registry: Registry) -> None:
    response = await registry.http.get("/graphql", params={"query": ME},
                                       headers=_bearer(registry, CLERK_DONGCHENG))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "data" not in response.json()
    assert "clerk.dongcheng" not in response.text


async def test_a_mutation_over_get_is_refused_and_not_executed(registry: Registry) -> None:
    response = await registry.http.get(
        "/graphql", params={"query": REPORT, "variables": json.dumps({"input": report_input()})},
        headers=_bearer(registry, JUDGE))
    assert response.status_code == 405
    assert await count(registry, Notice) == 0


async def test_graphiql_is_served_in_development(registry: Registry) -> None:
    response = await registry.http.get("/graphql")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_graphiql_is_not_served_in_production(production: Registry) -> None:
    response = await production.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 405
    assert not response.headers["content-type"].startswith("text/html")
    assert "<script" not in response.text.lower()


async def test_a_batched_array_is_refused_and_not_executed(registry: Registry) -> None:
    one = {"query": REPORT, "variables": {"input": report_input()}}
    response = await registry.http.post("/graphql", json=[one, one],
                                        headers=_bearer(registry, JUDGE))
    assert response.status_code == 400
    assert "data" not in response.json()
    assert await count(registry, Notice) == 0


@pytest.mark.parametrize("body", [
    b"{\"query\": ",
    b"not json",
    b"\xff\xfe{}",
    b"",
    # nested past the parser's recursion limit, inside the body size limit
    b'{"query": "{ me { sub } }", "variables": {"p": ' + b"[" * 100_000 + b"]" * 100_000
    + b"}}",
], ids=["truncated", "not json", "not utf-8", "empty", "nested too deeply"])
async def test_a_body_that_is_not_json_is_refused_with_400(registry: Registry,
                                                           body: bytes) -> None:
    response = await registry.http.post("/graphql", content=body,
                                        headers={**_bearer(registry, CLERK_DONGCHENG),
                                                 "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "data" not in response.json()


@pytest.mark.parametrize("body", [
    {"query": None},
    {"query": ["{ me { sub } }"]},
    {"variables": {}},
    {"query": ME, "variables": ["x"]},
    {"query": ME, "operationName": 1},
    "{ me { sub } }",
])
async def test_a_json_body_of_the_wrong_shape_is_refused_with_400(registry: Registry,
                                                                  body: object) -> None:
    response = await registry.http.post("/graphql", json=body,
                                        headers=_bearer(registry, CLERK_DONGCHENG))
    assert response.status_code == 400


async def test_every_response_carries_a_request_id(registry: Registry) -> None:
    token = _bearer(registry, CLERK_DONGCHENG)
    responses = {
        200: await registry.http.post("/graphql", json={"query": ME}, headers=token),
        400: await registry.http.post("/graphql", json=[{"query": ME}], headers=token),
        401: await registry.http.post("/graphql", json={"query": ME}),
        405: await registry.http.get("/graphql", params={"query": ME}, headers=token),
        415: await registry.http.post("/graphql", content=ME, headers=token),
        404: await registry.http.get("/nowhere"),
    }
    ids = set()
    for status, response in responses.items():
        assert response.status_code == status, (status, response.text)
        assert len(response.headers.get("x-request-id", "")) >= 16, status
        ids.add(response.headers["x-request-id"])
    assert len(ids) == len(responses)  # one per request, never reused


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_valid_token_in_the_url_is_refused_with_401(registry: Registry,
                                                            method: str) -> None:
    token = registry.token(*CLERK_DONGCHENG)
    response = await registry.http.request(method, "/graphql",
                                           params={"access_token": token, "query": ME},
                                           json={"query": ME} if method == "POST" else None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "data" not in response.json()
    assert "x-request-id" in response.headers


async def test_a_token_in_the_url_is_refused_even_beside_a_valid_header(
        registry: Registry) -> None:
    token = registry.token(*CLERK_DONGCHENG)
    response = await registry.http.post("/graphql", params={"access_token": token},
                                        json={"query": ME}, headers=_bearer(registry, JUDGE))
    assert response.status_code == 401


async def test_a_post_without_credentials_is_refused_with_401(registry: Registry) -> None:
    response = await registry.http.post("/graphql", content=_report_body(),
                                        headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert await count(registry, Notice) == 0


async def test_the_service_is_alive(registry: Registry) -> None:
    response = await registry.http.get("/healthz")
    assert response.status_code == 200
    assert "x-request-id" in response.headers


async def test_the_service_is_ready_on_a_migrated_database(registry: Registry) -> None:
    response = await registry.http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


async def test_metrics_count_requests_by_path_and_status(registry: Registry) -> None:
    await registry.http.post("/graphql", json={"query": ME})  # a 401
    response = await registry.http.get("/metrics")
    assert response.status_code == 200
    assert "registry_http_requests_total" in response.text
    assert 'registry_http_requests_total{path="/graphql",status="401"} 1.0' in response.text


async def test_unknown_paths_do_not_grow_the_metric_labels(registry: Registry) -> None:
    await registry.http.get("/secret-path-from-a-scanner")
    response = await registry.http.get("/metrics")
    assert "secret-path-from-a-scanner" not in response.text


async def test_the_jwks_publishes_public_keys_only(registry: Registry) -> None:
    response = await registry.http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] in ("RSA", "EC", "OKP")
        assert key.get("kid")
        private = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"} & set(key)
        assert not private, private


async def test_a_client_that_leaves_before_its_body_arrives_runs_nothing_and_logs_no_error(
        registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    headers = [(b"content-type", b"application/json"),
               (b"authorization", _bearer(registry, JUDGE)["Authorization"].encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/graphql", "raw_path": b"/graphql",
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("registry.test", 80)}
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    before = await count(registry, Notice)
    with caplog.at_level("ERROR"):
        await registry.app(scope, receive, send)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    assert await count(registry, Notice) == before
