"""Releases, correction expiries, the exception queue and timeliness (DESIGN.md §1.2),
through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from api.app import create_app
from api.seed import add_agency
from api.settings import Settings
from db.models import AuditEvent, ExecutionEvent, Judgment, Notice
from schema.notices import UNMATCHED_REASON
from tests.api.conftest import prepare
from tests.factories import (
    AUDITOR,
    CLERK_BEIJING,
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    EXPIRY,
    JA_OFFICER,
    JUDGE,
    JUDGE_SHANGHAI,
    PRISON_OFFICER,
    RELEASE,
    REPORT,
    Registry,
    expiry_input,
    id_number,
    release_input,
    report_input,
)

JUDGMENT_WITH_EXECUTION = """query One($id: ID!) { judgment(id: $id) {
  id execution { kind date } } }"""
QUEUE = """query Queue($status: NoticeStatus) { notices(status: $status) { totalCount
  edges { node { id kind noticeNumber status reason content sender { code }
                 receivingAuthority { code } resolution resolvedBy judgment { id } } } } }"""
RESOLVE = """mutation Resolve($id: ID!, $judgmentId: ID, $reason: String!) {
  resolveNotice(id: $id, judgmentId: $judgmentId, reason: $reason) {
    notice { id status resolution resolvedBy judgment { id execution { kind date } } } } }"""
REJECT = """mutation Reject($id: ID!, $reason: String!) { rejectNotice(id: $id, reason: $reason) {
  notice { id status resolution } } }"""
COMPLIANCE = """query Compliance($from: Date!, $to: Date!) {
  reportingCompliance(from: $from, to: $to) { totalCount edges { node {
    agency { code } received onTime late medianDelayDays unresolved } } } }"""


def compliance_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a COMPLIANCE answer shows (its first page, 20), checked against its count."""
    assert "errors" not in body, body
    connection = body["data"]["reportingCompliance"]
    assert connection["totalCount"] == len(connection["edges"]), body
    return [e["node"] for e in connection["edges"]]


def today() -> datetime:
    return datetime.now(UTC)


def days_ago(n: int) -> str:
    return (today().date() - timedelta(days=n)).isoformat()


async def count(registry: Registry, model: Any, *where: Any) -> int:
    async with registry.app.state.registry.database.session() as session:
        query = select(func.count()).select_from(model)
        if where:
            query = query.where(*where)
        return int(await session.scalar(query) or 0)


async def reported(registry: Registry, **overrides: Any) -> tuple[dict[str, Any], str]:
    """A judgment reported by the Dongcheng court: its input and its id."""
    report = report_input(**overrides)
    body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    notice_id = body["data"]["reportJudgment"]["notice"]["id"]
    # The court may not read the judgment back; the keeping authority's clerk may.
    seen = await registry.gql("query N($id: ID!) { notice(id: $id) { judgment { id } } }",
                              {"id": notice_id}, as_=CLERK_DONGCHENG)
    return report, seen["data"]["notice"]["judgment"]["id"]


async def execution(registry: Registry, judgment_id: str) -> list[dict[str, str]]:
    body = await registry.gql(JUDGMENT_WITH_EXECUTION, {"id": judgment_id}, as_=CLERK_DONGCHENG)
    return body["data"]["judgment"]["execution"]  # type: ignore[no-any-return]


