"""Attempts to get more out of an inquiry than its purpose allows (DESIGN.md §1.3, §1.4;
issue 4), through HTTP on SQLite and PostgreSQL: reading someone else's inquiry, reading a
disclosed record outside its inquiry, counsel of one case asking in another, an individual
asking about someone else, an employer deciding its own inquiry, an examiner outside the
employer's division, and a certificate number that says more than it should."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from api.seed import add_agency
from db.models import Detention, Inquiry
from tests.api.test_inquiry_disclosure_table import (
    ADMINISTRATIVE,
    ALL,
    CASE,
    CRIMINAL,
    DECIDE,
    NAME,
    OPEN,
    OTHER_CASE,
    OTHER_LAWYER,
    READ,
    SEALED,
    Principal,
    individual,
    make_person,
    register_counsel,
    submit,
)
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    CLOSE_DETENTION,
    EMPLOYER,
    JA_OFFICER,
    JUDGE,
    JUDGE_SHANGHAI,
    LAWYER,
    POLICE,
    PROSECUTOR,
    REGISTER_DETENTION,
    Registry,
    detention_input,
    id_number,
)

POLICE_SHANGHAI = ("police.huangpu", "police_officer", "PSB-310101")
EMPLOYER_SHANGHAI = ("hr.shanghai", "employer", "EMP-310101")
LIST = """{ inquiries { totalCount edges { node { id subjectName records { id }
  detentions { id } certificate { number hasCriminalRecord } } } } }"""


def approved(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    inquiry: dict[str, Any] = body["data"]["submitInquiry"]
    return inquiry


async def shanghai_agencies(registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code=POLICE_SHANGHAI[2], kind="PUBLIC_SECURITY",
                         name="Huangpu Public Security Sub-bureau", region="310101")
        await add_agency(session, code=EMPLOYER_SHANGHAI[2], kind="EMPLOYER",
                         name="Shanghai Ferry Company", region="310101")
        await session.commit()


async def status_of(registry: Registry, public_id: str) -> str:
    async with registry.app.state.registry.database.session() as session:
        row = await session.scalar(select(Inquiry).where(col(Inquiry.public_id) == public_id))
        assert row is not None
        status: str = row.status
        return status


# -- someone else's inquiry --------------------------------------------------------------------

@pytest.mark.parametrize("who", [
    JUDGE_SHANGHAI, PROSECUTOR, POLICE, LAWYER, OTHER_LAWYER, EMPLOYER, CLERK_DONGCHENG,
    JA_OFFICER, ("judge.other", "judge", "COURT-110101"),
])
async def test_nobody_but_its_requester_reads_a_case_handling_inquiry(
        registry: Registry, who: Principal) -> None:
    person = await make_person(registry, ALL)
    inquiry = approved(await submit(registry, JUDGE, "CASE_HANDLING", person.id_number))
    assert len(inquiry["records"]) == 3 and len(inquiry["detentions"]) == 2
    assert await registry.gql(READ, {"id": inquiry["id"]}, as_=who) == {
        "data": {"inquiry": None}}
    listed = await registry.gql(LIST, as_=who)
    assert listed["data"]["inquiries"] == {"totalCount": 0, "edges": []}


async def test_the_subject_does_not_read_a_case_handling_inquiry_about_themselves(
        registry: Registry) -> None:
    person = await make_person(registry, ALL)
    inquiry = approved(await submit(registry, JUDGE, "CASE_HANDLING", person.id_number))
    me = individual(person.id_number)
    assert await registry.gql(READ, {"id": inquiry["id"]}, as_=me) == {
        "data": {"inquiry": None}}


async def test_an_auditor_reads_the_inquiry_and_its_decision_not_what_it_disclosed(
        registry: Registry) -> None:
    person = await make_person(registry, ALL)
    inquiry = approved(await submit(registry, JUDGE, "CASE_HANDLING", person.id_number))
    audited = await registry.gql(READ, {"id": inquiry["id"]}, as_=AUDITOR)
    answer = audited["data"]["inquiry"]
    assert (answer["status"], answer["records"], answer["detentions"]) == (
        "APPROVED", [], [])


async def test_an_auditor_cannot_tell_a_case_inquiry_on_a_sealed_record_from_one_on_nobody(
        registry: Registry) -> None:
    """A sealed record does not exist for anyone but a case-handling organ (DESIGN.md
    §1.4): an auditor reading two judges' inquiries, one about a person whose only record
    is sealed and one about a person without records, sees the same thing."""
    sealed = await make_person(registry, {SEALED})
    nobody = id_number(region="110101")
    answers = []
    for number in (sealed.id_number, nobody):
        inquiry = approved(await submit(registry, JUDGE, "CASE_HANDLING", number))
        audited = await registry.gql(READ, {"id": inquiry["id"]}, as_=AUDITOR)
        answers.append({k: v for k, v in audited["data"]["inquiry"].items() if k != "id"})
    assert answers[0] == answers[1], answers


async def test_another_lawyer_of_the_same_firm_does_not_read_counsels_inquiry(
        registry: Registry) -> None:
    person = await make_person(registry, {OPEN})
    await register_counsel(registry, LAWYER[0], person.id_number)
    inquiry = approved(await submit(registry, LAWYER, "DEFENSE", person.id_number))
    assert [r["sealStatus"] for r in inquiry["records"]] == ["OPEN"]
    assert await registry.gql(READ, {"id": inquiry["id"]}, as_=OTHER_LAWYER) == {
        "data": {"inquiry": None}}


# -- a disclosed record outside its inquiry -------------------------------------------------------

DIRECT = """query ($j: ID!, $o: ID!, $n: String!) {
  judgment(id: $j) { id sealStatus }
  offender(id: $o) { id name judgments { totalCount } detentions { id } }
  judgments(filter: {idNumber: $n}) { totalCount edges { node { id } } }
  offenders(filter: {idNumber: $n}) { totalCount edges { node { id } } } }"""
NOTHING = {"judgment": None, "offender": None,
           "judgments": {"totalCount": 0, "edges": []},
           "offenders": {"totalCount": 0, "edges": []}}


@pytest.mark.parametrize(("who", "purpose"), [(JUDGE, "CASE_HANDLING"),
                                              (PROSECUTOR, "CASE_HANDLING"),
                                              (LAWYER, "DEFENSE")])
async def test_a_record_disclosed_by_an_inquiry_is_not_readable_directly_afterwards(
        registry: Registry, who: Principal, purpose: str) -> None:
    person = await make_person(registry, {OPEN, SEALED})
    await register_counsel(registry, LAWYER[0], person.id_number)
    inquiry = approved(await submit(registry, who, purpose, person.id_number))
    for record in inquiry["records"]:
        direct = await registry.gql(DIRECT, {"j": record["id"],
                                             "o": record["offender"]["id"],
                                             "n": person.id_number}, as_=who)
        assert direct == {"data": NOTHING}, direct


async def test_reading_the_inquiry_in_the_same_request_lends_its_purpose_to_nothing_else(
        registry: Registry) -> None:
    person = await make_person(registry, {OPEN, SEALED})
    inquiry = approved(await submit(registry, JUDGE, "CASE_HANDLING", person.id_number))
    sealed = next(r for r in inquiry["records"] if r["sealStatus"] == "SEALED")
    query = """query ($i: ID!, $j: ID!, $o: ID!, $n: String!) {
      inquiry(id: $i) { records { id sealStatus } }
      judgment(id: $j) { id sealStatus }
      offender(id: $o) { id }
      judgments(filter: {idNumber: $n}) { totalCount } }"""
    body = await registry.gql(query, {"i": inquiry["id"], "j": sealed["id"],
                                      "o": sealed["offender"]["id"], "n": person.id_number},
                              as_=JUDGE)
    assert len(body["data"]["inquiry"]["records"]) == 2
    assert (body["data"]["judgment"], body["data"]["offender"],
            body["data"]["judgments"]["totalCount"]) == (None, None, 0), body


async def test_counsel_reaches_no_sealed_record_and_no_detention_through_the_disclosed_person(
        registry: Registry) -> None:
    person = await make_person(registry, ALL)
    await register_counsel(registry, LAWYER[0], person.id_number)
    query = """mutation ($input: SubmitInquiryInput!) { submitInquiry(input: $input) {
      records { sealStatus offender { judgments { totalCount edges { node { id sealStatus } } }
        detentions { id kind } } } } }"""
    body = await registry.gql(query, {"input": {"purpose": "DEFENSE", "caseNumber": CASE,
                                                "subjectIdNumber": person.id_number}},
                              as_=LAWYER)
    records = body["data"]["submitInquiry"]["records"]
    assert sorted(r["sealStatus"] for r in records) == ["OPEN", "OPEN"]
    for record in records:
        assert "SEALED" not in str(record["offender"]["judgments"])
        assert record["offender"]["detentions"] == []


# -- counsel of another case, another person ------------------------------------------------------

async def test_counsel_in_case_a_asking_in_case_b_is_rejected_with_nothing_disclosed(
        registry: Registry) -> None:
    person = await make_person(registry, ALL)
    await register_counsel(registry, LAWYER[0], person.id_number, case=CASE)
    inquiry = approved(await submit(registry, LAWYER, "DEFENSE", person.id_number,
                                    caseNumber=OTHER_CASE))
    assert (inquiry["status"], inquiry["records"], inquiry["subjectName"]) == (
        "REJECTED", None, None)


async def test_counsel_of_one_suspect_asking_about_another_person_of_the_case_is_rejected(
        registry: Registry) -> None:
    client = await make_person(registry, {OPEN})
    other = await make_person(registry, {OPEN})
    await register_counsel(registry, LAWYER[0], client.id_number)
    inquiry = approved(await submit(registry, LAWYER, "DEFENSE", other.id_number))
    assert (inquiry["status"], inquiry["records"]) == ("REJECTED", None)


async def test_counsel_registered_by_another_lawyer_is_not_counsel(registry: Registry) -> None:
    person = await make_person(registry, {OPEN})
    await register_counsel(registry, OTHER_LAWYER[0], person.id_number)
    inquiry = approved(await submit(registry, LAWYER, "DEFENSE", person.id_number))
    assert (inquiry["status"], inquiry["records"]) == ("REJECTED", None)


# -- an individual asking about someone else ---------------------------------------------------

@pytest.mark.parametrize("token_id_number", ["other", None])
async def test_an_individual_asks_only_about_the_identity_number_of_their_token(
        registry: Registry, token_id_number: str | None) -> None:
    person = await make_person(registry, {OPEN})
    mine = id_number(region="110105") if token_id_number else None
    for purpose in ("SELF", "EMPLOYMENT", "CASE_HANDLING"):
        body = await submit(registry, ("person.someone", "individual", None, mine), purpose,
                            person.id_number)
        assert body["data"] is None, body
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    async with registry.app.state.registry.database.session() as session:
        assert list(await session.scalars(select(Inquiry))) == []


@pytest.mark.parametrize("who", [EMPLOYER, JUDGE, LAWYER, AUDITOR, CLERK_DONGCHENG])
async def test_an_identity_number_in_a_unit_officials_token_does_not_make_them_the_individual(
        registry: Registry, who: Principal) -> None:
    person = await make_person(registry, {OPEN})
    body = await submit(registry, (*who, person.id_number), "SELF", person.id_number)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body


# -- examination -------------------------------------------------------------------------------

async def test_an_employer_does_not_decide_its_own_inquiry(registry: Registry) -> None:
    person = await make_person(registry, {OPEN})
    pending = approved(await submit(registry, EMPLOYER, "EMPLOYMENT", person.id_number))
    for approve in (True, False):
        body = await registry.gql(DECIDE, {"id": pending["id"], "approve": approve,
                                           "reason": "fine by us"}, as_=EMPLOYER)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert await status_of(registry, pending["id"]) == "PENDING"
    read = await registry.gql(READ, {"id": pending["id"]}, as_=EMPLOYER)
    assert (read["data"]["inquiry"]["status"], read["data"]["inquiry"]["certificate"]) == (
        "PENDING", None)


async def test_an_examiner_outside_the_employers_division_neither_reads_nor_decides(
        registry: Registry) -> None:
    await shanghai_agencies(registry)
    person = await make_person(registry, {OPEN})
    pending = approved(await submit(registry, EMPLOYER, "EMPLOYMENT", person.id_number))
    body = await registry.gql(DECIDE, {"id": pending["id"], "approve": True,
                                       "reason": "ok"}, as_=POLICE_SHANGHAI)
    missing = await registry.gql(DECIDE, {"id": "inq_" + "0" * 26, "approve": True,
                                          "reason": "ok"}, as_=POLICE_SHANGHAI)
    # Answered as for an inquiry that does not exist.
    assert body["data"] is None and missing["data"] is None
    assert body["errors"][0]["extensions"] == missing["errors"][0]["extensions"]
    assert body["errors"][0]["message"] == missing["errors"][0]["message"]
    assert await status_of(registry, pending["id"]) == "PENDING"
    assert await registry.gql(READ, {"id": pending["id"]}, as_=POLICE_SHANGHAI) == {
        "data": {"inquiry": None}}
    listed = await registry.gql(LIST, as_=POLICE_SHANGHAI)
    assert listed["data"]["inquiries"]["totalCount"] == 0
    # ... and the Dongcheng examiner does not decide a Shanghai employer's inquiry.
    far = approved(await submit(registry, EMPLOYER_SHANGHAI, "EMPLOYMENT", person.id_number))
    body = await registry.gql(DECIDE, {"id": far["id"], "approve": True, "reason": "ok"},
                              as_=POLICE)
    assert body["data"] is None
    assert await status_of(registry, far["id"]) == "PENDING"


async def test_an_examiner_sees_the_result_letter_and_no_record(registry: Registry) -> None:
    person = await make_person(registry, ALL)
    pending = approved(await submit(registry, EMPLOYER, "EMPLOYMENT", person.id_number))
    decided = await registry.gql(DECIDE, {"id": pending["id"], "approve": True,
                                          "reason": "ok"}, as_=POLICE)
    answer = decided["data"]["decideInquiry"]
    assert (answer["records"], answer["detentions"], answer["subjectName"]) == (
        None, None, None)
    assert answer["certificate"]["kind"] == "RESULT_LETTER"


@pytest.mark.parametrize("purpose", ["CASE_HANDLING", "DEFENSE", "SELF"])
async def test_an_inquiry_answered_at_once_is_not_decided_again(
        registry: Registry, purpose: str) -> None:
    person = await make_person(registry, {OPEN, SEALED})
    await register_counsel(registry, LAWYER[0], person.id_number)
    who = {"CASE_HANDLING": POLICE, "DEFENSE": OTHER_LAWYER,
           "SELF": individual(person.id_number)}[purpose]
    inquiry = approved(await submit(registry, who, purpose, person.id_number))
    before = await status_of(registry, inquiry["id"])
    for decider in (POLICE, PROSECUTOR, JA_OFFICER):
        body = await registry.gql(DECIDE, {"id": inquiry["id"], "approve": True,
                                           "reason": "again"}, as_=decider)
        assert body["data"] is None, body
    assert await status_of(registry, inquiry["id"]) == before


# -- expunged detentions ----------------------------------------------------------------------

async def detain(registry: Registry, number: str, kind: str = "CRIMINAL") -> str:
    detention = detention_input(kind=kind, person={"idNumber": number, "name": NAME,
                                                   "birthDate": "2008-01-01"})
    body = await registry.gql(REGISTER_DETENTION, {"input": detention}, as_=POLICE)
    assert "errors" not in body, body
    detention_id: str = body["data"]["registerDetention"]["detention"]["id"]
    return detention_id


async def test_a_detention_expunged_after_an_inquiry_disappears_from_it(
        registry: Registry) -> None:
    number = id_number(region="110101")
    detention = await detain(registry, number)
    inquiry = approved(await submit(registry, JUDGE, "CASE_HANDLING", number))
    assert [d["id"] for d in inquiry["detentions"]] == [detention]
    await registry.gql(CLOSE_DETENTION, {"id": detention, "dismissed": True}, as_=POLICE)
    again = await registry.gql(READ, {"id": inquiry["id"]}, as_=JUDGE)
    assert again["data"]["inquiry"]["detentions"] == []


async def test_an_inquiry_about_one_person_never_shows_another_persons_detention(
        registry: Registry) -> None:
    """An inquiry's disclosed records are fixed when it is approved. When one of them is
    expunged (deleted), a detention registered later, of another person, must not take
    its place in the old inquiry's answer."""
    subject, stranger = id_number(region="110101"), id_number(region="110101")
    expunged = await detain(registry, subject)
    inquiry = approved(await submit(registry, JUDGE, "CASE_HANDLING", subject))
    assert [d["id"] for d in inquiry["detentions"]] == [expunged]
    await registry.gql(CLOSE_DETENTION, {"id": expunged, "dismissed": True}, as_=POLICE)
    strangers = await detain(registry, stranger)
    async with registry.app.state.registry.database.session() as session:
        row_ids = list(await session.scalars(select(Detention.id)))
    again = await registry.gql(READ, {"id": inquiry["id"]}, as_=JUDGE)
    assert again["data"]["inquiry"]["detentions"] == [], (
        f"the inquiry about {subject} shows {strangers}, a detention of {stranger} "
        f"(detention row ids now {row_ids})")


