"""Reporting a judgment (DESIGN.md §1.2) through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlmodel import func, select

from db.models import AuditEvent, Judgment, Notice, Offender
from tests.factories import (
    CLERK_AT_A_COURT,
    CLERK_DONGCHENG,
    JUDGE,
    LAWYER,
    REPORT,
    Registry,
    id_number,
    report_input,
)


async def count(registry: Registry, model: Any) -> int:
    async with registry.app.state.registry.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_court_officer_reports_a_judgment_routed_to_the_authority_of_residence(
        registry: Registry) -> None:
    body = await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    notice = body["data"]["reportJudgment"]["notice"]
    assert notice["status"] == "REGISTERED"
    assert notice["receivingAuthority"] == {"code": "REG-110101"}
    assert await count(registry, Judgment) == 1


async def test_the_reporting_judge_may_not_read_the_judgment_back(registry: Registry) -> None:
    body = await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    assert body["data"]["reportJudgment"]["judgment"] is None
    assert "errors" not in body


async def test_a_clerk_of_the_receiving_authority_reads_the_reported_judgment(
        registry: Registry) -> None:
    report = report_input()
    await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    body = await registry.gql("{ judgments { totalCount edges { node { judgmentNumber "
                              "offender { idNumber } } } } }", as_=CLERK_DONGCHENG)
    judgments = body["data"]["judgments"]
    assert judgments["totalCount"] == 1
    assert judgments["edges"][0]["node"]["judgmentNumber"] == report["judgmentNumber"]
    assert judgments["edges"][0]["node"]["offender"]["idNumber"] == \
        report["defendant"]["idNumber"]


async def test_only_a_judge_of_a_court_may_report(registry: Registry) -> None:
    for principal in (CLERK_DONGCHENG, LAWYER, CLERK_AT_A_COURT,
                      ("judge.fake", "judge", "REG-110101")):
        body = await registry.gql(REPORT, {"input": report_input()}, as_=principal)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", principal
    assert await count(registry, Judgment) == 0
    assert await count(registry, Notice) == 0


async def test_a_denied_report_is_audited_although_nothing_else_is_kept(
        registry: Registry) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=LAWYER)
    async with registry.app.state.registry.database.session() as session:
        events = (await session.scalars(select(AuditEvent))).all()
    assert [(e.action, e.outcome, e.sub) for e in events] == \
        [("judgment:report", "deny", "lawyer.zhang")]


async def test_the_same_notice_sent_twice_is_registered_once_with_the_same_answer(
        registry: Registry) -> None:
    report = report_input()
    first = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    second = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    assert first["data"] == second["data"]
    assert await count(registry, Judgment) == 1
    assert await count(registry, Notice) == 1


async def test_a_notice_number_reused_with_other_content_is_a_conflict_that_changes_nothing(
        registry: Registry) -> None:
    report = report_input()
    await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    changed = {**report, "penalty": {"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 24}}
    body = await registry.gql(REPORT, {"input": changed}, as_=JUDGE)
    assert body["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "input.noticeNumber"}
    assert await count(registry, Judgment) == 1


async def test_a_minor_with_five_years_or_less_is_sealed_when_registered(
        registry: Registry) -> None:
    report = report_input(defendant={"idNumber": id_number(birth=__import__("datetime").date(
        2008, 3, 2)), "birthDate": "2008-03-02"}, offenseDate="2026-03-02",
        penalty={"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 60})
    await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    body = await registry.gql("{ judgments { edges { node { sealStatus ageAtOffense } } } }",
                              as_=CLERK_DONGCHENG)
    # Offence on the 18th birthday: committed at 17 (the day-after-the-birthday rule).
    assert body["data"]["judgments"]["edges"][0]["node"] == {"sealStatus": "SEALED",
                                                             "ageAtOffense": 17}


async def test_identity_fields_that_disagree_with_the_registry_wait_in_the_queue(
        registry: Registry) -> None:
    first = report_input()
    await registry.gql(REPORT, {"input": first}, as_=JUDGE)
    other = report_input(defendant={**first["defendant"], "name": "Someone Else"})
    body = await registry.gql(REPORT, {"input": other}, as_=JUDGE)
    notice = body["data"]["reportJudgment"]["notice"]
    assert notice["status"] == "UNMATCHED"
    assert notice["reason"] == "identity fields disagree with the registry"
    assert body["data"]["reportJudgment"]["judgment"] is None
    assert await count(registry, Judgment) == 1
    assert await count(registry, Notice) == 2
    assert await count(registry, Offender) == 1


async def test_a_notice_for_a_region_without_an_authority_waits_in_the_queue(
        registry: Registry) -> None:
    report = report_input(defendant={"idNumber": id_number(region="440103"),
                                     "residenceRegion": "440103"})
    body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    assert body["data"]["reportJudgment"]["notice"]["status"] == "UNMATCHED"
    assert await count(registry, Judgment) == 0


async def test_a_judgment_reported_more_than_30_days_after_it_took_effect_is_late(
        registry: Registry) -> None:
    body = await registry.gql(REPORT, {"input": report_input(effectiveDate="2026-01-10",
                                                             judgmentDate="2026-01-01",
                                                             offenseDate="2025-06-01")},
                              as_=JUDGE)
    assert body["data"]["reportJudgment"]["notice"]["late"] is True
