"""Inquiries by purpose, examination, certificates (DESIGN.md §1.3, §1.4), through HTTP, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from api.seed import add_agency
from db.models import AuditEvent, Inquiry
from policies.store import delete_policy
from tests.cases import case_of, counsel
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    EMPLOYER,
    JUDGE,
    JUDGE_SHANGHAI,
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

SUBMIT = """mutation Submit($input: SubmitInquiryInput!) { submitInquiry(input: $input) {
  id purpose status requester subjectName caseNumber decisionReason dueDate overdue
  certificate { number kind hasCriminalRecord issuedAt }
  records { id judgmentNumber sealStatus offender { name idNumber } }
  detentions { id kind } } }"""
DECIDE = """mutation Decide($id: ID!, $approve: Boolean!, $reason: String!) {
  decideInquiry(id: $id, approve: $approve, reason: $reason) {
    id status decidedBy decisionReason certificate { number kind hasCriminalRecord } } }"""
READ = """query Read($id: ID!) { inquiry(id: $id) { id status purpose
  records { id sealStatus } certificate { number } } }"""
VERIFY = """query Verify($number: String!) { verifyCertificate(number: $number) {
  number kind purpose hasCriminalRecord issuedAt } }"""
LIST = "{ inquiries { totalCount edges { node { id purpose status } } } }"


def individual(number: str) -> tuple[str, str, None, str]:
    return (f"person.{number[-4:]}", "individual", None, number)


async def person_with(registry: Registry, *judgments: dict[str, Any]) -> str:
    """A person of Dongcheng with these judgments (overrides of report_input)."""
    number = id_number(birth=datetime(2008, 1, 1).date())
    for overrides in judgments:
        report = report_input(**overrides)
        report["defendant"].update(idNumber=number, birthDate="2008-01-01", name="Sun Li")
        body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
        assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
    return number


ADULT = {"offenseDate": "2026-03-02"}                       # 18 and more: open
MINOR = {"offenseDate": "2025-06-01"}                       # 17, 12 months: sealed
ACQUITTED: dict[str, Any] = {}


async def submit(registry: Registry, who: Any, purpose: str, subject: str,
                 **fields: Any) -> dict[str, Any]:
    body = await registry.gql(SUBMIT, {"input": {"purpose": purpose, "subjectIdNumber": subject,
                                                 **fields}}, as_=who)
    return body


def inquiry_of(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]["submitInquiry"]  # type: ignore[no-any-return]


# -- CASE_HANDLING ---------------------------------------------------------------------

async def test_a_judge_inquires_for_a_case_and_reads_every_judgment_sealed_ones_marked(
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT, MINOR)
    number = await case_of(registry, JUDGE, "(2026) Jing 0101 Xing Chu No. 9", subject)
    inquiry = inquiry_of(await submit(registry, JUDGE, "CASE_HANDLING", subject,
                                      caseNumber=number))
    assert inquiry["status"] == "APPROVED"
    assert sorted(r["sealStatus"] for r in inquiry["records"]) == ["OPEN", "SEALED"]
    assert {r["offender"]["idNumber"] for r in inquiry["records"]} == {subject}
    assert inquiry["subjectName"] == "Sun Li"
    assert inquiry["certificate"] is None


@pytest.mark.parametrize("who", [JUDGE, PROSECUTOR, POLICE])
async def test_every_case_handling_organ_is_answered_at_once(registry: Registry,
                                                            who: Any) -> None:
    subject = await person_with(registry, ADULT)
    await case_of(registry, who, "C-1", subject)
    inquiry = inquiry_of(await submit(registry, who, "CASE_HANDLING", subject,
                                      caseNumber="C-1"))
    assert (inquiry["status"], len(inquiry["records"])) == ("APPROVED", 1)


async def test_case_handling_needs_a_case_number(registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    body = await submit(registry, JUDGE, "CASE_HANDLING", subject)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT",
                                               "field": "input.caseNumber"}


async def test_a_case_handling_inquiry_discloses_detention_records(registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    for kind in ("CRIMINAL", "ADMINISTRATIVE"):
        detention = detention_input(kind=kind)
        detention["person"].update(idNumber=subject, birthDate="2008-01-01", name="Sun Li")
        body = await registry.gql(REGISTER_DETENTION, {"input": detention}, as_=POLICE)
        assert "errors" not in body, body
    await case_of(registry, JUDGE, "C-2", subject)
    inquiry = inquiry_of(await submit(registry, JUDGE, "CASE_HANDLING", subject,
                                      caseNumber="C-2"))
    assert sorted(d["kind"] for d in inquiry["detentions"]) == ["ADMINISTRATIVE", "CRIMINAL"]


async def test_each_disclosure_of_a_sealed_record_is_audited_as_such(registry: Registry) -> None:
    subject = await person_with(registry, MINOR)
    await case_of(registry, JUDGE, "C-3", subject)
    inquiry = inquiry_of(await submit(registry, JUDGE, "CASE_HANDLING", subject,
                                      caseNumber="C-3"))
    [sealed] = [r["id"] for r in inquiry["records"]]
    async with registry.app.state.registry.database.session() as session:
        events = list(await session.scalars(select(AuditEvent).where(
            col(AuditEvent.action) == "judgment:read", col(AuditEvent.sub) == JUDGE[0],
            col(AuditEvent.outcome) == "permit")))
    assert [(e.purpose, e.inquiry_id, e.case_number, e.detail.get("sealed_disclosed"))
            for e in events] == [("case_handling", inquiry["id"], "C-3", [sealed])]


async def test_a_result_serves_its_inquiry_alone(registry: Registry) -> None:
    subject = await person_with(registry, ADULT, MINOR)
    await case_of(registry, JUDGE, "C-4", subject)
    inquiry = inquiry_of(await submit(registry, JUDGE, "CASE_HANDLING", subject,
                                      caseNumber="C-4"))
    # The records are not readable outside the inquiry, even by the judge who asked.
    for record in inquiry["records"]:
        direct = await registry.gql("query ($id: ID!) { judgment(id: $id) { id } }",
                                    {"id": record["id"]}, as_=JUDGE)
        assert direct == {"data": {"judgment": None}}
    # An auditor reads the inquiry and its decision, not the records it disclosed.
    audited = await registry.gql(READ, {"id": inquiry["id"]}, as_=AUDITOR)
    assert audited["data"]["inquiry"]["records"] == []
    # Another judge does not see the inquiry at all.
    other = await registry.gql(READ, {"id": inquiry["id"]}, as_=JUDGE_SHANGHAI)
    assert other == {"data": {"inquiry": None}}


# -- DEFENSE -------------------------------------------------------------------------------

async def test_a_lawyer_who_is_not_counsel_gets_a_rejected_inquiry_with_a_reason_and_no_records(
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    await case_of(registry, PROSECUTOR, "C-5", subject)
    inquiry = inquiry_of(await submit(registry, LAWYER, "DEFENSE", subject, caseNumber="C-5"))
    assert inquiry["status"] == "REJECTED"
    assert inquiry["decisionReason"] == ("no open case under this number has you registered "
                                         "as defense counsel for this person as a suspect or "
                                         "defendant")
    assert inquiry["records"] is None


async def test_registered_counsel_reads_the_open_judgments_and_never_a_sealed_one(
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT, MINOR)
    await case_of(registry, PROSECUTOR, "C-6", subject)
    await case_of(registry, PROSECUTOR, "C-7", subject)
    await counsel(registry, PROSECUTOR, "C-6", LAWYER[0], subject)
    inquiry = inquiry_of(await submit(registry, LAWYER, "DEFENSE", subject, caseNumber="C-6"))
    assert inquiry["status"] == "APPROVED"
    assert [r["sealStatus"] for r in inquiry["records"]] == ["OPEN"]
    # Counsel in case C-6 is not counsel in another case.
    other = inquiry_of(await submit(registry, LAWYER, "DEFENSE", subject, caseNumber="C-7"))
    assert (other["status"], other["records"]) == ("REJECTED", None)


# -- examined inquiries and result letters --------------------------------------------------

async def test_an_employer_inquiry_is_examined_and_answered_with_a_result_letter(
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    pending = inquiry_of(await submit(registry, EMPLOYER, "EMPLOYMENT", subject,
                                      legalBasis="Road Traffic Safety Law art. 100",
                                      consentReference="consent-2026-117"))
    assert (pending["status"], pending["certificate"], pending["records"]) == (
        "PENDING", None, None)
    assert pending["dueDate"] and pending["overdue"] is False
    decided = await registry.gql(DECIDE, {"id": pending["id"], "approve": True,
                                          "reason": "legal basis verified"}, as_=POLICE)
    answer = decided["data"]["decideInquiry"]
    assert (answer["status"], answer["decidedBy"]) == ("APPROVED", POLICE[0])
    assert answer["certificate"]["kind"] == "RESULT_LETTER"
    assert answer["certificate"]["hasCriminalRecord"] is True


async def test_a_society_inquiry_needs_a_legal_basis_and_consent(registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    body = await submit(registry, EMPLOYER, "EMPLOYMENT", subject, legalBasis="law")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT",
                                               "field": "input.consentReference"}
    body = await submit(registry, EMPLOYER, "EMPLOYMENT", subject, consentReference="c")
    assert body["errors"][0]["extensions"]["field"] == "input.legalBasis"


async def test_an_examiner_rejects_with_a_reason_and_nothing_is_disclosed(
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    pending = inquiry_of(await submit(registry, EMPLOYER, "EMPLOYMENT", subject,
                                      legalBasis="none given", consentReference="c"))
    decided = await registry.gql(DECIDE, {"id": pending["id"], "approve": False,
                                          "reason": "no law bars the post"}, as_=POLICE)
    answer = decided["data"]["decideInquiry"]
    assert (answer["status"], answer["decisionReason"], answer["certificate"]) == (
        "REJECTED", "no law bars the post", None)


async def test_only_an_accepting_agency_may_decide_and_only_once(registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    pending = inquiry_of(await submit(registry, EMPLOYER, "EMPLOYMENT", subject,
                                      legalBasis="law", consentReference="c"))
    for who in (EMPLOYER, JUDGE, CLERK_DONGCHENG):
        body = await registry.gql(DECIDE, {"id": pending["id"], "approve": True,
                                           "reason": "x"}, as_=who)
        assert body["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "BAD_USER_INPUT")
    await registry.gql(DECIDE, {"id": pending["id"], "approve": False, "reason": "x"},
                       as_=POLICE)
    again = await registry.gql(DECIDE, {"id": pending["id"], "approve": True, "reason": "y"},
                               as_=POLICE)
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_a_result_letter_never_counts_sealed_records_detentions_or_acquittals(
        registry: Registry) -> None:
    subject = await person_with(registry, MINOR)
    detention = detention_input()
    detention["person"].update(idNumber=subject, birthDate="2008-01-01")
    await registry.gql(REGISTER_DETENTION, {"input": detention}, as_=POLICE)
    pending = inquiry_of(await submit(registry, EMPLOYER, "EMPLOYMENT", subject,
                                      legalBasis="law", consentReference="c"))
    decided = await registry.gql(DECIDE, {"id": pending["id"], "approve": True,
                                          "reason": "ok"}, as_=POLICE)
    assert decided["data"]["decideInquiry"]["certificate"]["hasCriminalRecord"] is False


async def test_a_society_inquiry_pending_after_3_working_days_is_overdue(
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    pending = inquiry_of(await submit(registry, EMPLOYER, "EMPLOYMENT", subject,
                                      legalBasis="law", consentReference="c"))
    async with registry.app.state.registry.database.session() as session:
        row = await session.scalar(select(Inquiry).where(
            col(Inquiry.public_id) == pending["id"]))
        assert row is not None
        row.due_date = (datetime.now(UTC) - timedelta(days=1)).date()
        await session.commit()
    body = await registry.gql("query ($id: ID!) { inquiry(id: $id) { overdue } }",
                              {"id": pending["id"]}, as_=POLICE)
    assert body["data"]["inquiry"]["overdue"] is True
    overdue = await registry.gql("{ inquiries(overdue: true) { edges { node { id } } } }",
                                 as_=POLICE)
    assert [e["node"]["id"] for e in overdue["data"]["inquiries"]["edges"]] == [pending["id"]]
    on_time = await registry.gql("{ inquiries(overdue: false) { totalCount } }", as_=POLICE)
    assert on_time["data"]["inquiries"]["totalCount"] == 0


# -- SELF and certificates ----------------------------------------------------------------

async def test_an_individual_gets_a_certificate_of_no_criminal_record_or_a_refusal_notice(
        registry: Registry) -> None:
    clean = id_number(region="110105")
    inquiry = inquiry_of(await submit(registry, individual(clean), "SELF", clean))
    assert inquiry["status"] == "APPROVED"
    assert (inquiry["certificate"]["kind"], inquiry["certificate"]["hasCriminalRecord"]) == (
        "NO_RECORD_CERTIFICATE", False)
    convicted = await person_with(registry, ADULT)
    refused = inquiry_of(await submit(registry, individual(convicted), "SELF", convicted))
    assert (refused["certificate"]["kind"], refused["certificate"]["hasCriminalRecord"]) == (
        "REFUSAL_NOTICE", True)


async def test_someone_whose_only_records_are_sealed_gets_the_same_certificate_as_someone_without(  # noqa: E501
        registry: Registry) -> None:
    sealed_only = await person_with(registry, MINOR)
    nobody = id_number(region="110105")
    certificates = []
    for number in (sealed_only, nobody):
        inquiry = inquiry_of(await submit(registry, individual(number), "SELF", number))
        certificates.append({k: v for k, v in inquiry["certificate"].items()
                             if k not in ("number", "issuedAt")})
        assert inquiry["subjectName"] is None and inquiry["records"] is None
    assert certificates[0] == certificates[1] == {"kind": "NO_RECORD_CERTIFICATE",
                                                  "hasCriminalRecord": False}


async def test_an_individual_may_not_inquire_about_someone_else(registry: Registry) -> None:
    me, other = id_number(region="110105"), await person_with(registry, ADULT)
    body = await submit(registry, individual(me), "SELF", other)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with registry.app.state.registry.database.session() as session:
        assert list(await session.scalars(select(Inquiry))) == []


async def test_a_certificate_is_frozen_when_issued_and_verified_for_what_it_said(
        registry: Registry) -> None:
    number = id_number(region="110105")
    issued = inquiry_of(await submit(registry, individual(number), "SELF", number))
    certificate = issued["certificate"]
    later = report_input(offenseDate="2026-03-02")
    later["defendant"].update(idNumber=number, residenceRegion="110105")
    await registry.gql(REPORT, {"input": later}, as_=JUDGE)
    again = await registry.gql(READ, {"id": issued["id"]}, as_=individual(number))
    assert again["data"]["inquiry"]["certificate"]["number"] == certificate["number"]
    verified = await registry.gql(VERIFY, {"number": certificate["number"]}, as_=EMPLOYER)
    assert verified["data"]["verifyCertificate"] == {
        "number": certificate["number"], "kind": "NO_RECORD_CERTIFICATE", "purpose": "SELF",
        "hasCriminalRecord": False, "issuedAt": certificate["issuedAt"]}
    fake = await registry.gql(VERIFY, {"number": "CRC-2026-AAAA-BBBB-CCCC"}, as_=EMPLOYER)
    assert fake == {"data": {"verifyCertificate": None}}


# -- who may do what -----------------------------------------------------------------------

@pytest.mark.parametrize(("who", "purpose"), [
    (EMPLOYER, "CASE_HANDLING"), (LAWYER, "CASE_HANDLING"), (CLERK_DONGCHENG, "CASE_HANDLING"),
    (JUDGE, "EMPLOYMENT"), (AUDITOR, "DEFENSE"), (POLICE, "SELF"), (EMPLOYER, "DEFENSE"),
    (EMPLOYER, "ENLISTMENT"), (EMPLOYER, "CONTINUING_EDUCATION"),
])
async def test_nobody_inquires_for_a_purpose_the_table_does_not_give_them(
        registry: Registry, who: Any, purpose: str) -> None:
    subject = await person_with(registry, ADULT)
    body = await submit(registry, who, purpose, subject, caseNumber="C-9", legalBasis="law",
                        consentReference="c")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


RECRUITER = ("recruiter.beijing", "recruiter", "MIL-110101")
SCHOOL = ("admissions.dongcheng", "school", "SCH-110101")
# DESIGN.md 1.3: each unit inquires for its own purpose only.
PURPOSE_OF = {"employer": "EMPLOYMENT", "recruiter": "ENLISTMENT",
              "school": "CONTINUING_EDUCATION"}


async def add_units(registry: Registry) -> dict[str, Any]:
    """A military recruitment office and a school beside the demo employer."""
    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code="MIL-110101", kind="MILITARY",
                         name="Dongcheng Recruitment Office", region="110101")
        await add_agency(session, code="SCH-110101", kind="SCHOOL",
                         name="Dongcheng Adult Education College", region="110101")
        await session.commit()
    return {"employer": EMPLOYER, "recruiter": RECRUITER, "school": SCHOOL}


@pytest.mark.parametrize(("unit", "purpose"), [
    (unit, purpose) for unit in PURPOSE_OF for purpose in PURPOSE_OF.values()
    if purpose != PURPOSE_OF[unit]])
async def test_a_unit_inquires_for_its_own_purpose_only(
        registry: Registry, unit: str, purpose: str) -> None:
    """An employer's ENLISTMENT inquiry, a school's EMPLOYMENT one: refused, nothing stored,
    while the unit's own purpose is sent for examination."""
    units = await add_units(registry)
    subject = await person_with(registry, ADULT)
    body = await submit(registry, units[unit], purpose, subject,
                        legalBasis="Military Service Law art. 20", consentReference="c-1")
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    listed = await registry.gql(LIST, as_=AUDITOR)
    assert listed["data"]["inquiries"]["totalCount"] == 0, listed
    own = inquiry_of(await submit(registry, units[unit], PURPOSE_OF[unit], subject,
                                  legalBasis="law", consentReference="c-2"))
    assert (own["purpose"], own["status"]) == (PURPOSE_OF[unit], "PENDING")


