"""Issue 5, concurrency: 200 concurrent audited requests, served by several OS processes
(`registry serve --workers 4`) against one PostgreSQL database, leave a gap-free chain that
verifies; and the same through two in-process app instances on SQLite and PostgreSQL. The chain is
sealed with the service's audit key, and the workers' checkpoint writers run throughout.

The requests are a mix of the audited kinds: a clerk's list read that returns records, an
employer's list read (denied: empty, with a `deny` event), an employer's reportJudgment
(FORBIDDEN: the operation rolls back and its events are written in a transaction of their
own) and a judge's reportJudgment with its own notice number (a write and its events in one
transaction). Afterwards `seq` runs 1..N, every request's events are there, contiguous, with
the expected action and outcome, `verify_chain` reports intact, and so does
`registry audit verify`.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from api.app import create_app
from api.issuer import Issuer, SigningKeys
from api.settings import Settings
from db.audit import verify_chain
from db.audit_keys import AuditKeys
from db.engine import Database
from db.models import AuditEvent
from tests.api.conftest import prepare
from tests.conftest import _truncate
from tests.factories import (
    CLERK_DONGCHENG,
    EMPLOYER,
    JUDGE,
    REPORT,
    Registry,
    id_number,
    report_input,
    without_cost,
)
from tests.live import BIN, registry_serve

REQUESTS = 200
WORKERS = 4
SEEDED = 5  # judgments reported before the load, so that the clerk's reads return records
LOAD_TIMEOUT = 60.0  # a guard against a hang, not a performance bound

LIST = "query Listing { judgments(first: 50) { totalCount edges { node { id } } } }"
TABLE = AuditEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Call:
    """One request of the load: who sends what, and the audit event it must leave."""

    kind: str  # "read", "denied_read", "denied_write", "write"
    principal: tuple[str, str, str | None]
    query: str
    variables: dict[str, Any]
    action: str
    outcome: str


def _report(tag: str, n: int) -> dict[str, Any]:
    """A judgment report with a notice number, judgment number and defendant of its own."""
    return report_input(noticeNumber=f"LOAD-{tag}-{n}",
                        judgmentNumber=f"(2026) Jing 0101 Xing Chu No. LOAD-{tag}-{n}",
                        defendant={"idNumber": id_number(serial=n)})


def _calls(tag: str) -> list[Call]:
    """200 requests in a fixed shuffled order: 70 reads, 40 denied reads, 30 denied writes,
    60 writes. Defendants are distinct: serials 1..SEEDED are the seeded judgments', 100..
    the writes' and 900.. the denied writes'. (A clerk's list read is audited per record
    returned, as `judgment:read`; an employer's, denied, as `judgment:list`.)"""
    calls = (
        [Call("read", CLERK_DONGCHENG, LIST, {}, "judgment:read", "permit")] * 70
        + [Call("denied_read", EMPLOYER, LIST, {}, "judgment:list", "deny")] * 40
        + [Call("denied_write", EMPLOYER, REPORT, {"input": _report(tag, 900 + n)},
                "judgment:report", "deny") for n in range(30)]
        + [Call("write", JUDGE, REPORT, {"input": _report(tag, 100 + n)},
                "judgment:report", "permit") for n in range(60)]
    )
    assert len(calls) == REQUESTS
    random.Random(5).shuffle(calls)
    return calls


def _check_answer(call: Call, response: httpx.Response) -> str:
    """A proper GraphQL answer of the kind expected; returns the response's request id."""
    assert response.status_code == 200, response.text
    body = response.json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    assert "INTERNAL" not in codes, body
    if call.kind == "read":
        assert "errors" not in body, body
        assert len(body["data"]["judgments"]["edges"]) >= SEEDED, body
    elif call.kind == "denied_read":
        assert without_cost(body) == {"data": {"judgments": {"totalCount": 0, "edges": []}}}, body
    elif call.kind == "denied_write":
        assert body["data"] is None and codes == ["FORBIDDEN"], body
    else:
        assert "errors" not in body, body
        notice = body["data"]["reportJudgment"]["notice"]
        assert notice["noticeNumber"] == call.variables["input"]["noticeNumber"], body
        assert notice["status"] == "REGISTERED", body
    request_id = response.headers["x-request-id"]
    assert request_id
    return request_id


async def _fire(clients: list[httpx.AsyncClient], calls: list[Call],
                tokens: dict[tuple[str, str, str | None], str]) -> dict[str, Call]:
    """All calls at once, spread round-robin over `clients`; request id -> call."""
    async def one(i: int, call: Call) -> tuple[str, Call]:
        response = await clients[i % len(clients)].post(
            "/graphql", json={"query": call.query, "variables": call.variables},
            headers={"Authorization": f"Bearer {tokens[call.principal]}"})
        return _check_answer(call, response), call

    answers = await asyncio.wait_for(
        asyncio.gather(*(one(i, call) for i, call in enumerate(calls))), timeout=LOAD_TIMEOUT)
    by_request = dict(answers)
    assert len(by_request) == len(calls), "request ids are not unique"
    return by_request


async def _seed(client: httpx.AsyncClient, token: str, tag: str) -> None:
    for n in range(1, SEEDED + 1):
        response = await client.post(
            "/graphql", json={"query": REPORT, "variables": {"input": _report(tag, n)}},
            headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert response.json()["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED"


async def _assert_chain(database_url: str, audit_key_file: str,
                        requests: dict[str, Call]) -> int:
    """The chain after the load: gap-free, every request's events there and contiguous,
    and intact. Returns the number of events."""
    database = Database(database_url)
    try:
        async with database.session() as session:
            rows = (await session.execute(
                select(TABLE.c.seq, TABLE.c.request_id, TABLE.c.action, TABLE.c.outcome)
                .order_by(TABLE.c.seq))).all()
            result = await verify_chain(session, AuditKeys.load(audit_key_file))
    finally:
        await database.dispose()

    seqs = [row.seq for row in rows]
    assert seqs == list(range(1, len(seqs) + 1)), "audit_event.seq has a gap or a duplicate"
    assert len(seqs) >= len(requests) + SEEDED

    seqs_of: dict[str, list[int]] = {}
    events_of: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        seqs_of.setdefault(row.request_id, []).append(row.seq)
        events_of.setdefault(row.request_id, set()).add((row.action, row.outcome))
    missing = [rid for rid in requests if rid not in seqs_of]
    assert not missing, f"{len(missing)} requests left no audit event"
    for request_id, call in requests.items():
        assert (call.action, call.outcome) in events_of[request_id], (call, events_of[request_id])
    for request_id, run in seqs_of.items():
        # One append per transaction under the chain lock: a request's events are one run.
        assert run == list(range(run[0], run[0] + len(run))), (request_id, run)

    assert (result.intact, result.count, result.problem) == (True, len(seqs), None), result
    return len(seqs)


def _audit_verify(database_url: str, key_file: str, events: int) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(REGISTRY_DATABASE_URL=database_url, REGISTRY_SIGNING_KEY_FILE=key_file)
    done = subprocess.run(  # noqa: S603 - the registry CLI of this venv
        [str(BIN / "registry"), "audit", "verify"], env=env, capture_output=True, text=True,
        timeout=60, check=False)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert f"audit chain intact: {events} events" in done.stdout
    return done.stdout


# --- in process: two app instances on one database (SQLite file, PostgreSQL) -------------


async def test_concurrent_audited_requests_through_two_app_instances_leave_a_verifying_chain(
        registry: Registry) -> None:
    settings = registry.settings.with_(db_pool_size=5)
    apps = [create_app(settings), create_app(settings)]  # same database, same signing key
    tokens = {p: registry.token(*p) for p in (CLERK_DONGCHENG, EMPLOYER, JUDGE)}
    tag = uuid.uuid4().hex[:8]
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://registry.test", timeout=LOAD_TIMEOUT)
               for app in apps]
    try:
        await _seed(clients[0], tokens[JUDGE], tag)
        requests = await _fire(clients, _calls(tag), tokens)
    finally:
        for client in clients:
            await client.aclose()
        for app in apps:
            await app.state.registry.database.dispose()

    events = await _assert_chain(settings.database_url, settings.audit_key_path, requests)
    _audit_verify(settings.database_url, settings.signing_key_file, events)


# --- several processes: `registry serve --workers 4` on PostgreSQL -----------------------


@dataclass
class Server:
    base_url: str
    settings: Settings
    keys: SigningKeys
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        return [int(pid) for pid in
                re.findall(r"Started server process \[(\d+)\]", self.log.read_text())]

    def token(self, principal: tuple[str, str, str | None]) -> str:
        sub, role, agency = principal
        return Issuer(self.settings, self.keys).issue(sub=sub, role=role, client_id="tests",
                                                      agency=agency)


@pytest.fixture
def server(postgres_url: str, tmp_path: Path) -> Iterator[Server]:
    """`registry serve --workers 4` on a free port, on this xdist worker's PostgreSQL
    database (emptied, with the default policies and demo agencies), all workers signing
    and verifying with one key file. Stopped (the whole process group) even on failure."""
    _truncate(postgres_url)
    asyncio.run(prepare(postgres_url))
    key_file = str(tmp_path / "signing-key.pem")
    keys = SigningKeys.load_or_create(key_file)
    environment = {"REGISTRY_DATABASE_URL": postgres_url, "REGISTRY_SIGNING_KEY_FILE": key_file,
                   "REGISTRY_DB_POOL_SIZE": "3", "REGISTRY_AUDIT_CHECKPOINT_SECONDS": "0.5",
                   # The audit chain under load, not rate limits: bottomless buckets.
                   "REGISTRY_RATE_BUCKET": str(10**7), "REGISTRY_RATE_RESTORE": str(10**7)}
    with registry_serve(environment, tmp_path, workers=WORKERS) as served:
        settings = Settings(database_url=postgres_url, signing_key_file=key_file,
                            issuer=served.base_url)
        yield Server(base_url=served.base_url, settings=settings, keys=keys,
                     process=served.process, log=served.log)


def _database_connections(pids: list[int], db_port: int) -> dict[int, int]:
    """How many established TCP connections to `db_port` each process holds (Linux /proc):
    a worker's pool keeps the connections it opened, and only a GraphQL request opens one
    (/healthz does not touch the database), so a worker holding one has served requests."""
    db_sockets: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == db_port and fields[3] == "01":
                db_sockets.add(fields[9])
    counts = {}
    for pid in pids:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
        counts[pid] = len(inodes & db_sockets)
    return counts


@pytest.mark.postgres
async def test_concurrent_audited_requests_served_by_several_worker_processes_leave_a_gap_free_verifying_chain(  # noqa: E501
        server: Server) -> None:
    tag = uuid.uuid4().hex[:8]
    tokens = {p: server.token(p) for p in (CLERK_DONGCHENG, EMPLOYER, JUDGE)}
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=LOAD_TIMEOUT,
                                 limits=limits) as client:
        await _seed(client, tokens[JUDGE], tag)
        requests = await _fire([client], _calls(tag), tokens)

    pids = server.worker_pids()
    assert len(pids) == WORKERS, server.log.read_text()
    assert server.process.poll() is None, "the server died under load"
    db = make_url(server.settings.database_url)
    if sys.platform.startswith("linux") and db.host not in (None, ""):
        serving = {pid: n for pid, n in _database_connections(pids, db.port or 5432).items()
                   if n}
        assert len(serving) >= 2, f"one worker process served everything: {serving}"

    events = await _assert_chain(server.settings.database_url,
                                 server.settings.audit_key_path, requests)
    out = _audit_verify(server.settings.database_url, server.settings.signing_key_file, events)
    # Each worker's checkpoint writer ran through the load (every 0.5 s here), taking turns.
    witnessed = re.search(r"witness: (\d+) checkpoints of this chain, the newest at event "
                          r"(\d+)", out)
    assert witnessed is not None, out
    assert int(witnessed[1]) >= 1 and int(witnessed[2]) <= events, out
    assert "Traceback" not in server.log.read_text(), server.log.read_text()
