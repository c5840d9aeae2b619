"""Audited reads commit their events in batches (db/audit.GroupCommit, issue 13), on SQLite
and PostgreSQL: every read is still audited before it is answered, many reads share a
transaction, a write's events still commit with its changes, and a batch that cannot
commit fails its reads: nothing is answered unaudited.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from db.audit import AuditChain, verify_chain
from db.engine import Database
from db.models import AuditEvent
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input

LIST = "{ judgments { edges { node { id } } } }"


async def audit_count(registry: Registry, action: str | None = None) -> int:
    database = Database(registry.settings.database_url)
    try:
        async with database.session() as session:
            statement = select(func.count()).select_from(AuditEvent)
            if action is not None:
                statement = statement.where(AuditEvent.action == action)
            return int(await session.scalar(statement) or 0)
    finally:
        await database.dispose()


async def test_every_read_is_in_the_trail_when_it_is_answered_and_reads_share_transactions(
        registry: Registry) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    group = registry.app.state.registry.group_commit
    before_batches = group.batches
    before_events = await audit_count(registry)
    first = await registry.gql(LIST, as_=CLERK_DONGCHENG)
    assert first["data"]["judgments"]["edges"]
    per_read = await audit_count(registry) - before_events  # there when the answer came
    assert per_read >= 1
    bodies = await asyncio.gather(*(registry.gql(LIST, as_=CLERK_DONGCHENG) for _ in range(40)))
    assert all(b["data"]["judgments"]["edges"] for b in bodies)
    assert await audit_count(registry) == before_events + 41 * per_read
    # fewer transactions than reads: the reads that queued during a commit went together
    assert group.batches - before_batches < 41
    database = Database(registry.settings.database_url)
    try:
        async with database.session() as session:
            assert (await verify_chain(session, registry.app.state.registry.audit.keys)).intact
    finally:
        await database.dispose()


async def test_a_write_commits_its_events_with_its_changes_not_in_a_batch(
        registry: Registry) -> None:
    group = registry.app.state.registry.group_commit
    before = group.batches
    body = await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    assert "errors" not in body, body
    assert await audit_count(registry, "judgment:report") >= 1
    assert group.batches == before


async def test_a_read_whose_events_cannot_be_committed_is_not_answered(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    before = await audit_count(registry)

    async def broken(self: AuditChain, session: Any, records: Any) -> Any:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(AuditChain, "append", broken)
    app = registry.app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://registry.test") as http:
        response = await http.post("/graphql", json={"query": LIST}, headers={
            "Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}"})
    assert response.status_code == 500
    assert "jdg_" not in response.text and "judgments" not in response.text
    monkeypatch.undo()
    assert await audit_count(registry) == before
    # the next batch commits again
    assert (await registry.gql(LIST, as_=CLERK_DONGCHENG))["data"]["judgments"]["edges"]
    assert await audit_count(registry) == before + 1
