"""What each inquiry discloses (DESIGN.md §1.1, §1.3, §1.4, §1.6; issues 4 and 11), as a
table of record states x purpose x requester x case state -> the expected disclosure, run
through HTTP on SQLite and PostgreSQL.

Case states (CASE_HANDLING and DEFENSE): the case number names an open case handled by the
requester's agency with the subject as a suspect or defendant (for DEFENSE: one in which
the lawyer is registered counsel for the subject), or a case another agency handles, one
the requester's agency transferred away, a closed one, one in which the subject is only a
witness or victim, a number nobody registered, or (DEFENSE) a counsel registration made
before cases were registered.

Record states of one person: an open (adult) judgment, a sealed (juvenile, 12 months)
judgment, an acquittal, a criminal detention, an administrative detention (sealed by law
since 2026-01-01), and an expunged criminal detention (its case dismissed).

Acquittals: an acquittal is no criminal record, so no certificate or result letter ever
counts one. The default policies still let a case-handling organ, and registered counsel,
read an acquitted judgment (it is an open judgment): the table asserts what the defaults
do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from sqlmodel import col, select

from api.seed import add_agency
from db.models import Agency, DefenseCounsel, Judgment, Offender
from tests.cases import case_of, close, counsel, party, register_case, transfer
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
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

Principal = Any  # (sub, role, agency) or (sub, role, agency, id_number)

# -- record states ------------------------------------------------------------------------
OPEN, SEALED, ACQUITTAL = "open", "sealed", "acquittal"
CRIMINAL, ADMINISTRATIVE, EXPUNGED = "criminal detention", "administrative detention", \
    "expunged detention"
STATES = (OPEN, SEALED, ACQUITTAL, CRIMINAL, ADMINISTRATIVE, EXPUNGED)
JUDGMENT_STATES = (OPEN, SEALED, ACQUITTAL)

BIRTH = date(2008, 1, 1)
NAME = "Sun Li"
# The court's case, in which lawyers are registered as counsel; the other organs' cases.
CASE = "(2026) Jing 0101 Xing Chu No. 41"
OTHER_CASE = "(2026) Jing 0101 Xing Chu No. 42"
HANDLERS = (JUDGE, PROSECUTOR, POLICE)
CASE_OF = {JUDGE: CASE, PROSECUTOR: "(2026) Jing Dong Jian Xing Su No. 41",
           POLICE: "(2026) Jing Dong Gong Xing Li No. 41"}
# Another organ for each: the one a case is transferred to, or handled by instead.
ANOTHER_HANDLER = {JUDGE: POLICE, PROSECUTOR: JUDGE, POLICE: PROSECUTOR}
LEGAL_BASIS = "Road Traffic Safety Law art. 100"

OTHER_LAWYER = ("lawyer.li", "defense_lawyer", "LAW-110101")
# The units of DESIGN.md 1.3 beside the demo employer, each for its own purpose only.
RECRUITER = ("recruiter.dongcheng", "recruiter", "MIL-110101")
SCHOOL = ("admissions.dongcheng", "school", "SCH-110101")
UNIT_AGENCIES = (("MIL-110101", "MILITARY", "Dongcheng Recruitment Office"),
                 ("SCH-110101", "SCHOOL", "Dongcheng Adult Education College"))


async def add_units(registry: Registry) -> None:
    """The recruitment office and the school (not among the demo agencies), once."""
    async with registry.app.state.registry.database.session() as session:
        for code, kind, name in UNIT_AGENCIES:
            if await session.scalar(select(Agency).where(col(Agency.code) == code)) is None:
                await add_agency(session, code=code, kind=kind, name=name, region="110101")
        await session.commit()


def individual(number: str) -> Principal:
    """The person themselves: an individual whose token carries their identity number."""
    return (f"person.{number[-6:]}", "individual", None, number)


@dataclass(frozen=True)
class Person:
    """A person made by `make_person`: the label of each record is its judgment number
    (judgments) or case number (detentions)."""

    id_number: str
    labels: dict[str, str] = field(default_factory=dict)  # label -> state

    def state_of(self, label: str) -> str:
        return self.labels[label]


SUBMIT = """mutation Submit($input: SubmitInquiryInput!) { submitInquiry(input: $input) {
  id purpose status subjectName
  records { id judgmentNumber sealStatus offender { id idNumber } }
  detentions { id kind caseNumber }
  certificate { number kind hasCriminalRecord issuedAt } } }"""
DECIDE = """mutation Decide($id: ID!, $approve: Boolean!, $reason: String!) {
  decideInquiry(id: $id, approve: $approve, reason: $reason) {
    id purpose status subjectName
    records { id judgmentNumber sealStatus offender { id idNumber } }
    detentions { id kind caseNumber }
    certificate { number kind hasCriminalRecord issuedAt } } }"""
READ = """query Read($id: ID!) { inquiry(id: $id) {
  id purpose status subjectName
  records { id judgmentNumber sealStatus offender { id idNumber } }
  detentions { id kind caseNumber }
  certificate { number kind hasCriminalRecord issuedAt } } }"""


async def make_person(registry: Registry, states: frozenset[str] | set[str], *,
                      region: str = "110101", birth: date = BIRTH, name: str = NAME,
                      tag: str = "") -> Person:
    """A person with one record in each of `states`, made the way the registry is fed:
    judgments reported by the court, detentions registered (and expunged) by the police;
    an acquittal, which the API cannot report, straight into the database."""
    number = id_number(region=region, birth=birth)
    labels: dict[str, str] = {}
    person = {"idNumber": number, "name": name, "birthDate": birth.isoformat(),
              "gender": "female", "residenceRegion": region}
    adult = birth.replace(year=birth.year + 18)
    for state, offence in ((OPEN, max(adult, date(2026, 3, 2))),
                           (SEALED, adult.replace(year=adult.year - 1))):
        if state not in states:
            continue
        label = f"J-{state}-{number}{tag}"
        report = report_input(judgmentNumber=label, offenseDate=offence.isoformat(),
                              defendant=dict(person))
        body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
        assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
        labels[label] = state
    for state, kind in ((CRIMINAL, "CRIMINAL"), (ADMINISTRATIVE, "ADMINISTRATIVE"),
                        (EXPUNGED, "CRIMINAL")):
        if state not in states:
            continue
        label = f"D-{state.split()[0]}-{number}{tag}"
        detention = detention_input(kind=kind, caseNumber=label, person=dict(person))
        body = await registry.gql(REGISTER_DETENTION, {"input": detention}, as_=POLICE)
        assert "errors" not in body, body
        if state == EXPUNGED:
            closed = await registry.gql(CLOSE_DETENTION, {
                "id": body["data"]["registerDetention"]["detention"]["id"],
                "dismissed": True}, as_=POLICE)
            assert closed == {"data": {"closeDetentionCase": {"detention": None}}}, closed
        labels[label] = state
    if ACQUITTAL in states:
        label = f"J-{ACQUITTAL}-{number}{tag}"
        await insert_acquittal(registry, person, label, offence=max(adult, date(2026, 3, 2)))
        labels[label] = ACQUITTAL
    return Person(number, labels)


async def insert_acquittal(registry: Registry, person: dict[str, str], label: str, *,
                           offence: date) -> None:
    """An effective judgment finding the person not guilty (`verdict="acquitted"`)."""
    async with registry.app.state.registry.database.session() as session:
        court = await session.scalar(select(Agency).where(col(Agency.code) == JUDGE[2]))
        authority = await session.scalar(select(Agency).where(
            col(Agency.code) == "REG-110101"))
        assert court is not None and authority is not None
        offender = await session.scalar(select(Offender).where(
            col(Offender.id_number) == person["idNumber"]))
        if offender is None:
            offender = Offender(id_number=person["idNumber"], name=person["name"],
                                birth_date=date.fromisoformat(person["birthDate"]),
                                gender=person["gender"],
                                residence_region=person["residenceRegion"])
            session.add(offender)
            await session.flush()
        birth = offender.birth_date
        age = offence.year - birth.year - ((offence.month, offence.day) <= (birth.month,
                                                                            birth.day))
        session.add(Judgment(
            offender_id=offender.id or 0, court_agency_id=court.id or 0,
            authority_agency_id=authority.id, judgment_number=label,
            prosecutor="Dongcheng District People's Procuratorate",
            judgment_date=date(2026, 9, 1), effective_date=date(2026, 9, 12),
            offense_date=offence, age_at_offense=age, region=offender.residence_region,
            crimes=[{"name": "Theft", "article": "Art. 264"}], penalty_kind="EXEMPTED",
            verdict="acquitted", seal_status="open"))
        await session.commit()


async def register_counsel(registry: Registry, lawyer: str, suspect: str,
                           case: str = CASE) -> None:
    """`lawyer` registered as counsel of `suspect` in `case`, a case the court handles with
    `suspect` as a defendant (registered, or the party added, as needed)."""
    await case_of(registry, JUDGE, case, suspect, role="DEFENDANT")
    await counsel(registry, JUDGE, case, lawyer, suspect)


def fields_for(purpose: str) -> dict[str, str]:
    if purpose in ("CASE_HANDLING", "DEFENSE"):
        return {"caseNumber": CASE}
    if purpose in ("EMPLOYMENT", "ENLISTMENT", "CONTINUING_EDUCATION"):
        return {"legalBasis": LEGAL_BASIS, "consentReference": "consent-2026-1"}
    return {}


async def submit(registry: Registry, who: Principal, purpose: str, subject: str,
                 **overrides: str) -> dict[str, Any]:
    """`who` inquires about `subject`. A case-handling organ's CASE_HANDLING inquiry without
    a case number is made in the organ's own open case, with the subject as a suspect
    (registered, or the party added, first), as the organ would have it."""
    values = {"purpose": purpose, "subjectIdNumber": subject, **fields_for(purpose),
              **overrides}
    if purpose == "CASE_HANDLING" and "caseNumber" not in overrides and who in HANDLERS:
        values["caseNumber"] = await case_of(registry, who, CASE_OF[who], subject)
    return await registry.gql(SUBMIT, {"input": values}, as_=who)


# -- the table ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    """What an inquiry discloses: status; the judgments (state -> sealStatus) and detentions
    (state -> kind) it lists, `None` where the field is null; its certificate's kind and
    whether it says a criminal record was found. `forbidden`: refused, nothing stored."""

    status: str = "APPROVED"
    records: dict[str, str] | None = None
    detentions: dict[str, str] | None = None
    certificate: tuple[str, bool] | None = None
    forbidden: bool = False


DENIED = Expect(forbidden=True)
ALL = frozenset(STATES)
NONE: frozenset[str] = frozenset()


def letter(found: bool) -> Expect:
    return Expect(certificate=("RESULT_LETTER", found))


def certificate(found: bool) -> Expect:
    return Expect(certificate=("REFUSAL_NOTICE", True) if found
                  else ("NO_RECORD_CERTIFICATE", False))


# -- case states -------------------------------------------------------------------------
MINE = "handled by me"            # DEFENSE: the lawyer is counsel in the court's open case
ANOTHERS = "handled by another agency"
TRANSFERRED = "transferred"       # by the requester's agency (DEFENSE: by the court)
CLOSED = "closed"
NOT_A_PARTY = "not a party"       # the subject is only a witness (DEFENSE: a victim)
NO_CASE = "no such case"
LEGACY = "counsel before cases"   # DEFENSE: registered before cases were (migration 0008)


async def set_up_case(registry: Registry, state: str, purpose: str, who: Principal,
                      subject: str) -> str:
    """The case number the inquiry names, in `state` for `who` and `subject` (for anyone
    but a case-handling organ, a CASE_HANDLING inquiry names the judge's)."""
    if purpose == "CASE_HANDLING" and who not in HANDLERS:
        who = JUDGE
    if purpose != "CASE_HANDLING":
        return await defense_case(registry, state, subject)
    own, other = CASE_OF[who], ANOTHER_HANDLER[who]
    if state == MINE:
        return await case_of(registry, who, own, subject)
    if state == ANOTHERS:
        return await case_of(registry, other, CASE_OF[other], subject)
    if state == NOT_A_PARTY:
        await register_case(registry, who, own, [party(id_number()), party(subject, "WITNESS")])
        return own
    if state == NO_CASE:
        return "(2026) FAKE-0000"
    await case_of(registry, who, own, subject)
    if state == TRANSFERRED:
        await transfer(registry, who, own, other)
    else:
        assert state == CLOSED, state
        await close(registry, who, own)
    return own


async def defense_case(registry: Registry, state: str, subject: str) -> str:
    """CASE, in which LAWYER asks about `subject`, in `state`."""
    if state == NO_CASE:
        return CASE
    if state == LEGACY:
        async with registry.app.state.registry.database.session() as session:
            court = await session.scalar(select(Agency).where(col(Agency.code) == JUDGE[2]))
            assert court is not None and court.id is not None
            session.add(DefenseCounsel(case_number=CASE, lawyer_sub=LAWYER[0],
                                       suspect_id_number=subject, registered_by=JUDGE[0],
                                       registered_by_agency_id=court.id))
            await session.commit()
        # The court registers the case since: the old registration still grants nothing.
        await register_case(registry, JUDGE, CASE, [party(subject, "DEFENDANT")])
        return CASE
    if state == NOT_A_PARTY:
        defendant = id_number()
        await register_case(registry, JUDGE, CASE, [party(defendant, "DEFENDANT"),
                                                    party(subject, "VICTIM")])
        await counsel(registry, JUDGE, CASE, LAWYER[0], defendant)
        return CASE
    await register_counsel(registry, LAWYER[0], subject)
    if state == TRANSFERRED:
        await transfer(registry, JUDGE, CASE, PROSECUTOR, "PROSECUTION")
    elif state == CLOSED:
        await close(registry, JUDGE, CASE)
    else:
        assert state == MINE, state
    return CASE


# Requesters, by the name used in the table.
REQUESTERS: dict[str, Principal] = {
    "judge": JUDGE, "prosecutor": PROSECUTOR, "police": POLICE,
    "counsel": LAWYER, "unregistered lawyer": OTHER_LAWYER, "employer": EMPLOYER,
    "recruiter": RECRUITER, "school": SCHOOL,
    "auditor": AUDITOR, "clerk": CLERK_DONGCHENG,
    "individual": "individual",            # the subject themselves (token id_number)
}

CASE_ALL = Expect(records={OPEN: "OPEN", SEALED: "SEALED", ACQUITTAL: "OPEN"},
                  detentions={CRIMINAL: "CRIMINAL", ADMINISTRATIVE: "ADMINISTRATIVE"})

REJECTED = Expect(status="REJECTED")
DISCLOSING = ("CASE_HANDLING", "DEFENSE")

# (record states of the subject, purpose, requester, expected disclosure), in a case MINE
TABLE: list[tuple[frozenset[str], str, str, Expect]] = [
    # CASE_HANDLING: every judgment, sealed ones marked SEALED, and the detention records;
    # never an expunged detention. An acquittal is read as an open judgment (policy).
    (NONE, "CASE_HANDLING", "judge", Expect(records={}, detentions={})),
    (frozenset({OPEN}), "CASE_HANDLING", "judge", Expect(records={OPEN: "OPEN"}, detentions={})),
    (frozenset({SEALED}), "CASE_HANDLING", "judge",
     Expect(records={SEALED: "SEALED"}, detentions={})),
    (frozenset({ACQUITTAL}), "CASE_HANDLING", "judge",
     Expect(records={ACQUITTAL: "OPEN"}, detentions={})),
    (frozenset({CRIMINAL}), "CASE_HANDLING", "judge",
     Expect(records={}, detentions={CRIMINAL: "CRIMINAL"})),
    (frozenset({ADMINISTRATIVE}), "CASE_HANDLING", "judge",
     Expect(records={}, detentions={ADMINISTRATIVE: "ADMINISTRATIVE"})),
    (frozenset({EXPUNGED}), "CASE_HANDLING", "judge", Expect(records={}, detentions={})),
    (ALL, "CASE_HANDLING", "judge", CASE_ALL),
    (ALL, "CASE_HANDLING", "prosecutor", CASE_ALL),
    (ALL, "CASE_HANDLING", "police", CASE_ALL),
    (frozenset({SEALED, ADMINISTRATIVE, EXPUNGED}), "CASE_HANDLING", "prosecutor",
     Expect(records={SEALED: "SEALED"}, detentions={ADMINISTRATIVE: "ADMINISTRATIVE"})),
    # DEFENSE: registered counsel reads the judgments that are not sealed, no detentions.
    (NONE, "DEFENSE", "counsel", Expect(records={})),
    (frozenset({OPEN}), "DEFENSE", "counsel", Expect(records={OPEN: "OPEN"})),
    (frozenset({SEALED}), "DEFENSE", "counsel", Expect(records={})),
    (frozenset({ACQUITTAL}), "DEFENSE", "counsel", Expect(records={ACQUITTAL: "OPEN"})),
    (frozenset({CRIMINAL}), "DEFENSE", "counsel", Expect(records={})),
    (frozenset({ADMINISTRATIVE}), "DEFENSE", "counsel", Expect(records={})),
    (frozenset({EXPUNGED}), "DEFENSE", "counsel", Expect(records={})),
    (ALL, "DEFENSE", "counsel", Expect(records={OPEN: "OPEN", ACQUITTAL: "OPEN"})),
    # ... anyone else's defense inquiry is rejected, with nothing in it.
    (ALL, "DEFENSE", "unregistered lawyer", Expect(status="REJECTED")),
    (NONE, "DEFENSE", "unregistered lawyer", Expect(status="REJECTED")),
    # Society: a result letter, found only where an open guilty judgment exists.
    (NONE, "EMPLOYMENT", "employer", letter(False)),
    (frozenset({OPEN}), "EMPLOYMENT", "employer", letter(True)),
    (frozenset({SEALED}), "EMPLOYMENT", "employer", letter(False)),
    (frozenset({ACQUITTAL}), "EMPLOYMENT", "employer", letter(False)),
    (frozenset({CRIMINAL}), "EMPLOYMENT", "employer", letter(False)),
    (frozenset({ADMINISTRATIVE}), "EMPLOYMENT", "employer", letter(False)),
    (frozenset({EXPUNGED}), "EMPLOYMENT", "employer", letter(False)),
    (ALL - {OPEN}, "EMPLOYMENT", "employer", letter(False)),
    (ALL, "EMPLOYMENT", "employer", letter(True)),
    (ALL - {OPEN}, "ENLISTMENT", "recruiter", letter(False)),
    (ALL, "ENLISTMENT", "recruiter", letter(True)),
    (ALL - {OPEN}, "CONTINUING_EDUCATION", "school", letter(False)),
    (ALL, "CONTINUING_EDUCATION", "school", letter(True)),
    # SELF: a certificate of no criminal record, or a notice that none can be issued.
    (NONE, "SELF", "individual", certificate(False)),
    (frozenset({OPEN}), "SELF", "individual", certificate(True)),
    (frozenset({SEALED}), "SELF", "individual", certificate(False)),
    (frozenset({ACQUITTAL}), "SELF", "individual", certificate(False)),
    (frozenset({CRIMINAL}), "SELF", "individual", certificate(False)),
    (frozenset({ADMINISTRATIVE}), "SELF", "individual", certificate(False)),
    (frozenset({EXPUNGED}), "SELF", "individual", certificate(False)),
    (ALL - {OPEN}, "SELF", "individual", certificate(False)),
    (ALL, "SELF", "individual", certificate(True)),
    # Purposes the table does not give the requester: refused, nothing stored.
    (ALL, "CASE_HANDLING", "employer", DENIED),
    (ALL, "CASE_HANDLING", "counsel", DENIED),
    (ALL, "CASE_HANDLING", "clerk", DENIED),
    (ALL, "CASE_HANDLING", "auditor", DENIED),
    (ALL, "CASE_HANDLING", "individual", DENIED),
    (ALL, "DEFENSE", "judge", DENIED),
    (ALL, "DEFENSE", "employer", DENIED),
    (ALL, "DEFENSE", "individual", DENIED),
    (ALL, "EMPLOYMENT", "judge", DENIED),
    (ALL, "EMPLOYMENT", "police", DENIED),
    (ALL, "EMPLOYMENT", "counsel", DENIED),
    (ALL, "EMPLOYMENT", "individual", DENIED),
    (ALL, "ENLISTMENT", "clerk", DENIED),
    # ... nor another unit's purpose (DESIGN.md 1.3).
    (ALL, "ENLISTMENT", "employer", DENIED),
    (ALL, "CONTINUING_EDUCATION", "employer", DENIED),
    (ALL, "EMPLOYMENT", "recruiter", DENIED),
    (ALL, "CONTINUING_EDUCATION", "recruiter", DENIED),
    (ALL, "EMPLOYMENT", "school", DENIED),
    (ALL, "ENLISTMENT", "school", DENIED),
    (ALL, "SELF", "police", DENIED),
    (ALL, "SELF", "employer", DENIED),
    (ALL, "SELF", "auditor", DENIED),
]


# (..., case state): the same for the other states of the case.
CASE_TABLE: list[tuple[frozenset[str], str, str, Expect, str]] = [
    # CASE_HANDLING: only in an open case the requester's agency handles, about an accused.
    *[(ALL, "CASE_HANDLING", who, REJECTED, state)
      for who in ("judge", "prosecutor", "police")
      for state in (ANOTHERS, TRANSFERRED, CLOSED, NOT_A_PARTY, NO_CASE)],
    # ... and where it is theirs, whatever else the case is.
    (ALL, "CASE_HANDLING", "police", CASE_ALL, MINE),
    # DEFENSE: counsel stays counsel when the case is handed on, not once it is closed.
    (ALL, "DEFENSE", "counsel", Expect(records={OPEN: "OPEN", ACQUITTAL: "OPEN"}), TRANSFERRED),
    *[(ALL, "DEFENSE", "counsel", REJECTED, state)
      for state in (CLOSED, NOT_A_PARTY, NO_CASE, LEGACY)],
    (NONE, "DEFENSE", "counsel", REJECTED, CLOSED),
    # Whatever the case, a purpose the table does not give the requester stays refused.
    *[(ALL, "CASE_HANDLING", who, DENIED, state) for who in ("counsel", "clerk")
      for state in (ANOTHERS, CLOSED, NO_CASE)],
    *[(ALL, "DEFENSE", "judge", DENIED, state) for state in (TRANSFERRED, CLOSED)],
]
ROWS = [(*row, MINE) for row in TABLE] + CASE_TABLE


def row_id(states: frozenset[str], purpose: str, requester: str, expect: Expect,
           case: str = MINE) -> str:
    shown = ("all" if states == ALL else "all-but-open" if states == ALL - {OPEN}
             else "+".join(sorted(states)) or "nothing")
    where = "" if case == MINE or purpose not in ("CASE_HANDLING", "DEFENSE") else f"-{case}"
    return f"{purpose}-{requester}-{shown}{where}".replace(" ", "_")


def disclosed(person: Person, inquiry: dict[str, Any]) -> tuple[dict[str, str] | None,
                                                                dict[str, str] | None]:
    """The inquiry's records and detentions, by the state each was made in."""
    records = inquiry["records"]
    detentions = inquiry["detentions"]
    return (
        None if records is None else {person.state_of(r["judgmentNumber"]): r["sealStatus"]
                                      for r in records},
        None if detentions is None else {person.state_of(d["caseNumber"]): d["kind"]
                                         for d in detentions},
    )


def assert_discloses(person: Person, inquiry: dict[str, Any], expect: Expect) -> None:
    records, detentions = disclosed(person, inquiry)
    assert inquiry["status"] == expect.status, inquiry
    assert records == expect.records, inquiry
    assert detentions == expect.detentions, inquiry
    if expect.records is not None:
        assert len(inquiry["records"]) == len(expect.records), inquiry  # no duplicates
        assert {r["offender"]["idNumber"] for r in inquiry["records"]} <= {person.id_number}
    cert = inquiry["certificate"]
    assert (None if cert is None else (cert["kind"], cert["hasCriminalRecord"])) \
        == expect.certificate, inquiry
    # The name shows only where a judgment of the person was disclosed.
    assert inquiry["subjectName"] == (NAME if expect.records else None), inquiry


@pytest.mark.parametrize(("states", "purpose", "requester", "expect", "case"),
                         [pytest.param(*row, id=row_id(*row)) for row in ROWS])
async def test_an_inquiry_discloses_what_its_purpose_allows(
        registry: Registry, states: frozenset[str], purpose: str, requester: str,
        expect: Expect, case: str) -> None:
    await add_units(registry)
    person = await make_person(registry, states)
    who = (individual(person.id_number) if requester == "individual"
           else REQUESTERS[requester])
    number = await set_up_case(registry, case, purpose, who, person.id_number)
    body = await submit(registry, who, purpose, person.id_number,
                        **({"caseNumber": number} if purpose in DISCLOSING else {}))
    if expect.forbidden:
        assert body["data"] is None, body
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        listed = await registry.gql("{ inquiries { totalCount } }", as_=AUDITOR)
        assert listed["data"]["inquiries"]["totalCount"] == 0
        return
    assert "errors" not in body, body
    inquiry = body["data"]["submitInquiry"]
    if purpose in ("EMPLOYMENT", "ENLISTMENT", "CONTINUING_EDUCATION"):
        # Pending until examined: nothing disclosed yet.
        assert_discloses(person, inquiry, Expect(status="PENDING"))
        decided = await registry.gql(DECIDE, {"id": inquiry["id"], "approve": True,
                                              "reason": "legal basis verified"}, as_=POLICE)
        assert "errors" not in decided, decided
        inquiry = decided["data"]["decideInquiry"]
    assert_discloses(person, inquiry, expect)
    # Read again later by its requester: the same result, fixed when it was approved.
    again = await registry.gql(READ, {"id": inquiry["id"]}, as_=who)
    assert again["data"]["inquiry"] == inquiry, again


# -- sealed records are indistinguishable from absent ones ------------------------------------
JUDGMENT_BY_ID = """query ($id: ID!) { judgment(id: $id) { id judgmentNumber sealStatus } }"""
JUDGMENTS_OF = """query ($n: String!) { judgments(filter: {idNumber: $n}) { totalCount
  edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
NOT_ENTITLED: dict[str, Principal] = {"counsel": LAWYER, "unregistered lawyer": OTHER_LAWYER,
                                      "employer": EMPLOYER, "auditor": AUDITOR}


async def sealed_and_nobody(registry: Registry) -> tuple[Person, str, str]:
    """A person whose only record is a sealed judgment, a person without any record, and
    the sealed judgment's id (as a judge handling a case learns it)."""
    sealed = await make_person(registry, {SEALED})
    nobody = id_number(region="110101", birth=BIRTH)
    body = await submit(registry, JUDGE, "CASE_HANDLING", sealed.id_number)
    [record] = body["data"]["submitInquiry"]["records"]
    return sealed, nobody, record["id"]


def without_identity(inquiry: dict[str, Any]) -> dict[str, Any]:
    """An inquiry's answer without what differs between any two inquiries (its id, the
    certificate's number and time of issue)."""
    answer = {k: v for k, v in inquiry.items() if k != "id"}
    if answer.get("certificate"):
        answer["certificate"] = {k: v for k, v in answer["certificate"].items()
                                 if k not in ("number", "issuedAt")}
    return answer


@pytest.mark.parametrize("who", [*NOT_ENTITLED, "individual"])
async def test_a_sealed_judgment_read_by_id_looks_like_a_missing_one(
        registry: Registry, who: str) -> None:
    sealed, _, sealed_id = await sealed_and_nobody(registry)
    principal = individual(sealed.id_number) if who == "individual" else NOT_ENTITLED[who]
    answers = [await registry.gql(JUDGMENT_BY_ID, {"id": i}, as_=principal)
               for i in (sealed_id, "jdg_" + "0" * 26, "not-an-id")]
    assert answers[0] == answers[1] == answers[2] == {"data": {"judgment": None}}


@pytest.mark.parametrize("who", [*NOT_ENTITLED, "individual"])
async def test_a_person_whose_only_record_is_sealed_counts_like_a_person_without(
        registry: Registry, who: str) -> None:
    sealed, nobody, _ = await sealed_and_nobody(registry)
    answers = []
    for number in (sealed.id_number, nobody):
        principal = individual(number) if who == "individual" else NOT_ENTITLED[who]
        body = await registry.gql(JUDGMENTS_OF, {"n": number}, as_=principal)
        answers.append(body)
    assert answers[0] == answers[1], answers
    assert answers[0]["data"]["judgments"]["totalCount"] == 0


async def test_counsel_of_a_person_whose_only_record_is_sealed_is_answered_as_for_a_person_without(  # noqa: E501
        registry: Registry) -> None:
    sealed, nobody, _ = await sealed_and_nobody(registry)
    answers = []
    for number in (sealed.id_number, nobody):
        await register_counsel(registry, LAWYER[0], number)
        body = await submit(registry, LAWYER, "DEFENSE", number)
        answers.append(without_identity(body["data"]["submitInquiry"]))
    assert answers[0] == answers[1] == {
        "purpose": "DEFENSE", "status": "APPROVED", "subjectName": None, "records": [],
        "detentions": None, "certificate": None}


async def test_an_unregistered_lawyer_is_answered_alike_whether_the_record_is_sealed_or_absent(
        registry: Registry) -> None:
    sealed, nobody, _ = await sealed_and_nobody(registry)
    answers = [without_identity((await submit(registry, OTHER_LAWYER, "DEFENSE", number))
                                ["data"]["submitInquiry"]) for number in (sealed.id_number,
                                                                          nobody)]
    assert answers[0] == answers[1]
    assert (answers[0]["status"], answers[0]["records"]) == ("REJECTED", None)


@pytest.mark.parametrize(("purpose", "unit"), [("EMPLOYMENT", EMPLOYER), ("ENLISTMENT", RECRUITER),
                                             ("CONTINUING_EDUCATION", SCHOOL)])
async def test_a_units_letter_on_a_person_whose_only_record_is_sealed_is_a_letter_on_nobody(
        registry: Registry, purpose: str, unit: Principal) -> None:
    await add_units(registry)
    sealed, nobody, _ = await sealed_and_nobody(registry)
    answers = []
    for number in (sealed.id_number, nobody):
        pending = (await submit(registry, unit, purpose, number))["data"]["submitInquiry"]
        decided = await registry.gql(DECIDE, {"id": pending["id"], "approve": True,
                                              "reason": "ok"}, as_=POLICE)
        answers.append(without_identity(decided["data"]["decideInquiry"]))
        again = await registry.gql(READ, {"id": pending["id"]}, as_=unit)
        assert without_identity(again["data"]["inquiry"]) == answers[-1]
    assert answers[0] == answers[1]
    assert answers[0]["certificate"] == {"kind": "RESULT_LETTER", "hasCriminalRecord": False}


async def test_an_individuals_certificate_with_only_sealed_records_is_a_certificate_on_nobody(
        registry: Registry) -> None:
    sealed, nobody, _ = await sealed_and_nobody(registry)
    answers = [without_identity((await submit(registry, individual(number), "SELF", number))
                                ["data"]["submitInquiry"]) for number in (sealed.id_number,
                                                                          nobody)]
    assert answers[0] == answers[1] == {
        "purpose": "SELF", "status": "APPROVED", "subjectName": None, "records": None,
        "detentions": None,
        "certificate": {"kind": "NO_RECORD_CERTIFICATE", "hasCriminalRecord": False}}