def code_of(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def examined(registry: Registry, notice_id: str,
                   clerk: tuple[str, str, str] = CLERK_DONGCHENG) -> dict[str, Any]:
    """The notice as a clerk of its queue reads it: why it waits, and where."""
    body = await registry.gql("query N($id: ID!) { notice(id: $id) { reason "
                              "receivingAuthority { code } } }", {"id": notice_id}, as_=clerk)
    return body["data"]["notice"]  # type: ignore[no-any-return]


# -- reporting releases and correction expiries ------------------------------------------

async def test_a_prison_reports_a_release_received_by_the_authority_of_residence_and_added_to_the_execution(  # noqa: E501
        registry: Registry) -> None:
    report, judgment_id = await reported(registry)
    body = await registry.gql(RELEASE, {"input": release_input(report)}, as_=PRISON_OFFICER)
    notice = body["data"]["reportRelease"]["notice"]
    assert notice["status"] == "REGISTERED"
    assert notice["kind"] == "RELEASE"
    assert notice["sender"] == {"code": "PRISON-110000"}
    # The person lives in Dongcheng: the most specific authority containing the residence
    # receives it. The prison (a Beijing-level agency) stated no residence and may not read
    # the person's: it is shown the authority of its own region (DESIGN.md §1.2).
    assert notice["receivingAuthority"] == {"code": "REG-110000"}
    assert (await examined(registry, notice["id"]))["receivingAuthority"] == {
        "code": "REG-110101"}
    assert await execution(registry, judgment_id) == [{"kind": "RELEASED", "date": "2026-11-20"}]


async def test_a_release_stating_the_residence_shows_its_authority_to_the_prison(
        registry: Registry) -> None:
    report, _ = await reported(registry)
    body = await registry.gql(RELEASE, {"input": release_input(report, residenceRegion="110101")},
                              as_=PRISON_OFFICER)
    assert body["data"]["reportRelease"]["notice"]["receivingAuthority"] == {
        "code": "REG-110101"}


async def test_a_county_judicial_administration_reports_a_correction_expiry_added_to_the_execution(
        registry: Registry) -> None:
    report, judgment_id = await reported(registry, penalty={
        "kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 12, "probationMonths": 12})
    body = await registry.gql(EXPIRY, {"input": expiry_input(report)}, as_=JA_OFFICER)
    notice = body["data"]["reportCorrectionExpiry"]["notice"]
    assert notice["status"] == "REGISTERED"
    assert notice["receivingAuthority"] == {"code": "REG-110101"}
    assert await execution(registry, judgment_id) == [
        {"kind": "CORRECTION_EXPIRED", "date": "2026-11-20"}]


@pytest.mark.parametrize("who", [JUDGE, JA_OFFICER, CLERK_DONGCHENG, AUDITOR])
async def test_only_a_prison_or_detention_centre_may_report_a_release(
        registry: Registry, who: tuple[str, str, str]) -> None:
    report, _ = await reported(registry)
    body = await registry.gql(RELEASE, {"input": release_input(report)}, as_=who)
    assert code_of(body) == "FORBIDDEN"
    assert body["data"] is None
    assert await count(registry, Notice, Notice.kind == "RELEASE") == 0
    assert await count(registry, ExecutionEvent) == 0


async def test_a_detention_centre_may_report_a_release(registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code="DC-110101", kind="DETENTION_CENTER",
                         name="Dongcheng Detention Centre", region="110101")
        await session.commit()
    report, judgment_id = await reported(registry)
    body = await registry.gql(RELEASE, {"input": release_input(report)},
                              as_=("officer.dc", "prison_officer", "DC-110101"))
    assert body["data"]["reportRelease"]["notice"]["status"] == "REGISTERED"


async def test_only_a_county_level_judicial_administration_may_report_a_correction_expiry(
        registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code="JA-110000", kind="JUDICIAL_ADMINISTRATION",
                         name="Beijing Municipal Bureau of Justice", region="110000")
        await session.commit()
    report, _ = await reported(registry)
    body = await registry.gql(EXPIRY, {"input": expiry_input(report)},
                              as_=("officer.city", "judicial_admin_officer", "JA-110000"))
    assert code_of(body) == "FORBIDDEN"
    body = await registry.gql(EXPIRY, {"input": expiry_input(report)}, as_=PRISON_OFFICER)
    assert code_of(body) == "FORBIDDEN"
    assert await count(registry, Notice, Notice.kind == "CORRECTION_EXPIRY") == 0


# -- idempotency -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["RELEASE", "CORRECTION_EXPIRY"])
async def test_every_notice_kind_sent_twice_with_the_same_content_is_registered_once_with_the_same_answer(  # noqa: E501
        registry: Registry, kind: str) -> None:
    report, judgment_id = await reported(registry)
    mutation, who, make = ((RELEASE, PRISON_OFFICER, release_input) if kind == "RELEASE"
                           else (EXPIRY, JA_OFFICER, expiry_input))
    notice = make(report)
    first = await registry.gql(mutation, {"input": notice}, as_=who)
    again = await registry.gql(mutation, {"input": notice}, as_=who)
    assert first == again
    assert "errors" not in first
    assert await count(registry, Notice, Notice.kind == kind) == 1
    assert len(await execution(registry, judgment_id)) == 1


@pytest.mark.parametrize("kind", ["RELEASE", "CORRECTION_EXPIRY"])
async def test_every_notice_kind_reused_with_other_content_is_a_conflict_that_changes_nothing(
        registry: Registry, kind: str) -> None:
    report, judgment_id = await reported(registry)
    mutation, who, make, day = ((RELEASE, PRISON_OFFICER, release_input, "releaseDate")
                                if kind == "RELEASE"
                                else (EXPIRY, JA_OFFICER, expiry_input, "expiryDate"))
    notice = make(report)
    await registry.gql(mutation, {"input": notice}, as_=who)
    body = await registry.gql(mutation, {"input": {**notice, day: "2026-11-21"}}, as_=who)
    assert code_of(body) == "CONFLICT"
    assert body["errors"][0]["extensions"]["field"] == "input.noticeNumber"
    assert await count(registry, Notice, Notice.kind == kind) == 1
    assert [e["date"] for e in await execution(registry, judgment_id)] == ["2026-11-20"]


@pytest.mark.parametrize("kind", ["JUDGMENT", "RELEASE"])
async def test_a_notice_sent_twice_concurrently_registers_once(registry: Registry,
                                                              kind: str) -> None:
    if kind == "JUDGMENT":
        mutation, who, notice = REPORT, JUDGE, report_input()
    else:
        report, _ = await reported(registry)
        mutation, who, notice = RELEASE, PRISON_OFFICER, release_input(report)
    bodies = await asyncio.gather(*(registry.gql(mutation, {"input": notice}, as_=who)
                                    for _ in range(4)))
    assert all("errors" not in b for b in bodies), bodies
    assert all(b == bodies[0] for b in bodies)
    assert await count(registry, Notice, Notice.kind == kind) == 1
    if kind == "JUDGMENT":
        assert await count(registry, Judgment) == 1
    else:
        assert await count(registry, ExecutionEvent) == 1


# -- what cannot be matched waits in the queue ---------------------------------------------

async def test_a_release_for_an_unknown_judgment_waits_in_the_queue_with_a_reason_for_the_clerk(
        registry: Registry) -> None:
    report, _ = await reported(registry)
    body = await registry.gql(RELEASE, {"input": release_input(
        report, judgmentNumber="(2020) Jing 0101 Xing Chu No. 999999")}, as_=PRISON_OFFICER)
    notice = body["data"]["reportRelease"]["notice"]
    assert (notice["status"], notice["reason"]) == ("UNMATCHED", UNMATCHED_REASON)
    # The registry knows the person: the notice queues where they live, and its clerk
    # reads why.
    assert await examined(registry, notice["id"]) == {
        "reason": "no judgment with this number is registered",
        "receivingAuthority": {"code": "REG-110101"}}
    assert await count(registry, ExecutionEvent) == 0


@pytest.mark.parametrize("field,value", [
    ("idNumber", None),  # another person's valid number
    ("name", "Someone Else"),
    ("birthDate", "1991-01-01"),
])
async def test_a_release_whose_identity_fields_disagree_with_the_registry_waits_in_the_queue(
        registry: Registry, field: str, value: str | None) -> None:
    report, _ = await reported(registry)
    notice = release_input(report, **{field: value or id_number(region="110102")})
    body = await registry.gql(RELEASE, {"input": notice}, as_=PRISON_OFFICER)
    queued = body["data"]["reportRelease"]["notice"]
    assert (queued["status"], queued["reason"]) == ("UNMATCHED", UNMATCHED_REASON)
    reason = (await examined(registry, queued["id"], CLERK_BEIJING))["reason"]
    assert reason == "identity fields disagree with the registry"
    assert await count(registry, ExecutionEvent) == 0


async def test_a_release_dated_before_the_judgment_took_effect_waits_in_the_queue(
        registry: Registry) -> None:
    report, _ = await reported(registry)
    body = await registry.gql(RELEASE, {"input": release_input(report, releaseDate="2026-09-01")},
                              as_=PRISON_OFFICER)
    notice = body["data"]["reportRelease"]["notice"]
    assert (notice["status"], notice["reason"]) == ("UNMATCHED", UNMATCHED_REASON)
    assert (await examined(registry, notice["id"]))["reason"] == \
        "the release date is before the judgment took effect"


async def test_a_release_about_a_person_unknown_to_the_registry_queues_where_the_notice_says_they_live(  # noqa: E501
        registry: Registry) -> None:
    stranger = id_number(region="310101")
    body = await registry.gql(RELEASE, {"input": {
        "noticeNumber": "R-stranger", "judgmentNumber": "(2019) Hu 0101 Xing Chu No. 7",
        "idNumber": stranger, "releaseDate": "2026-11-01", "residenceRegion": "310101"}},
        as_=PRISON_OFFICER)
    notice = body["data"]["reportRelease"]["notice"]
    assert notice["status"] == "UNMATCHED"
    assert notice["receivingAuthority"] == {"code": "REG-310000"}


async def test_a_notice_for_a_residence_without_an_authority_queues_at_the_senders_authority(
        registry: Registry) -> None:
    report = report_input(defendant={"idNumber": id_number(region="440103"),
                                     "residenceRegion": "440103"})
    body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    notice = body["data"]["reportJudgment"]["notice"]
    assert (notice["status"], notice["reason"]) == ("UNMATCHED", UNMATCHED_REASON)
    assert notice["receivingAuthority"] == {"code": "REG-110101"}
    queue = await registry.gql(QUEUE, {"status": "UNMATCHED"}, as_=CLERK_DONGCHENG)
    assert [(e["node"]["id"], e["node"]["reason"]) for e in queue["data"]["notices"]["edges"]
            ] == [(notice["id"], "no registration authority covers the residence region")]


async def test_a_clerk_sees_the_queue_of_the_authorities_in_their_division_and_no_other(
        registry: Registry) -> None:
    await registry.gql(REPORT, {"input": report_input(defendant={"name": "Li Lei"})}, as_=JUDGE)
    dongcheng = report_input()
    await registry.gql(REPORT, {"input": dongcheng}, as_=JUDGE)
    clash = report_input(defendant={**dongcheng["defendant"], "name": "Other Name"})
    await registry.gql(REPORT, {"input": clash}, as_=JUDGE)
    shanghai = report_input(defendant={"idNumber": id_number(region="310101"),
                                       "residenceRegion": "310101"})
    await registry.gql(REPORT, {"input": shanghai}, as_=JUDGE_SHANGHAI)

    async def queue(who: tuple[str, str, str], status: str | None = "UNMATCHED") -> list[str]:
        body = await registry.gql(QUEUE, {"status": status}, as_=who)
        return [e["node"]["noticeNumber"] for e in body["data"]["notices"]["edges"]]

    assert await queue(CLERK_DONGCHENG) == [clash["noticeNumber"]]
    assert await queue(CLERK_BEIJING) == [clash["noticeNumber"]]  # the city contains Dongcheng
    assert await queue(CLERK_SHANGHAI) == []
    assert sorted(await queue(CLERK_SHANGHAI, None)) == [shanghai["noticeNumber"]]
    assert len(await queue(CLERK_DONGCHENG, None)) == 3


async def test_a_reporting_agency_lists_the_notices_it_sent_and_no_others(
        registry: Registry) -> None:
    report, _ = await reported(registry)
    release = release_input(report)
    await registry.gql(RELEASE, {"input": release}, as_=PRISON_OFFICER)
    prison = await registry.gql(QUEUE, {}, as_=PRISON_OFFICER)
    assert [e["node"]["noticeNumber"] for e in prison["data"]["notices"]["edges"]] == [
        release["noticeNumber"]]
    court = await registry.gql(QUEUE, {}, as_=JUDGE)
    assert [e["node"]["noticeNumber"] for e in court["data"]["notices"]["edges"]] == [
        report["noticeNumber"]]
    shanghai_court = await registry.gql(QUEUE, {}, as_=JUDGE_SHANGHAI)
    assert shanghai_court["data"]["notices"]["totalCount"] == 0


# -- resolving the queue ----------------------------------------------------------------

async def queued_release(registry: Registry) -> tuple[str, str]:
    """A release queued for an unknown judgment number, and the id of the right judgment."""
    report, judgment_id = await reported(registry)
    body = await registry.gql(RELEASE, {"input": release_input(
        report, judgmentNumber="(2026) Jing 0101 Xing Chu No. typo")}, as_=PRISON_OFFICER)
    return body["data"]["reportRelease"]["notice"]["id"], judgment_id


async def test_a_clerk_resolves_a_queued_release_by_matching_it_to_a_judgment(
        registry: Registry) -> None:
    notice_id, judgment_id = await queued_release(registry)
    body = await registry.gql(RESOLVE, {"id": notice_id, "judgmentId": judgment_id,
                                        "reason": "judgment number mistyped by the prison"},
                              as_=CLERK_DONGCHENG)
    notice = body["data"]["resolveNotice"]["notice"]
    assert notice["status"] == "RESOLVED"
    assert notice["resolvedBy"] == "clerk.dongcheng"
    assert notice["resolution"] == "judgment number mistyped by the prison"
    assert notice["judgment"] == {"id": judgment_id, "execution": [
        {"kind": "RELEASED", "date": "2026-11-20"}]}
    assert await count(registry, AuditEvent, AuditEvent.action == "notice:resolve") == 1


async def test_a_clerk_resolves_a_queued_judgment_notice_by_registering_it_for_the_person_the_registry_knows(  # noqa: E501
        registry: Registry) -> None:
    first = report_input()
    await registry.gql(REPORT, {"input": first}, as_=JUDGE)
    clash = report_input(defendant={**first["defendant"], "name": "Wang  Wei"})
    queued = await registry.gql(REPORT, {"input": clash}, as_=JUDGE)
    notice_id = queued["data"]["reportJudgment"]["notice"]["id"]
    body = await registry.gql(RESOLVE, {"id": notice_id, "reason": "same person, name typo"},
                              as_=CLERK_DONGCHENG)
    assert body["data"]["resolveNotice"]["notice"]["status"] == "RESOLVED"
    assert body["data"]["resolveNotice"]["notice"]["judgment"]["id"]
    assert await count(registry, Judgment) == 2


async def test_a_clerk_rejects_a_queued_notice_with_a_reason_and_it_is_kept(
        registry: Registry) -> None:
    notice_id, _ = await queued_release(registry)
    body = await registry.gql(REJECT, {"id": notice_id, "reason": "sent to us in error"},
                              as_=CLERK_DONGCHENG)
    assert body["data"]["rejectNotice"]["notice"] == {
        "id": notice_id, "status": "REJECTED", "resolution": "sent to us in error"}
    assert await count(registry, Notice, Notice.public_id == notice_id) == 1
    rejected = await registry.gql(QUEUE, {"status": "REJECTED"}, as_=CLERK_DONGCHENG)
    assert rejected["data"]["notices"]["totalCount"] == 1


async def test_only_a_notice_waiting_in_the_queue_can_be_resolved_or_rejected(
        registry: Registry) -> None:
    notice_id, judgment_id = await queued_release(registry)
    await registry.gql(REJECT, {"id": notice_id, "reason": "duplicate"}, as_=CLERK_DONGCHENG)
    body = await registry.gql(RESOLVE, {"id": notice_id, "judgmentId": judgment_id,
                                        "reason": "changed my mind"}, as_=CLERK_DONGCHENG)
    assert code_of(body) == "CONFLICT"
    assert await count(registry, ExecutionEvent) == 0


async def test_a_clerk_of_another_division_cannot_resolve_and_cannot_tell_the_notice_exists(
        registry: Registry) -> None:
    notice_id, judgment_id = await queued_release(registry)
    foreign = await registry.gql(RESOLVE, {"id": notice_id, "judgmentId": judgment_id,
                                           "reason": "x"}, as_=CLERK_SHANGHAI)
    missing = await registry.gql(RESOLVE, {"id": "ntc_doesnotexist", "judgmentId": judgment_id,
                                           "reason": "x"}, as_=CLERK_SHANGHAI)
    assert code_of(foreign) == code_of(missing) == "BAD_USER_INPUT"
    assert foreign["errors"][0]["message"] == missing["errors"][0]["message"]
    assert await count(registry, ExecutionEvent) == 0


async def test_the_sender_may_read_but_not_resolve_its_own_queued_notice(
        registry: Registry) -> None:
    notice_id, judgment_id = await queued_release(registry)
    body = await registry.gql(RESOLVE, {"id": notice_id, "judgmentId": judgment_id,
                                        "reason": "x"}, as_=PRISON_OFFICER)
    assert code_of(body) == "FORBIDDEN"
    assert await count(registry, ExecutionEvent) == 0


async def test_resolving_a_release_needs_a_judgment_the_clerk_may_read(registry: Registry) -> None:
    notice_id, _ = await queued_release(registry)
    body = await registry.gql(RESOLVE, {"id": notice_id, "reason": "x"}, as_=CLERK_DONGCHENG)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "judgmentId"}
    shanghai = report_input(defendant={"idNumber": id_number(region="310101"),
                                       "residenceRegion": "310101"})
    other = await registry.gql(REPORT, {"input": shanghai}, as_=JUDGE_SHANGHAI)
    body = await registry.gql(RESOLVE, {
        "id": notice_id, "reason": "x",
        "judgmentId": other["data"]["reportJudgment"]["notice"]["id"]}, as_=CLERK_DONGCHENG)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "judgmentId"}
    assert await count(registry, ExecutionEvent) == 0


# -- timeliness ----------------------------------------------------------------------------

async def test_each_notice_records_its_deadline_and_whether_it_was_late(
        registry: Registry) -> None:
    report, _ = await reported(registry)
    on_time = await registry.gql(RELEASE, {"input": release_input(
        report, releaseDate=days_ago(30))}, as_=PRISON_OFFICER)
    late = await registry.gql(EXPIRY, {"input": expiry_input(
        report, expiryDate=days_ago(31))}, as_=JA_OFFICER)
    first = on_time["data"]["reportRelease"]["notice"]
    second = late["data"]["reportCorrectionExpiry"]["notice"]
    assert (first["late"], first["delayDays"], first["dueDate"]) == (
        False, 30, today().date().isoformat())
    assert (second["late"], second["delayDays"], second["eventDate"]) == (
        True, 31, days_ago(31))


@pytest.fixture
async def short_deadlines(database_url: str, tmp_path: Path) -> AsyncIterator[Registry]:
    settings = Settings(database_url=database_url, signing_key_file=str(tmp_path / "key.pem"),
                        policy_poll_seconds=0.0, deadline_release_days=5)
    await prepare(database_url)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://registry.test") as http:
        yield Registry(app=app, settings=settings, http=http)
    await app.state.registry.database.dispose()


async def test_the_deadline_of_each_notice_kind_is_a_setting(short_deadlines: Registry) -> None:
    report, _ = await reported(short_deadlines, effectiveDate=days_ago(10),
                               judgmentDate=days_ago(12), offenseDate="2026-03-02")
    judgment = await short_deadlines.gql(REPORT, {"input": report}, as_=JUDGE)
    assert judgment["data"]["reportJudgment"]["notice"]["late"] is False  # 30 days
    release = await short_deadlines.gql(RELEASE, {"input": release_input(
        report, releaseDate=days_ago(6))}, as_=PRISON_OFFICER)
    assert release["data"]["reportRelease"]["notice"]["late"] is True  # 5 days


async def test_reporting_compliance_counts_on_time_late_median_delay_and_unresolved_per_sender(
        registry: Registry) -> None:
    report, _ = await reported(registry)  # effective 2026-09-12: late
    for ago in (1, 3, 40):
        await registry.gql(RELEASE, {"input": release_input(report, releaseDate=days_ago(ago))},
                           as_=PRISON_OFFICER)
    await registry.gql(RELEASE, {"input": release_input(report, judgmentNumber="unknown",
                                                        releaseDate=days_ago(2))},
                       as_=PRISON_OFFICER)
    period = {"from": days_ago(1), "to": today().date().isoformat()}
    body = await registry.gql(COMPLIANCE, period, as_=CLERK_DONGCHENG)
    rows = {r["agency"]["code"]: r for r in compliance_rows(body)}
    assert rows["PRISON-110000"] == {"agency": {"code": "PRISON-110000"}, "received": 4,
                                     "onTime": 3, "late": 1, "medianDelayDays": 2.5,
                                     "unresolved": 1}
    assert rows["COURT-110101"]["late"] == 1
    assert (await registry.gql(COMPLIANCE, period, as_=AUDITOR))["data"] == body["data"]
    # Another division's clerk accounts for nothing received in Dongcheng.
    shanghai = await registry.gql(COMPLIANCE, period, as_=CLERK_SHANGHAI)
    assert compliance_rows(shanghai) == []
    # A period before anything was received.
    before = await registry.gql(COMPLIANCE, {"from": "2020-01-01", "to": "2020-12-31"},
                                as_=AUDITOR)
    assert compliance_rows(before) == []


async def test_reporting_compliance_is_for_registry_staff_and_auditors_only(
        registry: Registry) -> None:
    await reported(registry)
    period = {"from": days_ago(1), "to": today().date().isoformat()}
    for who in (JUDGE, PRISON_OFFICER):
        body = await registry.gql(COMPLIANCE, period, as_=who)
        assert compliance_rows(body) == []
    assert await count(registry, AuditEvent, AuditEvent.action == "notice:compliance",
                       AuditEvent.outcome == "deny") == 2


async def test_a_reporting_period_that_ends_before_it_begins_is_bad_input(
        registry: Registry) -> None:
    body = await registry.gql(COMPLIANCE, {"from": "2026-11-02", "to": "2026-11-01"},
                              as_=AUDITOR)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "to"}


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("field,value,named", [
    ("noticeNumber", "", "input.noticeNumber"),
    ("noticeNumber", "x" * 101, "input.noticeNumber"),
    ("judgmentNumber", " ", "input.judgmentNumber"),
    ("idNumber", "110101199005170000", "input.idNumber"),
    ("releaseDate", "2999-01-01", "input.releaseDate"),
    ("releaseDate", "yesterday", "input.releaseDate"),
    ("name", "bad\u0007name", "input.name"),
    ("birthDate", "2026-11-21", "input.birthDate"),
    ("residenceRegion", "11010", "input.residenceRegion"),
])
async def test_bad_release_input_gets_bad_user_input_naming_the_field_and_stores_nothing(
        registry: Registry, field: str, value: str, named: str) -> None:
    report, _ = await reported(registry)
    body = await registry.gql(RELEASE, {"input": release_input(report, **{field: value})},
                              as_=PRISON_OFFICER)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == named
    assert await count(registry, Notice, Notice.kind == "RELEASE") == 0


