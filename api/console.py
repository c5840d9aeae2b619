"""The policy console (issue 15 item 3): security staff at `/console/`, in production too.

Plain HTML, CSS and JavaScript modules written by hand (`static/console/`, no build step),
served by this app alone: no CDN, nothing from another origin. The page signs in with the
authorization code grant and PKCE as the public client `registry-console` (registered by
`registry db upgrade`, redirect URI `<REGISTRY_ISSUER>/console/`), keeps its tokens in
memory, and speaks only the public GraphQL API at /graphql.

Every response under /console carries a strict Content-Security-Policy (scripts and styles
from this origin only, no inline script, requests to this origin only, no framing) and
`X-Frame-Options: DENY`; `Cache-Control: no-store` and `nosniff` come with every response
(api/transport.py).
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_DIRECTORY = Path(__file__).parent / "static" / "console"
CONSOLE_PATH = "/console"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    # The authorization response's code is in the page's URL until the page removes it.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_REPLACED = frozenset(name for name, _ in HEADERS)


class ConsoleHeaders:
    """Adds the console's headers to every response of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ())
                        if k.lower() not in _REPLACED]
                message["headers"] = [*kept, *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def console_assets() -> Mount:
    """`/console/` (index.html) and its assets; `/console` redirects to `/console/`."""
    files = StaticFiles(directory=CONSOLE_DIRECTORY, html=True)
    return Mount(CONSOLE_PATH, app=ConsoleHeaders(files), name="console")
