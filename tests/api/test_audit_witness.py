"""The running service keeps the witness (DESIGN.md §1.5): a checkpoint of the chain's head
as it starts, at least every minute (here every 0.2 s) and at shutdown; and on PostgreSQL
the application's own database role (migration 0011) may append to the audit trail but not
delete, truncate, alter or switch off its triggers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from api.settings import Settings
from db.audit import AuditRecord, cmd_audit_verify, write_checkpoint
from db.audit_keys import AuditKeys
from db.engine import Database
from tests.api.conftest import prepare
from tests.conftest import _truncate
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input


def _witness_lines(path: str) -> list[dict[str, Any]]:
    found = Path(path)
    return [json.loads(line) for line in found.read_text().splitlines()] if found.exists() else []


async def _append(app: Any, count: int) -> None:
    state = app.state.registry
    for n in range(count):
        async with state.database.session() as session:
            try:
                await state.audit.append(session, [AuditRecord(action="judgment:read",
                                                               outcome="permit", sub=f"s{n}")])
                await session.commit()
            finally:
                state.audit.release(session)


async def test_the_running_service_hands_checkpoints_to_the_witness_periodically_and_at_shutdown(
        database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database_url=database_url, signing_key_file=str(tmp_path / "key.pem"),
                        audit_checkpoint_seconds=0.2)
    await prepare(database_url)
    app = create_app(settings)
    witness = settings.audit_witness_path
    async with app.router.lifespan_context(app):
        await _append(app, 3)
        for _ in range(100):  # the writer's turns come every 0.2 s while the service runs
            if any(line["seq"] == 3 for line in _witness_lines(witness)):
                break
            await asyncio.sleep(0.05)
        seqs = [line["seq"] for line in _witness_lines(witness)]
        assert seqs[-1] == 3 and seqs == sorted(seqs), seqs
        await _append(app, 2)  # then stopped before its next turn, or not: either way...
    # ... the shutdown checkpoint covers the head.
    lines = _witness_lines(witness)
    assert lines[-1]["seq"] == 5
    assert [line["n"] for line in lines] == list(range(1, len(lines) + 1))

    keys = AuditKeys.load(settings.audit_key_path)
    assert await asyncio.to_thread(cmd_audit_verify, database_url, keys, witness) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith(
        f"witness: {len(lines)} checkpoints of this chain, the newest at event 5")


async def test_the_service_hands_the_head_to_the_witness_at_shutdown(
        database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, signing_key_file=str(tmp_path / "key.pem"))
    await prepare(database_url)
    app = create_app(settings)  # a turn every 60 s: the first one, at start, finds no event
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.2)
        await _append(app, 2)
        assert _witness_lines(settings.audit_witness_path) == []
    assert [(line["n"], line["seq"]) for line in _witness_lines(settings.audit_witness_path)
            ] == [(1, 2)]


def _as_app_role(url: str) -> str:
    """The URL, connecting as the application's role (a superuser may SET ROLE to it; a
    deployment logs in as a member of it: README, "The application's database role")."""
    return make_url(url).update_query_dict({"options": "-c role=registry_app"}).render_as_string(
        hide_password=False)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "DELETE FROM audit_event",
    "UPDATE audit_event SET outcome = 'deny'",
    "TRUNCATE audit_event",
    "DELETE FROM audit_checkpoint",
    "TRUNCATE audit_checkpoint",
    "DELETE FROM audit_chain",
    "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only",
    "DROP TRIGGER audit_event_append_only ON audit_event",
    "CREATE TABLE shadow (id integer)",
    "SET session_replication_role = replica",
    "INSERT INTO alembic_version VALUES ('9999')",
])
async def test_on_postgresql_the_application_role_cannot_delete_truncate_or_alter_the_audit_trail(
        postgres_url: str, statement: str) -> None:
    _truncate(postgres_url)
    database = Database(_as_app_role(postgres_url))
    try:
        async with database.session() as session:
            assert await session.scalar(text("SELECT current_user")) == "registry_app"
            with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                await session.execute(text(statement))
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_on_postgresql_the_service_runs_as_the_application_role(
        postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _truncate(postgres_url)
    await prepare(postgres_url)
    url = _as_app_role(postgres_url)
    settings = Settings(database_url=url, signing_key_file=str(tmp_path / "key.pem"),
                        rate_bucket=10**7, rate_restore=10.0**7)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://registry.test") as http:
        registry = Registry(app=app, settings=settings, http=http)
        reported = await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
        assert reported["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", reported
        listed = await registry.gql("{ judgments(first: 5) { totalCount } }",
                                    as_=CLERK_DONGCHENG)
        assert listed["data"]["judgments"]["totalCount"] == 1, listed
        async with app.state.registry.database.session() as session:
            claims = await write_checkpoint(session, app.state.registry.audit.keys,
                                            settings.audit_witness_path)
            await session.commit()
    await app.state.registry.close()
    assert claims is not None and claims["seq"] >= 2

    keys = AuditKeys.load(settings.audit_key_path)
    assert await asyncio.to_thread(cmd_audit_verify, url, keys,
                                   settings.audit_witness_path) == 0
    assert capsys.readouterr().out.startswith("audit chain intact: ")
