"""A portal page on another origin calls the API from Chromium (CONTRACT.md §2, issue 14
item 1): `fetch()` with a bearer token gets data from an origin in
`REGISTRY_CORS_ORIGINS`, can read the exposed `X-Request-ID` and `Retry-After`, and is
refused by the browser itself from any other origin (its preflight gets no CORS header,
so the POST is never sent)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium.webdriver import Chrome

from tests.browser.conftest import page_server
from tests.served import ServedRegistry, served_registry

PAGE = "<!doctype html><title>An agency portal</title><p>portal</p>"
ME = "{ me { sub } }"  # costs 2 points
# What a portal's code does; the result, or the error the browser raised, comes back.
CALL = """
const [url, token, query, accept, done] = arguments;
fetch(url, {method: "POST", body: JSON.stringify({query}), headers: {
    "Authorization": "Bearer " + token, "Content-Type": "application/json",
    "Accept": accept, "X-Request-ID": "portal-req-42"}})
  .then(async (r) => done({status: r.status, body: await r.json(),
                           requestId: r.headers.get("X-Request-ID"),
                           retryAfter: r.headers.get("Retry-After")}))
  .catch((e) => done({error: e.name + ": " + e.message}));
"""


@pytest.fixture(scope="module")
def origins() -> Iterator[tuple[str, str]]:
    """(the portal's origin, listed in REGISTRY_CORS_ORIGINS; a stranger's, not listed)."""
    with page_server(PAGE) as portal, page_server(PAGE) as stranger:
        yield portal, stranger


@pytest.fixture(scope="module")
def registry(origins: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[ServedRegistry]:
    # Buckets of 5 points that hardly refill: two `me` fit, the third is RATE_LIMITED.
    with served_registry(tmp_path_factory.mktemp("cors"), {
            "REGISTRY_CORS_ORIGINS": origins[0], "REGISTRY_RATE_BUCKET": "5",
            "REGISTRY_RATE_RESTORE": "0.01"}) as served:
        yield served


def call_from(browser: Chrome, origin: str, registry: ServedRegistry, sub: str,
              accept: str = "application/json") -> dict[str, Any]:
    if not browser.current_url.startswith(origin):
        browser.get(f"{origin}/portal")
    token = registry.token(sub, "registry_clerk", "REG-110101")
    result: dict[str, Any] = browser.execute_async_script(
        CALL, f"{registry.base_url}/graphql", token, ME, accept)
    return result


def test_a_portal_on_an_allowed_origin_gets_data_with_its_bearer_token(
        browser: Chrome, origins: tuple[str, str], registry: ServedRegistry) -> None:
    result = call_from(browser, origins[0], registry, "portal.clerk")
    assert result.get("error") is None, result
    assert result["status"] == 200
    assert result["body"]["data"] == {"me": {"sub": "portal.clerk"}}
    assert result["requestId"] == "portal-req-42"  # exposed, and kept as sent


def test_a_portal_reads_retry_after_when_rate_limited(
        browser: Chrome, origins: tuple[str, str], registry: ServedRegistry) -> None:
    accept = "application/graphql-response+json"
    answers = [call_from(browser, origins[0], registry, "busy.clerk", accept) for _ in range(3)]
    assert [answer.get("status") for answer in answers] == [200, 200, 429], answers
    limited = answers[-1]
    assert limited["body"]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(limited["retryAfter"]) >= 1


def test_a_page_on_an_origin_not_listed_is_refused_by_the_browser(
        browser: Chrome, origins: tuple[str, str], registry: ServedRegistry) -> None:
    before = graphql_requests(registry)
    result = call_from(browser, origins[1], registry, "stranger.clerk")
    assert result == {"error": "TypeError: Failed to fetch"}
    # The server saw the preflight (401: not one it answers, so it needs a token) and no POST.
    after = graphql_requests(registry)
    assert after - before == Counter({"401": 1}), (before, after)


def graphql_requests(registry: ServedRegistry) -> Counter[str]:
    """Requests to /graphql by status, from the server's own /metrics."""
    metrics = httpx.get(f"{registry.base_url}/metrics", timeout=5).text
    return Counter({found[1]: int(float(found[2])) for found in re.finditer(
        r'^registry_http_requests_total\{path="/graphql",status="(\d+)"\} (\S+)$', metrics,
        re.MULTILINE)})
