"""What a request costs besides its answer: no audit for non-criminal reads, cached
validation, and the agency directory read at most once per window."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import func, select

from api.context import AgencyDirectory
from db.models import Agency, AuditEvent
from schema.documents import _validated
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input


async def audit_count(registry: Registry) -> int:
    async with registry.app.state.registry.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def test_reading_oneself_and_the_agency_directory_is_not_an_audit_event(
        registry: Registry) -> None:
    body = await registry.gql("{ me { sub agency { code kind name region } } }",
                              as_=CLERK_DONGCHENG)
    assert body["data"]["me"]["agency"]["code"] == "REG-110101"
    assert await audit_count(registry) == 0


async def test_reading_criminal_information_beside_oneself_is_still_audited(
        registry: Registry) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    before = await audit_count(registry)
    await registry.gql("{ me { sub } judgments { edges { node { id } } } }",
                       as_=CLERK_DONGCHENG)
    async with registry.app.state.registry.database.session() as session:
        events = (await session.scalars(select(AuditEvent).where(
            AuditEvent.seq > before))).all()
    assert [(e.action, e.outcome) for e in events] == [("judgment:read", "permit")]


async def test_the_same_document_is_validated_once(registry: Registry) -> None:
    document = "{ me { role } }"
    await registry.gql(document, as_=CLERK_DONGCHENG)
    hits = _validated.cache_info().hits
    await registry.gql(document, as_=CLERK_DONGCHENG)
    assert _validated.cache_info().hits == hits + 1


class FakeSession:
    def __init__(self, agency: Agency | None) -> None:
        self.agency = agency
        self.queries = 0

    async def scalar(self, statement: Any) -> Agency | None:
        self.queries += 1
        return self.agency


async def test_the_agency_directory_reads_an_agency_once_per_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("api.context.time.monotonic", lambda: now[0])
    agency = Agency(code="C", kind="COURT", name="A court", region="110101")
    session = FakeSession(agency)
    directory = AgencyDirectory(ttl=1.0)
    assert await directory.get(session, "C") is agency  # type: ignore[arg-type]
    assert await directory.get(session, "C") is agency  # type: ignore[arg-type]
    assert session.queries == 1
    now[0] += 1.0
    await directory.get(session, "C")  # type: ignore[arg-type]
    assert session.queries == 2


async def test_the_agency_directory_is_bounded() -> None:
    directory = AgencyDirectory(ttl=60.0, limit=2)
    session = FakeSession(None)
    for code in ("A", "B", "C"):
        await directory.get(session, code)  # type: ignore[arg-type]
    assert len(directory._entries) <= 2


async def test_the_agency_directory_is_read_again_when_the_window_is_zero(
        registry: Registry) -> None:
    engine = registry.app.state.registry.database.engine.sync_engine
    agency_reads: list[str] = []

    def watch(*args: Any) -> None:
        if "FROM agency" in args[2]:
            agency_reads.append(args[2])

    event.listen(engine, "before_cursor_execute", watch)
    try:
        for _ in range(2):
            await registry.gql("{ me { sub } }", as_=CLERK_DONGCHENG)
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    # The fixture polls with a window of 0: every request sees the table as it is.
    assert len(agency_reads) == 2
