"""Corrections, sealing and unsealing over time (DESIGN.md §1.2, §1.4), through HTTP, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select

from db.models import AuditEvent, Judgment, JudgmentVersion, Notice, Offender, SealEvent
from policies.actions import Action
from policies.pdp import DecisionPoint
from policies.store import load_default_documents, save_policy
from tests.api.test_query_count import counting
from tests.factories import (
    CLERK_AT_A_COURT,
    CLERK_BEIJING,
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    EMPLOYER,
    JUDGE,
    JUDGE_SHANGHAI,
    LAWYER,
    REPORT,
    Registry,
    id_number,
    report_input,
)

CORRECT = """mutation Correct($id: ID!, $input: CorrectJudgmentInput!, $reason: String!) {
  correctJudgment(id: $id, input: $input, reason: $reason) {
    judgment { id sealStatus ageAtOffense offenseDate judgmentDate effectiveDate
               crimes { name article } penalty { kind termMonths } }
    notice { id kind status receivingAuthority { code } }
  }
}"""

HISTORY_FIELDS = """
  version judgmentNumber ageAtOffense sealStatus offenseDate
  penalty { kind termMonths }
  offender { birthDate residenceRegion }
  history { edges { node {
            version correctedAt correctedBy correctedByAgency { code } reason retrial
            judgmentDate effectiveDate offenseDate ageAtOffense sealStatus
            crimes { name article } penalty { kind termMonths probationMonths supplementary
            fineAmount } defendant { name birthDate gender residenceRegion } } } }
  sealEvents { status reason at }
