"""GraphiQL in development (CONTRACT.md §2), from files the package ships.

The page (`static/graphiql.html`) and its scripts (`static/graphiql/`, vendored from npm
at pinned versions with their licences: see the README there) come from this server
alone, so GraphiQL works on a government network without internet access, and its
Content-Security-Policy lets it load nothing from anywhere else. Production mounts
none of it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS_PATH = "/graphiql"

# GraphiQL sets inline styles and embeds its fonts as data: URLs; it runs no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def _page() -> str:
    return (STATIC / "graphiql.html").read_text(encoding="utf-8")


def graphiql_page() -> Response:
    return HTMLResponse(_page(), headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})


def graphiql_assets() -> Mount:
    return Mount(ASSETS_PATH, app=StaticFiles(directory=STATIC / "graphiql"), name="graphiql")
