"""GraphiQL's page and assets come from the package (issue 14 item 2): the page names only
files under /graphiql/, each served here with the hash its `integrity` attribute pins,
with its package's licence beside it; a Content-Security-Policy lets the page load
nothing from elsewhere; production serves none of it. That the page works in a browser
with no network is tests/browser/test_graphiql_offline.py."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from tests.conftest import _truncate
from tests.factories import Registry

ASSET = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"[^>]*>')
INTEGRITY = re.compile(r'integrity="sha384-([^"]+)"')


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Static files, not data: SQLite alone."""
    _truncate(sqlite_url)
    return sqlite_url


async def test_every_asset_of_the_page_is_served_here_with_its_pinned_hash(
        registry: Registry) -> None:
    page = await registry.http.get("/graphql")
    assert page.status_code == 200
    tags = [(match[0], match[1]) for match in ASSET.finditer(page.text)
            if match[1] != "data:,"]  # the empty icon: no request at all
    assert {src.rsplit("/", 1)[1] for _, src in tags} == {
        "graphiql.min.css", "registry-graphiql.css", "react.production.min.js",
        "react-dom.production.min.js", "graphiql.min.js", "registry-graphiql.js"}
    for tag, src in tags:
        assert src.startswith("/graphiql/"), src
        asset = await registry.http.get(src)
        assert asset.status_code == 200, src
        if pinned := INTEGRITY.search(tag):
            digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
            assert digest == pinned[1], src
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()


async def test_the_page_may_load_nothing_from_another_origin(registry: Registry) -> None:
    page = await registry.http.get("/graphql")
    policy = dict(part.strip().split(" ", 1)
                  for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("package", ["graphiql", "react", "react-dom"])
async def test_each_vendored_package_ships_its_licence(registry: Registry, package: str) -> None:
    licence = await registry.http.get(f"/graphiql/LICENSE.{package}")
    assert licence.status_code == 200
    assert licence.text.startswith("MIT License")


async def test_production_serves_no_graphiql_asset(production: Registry) -> None:
    for path in ("/graphiql/graphiql.min.js", "/graphiql/registry-graphiql.js",
                 "/graphiql/LICENSE.graphiql"):
        response = await production.http.get(path)
        assert response.status_code == 404, path