"""
HISTORY = "query History($id: ID!) { judgment(id: $id) {" + \
    HISTORY_FIELDS.replace("version judgmentNumber", "judgmentNumber") + "} }"

REASON = "the judgment's own text says otherwise (clerical error)"

ADULT_OPEN = "adult at offence"
MINOR_SEALED = "minor at offence, penalty 5 years or less"
COMBINED = ("combined with a judgment for a crime committed before 18 or discovered "
            "afterwards, the penalty exceeds 5 years")


def months(n: int) -> dict[str, Any]:
    return {"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": n}


def person(born: date, region: str = "110101", **extra: Any) -> dict[str, Any]:
    return {"idNumber": id_number(region, born), "name": "Li Na", "birthDate": born.isoformat(),
            "gender": "female", "residenceRegion": region, **extra}


async def report(registry: Registry, *, as_: tuple[str, str, str | None] = JUDGE,
                 **overrides: Any) -> str:
    """Reports a judgment; returns its public id (the reporting judge may not read it)."""
    value = report_input(**overrides)
    body = await registry.gql(REPORT, {"input": value}, as_=as_)
    assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
    async with registry.app.state.registry.database.session() as session:
        found = await session.scalar(select(Judgment.public_id).where(
            col(Judgment.judgment_number) == value["judgmentNumber"]))
    assert found is not None
    return str(found)


async def correct(registry: Registry, id: str, input: dict[str, Any], *,
                  as_: tuple[str, str, str | None] = CLERK_DONGCHENG,
                  reason: str = REASON) -> dict[str, Any]:
    return await registry.gql(CORRECT, {"id": id, "input": input, "reason": reason}, as_=as_)


async def history(registry: Registry, id: str,
                  as_: tuple[str, str, str | None] = CLERK_DONGCHENG) -> dict[str, Any] | None:
    body = await registry.gql(HISTORY, {"id": id}, as_=as_)
    assert "errors" not in body, body
    found: dict[str, Any] | None = body["data"]["judgment"]
    if found is not None:  # its first page of versions (20), as a list
        found["history"] = [e["node"] for e in found["history"]["edges"]]
    return found


async def rows(registry: Registry) -> dict[str, Any]:
    """Everything a correction may write, to show that a refused one wrote nothing."""
    async with registry.app.state.registry.database.session() as session:
        judgments = (await session.scalars(select(Judgment).order_by(col(Judgment.id)))).all()
        offenders = (await session.scalars(select(Offender).order_by(col(Offender.id)))).all()
        counts = {model.__name__: int(await session.scalar(
            select(func.count()).select_from(model)) or 0)
            for model in (JudgmentVersion, SealEvent, Notice)}
    return {"judgments": [j.model_dump() for j in judgments],
            "offenders": [o.model_dump() for o in offenders], **counts}


def error_of(body: dict[str, Any]) -> tuple[str, str | None, str]:
    assert body.get("data") is None, body  # absent where a variable did not coerce
    error = body["errors"][0]
    return error["extensions"]["code"], error["extensions"].get("field"), error["message"]


# --- who may correct --------------------------------------------------------------------------

async def test_the_reporting_court_corrects_a_judgment_and_the_previous_version_is_kept_with_who_when_and_why(  # noqa: E501
        registry: Registry) -> None:
    id = await report(registry, penalty=months(12))
    before = datetime.now(UTC)
    body = await correct(registry, id, {"penalty": months(18)}, as_=JUDGE)
    assert "errors" not in body, body
    payload = body["data"]["correctJudgment"]
    assert payload["judgment"] is None  # correcting grants no read
    assert payload["notice"]["kind"] == "JUDGMENT_CORRECTION"
    assert payload["notice"]["status"] == "REGISTERED"
    assert payload["notice"]["receivingAuthority"] == {"code": "REG-110101"}

    found = await history(registry, id)
    assert found is not None
    assert found["penalty"] == months(18)
    [version] = found["history"]
    assert version["version"] == 1
    assert version["penalty"] == {**months(12), "probationMonths": None, "supplementary": [],
                                  "fineAmount": None}
    assert (version["correctedBy"], version["correctedByAgency"], version["reason"],
            version["retrial"]) == ("judge.dongcheng", {"code": "COURT-110101"}, REASON, False)
    at = datetime.fromisoformat(version["correctedAt"])
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)
    assert version["defendant"] == {"name": "Wang Wei", "birthDate": "1990-05-17",
                                    "gender": "male", "residenceRegion": "110101"}
    assert (version["judgmentDate"], version["effectiveDate"], version["offenseDate"],
            version["ageAtOffense"], version["sealStatus"]) == (
        "2026-09-01", "2026-09-12", "2026-03-02", 35, "OPEN")
    assert version["crimes"] == [{"name": "Theft", "article": "Art. 264"}]


async def test_a_clerk_of_the_keeping_authority_corrects_a_judgment(registry: Registry) -> None:
    id = await report(registry)
    body = await correct(registry, id, {"offenseDate": "2026-02-27",
                                        "crimes": [{"name": "Fraud", "article": "Art. 266"}]})
    assert "errors" not in body, body
    judgment = body["data"]["correctJudgment"]["judgment"]
    assert judgment["offenseDate"] == "2026-02-27"
    assert judgment["crimes"] == [{"name": "Fraud", "article": "Art. 266"}]
    found = await history(registry, id)
    assert found is not None
    assert [(v["version"], v["offenseDate"], v["crimes"][0]["name"], v["correctedBy"])
            for v in found["history"]] == [(1, "2026-03-02", "Theft", "clerk.dongcheng")]


async def test_another_court_or_a_clerk_elsewhere_may_not_correct(registry: Registry) -> None:
    id = await report(registry)
    missing = error_of(await correct(registry, "jdg_doesnotexist", {"penalty": months(18)}))
    assert missing[:2] == ("BAD_USER_INPUT", "id")
    before = await rows(registry)
    # Those who may not even read it: the answer for a missing id, word for word.
    for principal in (JUDGE_SHANGHAI, CLERK_SHANGHAI, CLERK_AT_A_COURT, EMPLOYER, LAWYER):
        body = await correct(registry, id, {"penalty": months(18)}, as_=principal)
        assert error_of(body) == missing, principal
    # The Beijing clerk may read it (the city's division) but does not keep it.
    body = await correct(registry, id, {"penalty": months(18)}, as_=CLERK_BEIJING)
    assert error_of(body)[0] == "FORBIDDEN"
    assert await rows(registry) == before


async def test_a_judge_may_not_correct_the_persons_basic_information(registry: Registry) -> None:
    value = person(date(1990, 5, 17))
    id = await report(registry, defendant=value)
    before = await rows(registry)
    body = await correct(registry, id, {"defendant": {**value, "birthDate": "1990-05-18"}},
                         as_=JUDGE)
    code, _, message = error_of(body)
    assert code == "FORBIDDEN"
    assert "input.defendant" in message
    assert await rows(registry) == before
    # The judgment's own facts remain the court's to correct.
    assert "errors" not in await correct(registry, id, {"penalty": months(18)}, as_=JUDGE)


# --- the reporting court and its sealed judgments (DESIGN.md §1.2: sealing hides a record
# --- from others, not from the organ that made it) -------------------------------------------

MINOR = person(date(2009, 1, 15))  # 16 at an offence of 2025-06-01
# A court's staff who are not judges (the court's own code, another role), and a principal
# of another kind claiming the court's code.
COURT_STAFF = ("staff.dongcheng", "prosecutor", "COURT-110101")
EMPLOYER_NAMED_LIKE_THE_COURT = ("hr.fake", "employer", "COURT-110101")


async def seal_events(registry: Registry, id: str) -> list[tuple[str, str]]:
    found = await history(registry, id)
    assert found is not None
    return [(e["status"], e["reason"]) for e in found["sealEvents"]]


async def test_the_reporting_court_reports_the_retrial_of_its_sealed_judgment_and_above_five_years_it_unseals(  # noqa: E501
        registry: Registry) -> None:
    id = await report(registry, defendant=MINOR, offenseDate="2025-06-01", penalty=months(36))
    assert await seal_events(registry, id) == [("SEALED", MINOR_SEALED)]
    body = await correct(registry, id, {"penalty": months(72), "retrial": True}, as_=JUDGE,
                         reason="retrial under adjudication supervision")
    assert "errors" not in body, body
    payload = body["data"]["correctJudgment"]
    assert payload["notice"]["kind"] == "JUDGMENT_CORRECTION"
    assert payload["notice"]["status"] == "REGISTERED"
    assert await seal_events(registry, id) == [
        ("SEALED", MINOR_SEALED), ("OPEN", "retrial: penalty over 5 years")]
    found = await history(registry, id)
    assert found is not None
    [version] = found["history"]
    assert (version["retrial"], version["sealStatus"], version["penalty"]["termMonths"],
            version["correctedBy"], version["correctedByAgency"]) == (
        True, "SEALED", 36, "judge.dongcheng", {"code": "COURT-110101"})
    async with registry.app.state.registry.database.session() as session:
        events = (await session.scalars(select(AuditEvent).where(
            col(AuditEvent.action).in_(["judgment:correct", "judgment:unseal"]),
            col(AuditEvent.outcome) == "permit").order_by(col(AuditEvent.seq)))).all()
    assert {(e.action, e.sub) for e in events if id in e.resource_ids} == {
        ("judgment:correct", "judge.dongcheng"), ("judgment:unseal", "judge.dongcheng")}
    assert any(e.policy_uid == "court.judge-corrects-the-courts-own-judgments"
               for e in events if e.action == "judgment:correct")


async def test_the_reporting_court_corrects_its_sealed_judgment_and_within_five_years_it_stays_sealed(  # noqa: E501
        registry: Registry) -> None:
    id = await report(registry, defendant=MINOR, offenseDate="2025-06-01", penalty=months(36))
    body = await correct(registry, id, {"penalty": months(60), "retrial": True}, as_=JUDGE)
    assert "errors" not in body, body
    assert await seal_events(registry, id) == [("SEALED", MINOR_SEALED)]  # no change, no event
    body = await correct(registry, id, {"crimes": [{"name": "Robbery", "article": "Art. 263"}]},
                         as_=JUDGE)
    assert "errors" not in body, body
    found = await history(registry, id)
    assert found is not None
    assert (found["sealStatus"], found["penalty"]["termMonths"], len(found["history"])) == (
        "SEALED", 60, 2)


async def post_raw(registry: Registry, query: str, variables: dict[str, Any],
                   as_: tuple[str, str, str | None]) -> bytes:
    response = await registry.http.post(
        "/graphql", json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {registry.token(*as_)}"})
    assert response.status_code == 200
    return response.content


ATTEMPTS: list[tuple[dict[str, Any], str]] = [  # (input, reason): good and bad alike
    ({"penalty": months(18)}, REASON),
    ({"penalty": months(72), "retrial": True}, REASON),
    ({"defendant": MINOR}, REASON),
    ({"defendant": {**MINOR, "birthDate": "2001-01-15"}}, REASON),
    ({"penalty": months(301)}, REASON),
    ({"offenseDate": "2030-01-01"}, REASON),
    ({}, REASON),
    ({"penalty": months(18)}, ""),
]


async def test_another_court_a_courts_staff_who_are_not_judges_or_a_court_for_a_judgment_it_did_not_report_are_answered_as_for_a_missing_id_byte_for_byte(  # noqa: E501
        registry: Registry) -> None:
    ours_open = await report(registry, defendant=MINOR, penalty=months(12))
    ours_sealed = await report(registry, defendant=MINOR, offenseDate="2025-06-01",
                               penalty=months(12))
    # The same person judged by Huangpu too: the Dongcheng court did not report these.
    theirs_open = await report(registry, as_=JUDGE_SHANGHAI, defendant=MINOR,
                               offenseDate="2026-04-01", penalty=months(6))
    theirs_sealed = await report(registry, as_=JUDGE_SHANGHAI, defendant=MINOR,
                                 offenseDate="2025-07-01", penalty=months(6))
    assert (await history(registry, ours_sealed) or {})["sealStatus"] == "SEALED"
    assert (await history(registry, theirs_sealed) or {})["sealStatus"] == "SEALED"
    before = await rows(registry)
    attempts = [
        (JUDGE, theirs_open), (JUDGE, theirs_sealed),                    # not its judgment
        (JUDGE_SHANGHAI, ours_open), (JUDGE_SHANGHAI, ours_sealed),      # another court
        (COURT_STAFF, ours_open), (COURT_STAFF, ours_sealed),            # not a judge
        (CLERK_AT_A_COURT, ours_open), (CLERK_AT_A_COURT, ours_sealed),
        (EMPLOYER_NAMED_LIKE_THE_COURT, ours_sealed),
    ]
    for who, id in attempts:
        for input, reason in ATTEMPTS:
            variables = {"input": input, "reason": reason}
            missing = await post_raw(registry, CORRECT, {"id": "jdg_doesnotexist",
                                                         **variables}, as_=who)
            refused = await post_raw(registry, CORRECT, {"id": id, **variables}, as_=who)
            assert refused == missing, (who, id, input, refused)
            assert b"no such judgment" in refused
    assert await rows(registry) == before


async def test_the_court_does_not_read_back_the_judgment_it_corrected_sealed_or_open(
        registry: Registry) -> None:
    # `judgment` in a payload is null where the requester may not read it back (CONTRACT.md
    # §4): the court reads back neither, so sealing changes nothing in what it is answered.
    answers = []
    for overrides in ({"offenseDate": "2026-03-02"}, {"offenseDate": "2025-06-01"}):
        id = await report(registry, defendant=MINOR, penalty=months(12), **overrides)
        body = await correct(registry, id, {"penalty": months(18)}, as_=JUDGE)
        assert "errors" not in body, body
        payload = body["data"]["correctJudgment"]
        assert payload["judgment"] is None
        answers.append({**payload, "notice": {**payload["notice"], "id": "*"}})
        # Nor afterwards, directly.
        assert await history(registry, id, as_=JUDGE) is None
    assert answers[0] == answers[1]
    # The keeping clerk corrects and reads it back, sealed or not.
    id = await report(registry, defendant=MINOR, offenseDate="2025-06-01", penalty=months(12))
    body = await correct(registry, id, {"penalty": months(13)})
    assert body["data"]["correctJudgment"]["judgment"]["sealStatus"] == "SEALED"


async def test_a_courts_correction_tells_it_nothing_of_other_courts_judgments(
        registry: Registry) -> None:
    """The court's retrial of a sealed judgment of 36 months to 54: alone, it stays sealed;
    beside another court's sealed judgment of 12 months for the same person, the two
    together pass five years and both are unsealed. The court is answered alike."""
    alone, beside = person(date(2009, 1, 15)), person(date(2009, 1, 15))
    answers, statuses = [], []
    for defendant, other in ((alone, False), (beside, True)):
        id = await report(registry, defendant=defendant, offenseDate="2025-06-01",
                          judgmentDate="2025-09-01", effectiveDate="2025-09-12",
                          penalty=months(36))
        if other:
            await report(registry, as_=JUDGE_SHANGHAI, defendant=defendant,
                         offenseDate="2025-08-01", penalty=months(12))
        assert (await history(registry, id) or {})["sealStatus"] == "SEALED"
        body = await correct(registry, id, {"penalty": months(54), "retrial": True},
                             as_=JUDGE)
        assert "errors" not in body, body
        payload = body["data"]["correctJudgment"]
        answers.append({**payload, "notice": {**payload["notice"], "id": "*"}})
        statuses.append((await history(registry, id) or {})["sealStatus"])
        # What the court may ask afterwards about its own judgment says nothing either.
        again = await correct(registry, id, {"penalty": months(54)}, as_=JUDGE)
        answers.append(again)
    assert statuses == ["SEALED", "OPEN"]  # the registry did decide differently
    assert answers[0] == answers[2] and answers[1] == answers[3]
    assert error_of(answers[1]) == ("BAD_USER_INPUT", "input", "input: the correction changes "
                                                                "nothing")


READS_BACK = {
    "uid": "test.court-reads-back-its-corrections",
    "description": "A test grant: the court that reported a judgment reads back what it "
                   "corrected (resource owner_agency, stated by correctJudgment only).",
    "effect": "allow",
    "rules": {"subject": {"$.role": {"condition": "Equals", "value": "judge"},
                          "$.agency_kind": {"condition": "Equals", "value": "court"}},
              "resource": {"$.type": {"condition": "Equals", "value": "judgment"},
                           "$.owner_agency": {"condition": "EqualsAttribute",
                                              "ace": "subject", "path": "$.agency"}},
              "action": {"$.name": {"condition": "Equals", "value": "judgment:read"}},
              "context": {}},
    "targets": {}}


async def test_whether_the_court_reads_back_what_it_corrected_is_policy(
        registry: Registry) -> None:
    id = await report(registry, defendant=MINOR, offenseDate="2025-06-01", penalty=months(12))
    body = await correct(registry, id, {"penalty": months(13)}, as_=JUDGE)
    assert body["data"]["correctJudgment"]["judgment"] is None
    async with registry.app.state.registry.database.session() as session:
        await save_policy(session, READS_BACK, author="security.admin")
        await session.commit()
    body = await correct(registry, id, {"penalty": months(14)}, as_=JUDGE)
    assert "errors" not in body, body
    judgment = body["data"]["correctJudgment"]["judgment"]
    assert (judgment["id"], judgment["sealStatus"], judgment["penalty"]) == (
        id, "SEALED", months(14))
    # The grant names the correction's relation: it reads nothing else, this judgment
    # directly included, nor another court's correction.
    assert await history(registry, id, as_=JUDGE) is None
    theirs = await report(registry, as_=JUDGE_SHANGHAI, penalty=months(12))
    body = await correct(registry, theirs, {"penalty": months(13)}, as_=JUDGE_SHANGHAI)
    assert body["data"]["correctJudgment"]["judgment"] is not None  # its own
    assert error_of(await correct(registry, theirs, {"penalty": months(14)}, as_=JUDGE))[:2] \
        == ("BAD_USER_INPUT", "id")


async def test_a_court_never_corrects_the_persons_details_the_keeping_clerk_does(
        registry: Registry) -> None:
    for overrides in ({"offenseDate": "2026-03-02"}, {"offenseDate": "2025-06-01"}):
        minor = person(date(2009, 1, 15))
        id = await report(registry, defendant=minor, penalty=months(12), **overrides)
        before = await rows(registry)
        # Changed details, or the very details it reported: a `defendant` is the person's,
        # shared by every court's judgments of them, and the court does not correct it.
        for defendant in ({**minor, "name": "Li Nana"}, minor):
            body = await correct(registry, id, {"defendant": defendant,
                                                "penalty": months(18)}, as_=JUDGE)
            code, _, message = error_of(body)
            assert code == "FORBIDDEN", body
            assert "input.defendant" in message
        assert await rows(registry) == before
        assert "errors" not in await correct(registry, id, {"defendant": {
            **minor, "name": "Li Nana"}}, as_=CLERK_DONGCHENG)


# --- history ----------------------------------------------------------------------------------

async def test_the_history_is_readable_by_those_who_may_read_the_judgment_and_by_nobody_else(
        registry: Registry) -> None:
    id = await report(registry, penalty=months(12))
    await correct(registry, id, {"penalty": months(18)})
    await correct(registry, id, {"penalty": months(24)}, reason="second thoughts")
    for reader in (CLERK_DONGCHENG, CLERK_BEIJING):
        found = await history(registry, id, as_=reader)
        assert found is not None, reader
        assert [(v["version"], v["penalty"]["termMonths"], v["reason"])
                for v in found["history"]] == [(1, 12, REASON), (2, 18, "second thoughts")]
        assert [e["status"] for e in found["sealEvents"]] == ["OPEN"]
    for outsider in (JUDGE, JUDGE_SHANGHAI, CLERK_SHANGHAI, EMPLOYER, LAWYER):
        assert await history(registry, id, as_=outsider) is None, outsider
        body = await registry.gql("{ judgments { totalCount edges { node { history { edges { "
                                  "node { reason } } } sealEvents { reason } } } } }",
                                  as_=outsider)
        assert body["data"]["judgments"]["totalCount"] == 0, outsider


async def test_a_judgments_history_paged_under_a_page_of_judgments_costs_the_same_statements_for_5_and_20(  # noqa: E501
        registry: Registry) -> None:
    for n in range(20):
        born = date(2009, 1, 15) if n % 3 == 0 else date(1990, 5, 17)
        id = await report(registry, defendant=person(born), offenseDate="2025-06-01")
        assert "errors" not in await correct(registry, id, {"penalty": months(13 + n)})
        if n % 2:
            assert "errors" not in await correct(registry, id, {"penalty": months(40 + n)})
    fields = HISTORY_FIELDS.replace("version judgmentNumber", "id").replace(
        "history { edges {", "history(first: 1) { totalCount pageInfo { hasNextPage endCursor }"
        " edges { cursor")
    query = "{ judgments(first: %d) { edges { node { " + fields + "} } } }"
    await registry.gql(query % 1, as_=CLERK_DONGCHENG)  # warm the caches
    counts = []
    for first in (5, 20):
        with counting(registry) as statements:
            body = await registry.gql(query % first, as_=CLERK_DONGCHENG)
        assert "errors" not in body, body
        edges = body["data"]["judgments"]["edges"]
        assert len(edges) == first
        for edge in edges:
            history = edge["node"]["history"]
            assert len(history["edges"]) == 1 and edge["node"]["sealEvents"]
            assert history["pageInfo"]["hasNextPage"] == (history["totalCount"] == 2)
            assert history["edges"][0]["node"]["version"] == 1  # oldest first
        assert {e["node"]["history"]["totalCount"] for e in edges} == {1, 2}
        counts.append(len(statements))
    assert counts[0] == counts[1] < 15, counts


# --- sealing decided again --------------------------------------------------------------------

async def test_a_corrected_birth_date_decides_sealing_again_with_an_event_and_its_reason(
        registry: Registry) -> None:
    adult = person(date(1990, 5, 17))
    first = await report(registry, defendant=adult, penalty=months(12))
    second = await report(registry, defendant=adult, offenseDate="2026-04-01",
                          penalty=months(6))
    # Born 2009, not 1990: 17 at both offences; 12 + 6 months stays within five years.
    body = await correct(registry, first, {"defendant": {**adult, "birthDate": "2009-01-15"}},
                         reason="birth date misread from the identity card")
    assert "errors" not in body, body
    assert body["data"]["correctJudgment"]["judgment"] == {
        **body["data"]["correctJudgment"]["judgment"], "sealStatus": "SEALED",
        "ageAtOffense": 17}
    for id in (first, second):
        found = await history(registry, id)
        assert found is not None
        assert found["sealStatus"] == "SEALED"
        assert found["ageAtOffense"] == 17
        assert found["offender"]["birthDate"] == "2009-01-15"
        assert [(e["status"], e["reason"]) for e in found["sealEvents"]] == [
            ("OPEN", ADULT_OPEN), ("SEALED", f"correction: {MINOR_SEALED}")]
        [version] = found["history"]
        assert (version["ageAtOffense"], version["sealStatus"],
                version["defendant"]["birthDate"]) == (35, "OPEN", "1990-05-17")
    # The other judgment keeps its previous version too, without naming the corrected one.
    second_history = await history(registry, second)
    assert second_history is not None
    assert second_history["history"][0]["reason"] == "the person's basic information was corrected"


async def test_a_later_judgment_for_a_crime_committed_before_18_unseals_when_the_combined_penalty_exceeds_five_years(  # noqa: E501
        registry: Registry) -> None:
    minor = person(date(2009, 1, 15))
    first = await report(registry, defendant=minor, offenseDate="2024-03-02",
                         judgmentDate="2024-09-01", effectiveDate="2024-09-12",
                         penalty=months(36))
    assert (await history(registry, first) or {})["sealStatus"] == "SEALED"
    within = await report(registry, defendant=minor, offenseDate="2025-06-01",
                          judgmentDate="2026-01-10", effectiveDate="2026-01-20",
                          penalty=months(24))
    assert (await history(registry, first) or {})["sealStatus"] == "SEALED"  # 60: not over
    over = await report(registry, defendant=minor, offenseDate="2025-08-01",
                        judgmentDate="2026-03-10", effectiveDate="2026-03-20",
                        penalty=months(1))
    for id in (first, within, over):
        found = await history(registry, id)
        assert found is not None
        assert found["sealStatus"] == "OPEN", id
        assert found["sealEvents"][-1]["status"] == "OPEN"
        assert found["sealEvents"][-1]["reason"].endswith(COMBINED)


async def test_a_later_judgment_for_a_crime_discovered_afterwards_unseals_when_combined_over_five_years(  # noqa: E501
        registry: Registry) -> None:
    born = person(date(2006, 1, 15))  # 18 on 2024-01-15, so adult from 2024-01-16
    sealed = await report(registry, defendant=born, offenseDate="2023-05-01",
                          judgmentDate="2024-09-01", effectiveDate="2024-09-12",
                          penalty=months(36))
    assert (await history(registry, sealed) or {})["sealStatus"] == "SEALED"
    # Committed as an adult before the sealed judgment was given, judged afterwards.
    await report(registry, defendant=born, offenseDate="2024-06-01", judgmentDate="2025-03-01",
                 effectiveDate="2025-03-12", penalty=months(25))
    found = await history(registry, sealed)
    assert found is not None
    assert [(e["status"], e["reason"]) for e in found["sealEvents"]] == [
        ("SEALED", MINOR_SEALED), ("OPEN", f"later judgment registered: {COMBINED}")]


async def test_a_later_judgment_for_an_adult_crime_committed_afterwards_does_not_unseal(
        registry: Registry) -> None:
    born = person(date(2006, 1, 15))
    sealed = await report(registry, defendant=born, offenseDate="2023-05-01",
                          judgmentDate="2023-09-01", effectiveDate="2023-09-12",
                          penalty=months(36))
    later = await report(registry, defendant=born, offenseDate="2024-06-01",
                         judgmentDate="2025-03-01", effectiveDate="2025-03-12",
                         penalty=months(120))
    found = await history(registry, sealed)
    assert found is not None
    assert found["sealStatus"] == "SEALED"
    assert [e["status"] for e in found["sealEvents"]] == ["SEALED"]
    assert (await history(registry, later) or {})["sealStatus"] == "OPEN"


async def test_a_retrial_raising_the_penalty_above_five_years_unseals(registry: Registry) -> None:
    id = await report(registry, defendant=person(date(2009, 1, 15)), offenseDate="2025-06-01",
                      penalty=months(36))
    body = await correct(registry, id, {"penalty": months(72), "retrial": True},
                         reason="retrial under adjudication supervision")
    assert "errors" not in body, body
    assert body["data"]["correctJudgment"]["judgment"]["sealStatus"] == "OPEN"
    found = await history(registry, id)
    assert found is not None
    assert found["sealEvents"][-1] == {**found["sealEvents"][-1], "status": "OPEN",
                                       "reason": "retrial: penalty over 5 years"}
    [version] = found["history"]
    assert (version["retrial"], version["sealStatus"], version["penalty"]["termMonths"]) == (
        True, "SEALED", 36)


async def test_every_seal_and_unseal_is_an_event_with_its_reason(registry: Registry) -> None:
    id = await report(registry, defendant=person(date(2009, 1, 15)), offenseDate="2025-06-01",
                      penalty=months(36))
    await correct(registry, id, {"penalty": months(72), "retrial": True})
    await correct(registry, id, {"penalty": months(30)})  # a slip in the retrial's record
    await correct(registry, id, {"crimes": [{"name": "Robbery", "article": "Art. 263"}]})
    found = await history(registry, id)
    assert found is not None
    assert [(e["status"], e["reason"]) for e in found["sealEvents"]] == [
        ("SEALED", MINOR_SEALED),
        ("OPEN", "retrial: penalty over 5 years"),
        ("SEALED", f"correction: {MINOR_SEALED}"),
    ]  # the crime's name changed nothing that sealing depends on: no event
    ats = [e["at"] for e in found["sealEvents"]]
    assert ats == sorted(ats)
    assert [v["sealStatus"] for v in found["history"]] == ["SEALED", "OPEN", "SEALED"]


async def test_every_seal_and_unseal_is_also_an_audit_event(registry: Registry) -> None:
    id = await report(registry, defendant=person(date(2009, 1, 15)), offenseDate="2025-06-01",
                      penalty=months(36))
    await correct(registry, id, {"penalty": months(72), "retrial": True})
    await correct(registry, id, {"penalty": months(30)})
    adult = await report(registry, defendant=person(date(1990, 1, 15)))
    async with registry.app.state.registry.database.session() as session:
        events = (await session.scalars(select(AuditEvent).where(
            col(AuditEvent.action).in_(["judgment:seal", "judgment:unseal"]))
            .order_by(col(AuditEvent.seq)))).all()
    assert [(e.action, e.resource_ids, e.sub, e.outcome) for e in events] == [
        ("judgment:seal", [id], "judge.dongcheng", "permit"),     # registered sealed
        ("judgment:unseal", [id], "clerk.dongcheng", "permit"),   # the retrial
        ("judgment:seal", [id], "clerk.dongcheng", "permit"),     # corrected back
    ]  # the adult's judgment, registered open, is neither
    assert all(adult not in e.resource_ids for e in events)


async def test_a_residence_correction_moves_the_persons_judgments_to_the_new_authority(
        registry: Registry) -> None:
    value = person(date(1990, 5, 17))
    first = await report(registry, defendant=value)
    second = await report(registry, defendant=value, offenseDate="2026-04-01")
    body = await correct(registry, first, {"defendant": {**value, "residenceRegion": "310104"}},
                         reason="moved to Shanghai before the judgment")
    assert "errors" not in body, body
    payload = body["data"]["correctJudgment"]
    assert payload["judgment"] is None  # no longer in the Dongcheng clerk's division
    assert payload["notice"]["receivingAuthority"] == {"code": "REG-110101"}
    for id in (first, second):
        assert await history(registry, id) is None
        found = await history(registry, id, as_=CLERK_SHANGHAI)
        assert found is not None
        assert found["offender"]["residenceRegion"] == "310104"
        assert found["history"][0]["defendant"]["residenceRegion"] == "110101"
    async with registry.app.state.registry.database.session() as session:
        kept_by = set((await session.scalars(select(Judgment.authority_agency_id))).all())
        shanghai = await session.scalar(
            select(col(Judgment.authority_agency_id)).where(col(Judgment.public_id) == first))
    assert len(kept_by) == 1 and shanghai is not None
    # Shanghai keeps them now: its clerk corrects them, Dongcheng's may no longer.
    assert "errors" not in await correct(registry, second, {"penalty": months(13)},
                                         as_=CLERK_SHANGHAI)
    assert error_of(await correct(registry, second, {"penalty": months(14)}))[:2] == (
        "BAD_USER_INPUT", "id")


# --- bad input --------------------------------------------------------------------------------

ADULT = person(date(1990, 5, 17))


@pytest.mark.parametrize(("input", "reason", "field"), [
    ({}, REASON, "input"),
    ({"retrial": True}, REASON, "input"),
    ({"penalty": months(12)}, REASON, "input"),  # what it already says
    ({"defendant": ADULT}, REASON, "input"),
    ({"penalty": months(18)}, "", "reason"),
    ({"penalty": months(18)}, "  ", "reason"),
    ({"penalty": months(18)}, "x" * 501, "reason"),
    ({"offenseDate": "2026-09-02"}, REASON, "input.offenseDate"),
    ({"offenseDate": "2026-3-2"}, REASON, "input.offenseDate"),
    ({"judgmentDate": "2026-03-01"}, REASON, "input.judgmentDate"),
    ({"judgmentDate": "2026-09-13"}, REASON, "input.judgmentDate"),
    ({"effectiveDate": "2026-08-31"}, REASON, "input.effectiveDate"),
    ({"effectiveDate": "2099-01-01"}, REASON, "input.effectiveDate"),
    ({"crimes": []}, REASON, "input.crimes"),
    ({"crimes": [{"name": " "}]}, REASON, "input.crimes[0].name"),
    ({"crimes": [{"name": "Theft", "article": "a" * 101}]}, REASON, "input.crimes[0].article"),
    ({"penalty": {"kind": "FIXED_TERM_IMPRISONMENT"}}, REASON, "input.penalty.termMonths"),
    ({"penalty": months(301)}, REASON, "input.penalty.termMonths"),
    ({"penalty": {"kind": "EXEMPTED", "termMonths": 3}}, REASON, "input.penalty.termMonths"),
    ({"penalty": {"kind": "PUBLIC_SURVEILLANCE", "termMonths": 12, "probationMonths": 6}},
     REASON, "input.penalty.probationMonths"),
    ({"penalty": {**months(12), "fineAmount": "12,5"}}, REASON, "input.penalty.fineAmount"),
    ({"penalty": {"kind": "SUPPLEMENTARY_ONLY"}}, REASON, "input.penalty.supplementary"),
    ({"penalty": {"kind": "CAT"}}, REASON, "input.penalty.kind"),
    ({"defendant": {**ADULT, "birthDate": "2013-01-01"}}, REASON, "input.defendant.birthDate"),
    ({"defendant": {**ADULT, "birthDate": "2027-01-01"}}, REASON, "input.defendant.birthDate"),
    ({"defendant": {**ADULT, "name": ""}}, REASON, "input.defendant.name"),
    ({"defendant": {**ADULT, "residenceRegion": "1101"}}, REASON,
     "input.defendant.residenceRegion"),
    ({"defendant": {**ADULT, "residenceRegion": "440103"}}, REASON,
     "input.defendant.residenceRegion"),  # no registration authority covers it
    ({"defendant": {**ADULT, "idNumber": id_number("110101", date(1990, 5, 17), 999)}},
     REASON, "input.defendant.idNumber"),
    ({"defendant": {**ADULT, "idNumber": "110101199005170001"}}, REASON,
     "input.defendant.idNumber"),
])
async def test_bad_correction_input_gets_bad_user_input_naming_the_field_and_changes_nothing(
        registry: Registry, input: dict[str, Any], reason: str, field: str) -> None:
    id = await report(registry, defendant=ADULT, penalty=months(12))
    before = await rows(registry)
    body = await correct(registry, id, input, reason=reason)
    code, named, _ = error_of(body)
    assert (code, named) == ("BAD_USER_INPUT", field)
    assert await rows(registry) == before


async def test_a_birth_date_that_would_make_another_judgment_of_the_person_impossible_is_refused(
        registry: Registry) -> None:
    value = person(date(1995, 5, 17))
    first = await report(registry, defendant=value)
    await report(registry, defendant=value, offenseDate="2012-01-10",
                 judgmentDate="2012-06-01", effectiveDate="2012-06-12")
    before = await rows(registry)
    body = await correct(registry, first, {"defendant": {**value, "birthDate": "1999-01-01"}})
    assert error_of(body)[:2] == ("BAD_USER_INPUT", "input.defendant.birthDate")
    assert await rows(registry) == before


# --- accountability ---------------------------------------------------------------------------

async def test_a_correction_is_audited(registry: Registry) -> None:
    id = await report(registry)
    await correct(registry, id, {"penalty": months(18)}, reason="a secret detail")
    await correct(registry, id, {"penalty": months(24)}, as_=JUDGE_SHANGHAI)
    async with registry.app.state.registry.database.session() as session:
        events = (await session.scalars(select(AuditEvent).where(
            col(AuditEvent.action) == "judgment:correct").order_by(col(AuditEvent.seq)))).all()
    permits = [e for e in events if e.outcome == "permit"]
    assert {(e.sub, e.agency) for e in permits} == {("clerk.dongcheng", "REG-110101")}
    assert any(e.policy_uid == "clerk.corrects-judgments-the-authority-keeps" and
               e.resource_ids == [id] for e in permits)
    assert any(id in e.resource_ids and any(r.startswith("ntc") for r in e.resource_ids)
               for e in permits)  # what changed: the judgment and its correction notice
    [denied] = [e for e in events if e.outcome == "deny"]
    assert (denied.sub, denied.resource_ids) == ("judge.huangpu", [id])
    assert all("a secret detail" not in str(e.detail) for e in events)


# --- the default policies, as a table (STYLE.md §9) -------------------------------------------

def _who(role: str, kind: str, agency: str, region: str) -> dict[str, Any]:
    return {"sub": f"{role}-1", "role": role, "agency": agency, "agency_kind": kind,
            "region": region, "id_number": "", "scopes": []}


def _judgment(court: str = "COURT-110101", keeper: str = "REG-110101", sealed: bool = False,
              person: str = "no") -> dict[str, Any]:
    return {"type": "judgment", "id": "jdg_1", "seal_status": "sealed" if sealed else "open",
            "region": "110101", "owner_agency": court, "authority_agency": keeper,
            "in_requester_division": "yes", "record_kind": "judgment", "verdict": "guilty",
            "corrects_person": person}


REPORTING_JUDGE = _who("judge", "court", "COURT-110101", "110101")
KEEPING_CLERK = _who("registry_clerk", "registration_authority", "REG-110101", "110101")


@pytest.mark.parametrize(("subject", "resource", "allowed"), [
    (REPORTING_JUDGE, _judgment(), True),
    (REPORTING_JUDGE, _judgment(person="yes"), False),
    (REPORTING_JUDGE, _judgment(sealed=True), True),  # the court made it: sealed or not
    (REPORTING_JUDGE, _judgment(sealed=True, person="yes"), False),
    (REPORTING_JUDGE, _judgment(sealed=True, court="COURT-310101"), False),
    (REPORTING_JUDGE, _judgment(sealed=True, court=""), False),
    (_who("judge", "court", "COURT-310101", "310101"), _judgment(), False),
    (_who("judge", "court", "COURT-310101", "310101"), _judgment(sealed=True), False),
    (_who("registry_clerk", "court", "COURT-110101", "110101"), _judgment(sealed=True), False),
    (_who("prosecutor", "court", "COURT-110101", "110101"), _judgment(), False),
    (_who("judge", "registration_authority", "COURT-110101", "110101"), _judgment(), False),
    (KEEPING_CLERK, _judgment(), True),
    (KEEPING_CLERK, _judgment(person="yes", sealed=True), True),
    (_who("registry_clerk", "registration_authority", "REG-110000", "110000"), _judgment(),
     False),
    (_who("registry_clerk", "court", "REG-110101", "110101"), _judgment(), False),
    (_who("registry_clerk", "registration_authority", "", "110101"), _judgment(keeper=""),
     False),
    ({**KEEPING_CLERK, "role": "anonymous"}, _judgment(), False),
])
def test_the_default_correction_policies(subject: dict[str, Any], resource: dict[str, Any],
                                         allowed: bool) -> None:
    decision = DecisionPoint(load_default_documents(), version=1).decide(
        subject, resource, Action.JUDGMENT_CORRECT, {"purpose": ""})
    assert decision.allowed is allowed, decision.reason
