"""For the attacks on the token endpoint and on clients: a registered client, and
`registry serve` processes for those that need a real server (a free port, start-up until
/healthz answers, and a stop of the whole process group even when the test fails)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.clients import create_client
from tests.factories import Registry

BIN = Path(sys.executable).parent
START_TIMEOUT = 45.0


async def case_system(app: Registry) -> tuple[str, str]:
    """A police case system registered as a client-credentials client: (id, secret)."""
    async with app.app.state.registry.database.session() as session:
        created = await create_client(session, name="Case system", role="police_officer",
                                      agency_code="PSB-110101")
        await session.commit()
    return created


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=5)
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue


def _started(process: subprocess.Popen[bytes], base_url: str, log: Path) -> bool:
    """True once /healthz answers; False when the port was taken meanwhile."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "address already in use" in log.read_text().lower():
                return False
            pytest.fail(f"registry serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"registry serve did not start within {START_TIMEOUT}s:\n{log.read_text()}")


@contextmanager
def registry_serve(environment: dict[str, str], log_dir: Path) -> Iterator[Served]:
    """`registry serve` (one worker) with `environment` as its only REGISTRY_* variables;
    REGISTRY_ISSUER is the address it serves on unless `environment` names one."""
    for attempt in range(3):
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env.update({"REGISTRY_ISSUER": base_url, **environment, "PYTHONUNBUFFERED": "1"})
        log = log_dir / f"serve-{port}-{attempt}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - the registry CLI of this venv
                [str(BIN / "registry"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if _started(process, base_url, log):
                yield Served(base_url=base_url, process=process, log=log)
                return
        finally:
            _stop(process)
    pytest.fail("registry serve found no free port in three attempts")
