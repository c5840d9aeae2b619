"""Detention records (DESIGN.md §1.1) through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, func, select

import api.graphql
from api.seed import add_agency
from db.models import AuditEvent, Detention, Judgment, Offender
from schema.context import Context
from tests.factories import (
    CLERK_AT_A_COURT,
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    CLOSE_DETENTION,
    EMPLOYER,
    JUDGE,
    LAWYER,
    POLICE,
    PROSECUTOR,
    REGISTER_DETENTION,
    REPORT,
    Registry,
    detention_input,
    id_number,
    report_input,
)

POLICE_CHAOYANG = ("police.chaoyang", "police_officer", "PSB-110105")
POLICE_AT_A_REGISTRY = ("police.fake", "police_officer", "REG-110101")

READ = "query($id: ID!) { detention(id: $id) { id kind caseNumber startDate endDate status } }"
OFFENDER_DETENTIONS = "{ offenders { edges { node { idNumber detentions { id kind } } } } }"
COUNTS = "{ offenders { totalCount } judgments { totalCount } }"
TODAY = datetime.now(UTC).date()


async def count(registry: Registry, model: Any) -> int:
    async with registry.app.state.registry.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def stored(registry: Registry) -> list[Detention]:
    async with registry.app.state.registry.database.session() as session:
        return list((await session.scalars(select(Detention))).all())


async def audit(registry: Registry, action: str) -> list[AuditEvent]:
    async with registry.app.state.registry.database.session() as session:
        return list((await session.scalars(select(AuditEvent).where(
            col(AuditEvent.action) == action).order_by(col(AuditEvent.seq)))).all())


async def register(registry: Registry, value: dict[str, Any],
                   as_: tuple[str, str, str | None] = POLICE) -> dict[str, Any]:
    return await registry.gql(REGISTER_DETENTION, {"input": value}, as_=as_)


async def register_one(registry: Registry, value: dict[str, Any]) -> str:
    """Registers as the Dongcheng police and returns the id from the table (a sealed
    detention's payload is null, even to its registrant)."""
    body = await register(registry, value)
    assert "errors" not in body, body
    async with registry.app.state.registry.database.session() as session:
        found = await session.scalar(select(Detention.public_id).where(
            col(Detention.case_number) == value["caseNumber"]))
    assert found is not None
    return str(found)


async def read(registry: Registry, id: str, as_: tuple[str, str, str | None]
               ) -> dict[str, Any] | None:
    body = await registry.gql(READ, {"id": id}, as_=as_)
    assert "errors" not in body, body
    detention: dict[str, Any] | None = body["data"]["detention"]
    return detention


async def close(registry: Registry, id: str, dismissed: bool,
                as_: tuple[str, str, str | None] = POLICE) -> dict[str, Any]:
    return await registry.gql(CLOSE_DETENTION, {"id": id, "dismissed": dismissed}, as_=as_)


async def offender_detentions(registry: Registry, as_: tuple[str, str, str | None]
                              ) -> dict[str, list[dict[str, str]]]:
    body = await registry.gql(OFFENDER_DETENTIONS, as_=as_)
    assert "errors" not in body, body
    return {e["node"]["idNumber"]: e["node"]["detentions"]
            for e in body["data"]["offenders"]["edges"]}


async def an_offender(registry: Registry) -> str:
    """A person with one judgment (an offender), resident in Dongcheng."""
    report = report_input()
    body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
    return str(report["defendant"]["idNumber"])


@pytest.fixture
def handling_a_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every operation of the test runs with purpose case_handling, as one under an approved
    CASE_HANDLING inquiry will (the inquiry mechanism sets the purpose, not the client)."""
    original = api.graphql.context_for

    async def with_purpose(*args: Any, **kwargs: Any) -> Context:
        ctx = await original(*args, **kwargs)
        ctx.authz.context.update(purpose="case_handling", case_number="(2026) Jing 0101 1")
        return ctx

    monkeypatch.setattr(api.graphql, "context_for", with_purpose)


# -- registering ------------------------------------------------------------------------


async def test_public_security_registers_a_criminal_detention_and_reads_it_back(
        registry: Registry) -> None:
    value = detention_input()
    body = await register(registry, value)
    detention = body["data"]["registerDetention"]["detention"]
    assert detention["id"].startswith("dtn_")
    assert {k: v for k, v in detention.items() if k != "id"} == {
        "kind": "CRIMINAL", "caseNumber": value["caseNumber"], "startDate": "2026-11-02",
        "endDate": "2026-11-09", "status": "OPEN", "agency": {"code": "PSB-110101"}}
    assert await read(registry, detention["id"], POLICE) == \
        {k: v for k, v in detention.items() if k != "agency"}
    [row] = await stored(registry)
    assert (row.id_number, row.region, row.status) == (value["person"]["idNumber"], "110101",
                                                       "open")
    [event_] = await audit(registry, "detention:register")
    assert (event_.outcome, event_.resource_ids, event_.policy_uid) == (
        "permit", [detention["id"]], "public-security.registers-detentions")


@pytest.mark.parametrize("principal", [JUDGE, PROSECUTOR, CLERK_DONGCHENG, EMPLOYER, LAWYER,
                                       CLERK_AT_A_COURT, POLICE_AT_A_REGISTRY])
async def test_only_public_security_may_register_a_detention(
        registry: Registry, principal: tuple[str, str, str | None]) -> None:
    body = await register(registry, detention_input(), as_=principal)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None
    assert await count(registry, Detention) == 0
    [event_] = await audit(registry, "detention:register")
    assert event_.outcome == "deny"


async def test_a_registered_detention_is_read_by_its_agency_and_clerks_in_division_only(
        registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code="PSB-110105", kind="PUBLIC_SECURITY",
                         name="Chaoyang Public Security Sub-bureau", region="110105")
        await session.commit()
    id = await register_one(registry, detention_input())
    assert await read(registry, id, POLICE) is not None
    assert await read(registry, id, CLERK_DONGCHENG) is not None
    for outsider in (POLICE_CHAOYANG, CLERK_SHANGHAI, JUDGE, PROSECUTOR, EMPLOYER, LAWYER):
        assert await read(registry, id, outsider) is None, outsider
    reads = await audit(registry, "detention:read")
    assert {(e.sub, e.outcome) for e in reads} >= {("police.dongcheng", "permit"),
                                                  ("clerk.dongcheng", "permit"),
                                                  ("judge.dongcheng", "deny")}
    assert all(e.resource_ids == [id] for e in reads)


async def test_a_detention_is_never_a_criminal_record(registry: Registry) -> None:
    person = await an_offender(registry)
    before = await registry.gql(COUNTS, as_=CLERK_DONGCHENG)
    assert before["data"] == {"offenders": {"totalCount": 1}, "judgments": {"totalCount": 1}}
    await register_one(registry, detention_input())  # someone without a judgment
    await register_one(registry, detention_input(kind="ADMINISTRATIVE"))
    await register_one(registry, detention_input(person={"idNumber": person}))
    after = await registry.gql(COUNTS, as_=CLERK_DONGCHENG)
    assert after["data"] == before["data"]
    assert (await count(registry, Offender), await count(registry, Judgment)) == (1, 1)
    assert await count(registry, Detention) == 3


# -- closing and expunging ----------------------------------------------------------------


async def test_closing_a_criminal_case_keeps_the_record_closed_on_today_unless_it_ended(
        registry: Registry) -> None:
    open_ended = await register_one(registry, detention_input(endDate=None))
    body = await close(registry, open_ended, dismissed=False)
    detention = body["data"]["closeDetentionCase"]["detention"]
    assert (detention["status"], detention["endDate"]) == ("CLOSED", TODAY.isoformat())
    again = await close(registry, open_ended, dismissed=False)
    assert again["data"] == body["data"]  # closing a closed case changes nothing
    ended = await register_one(registry, detention_input())
    body = await close(registry, ended, dismissed=False)
    assert body["data"]["closeDetentionCase"]["detention"]["endDate"] == "2026-11-09"
    assert (await read(registry, ended, CLERK_DONGCHENG) or {})["status"] == "CLOSED"
    assert {r.status for r in await stored(registry)} == {"closed"}
    assert all(r.closed_at is not None for r in await stored(registry))


async def test_a_dismissed_criminal_detention_is_expunged_from_every_result_and_kept_only_as_an_audit_fact(  # noqa: E501
        registry: Registry) -> None:
    person = await an_offender(registry)
    value = detention_input(person={"idNumber": person})
    id = await register_one(registry, value)
    assert await offender_detentions(registry, CLERK_DONGCHENG) == \
        {person: [{"id": id, "kind": "CRIMINAL"}]}

    body = await close(registry, id, dismissed=True)
    assert body == {"data": {"closeDetentionCase": {"detention": None}}}
    assert await read(registry, id, POLICE) is None
    assert await read(registry, id, CLERK_DONGCHENG) is None
    assert await offender_detentions(registry, CLERK_DONGCHENG) == {person: []}
    assert await count(registry, Detention) == 0
    [fact] = await audit(registry, "detention:expunge")
    assert (fact.outcome, fact.resource_type, fact.resource_ids, fact.sub) == (
        "permit", "detention", [id], "police.dongcheng")
    assert fact.policy_uid == "detaining-agency.reads-and-closes-its-own-detentions"
    # The fact that it existed, and nothing of what it said.
    assert value["caseNumber"] not in str(fact.detail) and person not in str(fact.detail)
    again = await close(registry, id, dismissed=True)
    assert again["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}


async def test_only_the_registering_agency_closes_a_detention(registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code="PSB-110105", kind="PUBLIC_SECURITY",
                         name="Chaoyang Public Security Sub-bureau", region="110105")
        await session.commit()
    id = await register_one(registry, detention_input())
    # Another public security organ may close detentions, but this one is hidden from it:
    # it reads as a missing id.
    other = await close(registry, id, dismissed=True, as_=POLICE_CHAOYANG)
    assert other["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    # Who may close no detention at all is refused whatever the id.
    for principal in (CLERK_DONGCHENG, JUDGE, EMPLOYER):
        body = await close(registry, id, dismissed=True, as_=principal)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", principal
        missing = await close(registry, "dtn_missing", dismissed=True, as_=principal)
        assert missing["errors"] == [{**body["errors"][0]}], principal
    [row] = await stored(registry)
    assert row.status == "open"


@pytest.mark.parametrize("id", ["", "dtn_" + "x" * 60, "dtn_not_registered"])
async def test_closing_a_bad_or_unknown_id_gets_bad_user_input_naming_id(
        registry: Registry, id: str) -> None:
    await register_one(registry, detention_input())
    body = await close(registry, id, dismissed=True)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    assert await count(registry, Detention) == 1


# -- administrative detentions are sealed --------------------------------------------------


async def test_an_administrative_detention_is_sealed_and_read_only_by_case_handling_organs(
        registry: Registry) -> None:
    person = await an_offender(registry)
    criminal = await register_one(registry, detention_input(person={"idNumber": person}))
    body = await register(registry, detention_input(kind="ADMINISTRATIVE",
                                                    person={"idNumber": person}))
    # Sealed: the organ that imposed it, handling its case, reads it back; nobody else
    # outside a case does, a clerk included.
    registered = body["data"]["registerDetention"]["detention"]
    assert registered["kind"] == "ADMINISTRATIVE"
    sealed = registered["id"]
    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code="PSB-110102", kind="PUBLIC_SECURITY",
                         name="Xicheng Public Security Sub-bureau", region="110102")
        await session.commit()
    other_station = ("police.xicheng", "police_officer", "PSB-110102")
    for principal in (CLERK_DONGCHENG, other_station, JUDGE, EMPLOYER):
        hidden = await registry.gql(READ, {"id": sealed}, as_=principal)
        missing = await registry.gql(READ, {"id": "dtn_missing"}, as_=principal)
        assert hidden == missing == {"data": {"detention": None}}, principal
    assert (await read(registry, sealed, POLICE) or {}).get("id") == sealed
    assert await offender_detentions(registry, CLERK_DONGCHENG) == \
        {person: [{"id": criminal, "kind": "CRIMINAL"}]}
    body = await close(registry, sealed, dismissed=False)
    assert body["data"]["closeDetentionCase"]["detention"]["status"] == "CLOSED"


async def test_a_case_handling_organ_reads_an_administrative_detention_and_the_disclosure_is_recorded(  # noqa: E501
        registry: Registry, handling_a_case: None) -> None:
    id = await register_one(registry, detention_input(kind="ADMINISTRATIVE"))
    for principal in (JUDGE, PROSECUTOR, POLICE):
        detention = await read(registry, id, principal)
        assert detention is not None and detention["kind"] == "ADMINISTRATIVE", principal
    assert await read(registry, id, CLERK_DONGCHENG) is None
    judge_read = [e for e in await audit(registry, "detention:read")
                  if e.sub == "judge.dongcheng"]
    assert [(e.outcome, e.purpose, e.detail.get("sealed_disclosed")) for e in judge_read] == \
        [("permit", "case_handling", [id])]
    clerk_read = [e for e in await audit(registry, "detention:read")
                  if e.sub == "clerk.dongcheng"]
    assert [(e.outcome, e.policy_uid) for e in clerk_read] == \
        [("deny", "sealed.detentions-are-read-only-by-case-handling-organs")]


async def test_an_administrative_detention_is_a_penalty_and_cannot_be_dismissed(
        registry: Registry, handling_a_case: None) -> None:
    id = await register_one(registry, detention_input(kind="ADMINISTRATIVE", endDate=None))
    body = await close(registry, id, dismissed=True)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "dismissed"}
    assert await count(registry, Detention) == 1
    body = await close(registry, id, dismissed=False)
    detention = body["data"]["closeDetentionCase"]["detention"]
    assert (detention["status"], detention["endDate"]) == ("CLOSED", TODAY.isoformat())


# -- bad input and conflicts ----------------------------------------------------------------

FUTURE = (TODAY + timedelta(days=1)).isoformat()

BAD_INPUTS: list[tuple[str, dict[str, Any]]] = [
    ("input.caseNumber", {"caseNumber": "  "}),
    ("input.caseNumber", {"caseNumber": "x" * 101}),
    ("input.caseNumber", {"caseNumber": "line\nbreak"}),
    ("input.person.idNumber", {"person": {"idNumber": "110101199005170001"}}),
    ("input.person.idNumber", {"person": {"idNumber": "not a number"}}),
    ("input.person.name", {"person": {"name": ""}}),
    ("input.person.gender", {"person": {"gender": "g" * 17}}),
    ("input.person.residenceRegion", {"person": {"residenceRegion": "1101"}}),
    ("input.person.birthDate", {"person": {"birthDate": FUTURE}}),
    ("input.startDate", {"startDate": FUTURE, "endDate": None}),
    ("input.startDate", {"startDate": "1990-05-16"}),
    ("input.endDate", {"endDate": "2026-11-01"}),
    ("input.kind", {"kind": "PREVENTIVE"}),
    ("input.startDate", {"startDate": "2026-13-01"}),
]


@pytest.mark.parametrize(("field", "overrides"), BAD_INPUTS,
                         ids=[f"{f}={list(o.values())[0]!r}"[:60] for f, o in BAD_INPUTS])
async def test_bad_input_of_every_field_gets_bad_user_input_naming_it_and_stores_nothing(
        registry: Registry, field: str, overrides: dict[str, Any]) -> None:
    body = await register(registry, detention_input(**overrides))
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert body.get("data") is None  # absent where a variable did not coerce
    assert await count(registry, Detention) == 0


async def test_the_same_detention_registered_again_is_a_conflict_that_changes_nothing(
        registry: Registry) -> None:
    value = detention_input()
    await register_one(registry, value)
    body = await register(registry, {**value, "endDate": "2026-11-05"})
    assert body["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "input.caseNumber"}
    [row] = await stored(registry)
    assert row.end_date == date(2026, 11, 9)
    # The same case may detain another person, and the same person in another kind.
    await register_one(registry, {**value, "person": {**value["person"],
                                                      "idNumber": id_number()}})
    assert "errors" not in await register(registry, {**value, "kind": "ADMINISTRATIVE"})
    assert await count(registry, Detention) == 3


async def test_a_concurrent_double_registration_registers_once_and_the_other_is_a_conflict(
        registry: Registry) -> None:
    value = detention_input()
    bodies = await asyncio.gather(register(registry, value), register(registry, value))
    codes = sorted(b["errors"][0]["extensions"]["code"] if "errors" in b else "OK"
                   for b in bodies)
    assert codes == ["CONFLICT", "OK"]
    assert await count(registry, Detention) == 1


# -- cost -----------------------------------------------------------------------------------


@pytest.fixture
def statements(registry: Registry) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = registry.app.state.registry.database.engine.sync_engine

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    yield seen
    event.remove(engine, "before_cursor_execute", before)


async def test_a_page_of_offenders_with_their_detentions_costs_a_fixed_number_of_queries(
        registry: Registry, statements: list[str]) -> None:
    for _ in range(5):
        person = await an_offender(registry)
        for kind in ("CRIMINAL", "CRIMINAL", "ADMINISTRATIVE"):
            await register_one(registry, detention_input(kind=kind, person={"idNumber": person}))
    query = """query($first: Int!) { offenders(first: $first) { edges { node {
      detentions { id kind caseNumber startDate endDate status agency { code } } } } } }"""
    await registry.gql(query, {"first": 1}, as_=CLERK_DONGCHENG)  # warm the caches
    costs = []
    for first in (2, 5):
        statements.clear()
        body = await registry.gql(query, {"first": first}, as_=CLERK_DONGCHENG)
        assert len(body["data"]["offenders"]["edges"]) == first
        assert all(len(e["node"]["detentions"]) == 2 for e in body["data"]["offenders"]["edges"])
        costs.append(len(statements))
    assert costs[0] == costs[1]