@pytest.mark.parametrize("field,value,named", [
    ("expiryDate", "2999-01-01", "input.expiryDate"),
    ("idNumber", "not a number", "input.idNumber"),
])
async def test_bad_correction_expiry_input_gets_bad_user_input_naming_the_field(
        registry: Registry, field: str, value: str, named: str) -> None:
    report, _ = await reported(registry)
    body = await registry.gql(EXPIRY, {"input": expiry_input(report, **{field: value})},
                              as_=JA_OFFICER)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": named}
    assert await count(registry, Notice, Notice.kind == "CORRECTION_EXPIRY") == 0


async def test_bad_resolution_input_gets_bad_user_input_naming_the_field(
        registry: Registry) -> None:
    notice_id, judgment_id = await queued_release(registry)
    body = await registry.gql(RESOLVE, {"id": notice_id, "judgmentId": judgment_id,
                                        "reason": "  "}, as_=CLERK_DONGCHENG)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "reason"}
    assert await count(registry, ExecutionEvent) == 0


# -- the README walk-through ---------------------------------------------------------------

async def test_a_court_a_prison_and_a_county_judicial_administration_report_for_one_person(
        registry: Registry) -> None:
    """The README's example: what the clerk sees after all three have reported."""
    report, judgment_id = await reported(
        registry, judgmentDate="2024-03-01", effectiveDate="2024-03-12",
        offenseDate="2023-10-02", penalty={"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 24})
    await registry.gql(RELEASE, {"input": release_input(report, releaseDate="2025-09-12")},
                       as_=PRISON_OFFICER)
    await registry.gql(EXPIRY, {"input": expiry_input(report, expiryDate="2026-03-11")},
                       as_=JA_OFFICER)
    assert await execution(registry, judgment_id) == [
        {"kind": "RELEASED", "date": "2025-09-12"},
        {"kind": "CORRECTION_EXPIRED", "date": "2026-03-11"}]
    queue = await registry.gql(QUEUE, {}, as_=CLERK_DONGCHENG)
    assert sorted(e["node"]["kind"] for e in queue["data"]["notices"]["edges"]) == [
        "CORRECTION_EXPIRY", "JUDGMENT", "RELEASE"]


async def test_a_notice_no_authority_covers_is_kept_and_queues_at_the_first_authority_added_for_it(
        registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code="COURT-440103", kind="COURT",
                         name="Liwan District People's Court", region="440103")
        await session.commit()
    judge = ("judge.liwan", "judge", "COURT-440103")
    report = report_input(defendant={"idNumber": id_number(region="440103"),
                                     "residenceRegion": "440103"})
    body = await registry.gql(REPORT, {"input": report}, as_=judge)
    notice = body["data"]["reportJudgment"]["notice"]
    assert (notice["status"], notice["receivingAuthority"]) == ("UNMATCHED", None)
    mine = await registry.gql(QUEUE, {}, as_=judge)
    assert mine["data"]["notices"]["totalCount"] == 1  # the sender still sees it

    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code="REG-440000", kind="REGISTRATION_AUTHORITY",
                         name="Guangdong Provincial Criminal Record Registry", region="440000")
        await session.commit()
    clerk = ("clerk.guangdong", "registry_clerk", "REG-440000")
    queue = await registry.gql(QUEUE, {"status": "UNMATCHED"}, as_=clerk)
    nodes = [e["node"] for e in queue["data"]["notices"]["edges"]]
    assert [(n["id"], n["receivingAuthority"]) for n in nodes] == [
        (notice["id"], {"code": "REG-440000"})]
    resolved = await registry.gql(RESOLVE, {"id": notice["id"], "reason": "authority now exists"},
                                  as_=clerk)
    assert resolved["data"]["resolveNotice"]["notice"]["status"] == "RESOLVED"
    assert await count(registry, Judgment) == 1


async def test_a_clerk_reads_a_queued_notice_as_it_was_sent_named_as_in_the_mutation(
        registry: Registry) -> None:
    report, _ = await reported(registry)
    sent = release_input(report, judgmentNumber="unknown number")
    await registry.gql(RELEASE, {"input": sent}, as_=PRISON_OFFICER)
    queue = await registry.gql(QUEUE, {"status": "UNMATCHED"}, as_=CLERK_DONGCHENG)
    [node] = [e["node"] for e in queue["data"]["notices"]["edges"]]
    assert node["content"] == {**sent, "name": None, "birthDate": None, "residenceRegion": None}


async def test_a_correction_is_listed_with_the_notices_but_is_not_counted_as_a_late_or_timely_report(  # noqa: E501
        registry: Registry) -> None:
    _, judgment_id = await reported(registry)
    corrected = await registry.gql(
        """mutation C($id: ID!, $input: CorrectJudgmentInput!, $reason: String!) {
             correctJudgment(id: $id, input: $input, reason: $reason) { notice { id kind } } }""",
        {"id": judgment_id, "reason": "term mistyped",
         "input": {"penalty": {"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 10}}},
        as_=CLERK_DONGCHENG)
    notice = corrected["data"]["correctJudgment"]["notice"]
    assert notice["kind"] == "JUDGMENT_CORRECTION"
    listed = await registry.gql(QUEUE, {}, as_=CLERK_DONGCHENG)
    assert notice["id"] in [e["node"]["id"] for e in listed["data"]["notices"]["edges"]]
    period = {"from": days_ago(1), "to": today().date().isoformat()}
    body = await registry.gql(COMPLIANCE, period, as_=AUDITOR)
    assert [r["agency"]["code"] for r in compliance_rows(body)] == ["COURT-110101"]
