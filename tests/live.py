"""A real HTTP server for the tests that need one: uvicorn, run as `registry serve` runs it,
in the test's own event loop on a free port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette

from api.cli import SERVE_OPTIONS


@asynccontextmanager
async def live_server(app: Starlette) -> AsyncIterator[tuple[str, int]]:
    """(host, port) of `app` served over TCP until the block ends."""
    options = {**SERVE_OPTIONS, "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                           **options))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "the test server did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
