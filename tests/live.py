"""Real HTTP servers for the tests that need one: uvicorn, run as `registry serve` runs it,
in the test's own event loop on a free port (`live_server`); and `registry serve` itself,
in processes of its own (`registry_serve`: a free port, start-up until /healthz answers and
every worker has started, a stop of the whole process group even when the test fails)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from api.cli import SERVE_OPTIONS

BIN = Path(sys.executable).parent
START_TIMEOUT = 45.0


@asynccontextmanager
async def live_server(app: Starlette, sock: socket.socket | None = None
                      ) -> AsyncIterator[tuple[str, int]]:
    """(host, port) of `app` served over TCP until the block ends; on `sock` (bound already,
    `bound_socket`) when the app must know its own address before it serves."""
    options = {**SERVE_OPTIONS, "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                           **options))
    task = asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
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


def bound_socket() -> socket.socket:
    """A TCP socket on a free port of 127.0.0.1, bound and kept (so no other test takes the
    port before `live_server` serves on it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def registry_serve(environment: dict[str, str], log_dir: Path, *, workers: int = 1,
                   follow_issuer: bool = False) -> Iterator[Served]:
    """`registry serve --workers N` with `environment` as its only REGISTRY_* variables;
    REGISTRY_ISSUER is the address it serves on unless `environment` names one, or unless
    `follow_issuer` leaves it unset (`registry serve` then makes the issuer follow)."""
    for attempt in range(3):
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env.update({**({} if follow_issuer else {"REGISTRY_ISSUER": base_url}), **environment,
                    "PYTHONUNBUFFERED": "1"})
        log = log_dir / f"serve-{port}-{attempt}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - the registry CLI of this venv
                [str(BIN / "registry"), "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", str(workers)],
                env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if _started(process, base_url, log, workers):
                yield Served(base_url=base_url, process=process, log=log)
                return
        finally:
            _stop(process)
    pytest.fail("registry serve found no free port in three attempts")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _started(process: subprocess.Popen[bytes], base_url: str, log: Path, workers: int
             ) -> bool:
    """True once /healthz answers and every worker has logged its start-up; False when the
    port was taken meanwhile (by another xdist worker), so that a new one can be tried."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "address already in use" in log.read_text().lower():
                return False
            pytest.fail(f"registry serve exited with {process.returncode}:\n{log.read_text()}")
        started = log.read_text().count("Application startup complete")
        try:
            healthy = httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            healthy = False
        if healthy and started >= workers:
            return True
        time.sleep(0.1)
    pytest.fail(f"registry serve did not start within {START_TIMEOUT}s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (supervisor and workers), SIGKILL if needed."""
    if process.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
    # Workers left behind by a supervisor that died first are in the same group.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