# -- certificates -------------------------------------------------------------------------------

async def test_verifying_a_certificate_says_that_it_is_genuine_and_what_it_said_nothing_more(
        registry: Registry) -> None:
    person = await make_person(registry, ALL)
    pending = approved(await submit(registry, EMPLOYER, "EMPLOYMENT", person.id_number))
    decided = await registry.gql(DECIDE, {"id": pending["id"], "approve": True,
                                          "reason": "ok"}, as_=POLICE)
    number = decided["data"]["decideInquiry"]["certificate"]["number"]
    fields = await registry.gql(
        '{ __type(name: "CertificateVerification") { fields { name } } }', as_=EMPLOYER)
    assert sorted(f["name"] for f in fields["data"]["__type"]["fields"]) == [
        "hasCriminalRecord", "issuedAt", "kind", "number", "purpose"]
    for who in (EMPLOYER, LAWYER, individual(person.id_number), JUDGE):
        verified = await registry.gql("""query ($n: String!) { verifyCertificate(number: $n) {
            number kind purpose hasCriminalRecord issuedAt } }""", {"n": number}, as_=who)
        assert verified["data"]["verifyCertificate"]["hasCriminalRecord"] is True
        assert NAME not in str(verified) and person.id_number not in str(verified)
    # The number opens no inquiry.
    for who in (LAWYER, individual(person.id_number), JUDGE):
        assert await registry.gql(READ, {"id": number}, as_=who) == {
            "data": {"inquiry": None}}
    anonymous = await registry.http.post("/graphql", json={
        "query": "query ($n: String!) { verifyCertificate(number: $n) { kind } }",
        "variables": {"n": number}})
    assert "CERTIFICATE" not in anonymous.text and "LETTER" not in anonymous.text


async def test_a_rejected_society_inquiry_has_no_letter_for_anyone(registry: Registry) -> None:
    person = await make_person(registry, {OPEN, CRIMINAL, ADMINISTRATIVE})
    pending = approved(await submit(registry, EMPLOYER, "EMPLOYMENT", person.id_number))
    await registry.gql(DECIDE, {"id": pending["id"], "approve": False, "reason": "no basis"},
                       as_=POLICE)
    for who in (EMPLOYER, POLICE, AUDITOR):
        read = await registry.gql(READ, {"id": pending["id"]}, as_=who)
        inquiry = read["data"]["inquiry"]
        assert (inquiry["status"], inquiry["certificate"], inquiry["records"],
                inquiry["detentions"]) == ("REJECTED", None, None, None), who
