"""CASE_HANDLING and DEFENSE inquiries bound to cases (DESIGN.md §1.3, §1.6; issue 11),
through HTTP on SQLite and PostgreSQL: a case number alone proves nothing.

The refusals are compared byte for byte, apart from the inquiry's id and its times: an
inquiry refused because no case is registered under the number must read exactly like one
refused because another agency handles it, it was transferred away, it is closed, or the
subject is only a victim or witness in it."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select

from api.seed import add_agency
from db.models import Agency, AuditEvent, DefenseCounsel, Inquiry, InquiryRecord, Judgment
from tests.api.test_inquiry_disclosure_table import (
    ALL,
    OPEN,
    SEALED,
    make_person,
)
from tests.api.test_query_count import counting
from tests.cases import add_party, case_of, close, counsel, party, register_case, transfer
from tests.factories import (
    AUDITOR,
    JUDGE,
    JUDGE_SHANGHAI,
    LAWYER,
    POLICE,
    PROSECUTOR,
    Registry,
)

# Every field of an inquiry, the ids and times among them.
SUBMIT = """mutation Submit($input: SubmitInquiryInput!) { submitInquiry(input: $input) {
  id purpose status requester subjectName caseNumber legalBasis consentReference
  submittedAt dueDate overdue decidedAt decidedBy decisionReason
  certificate { number } records { id sealStatus } detentions { id } } }"""
READ = """query Read($id: ID!) { inquiry(id: $id) { id status records { id sealStatus } } }"""
NUMBER = "(2026) Jing Dong Gong Xing Li No. 88"
POLICE_SHANGHAI = ("police.huangpu", "police_officer", "PSB-310101")
PROSECUTOR_SHANGHAI = ("prosecutor.huangpu", "prosecutor", "PROC-310101")


async def inquire(registry: Registry, who: Any, purpose: str, subject: str,
                  number: str = NUMBER) -> dict[str, Any]:
    body = await registry.gql(SUBMIT, {"input": {"purpose": purpose, "subjectIdNumber": subject,
                                                 "caseNumber": number}}, as_=who)
    assert "errors" not in body, body
    return body["data"]["submitInquiry"]  # type: ignore[no-any-return]


def without_ids_and_times(inquiry: dict[str, Any]) -> str:
    """The answer as bytes, but for what differs between any two inquiries."""
    return json.dumps({k: v for k, v in inquiry.items()
                       if k not in ("id", "submittedAt", "decidedAt")}, sort_keys=True)


async def shanghai(registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        for code, kind, name in ((POLICE_SHANGHAI[2], "PUBLIC_SECURITY", "Huangpu Police"),
                                 (PROSECUTOR_SHANGHAI[2], "PROCURATORATE",
                                  "Huangpu Procuratorate")):
            if await session.scalar(select(Agency).where(col(Agency.code) == code)) is None:
                await add_agency(session, code=code, kind=kind, name=name, region="310101")
        await session.commit()


# -- the attack of issue 11 ------------------------------------------------------------------

async def test_sixty_invented_case_numbers_disclose_nothing(registry: Registry) -> None:
    """Any judge, prosecutor, police officer of any region typed "FAKE-0000" to "FAKE-0059"
    and read every sealed record of 12 people. Now each inquiry is rejected, nothing is
    disclosed, and the auditors see 60 rejected inquiries."""
    await shanghai(registry)
    people = [await make_person(registry, {SEALED, OPEN}, tag=f"-{n}") for n in range(12)]
    organs = (JUDGE, JUDGE_SHANGHAI, PROSECUTOR, POLICE, POLICE_SHANGHAI, PROSECUTOR_SHANGHAI)
    answers = set()
    for n in range(60):
        inquiry = await inquire(registry, organs[n % len(organs)], "CASE_HANDLING",
                                people[n % len(people)].id_number, f"FAKE-{n:04d}")
        assert (inquiry["status"], inquiry["records"], inquiry["detentions"],
                inquiry["subjectName"]) == ("REJECTED", None, None, None), inquiry
        # Apart from who asked, and under which number: one answer.
        answers.add(without_ids_and_times({**inquiry, "caseNumber": "", "requester": "",
                                           "decidedBy": ""}))
    assert len(answers) == 1
    async with registry.app.state.registry.database.session() as session:
        disclosed = list(await session.scalars(select(InquiryRecord)))
        reads = list(await session.scalars(select(AuditEvent).where(
            col(AuditEvent.action) == "judgment:read", col(AuditEvent.outcome) == "permit")))
    assert disclosed == [] and reads == []
    listed = await registry.gql("{ inquiries(status: REJECTED) { totalCount } }", as_=AUDITOR)
    assert listed["data"]["inquiries"]["totalCount"] == 60


# -- CASE_HANDLING ------------------------------------------------------------------------------

async def test_a_case_handling_inquiry_is_answered_in_an_open_case_the_agency_handles(
        registry: Registry) -> None:
    person = await make_person(registry, ALL)
    await register_case(registry, POLICE, NUMBER, [party(person.id_number)])
    inquiry = await inquire(registry, POLICE, "CASE_HANDLING", person.id_number)
    assert inquiry["status"] == "APPROVED"
    assert sorted(r["sealStatus"] for r in inquiry["records"]) == ["OPEN", "OPEN", "SEALED"]
    # A colleague of the same agency inquires in it too.
    colleague = ("police.wang", "police_officer", POLICE[2])
    assert (await inquire(registry, colleague, "CASE_HANDLING",
                          person.id_number))["status"] == "APPROVED"


async def test_a_case_handling_inquiry_about_a_defendant_is_answered(registry: Registry) -> None:
    person = await make_person(registry, {OPEN})
    await register_case(registry, JUDGE, NUMBER, [party(person.id_number, "DEFENDANT")])
    assert (await inquire(registry, JUDGE, "CASE_HANDLING",
                          person.id_number))["status"] == "APPROVED"


async def refusals(registry: Registry, who: Any, subject: str, witness: str) -> dict[str, str]:
    """`who`'s (the police's) CASE_HANDLING inquiries under NUMBER as the case goes through
    every state in which they are refused, on one number (so that the answers may be
    compared whole): nobody registered it, another agency handles it, `witness` is no
    accused in it, it was transferred away, it is closed."""
    found = {}

    async def ask(state: str, person: str) -> None:
        found[state] = await inquire(registry, who, "CASE_HANDLING", person)
        assert found[state]["status"] == "REJECTED", (state, found[state])

    await ask("no such case", subject)
    await register_case(registry, JUDGE, NUMBER, [party(subject, "DEFENDANT")], stage="TRIAL")
    await ask("another agency's case", subject)
    await transfer(registry, JUDGE, NUMBER, who, "INVESTIGATION")
    await add_party(registry, who, NUMBER, witness, "WITNESS")
    await add_party(registry, who, NUMBER, witness, "VICTIM")
    await ask("a witness and victim only", witness)
    assert (await inquire(registry, who, "CASE_HANDLING", subject))["status"] == "APPROVED"
    await transfer(registry, who, NUMBER, PROSECUTOR, "PROSECUTION")
    await ask("transferred away", subject)
    await transfer(registry, PROSECUTOR, NUMBER, who, "INVESTIGATION")
    await close(registry, who, NUMBER)
    await ask("closed", subject)
    return {state: without_ids_and_times(inquiry) for state, inquiry in found.items()}


async def test_case_handling_refusals_are_byte_identical_whatever_the_case(
        registry: Registry) -> None:
    subject = (await make_person(registry, ALL)).id_number
    witness = (await make_person(registry, ALL, tag="-w")).id_number
    answers = await refusals(registry, POLICE, subject, witness)
    assert len(set(answers.values())) == 1, answers
    assert json.loads(answers["closed"]) == {
        "purpose": "CASE_HANDLING", "status": "REJECTED", "requester": POLICE[0],
        "subjectName": None, "caseNumber": NUMBER, "legalBasis": None,
        "consentReference": None, "dueDate": None, "overdue": False,
        "decidedBy": POLICE[0],
        "decisionReason": "no open case under this number that your agency is handling has "
                          "this person as a suspect or defendant",
        "certificate": None, "records": None, "detentions": None}


async def test_the_audit_trail_keeps_which_case_state_refused_an_inquiry(
        registry: Registry) -> None:
    """The requester is told one reason; auditors see which it was."""
    subject = (await make_person(registry, {SEALED})).id_number
    await register_case(registry, JUDGE, NUMBER, [party(subject)])
    await register_case(registry, POLICE, "(2026) closed", [party(subject)])
    await close(registry, POLICE, "(2026) closed")
    await register_case(registry, POLICE, "(2026) witness", [party(subject, "WITNESS")])
    for number in ("(2026) nobody's", NUMBER, "(2026) closed", "(2026) witness"):
        await inquire(registry, POLICE, "CASE_HANDLING", subject, number)
    async with registry.app.state.registry.database.session() as session:
        refused = list(await session.scalars(select(AuditEvent).where(
            col(AuditEvent.action) == "inquiry:approve").order_by(col(AuditEvent.seq))))
    assert [(e.outcome, e.case_number, e.detail["case"]) for e in refused] == [
        ("deny", "(2026) nobody's", {"handled_by_requester": "no", "subject_is_accused": "no",
                                     "case_status": "none"}),
        ("deny", NUMBER, {"handled_by_requester": "no", "subject_is_accused": "yes",
                          "case_status": "open"}),
        ("deny", "(2026) closed", {"handled_by_requester": "yes", "subject_is_accused": "yes",
                                   "case_status": "closed"}),
        ("deny", "(2026) witness", {"handled_by_requester": "yes", "subject_is_accused": "no",
                                    "case_status": "open"})]
    assert all(e.inquiry_id and e.resource_ids == [e.inquiry_id] for e in refused)
    assert subject not in json.dumps([e.model_dump(mode="json") for e in refused])


async def test_a_refused_inquiry_runs_the_same_statements_whatever_the_case_number_names(
        registry: Registry) -> None:
    """Not only the answer: the work behind it is the same, so its time tells nothing."""
    subject = (await make_person(registry, {SEALED})).id_number
    await register_case(registry, JUDGE, NUMBER, [party(subject)])
    await register_case(registry, POLICE, "(2026) closed", [party(subject)])
    await close(registry, POLICE, "(2026) closed")
    await register_case(registry, POLICE, "(2026) witness", [party(subject, "WITNESS")])
    run = []
    for number in ("(2026) nobody's", NUMBER, "(2026) closed", "(2026) witness"):
        with counting(registry) as statements:
            assert (await inquire(registry, POLICE, "CASE_HANDLING", subject,
                                  number))["status"] == "REJECTED"
        run.append(statements)
    assert run[0] == run[1] == run[2] == run[3]


async def test_after_a_transfer_the_police_are_refused_and_the_procuratorate_is_answered(
        registry: Registry) -> None:
    person = await make_person(registry, {SEALED})
    await register_case(registry, POLICE, NUMBER, [party(person.id_number)])
    before = await inquire(registry, POLICE, "CASE_HANDLING", person.id_number)
    assert before["status"] == "APPROVED"
    await transfer(registry, POLICE, NUMBER, PROSECUTOR, "PROSECUTION")
    refused = await inquire(registry, POLICE, "CASE_HANDLING", person.id_number)
    assert (refused["status"], refused["records"]) == ("REJECTED", None)
    answered = await inquire(registry, PROSECUTOR, "CASE_HANDLING", person.id_number)
    assert [r["sealStatus"] for r in answered["records"]] == ["SEALED"]
    # What the police were answered before the transfer stays theirs to read again.
    again = await registry.gql(READ, {"id": before["id"]}, as_=POLICE)
    assert again["data"]["inquiry"]["records"] == before["records"]


async def test_closing_a_case_ends_its_inquiries_and_keeps_what_was_answered(
        registry: Registry) -> None:
    person = await make_person(registry, {OPEN, SEALED})
    await register_case(registry, JUDGE, NUMBER, [party(person.id_number, "DEFENDANT")])
    answered = await inquire(registry, JUDGE, "CASE_HANDLING", person.id_number)
    await close(registry, JUDGE, NUMBER)
    refused = await inquire(registry, JUDGE, "CASE_HANDLING", person.id_number)
    assert (refused["status"], refused["records"]) == ("REJECTED", None)
    again = await registry.gql(READ, {"id": answered["id"]}, as_=JUDGE)
    assert again["data"]["inquiry"]["records"] == answered["records"]


# -- DEFENSE ----------------------------------------------------------------------------------

async def test_defense_refusals_are_byte_identical_whatever_the_case(registry: Registry) -> None:
    client = (await make_person(registry, ALL)).id_number
    victim = (await make_person(registry, ALL, tag="-v")).id_number
    found: dict[str, dict[str, Any]] = {}

    async def ask(state: str, person: str) -> None:
        found[state] = await inquire(registry, LAWYER, "DEFENSE", person)
        assert found[state]["status"] == "REJECTED", (state, found[state])

    await ask("no such case", client)
    await insert_legacy_counsel(registry, NUMBER, client)
    await ask("counsel before cases, no case", client)
    await register_case(registry, POLICE, NUMBER, [party(client), party(victim, "VICTIM")])
    await ask("counsel before cases, case registered since", client)
    await ask("a victim", victim)
    await counsel(registry, POLICE, NUMBER, "lawyer.li", client)
    await ask("another lawyer is counsel", client)
    await counsel(registry, POLICE, NUMBER, LAWYER[0], client)
    assert (await inquire(registry, LAWYER, "DEFENSE", client))["status"] == "APPROVED"
    await ask("counsel for another person", victim)
    await close(registry, POLICE, NUMBER)
    await ask("closed", client)
    answers = {state: without_ids_and_times(inquiry) for state, inquiry in found.items()}
    assert len(set(answers.values())) == 1, answers
    assert json.loads(answers["closed"])["decisionReason"] == (
        "no open case under this number has you registered as defense counsel for this "
        "person as a suspect or defendant")


async def insert_legacy_counsel(registry: Registry, number: str, suspect: str) -> None:
    """A counsel registration as a registry before cases (revision 0007) kept it: by any
    organ, for a case number nobody registered."""
    async with registry.app.state.registry.database.session() as session:
        police = await session.scalar(select(Agency).where(col(Agency.code) == POLICE[2]))
        assert police is not None and police.id is not None
        session.add(DefenseCounsel(case_number=number, lawyer_sub=LAWYER[0],
                                   suspect_id_number=suspect, registered_by="police.x",
                                   registered_by_agency_id=police.id))
        await session.commit()


async def test_counsel_registered_before_cases_grants_no_new_inquiry_until_registered_again(
        registry: Registry) -> None:
    person = await make_person(registry, {OPEN})
    await insert_legacy_counsel(registry, NUMBER, person.id_number)
    await register_case(registry, POLICE, NUMBER, [party(person.id_number)])
    case = await registry.gql("query ($c: String!) { case(caseNumber: $c) { counsel } }",
                              {"c": NUMBER}, as_=POLICE)
    assert case == {"data": {"case": {"counsel": []}}}
    assert (await inquire(registry, LAWYER, "DEFENSE", person.id_number))["status"] == \
        "REJECTED"
    await counsel(registry, POLICE, NUMBER, LAWYER[0], person.id_number)
    assert (await inquire(registry, LAWYER, "DEFENSE", person.id_number))["status"] == \
        "APPROVED"
    async with registry.app.state.registry.database.session() as session:
        rows = list(await session.scalars(select(DefenseCounsel).order_by(
            col(DefenseCounsel.id))))
    assert [(r.registered_by, r.case_id is None) for r in rows] == [
        ("police.x", True), (POLICE[0], False)]


async def test_a_defense_inquiry_answered_before_cases_stays_readable(
        registry: Registry) -> None:
    """What migration 0008 keeps: an inquiry approved under a registration from before
    cases (is_counsel set by the migration) reads as it was answered."""
    person = await make_person(registry, {OPEN, SEALED})
    await insert_legacy_counsel(registry, NUMBER, person.id_number)
    async with registry.app.state.registry.database.session() as session:
        law_firm = await session.scalar(select(Agency).where(col(Agency.code) == LAWYER[2]))
        judgments = list(await session.scalars(select(Judgment).where(
            col(Judgment.seal_status) == "open")))
        assert law_firm is not None
        inquiry = Inquiry(purpose="DEFENSE", status="APPROVED", requester_sub=LAWYER[0],
                          requester_role=LAWYER[1], requester_agency_id=law_firm.id,
                          region="110101", subject_id_number=person.id_number,
                          case_number=NUMBER, is_counsel=True)
        session.add(inquiry)
        await session.flush()
        # It disclosed the open judgment (a sealed one never reaches counsel).
        session.add_all([InquiryRecord(inquiry_id=inquiry.id or 0, record_type="judgment",
                                       record_id=j.id or 0) for j in judgments])
        await session.commit()
        public_id = inquiry.public_id
    read = await registry.gql(READ, {"id": public_id}, as_=LAWYER)
    assert [r["sealStatus"] for r in read["data"]["inquiry"]["records"]] == ["OPEN"]


async def test_counsel_stays_counsel_when_the_case_is_handed_on_until_it_is_closed(
        registry: Registry) -> None:
    person = await make_person(registry, {OPEN})
    await case_of(registry, POLICE, NUMBER, person.id_number)
    await counsel(registry, POLICE, NUMBER, LAWYER[0], person.id_number)
    await transfer(registry, POLICE, NUMBER, PROSECUTOR, "PROSECUTION")
    await transfer(registry, PROSECUTOR, NUMBER, JUDGE, "TRIAL")
    assert (await inquire(registry, LAWYER, "DEFENSE", person.id_number))["status"] == \
        "APPROVED"
    await close(registry, JUDGE, NUMBER)
    assert (await inquire(registry, LAWYER, "DEFENSE", person.id_number))["status"] == \
        "REJECTED"
