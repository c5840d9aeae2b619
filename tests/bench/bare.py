"""The bare starlette JSON route the fixed cost of a request is compared against.

Served by uvicorn exactly like the API (`uvicorn tests.bench.bare:app`): one route
answering what `{ me { sub role } }` answers, with nothing behind it.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def graphql(request: Request) -> Response:
    await request.body()
    return JSONResponse({"data": {"me": {"sub": "x", "role": "registry_clerk"}}})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"]),
                        Route("/healthz", healthz)])
