"""Browsers on the origins of `REGISTRY_CORS_ORIGINS` (CONTRACT.md §2), with starlette's
CORS middleware.

It sits outside authentication, so a preflight (`OPTIONS`, which a browser sends without
credentials) is answered without a token, and outside the body limit, so that a page can
read our 401 or 413 too. A request from any other origin passes through untouched: no
`Access-Control-*` header at all, where starlette alone would still add
`Access-Control-Expose-Headers` to its answers and the allowed methods and headers to a
refused preflight.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

ALLOWED_METHODS = ("POST",)
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
# What a portal reads from an answer besides the CORS-safelisted headers: the id to quote
# when it reports a problem, and how long to wait after RATE_LIMITED.
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After")
PREFLIGHT_MAX_AGE = 600


class RegistryCORS(CORSMiddleware):
    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        # Bearer tokens, never cookies: no credentials mode, so no `Allow-Credentials`.
        super().__init__(app, allow_origins=origins, allow_methods=ALLOWED_METHODS,
                         allow_headers=ALLOWED_HEADERS, expose_headers=EXPOSED_HEADERS,
                         allow_credentials=False, max_age=PREFLIGHT_MAX_AGE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = Headers(scope=scope).get("origin")
            if origin is None or not self.is_allowed_origin(origin):
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
