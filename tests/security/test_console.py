"""The policy console's assets (issue 15 item 3): served by the app itself, in production
too, with a strict Content-Security-Policy and no framing; nothing in them names another
origin (the console works on a network without internet access); the console signs in as
the client `registry db upgrade` registers, and speaks to /graphql and the token endpoint
alone. The console at work is tests/browser/test_policy_console.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.clients import CONSOLE_CLIENT_ID, ensure_console_client
from api.console import CONSOLE_DIRECTORY
from tests.conftest import _truncate
from tests.factories import Registry
from tests.signin import Flow, add_person, open_page, tokens_for

ASSETS = sorted(path.name for path in CONSOLE_DIRECTORY.iterdir() if path.is_file())
PAGE_ASSET = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"[^>]*>')


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Static files and a sign-in: SQLite alone."""
    _truncate(sqlite_url)
    return sqlite_url


def csp_of(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_the_console_is_html_css_and_javascript_modules_written_by_hand() -> None:
    assert set(ASSETS) == {"index.html", "console.css", "icon.svg", "main.js", "screens.js",
                           "auth.js", "api.js", "dom.js", "diff.js", "jsonpath.js"}


@pytest.mark.parametrize("name", ASSETS)
def test_no_asset_names_another_origin(name: str) -> None:
    text = (CONSOLE_DIRECTORY / name).read_text(encoding="utf-8")
    if name == "icon.svg":  # the SVG namespace is a name, never fetched
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}|\burl\(|@import", text, re.I), name


def test_the_page_loads_only_its_own_files_and_runs_no_inline_script() -> None:
    page = (CONSOLE_DIRECTORY / "index.html").read_text(encoding="utf-8")
    loaded = PAGE_ASSET.findall(page)
    assert loaded == ["/console/icon.svg", "/console/console.css", "/console/main.js"]
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S)
    assert scripts == [""]  # the module, by src: nothing inline
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers either
    assert "style=" not in page


def test_the_console_speaks_to_graphql_and_the_issuers_endpoints_only() -> None:
    scripts = {name: (CONSOLE_DIRECTORY / name).read_text(encoding="utf-8")
               for name in ASSETS if name.endswith(".js")}
    fetched = {url for text in scripts.values()
               for url in re.findall(r"fetch\(\s*\"([^\"]+)\"", text)}
    assert fetched == {"/graphql", "/oauth/token", "/.well-known/oauth-authorization-server"}
    assert all(text.count("fetch(") == len(re.findall(r"fetch\(\s*\"", text))
               for text in scripts.values())  # every fetch names its URL literally
    assigned = re.findall(r"location\.assign\(`([^`?]+)", scripts["auth.js"])
    assert assigned == ["/oauth/authorize"]
    # No storage of tokens: sessionStorage holds the PKCE verifier and state only.
    for name, text in scripts.items():
        assert "localStorage." not in text and "indexedDB" not in text, name
        assert "document.cookie" not in text, name
        assert ".innerHTML" not in text and "eval(" not in text, name
    stored = re.findall(r"sessionStorage\.setItem\([^;]+", scripts["auth.js"])
    assert stored == ["sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, route }))"]


def test_the_console_uses_the_client_that_db_upgrade_registers() -> None:
    auth = (CONSOLE_DIRECTORY / "auth.js").read_text(encoding="utf-8")
    assert f'export const CLIENT_ID = "{CONSOLE_CLIENT_ID}";' in auth
    assert "return `${location.origin}/console/`;" in auth  # as ensure_console_client's
    assert 'code_challenge_method: "S256"' in auth


@pytest.mark.parametrize("path", ["/console/", *(f"/console/{name}" for name in ASSETS)])
async def test_every_console_response_forbids_framing_inline_script_and_other_origins(
        registry: Registry, path: str) -> None:
    response = await registry.http.get(path)
    assert response.status_code == 200, path
    policy = csp_of(response.headers["content-security-policy"])
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


async def test_the_page_and_its_modules_have_their_media_types(registry: Registry) -> None:
    page = await registry.http.get("/console/")
    assert page.headers["content-type"].startswith("text/html")
    assert page.text == (CONSOLE_DIRECTORY / "index.html").read_text(encoding="utf-8")
    module = await registry.http.get("/console/main.js")
    assert module.headers["content-type"].split(";")[0] in ("text/javascript",
                                                           "application/javascript")
    style = await registry.http.get("/console/console.css")
    assert style.headers["content-type"].startswith("text/css")


async def test_console_without_its_slash_redirects_to_the_page(registry: Registry) -> None:
    response = await registry.http.get("/console")
    assert response.status_code in (307, 308)
    assert response.headers["location"].endswith("/console/")


async def test_no_file_outside_the_console_is_served_under_it(registry: Registry) -> None:
    for path in ("/console/../console.py", "/console/%2e%2e/console.py",
                 "/console/../graphiql.html", "/console/missing.js"):
        response = await registry.http.get(path)
        assert response.status_code == 404, path


async def test_production_serves_the_console_too(production: Registry) -> None:
    response = await production.http.get("/console/")
    assert response.status_code == 200
    assert csp_of(response.headers["content-security-policy"])["script-src"] == "'self'"
    assert (await production.http.get("/console/main.js")).status_code == 200


async def test_the_console_signs_a_security_admin_in_as_the_registered_public_client(
        registry: Registry) -> None:
    issuer = registry.settings.issuer
    async with registry.app.state.registry.database.session() as session:
        assert await ensure_console_client(session, issuer)
        await session.commit()
    await add_person(registry, "security.alice", "security_admin", agency="REG-110000")
    console = Flow(CONSOLE_CLIENT_ID, None, redirect_uri=issuer.rstrip("/") + "/console/")
    body = await tokens_for(registry.http, console, "security.alice")
    assert body["refresh_token"]
    principal = await registry.app.state.registry.verifier.verify(body["access_token"])
    assert (principal.sub, principal.role, principal.client_id) == (
        "security.alice", "security_admin", CONSOLE_CLIENT_ID)
    # Exactly that redirect URI: the page without its slash, or another path, is refused.
    for other in (issuer.rstrip("/") + "/console", issuer.rstrip("/") + "/console/?x=1"):
        page = await open_page(registry.http, console, redirect_uri=other)
        assert page.status_code == 400, other
        assert "location" not in page.headers


def test_the_static_files_ship_with_the_package() -> None:
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"static/console/*"' in pyproject
