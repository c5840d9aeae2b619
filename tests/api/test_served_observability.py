"""Issue 14 items 6 to 8 on a real `registry serve --workers 2` (one server for the module,
on PostgreSQL, which several workers need), started as an operator would, without
REGISTRY_ISSUER:

- /metrics adds up every worker's counts, whichever worker answers the scrape
  (prometheus-client's multiprocess mode in a directory `registry serve` makes for this
  start and removes when it stops);
- every worker writes one JSON line per request to the served log;
- the embedded issuer is the address served, not the default :8000.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from api.issuer import Issuer, SigningKeys
from api.settings import Settings
from tests.api.conftest import prepare
from tests.api.test_metrics import samples, value
from tests.conftest import _truncate
from tests.factories import CLERK_DONGCHENG
from tests.live import Served, registry_serve

pytestmark = pytest.mark.postgres

WORKERS = 2
ME = "query WhoAmI { me { sub } }"
BATCH = 20


@dataclass
class Server:
    served: Served
    token: str

    def worker_pids(self) -> list[int]:
        return [int(pid) for pid in
                re.findall(r"Started server process \[(\d+)\]", self.served.log.read_text())]


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _truncate(postgres_url)
    asyncio.run(prepare(postgres_url))
    tmp = tmp_path_factory.mktemp("served")
    key_file = str(tmp / "signing-key.pem")
    keys = SigningKeys.load_or_create(key_file)
    environment = {"REGISTRY_DATABASE_URL": postgres_url, "REGISTRY_SIGNING_KEY_FILE": key_file,
                   "REGISTRY_DB_POOL_SIZE": "2"}
    with registry_serve(environment, tmp, workers=WORKERS, follow_issuer=True) as served:
        settings = Settings(database_url=postgres_url, signing_key_file=key_file,
                            issuer=served.base_url)
        sub, role, agency = CLERK_DONGCHENG
        token = Issuer(settings, keys).issue(sub=sub, role=role, client_id="tests",
                                             agency=agency)
        yield (server := Server(served, token))
        directory = multiprocess_dir(server.worker_pids()[0])
    assert not directory.exists(), "registry serve left its metrics directory behind"


def worker_counts(directory: Path, pid: int) -> dict[str, float]:
    """The WhoAmI operations one worker counted, read from its own file alone."""
    collector = MultiProcessCollector(None, path=str(directory))  # type: ignore[no-untyped-call]
    found = {}
    for metric in collector.merge([str(directory / f"counter_{pid}.db")]):
        for sample in metric.samples:
            if sample.name == "registry_graphql_operations_total":
                found[sample.labels["outcome"]] = sample.value
    return found


def multiprocess_dir(pid: int) -> Path:
    """The directory `registry serve` gave its workers (Linux /proc)."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    found = [v.split(b"=", 1)[1] for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    assert found, "the workers have no PROMETHEUS_MULTIPROC_DIR"
    return Path(found[0].decode())


async def test_metrics_add_up_across_the_workers(server: Server) -> None:
    pids = server.worker_pids()
    assert len(pids) == WORKERS
    directory = multiprocess_dir(pids[0])
    assert multiprocess_dir(pids[1]) == directory
    headers = {"Authorization": f"Bearer {server.token}"}
    sent = 0
    # New connections in concurrent batches until each worker has answered some (the
    # kernel hands each connection to one of them).
    while sent < 20 * BATCH:
        async def one(n: int) -> None:
            async with httpx.AsyncClient(base_url=server.served.base_url) as client:
                response = await client.post("/graphql", json={"query": ME}, headers={
                    **headers, "X-Request-ID": f"served-{n}"})
                assert response.status_code == 200, response.text
                assert "errors" not in response.json()
        await asyncio.gather(*(one(sent + n) for n in range(BATCH)))
        sent += BATCH
        if all(worker_counts(directory, pid).get("ok") for pid in pids):
            break
    per_worker = [worker_counts(directory, pid).get("ok", 0.0) for pid in pids]
    assert all(per_worker) and sum(per_worker) == sent, per_worker

    for _ in range(6):  # each scrape on a new connection: either worker may answer it
        async with httpx.AsyncClient(base_url=server.served.base_url) as scraper:
            found = samples((await scraper.get("/metrics")).text)
        assert value(found, "registry_graphql_operations_total", operation="WhoAmI",
                     outcome="ok") == sent
        assert value(found, "registry_policy_set_version") > 0

    lines = [json.loads(line) for line in server.served.log.read_text().splitlines()
             if line.startswith("{")]
    requests = [line for line in lines if line.get("logger") == "registry.request"
                and str(line.get("request_id")).startswith("served-")]
    assert sorted(line["request_id"] for line in requests) == sorted(
        f"served-{n}" for n in range(sent))
    assert {(line["operation"], line["status"], line["sub"]) for line in requests} == {
        ("WhoAmI", 200, CLERK_DONGCHENG[0])}
    assert any(line["message"] == "Application startup complete." for line in lines)
    assert server.token not in server.served.log.read_text()


async def test_the_issuer_follows_the_address_served(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.served.base_url) as client:
        metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
        answer = await client.post("/graphql", json={"query": ME},
                                   headers={"Authorization": f"Bearer {server.token}"})
    assert metadata["issuer"] == server.served.base_url
    assert metadata["token_endpoint"] == f"{server.served.base_url}/oauth/token"
    assert answer.json()["data"] == {"me": {"sub": CLERK_DONGCHENG[0]}}
    assert (f"the embedded issuer follows the address served: {server.served.base_url}"
            in server.served.log.read_text())