async def test_record_management_is_not_an_inquiry(registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    body = await submit(registry, CLERK_DONGCHENG, "RECORD_MANAGEMENT", subject)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT",
                                               "field": "input.purpose"}


async def test_who_sees_an_inquiry_its_requester_its_examiners_and_auditors(
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    pending = inquiry_of(await submit(registry, EMPLOYER, "EMPLOYMENT", subject,
                                      legalBasis="law", consentReference="c"))
    for who in (EMPLOYER, POLICE, AUDITOR):
        listed = await registry.gql(LIST, as_=who)
        assert [e["node"]["id"] for e in listed["data"]["inquiries"]["edges"]] == [
            pending["id"]], who
    for who in (JUDGE, LAWYER, CLERK_DONGCHENG):
        listed = await registry.gql(LIST, as_=who)
        assert listed["data"]["inquiries"]["totalCount"] == 0, who
        read = await registry.gql(READ, {"id": pending["id"]}, as_=who)
        assert read == {"data": {"inquiry": None}}


async def test_the_table_is_policy_a_security_admin_edit_changes_what_happens(
        registry: Registry) -> None:
    number = id_number(region="110105")
    assert inquiry_of(await submit(registry, individual(number), "SELF", number))["status"] \
        == "APPROVED"
    async with registry.app.state.registry.database.session() as session:
        assert await delete_policy(session, "self.individual-inquires-about-themselves",
                                   author="security.admin")
        await session.commit()
    body = await submit(registry, individual(number), "SELF", number)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_auditor_reads_an_inquiry_without_learning_whom_it_disclosed(
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    await case_of(registry, JUDGE, "C-10", subject)
    inquiry = inquiry_of(await submit(registry, JUDGE, "CASE_HANDLING", subject,
                                      caseNumber="C-10"))
    body = await registry.gql("query ($id: ID!) { inquiry(id: $id) { status subjectName } }",
                              {"id": inquiry["id"]}, as_=AUDITOR)
    assert body["data"]["inquiry"] == {"status": "APPROVED", "subjectName": None}


async def test_two_examiners_deciding_at_once_decide_once(registry: Registry) -> None:
    import asyncio

    subject = await person_with(registry, ADULT)
    pending = inquiry_of(await submit(registry, EMPLOYER, "EMPLOYMENT", subject,
                                      legalBasis="law", consentReference="c"))
    bodies = await asyncio.gather(*(
        registry.gql(DECIDE, {"id": pending["id"], "approve": approve, "reason": "x"},
                     as_=POLICE) for approve in (True, False, True, False)))
    codes = sorted(b["errors"][0]["extensions"]["code"] for b in bodies if "errors" in b)
    assert codes == ["CONFLICT"] * 3, bodies
