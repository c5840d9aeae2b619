"""CORS (CONTRACT.md §2): for an origin in `REGISTRY_CORS_ORIGINS`, a preflight is
answered without a token, allowing POST with `Authorization`, `Content-Type` and
`X-Request-ID`, and answers expose `X-Request-ID` and `Retry-After`; any other origin,
and every origin when the setting is empty (the default), gets no CORS header at all.
A real browser calling from another origin is tests/browser/test_cors_in_chromium.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.settings import Settings
from tests.api.conftest import prepare
from tests.conftest import _truncate
from tests.factories import CLERK_DONGCHENG, Registry
from tests.security.conftest import serve

PORTAL = "https://portal.example.gov"
OTHER = "https://evil.example.com"
ME = {"query": "{ me { sub } }"}


def preflight(origin: str, headers: str = "authorization,content-type,x-request-id"
              ) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers}


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Headers, not data: SQLite alone (the database is never asked about an origin)."""
    _truncate(sqlite_url)
    return sqlite_url


@pytest.fixture
async def portal_api(settings: Settings) -> AsyncIterator[Registry]:
    await prepare(settings.database_url)
    async with serve(settings.with_(cors_origins=f"{PORTAL},http://127.0.0.1:3000")) as app:
        yield app


async def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(
        portal_api: Registry) -> None:
    response = await portal_api.http.options("/graphql", headers=preflight(PORTAL))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == PORTAL
    assert response.headers["access-control-allow-methods"] == "POST"
    allowed = {h.strip().lower()
               for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-request-id"} <= allowed
    assert "access-control-allow-credentials" not in response.headers  # bearer, not cookies
    assert response.headers["x-request-id"]
    assert response.headers["cache-control"] == "no-store"


async def test_an_allowed_origin_reads_the_answer_and_its_request_id(
        portal_api: Registry) -> None:
    response = await portal_api.http.post("/graphql", json=ME, headers={
        "Origin": PORTAL, "X-Request-ID": "portal-req-1",
        "Authorization": f"Bearer {portal_api.token(*CLERK_DONGCHENG)}"})
    assert response.status_code == 200
    assert response.json()["data"] == {"me": {"sub": "clerk.dongcheng"}}
    assert response.headers["access-control-allow-origin"] == PORTAL
    exposed = {h.strip().lower()
               for h in response.headers["access-control-expose-headers"].split(",")}
    assert exposed == {"x-request-id", "retry-after"}
    assert response.headers["x-request-id"] == "portal-req-1"


async def test_an_allowed_origin_can_read_a_401_and_a_413(portal_api: Registry) -> None:
    """Authentication and the body limit sit inside CORS: a portal can tell an expired
    token or an oversized document from a network failure."""
    unauthenticated = await portal_api.http.post("/graphql", json=ME, headers={"Origin": PORTAL})
    too_large = await portal_api.http.post("/graphql", content=b" " * (300 * 1024), headers={
        "Origin": PORTAL, "Content-Type": "application/json"})
    for response, status in ((unauthenticated, 401), (too_large, 413)):
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == PORTAL
        assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize("origin", [OTHER, "https://portal.example.gov.evil.example.com",
                                    "http://portal.example.gov", "null"])
async def test_another_origin_gets_no_cors_header_at_all(portal_api: Registry,
                                                         origin: str) -> None:
    refused = await portal_api.http.options("/graphql", headers=preflight(origin))
    assert refused.status_code == 401  # not a preflight we answer: it needs a token
    assert cors_headers(refused) == {}
    answered = await portal_api.http.post("/graphql", json=ME, headers={
        "Origin": origin, "Authorization": f"Bearer {portal_api.token(*CLERK_DONGCHENG)}"})
    assert answered.status_code == 200
    assert cors_headers(answered) == {}


async def test_a_preflight_asking_for_another_header_or_method_is_refused(
        portal_api: Registry) -> None:
    header = await portal_api.http.options("/graphql",
                                           headers=preflight(PORTAL, "authorization,x-forged"))
    method = await portal_api.http.options("/graphql", headers={
        "Origin": PORTAL, "Access-Control-Request-Method": "DELETE"})
    for response in (header, method):
        assert response.status_code == 400
        assert "access-control-allow-headers" not in response.headers or \
            "x-forged" not in response.headers["access-control-allow-headers"].lower()


async def test_no_origin_is_allowed_by_default(registry: Registry) -> None:
    assert registry.settings.cors_origin_list == ()
    response = await registry.http.options("/graphql", headers=preflight(PORTAL))
    assert response.status_code == 401
    assert cors_headers(response) == {}
