"""Attack 7: what HTTP itself gives away. Responses with criminal data carried no
`Cache-Control: no-store` (a shared cache or the browser's disk could keep them) and no
`X-Content-Type-Options: nosniff`; every response announced `server: uvicorn`; `/metrics`
was open to anyone in production. CONTRACT.md §2 says what every response carries.
"""

from __future__ import annotations

import httpx
import pytest

from api.settings import Settings
from tests.factories import CLERK_DONGCHENG, Registry
from tests.live import live_server
from tests.security.conftest import serve

REQUESTS = [
    ("POST", "/graphql", {"json": {"query": "{ judgments { totalCount } }"}}, True),
    ("POST", "/graphql", {"json": {"query": "{ judgments { totalCount } }"}}, False),  # 401
    ("POST", "/graphql", {"content": b"{}", "headers": {"Content-Type": "text/plain"}}, True),
    ("GET", "/graphql", {}, False),
    ("GET", "/healthz", {}, False),
    ("GET", "/readyz", {}, False),
    ("GET", "/metrics", {}, False),
    ("GET", "/.well-known/jwks.json", {}, False),
    ("GET", "/.well-known/oauth-authorization-server", {}, False),
    ("POST", "/oauth/token", {"data": {"grant_type": "client_credentials"}}, False),
    ("GET", "/no-such-page", {}, False),
]


def assert_hygienic(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store", response.headers
    assert response.headers.get("x-content-type-options") == "nosniff", response.headers
    assert response.headers.get("x-request-id"), response.headers
    assert "server" not in response.headers, response.headers


@pytest.mark.parametrize(("method", "path", "options", "authorized"), REQUESTS,
                         ids=[f"{m} {p} {'token' if a else ''}" for m, p, _, a in REQUESTS])
async def test_every_response_says_no_store_and_nosniff(
        registry: Registry, method: str, path: str, options: dict[str, object],
        authorized: bool) -> None:
    headers = dict(options.pop("headers", {}))  # type: ignore[call-overload]
    if authorized:
        headers["Authorization"] = f"Bearer {registry.token(*CLERK_DONGCHENG)}"
    response = await registry.http.request(method, path, headers=headers, **options)
    assert_hygienic(response)


async def test_the_served_api_announces_no_server(registry: Registry) -> None:
    async with live_server(registry.app) as (host, port), httpx.AsyncClient() as http:
        healthz = await http.get(f"http://{host}:{port}/healthz")
        refused = await http.post(f"http://{host}:{port}/graphql", json={"query": "{ me { sub } }"})
    assert healthz.status_code == 200 and refused.status_code == 401
    for response in (healthz, refused):
        assert_hygienic(response)


def metrics_token(registry: Registry, scope: str) -> str:
    return registry.app.state.registry.issuer.issue(
        sub="prometheus", role="auditor", client_id="tests", scopes=scope)


async def test_metrics_in_production_need_a_token_with_the_metrics_scope(
        registry: Registry, settings: Settings) -> None:
    async with serve(settings.with_(env="production")) as production:
        anonymous = await production.http.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert "registry_http_requests_total" not in anonymous.text

        unscoped = await production.http.get("/metrics", headers={
            "Authorization": f"Bearer {metrics_token(production, '')}"})
        assert unscoped.status_code == 403
        assert 'error="insufficient_scope"' in unscoped.headers["www-authenticate"]
        assert "registry_http_requests_total" not in unscoped.text

        forged = await production.http.get("/metrics", headers={
            "Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401

        scoped = await production.http.get("/metrics", headers={
            "Authorization": f"Bearer {metrics_token(production, 'metrics:read')}"})
        assert scoped.status_code == 200
        assert "registry_http_requests_total" in scoped.text


async def test_metrics_in_development_stay_open(registry: Registry) -> None:
    response = await registry.http.get("/metrics")
    assert response.status_code == 200
    assert "registry_http_requests_total" in response.text
