"""Safety (issue 4): over random people, records, counsel registrations and inquiries, no
inquiry ever discloses more than its purpose allows.

The expected answer is restated here from DESIGN.md §1.1, §1.3 and §1.4, not taken from
the policies:
- who may ask: CASE_HANDLING a judge, prosecutor or police officer; DEFENSE a defense
  lawyer; EMPLOYMENT an employer, ENLISTMENT a (military) recruiter, CONTINUING_EDUCATION a
  school; SELF an individual,
  for the identity number of their own token. Anyone else is refused and nothing stored;
- CASE_HANDLING: every judgment of the person (sealed ones marked SEALED; an acquittal is
  read as an open judgment, as the default policies have it) and the detention records,
  never an expunged one;
- DEFENSE: approved only for counsel registered in that case for that person, and then
  the judgments that are not sealed, no detention; otherwise rejected, nothing disclosed;
- society: pending until an officer of an accepting agency of the unit's division
  decides; approved, a result letter saying whether an open guilty judgment exists;
- SELF: a refusal notice where an open guilty judgment exists, else a certificate of no
  criminal record;
- nobody but the requester reads what an inquiry disclosed (auditors read the inquiry,
  examiners a society inquiry of their division, neither a record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from tests.api import conftest as api_conftest
from tests.api.test_inquiry_disclosure_table import (
    ACQUITTAL,
    ADMINISTRATIVE,
    CRIMINAL,
    DECIDE,
    NAME,
    OPEN,
    OTHER_LAWYER,
    READ,
    RECRUITER,
    SCHOOL,
    SEALED,
    STATES,
    Person,
    Principal,
    add_units,
    individual,
    make_person,
    register_counsel,
    submit,
)
from tests.conftest import clear_tables
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    EMPLOYER,
    JA_OFFICER,
    JUDGE,
    LAWYER,
    POLICE,
    PROSECUTOR,
    Registry,
    id_number,
)

# The API fixtures from tests/api/conftest.py (see test_no_denied_record_is_ever_returned).
registry = api_conftest.registry
settings = api_conftest.settings

CLEANED = ("audit_checkpoint", "audit_event", "seal_event", "execution_event", "notice",
           "judgment_version", "certificate", "inquiry_record", "inquiry", "defense_counsel",
           "detention", "judgment", "offender")

CASES = ("(2026) Jing 0101 Xing Chu No. 71", "(2026) Jing 0101 Xing Chu No. 72")
PURPOSES = ("CASE_HANDLING", "DEFENSE", "EMPLOYMENT", "ENLISTMENT", "CONTINUING_EDUCATION",
            "SELF")
SOCIETY = ("EMPLOYMENT", "ENLISTMENT", "CONTINUING_EDUCATION")
UNITS: dict[str, Principal] = {
    "judge": JUDGE, "prosecutor": PROSECUTOR, "police": POLICE, "lawyer": LAWYER,
    "other lawyer": OTHER_LAWYER, "employer": EMPLOYER, "clerk": CLERK_DONGCHENG,
    "auditor": AUDITOR, "justice officer": JA_OFFICER, "recruiter": RECRUITER,
    "school": SCHOOL,
}
ROLE = {"judge": "judge", "prosecutor": "prosecutor", "police": "police_officer",
        "lawyer": "defense_lawyer", "other lawyer": "defense_lawyer", "employer": "employer",
        "clerk": "registry_clerk", "auditor": "auditor", "justice officer":
        "judicial_admin_officer", "individual": "individual", "recruiter": "recruiter",
        "school": "school"}
# DESIGN.md 1.3: which unit inquires for which purpose.
SOCIETY_ROLE = {"EMPLOYMENT": "employer", "ENLISTMENT": "recruiter",
                "CONTINUING_EDUCATION": "school"}
# Officers of an accepting agency in the employer's division (Dongcheng).
EXAMINERS = {"police", "prosecutor", "justice officer"}


@dataclass(frozen=True)
class Ask:
    requester: str      # a key of UNITS, or "individual"
    token_person: int   # whose identity number an individual's token carries
    purpose: str
    subject: int        # index into the people; len(people) is someone never registered
    case: int
    decider: str        # who examines a society inquiry
    approve: bool


@dataclass(frozen=True)
class World:
    people: list[frozenset[str]]
    counsel: frozenset[tuple[str, int, int]]   # (lawyer key, person, case)
    asks: list[Ask]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    people = draw(st.lists(st.frozensets(st.sampled_from(STATES)), min_size=1, max_size=3))
    everyone = len(people) + 1  # and one person the registry never heard of
    counsel = draw(st.frozensets(st.tuples(st.sampled_from(["lawyer", "other lawyer"]),
                                           st.integers(0, everyone - 1),
                                           st.integers(0, len(CASES) - 1)), max_size=3))
    asks = [draw(asks_in(everyone, sorted(counsel)))
            for _ in range(draw(st.integers(1, 5)))]
    return World(people, counsel, asks)


FITTING = {"CASE_HANDLING": ["judge", "prosecutor", "police"],
           "DEFENSE": ["lawyer", "other lawyer"], "SELF": ["individual"],
           "EMPLOYMENT": ["employer"], "ENLISTMENT": ["recruiter"],
           "CONTINUING_EDUCATION": ["school"]}


@st.composite
def asks_in(draw: st.DrawFn, everyone: int, counsel: list[tuple[str, int, int]]) -> Ask:
    """An inquiry, most often one its requester may make (counsel asking in a registered
    case, an individual about themselves), sometimes anything at all."""
    purpose = draw(st.sampled_from(PURPOSES))
    anything = draw(st.integers(0, 3)) == 0
    requester = draw(st.sampled_from([*UNITS, "individual"] if anything
                                     else FITTING[purpose]))
    subject = draw(st.integers(0, everyone - 1))
    case = draw(st.integers(0, len(CASES) - 1))
    if purpose == "DEFENSE" and counsel and not anything:
        requester, subject, case = draw(st.sampled_from(counsel))
    token_person = subject if not anything else draw(st.integers(0, everyone - 1))
    decider = draw(st.sampled_from(sorted(EXAMINERS) if not anything else [*UNITS]))
    return Ask(requester, token_person, purpose, subject, case, decider,
               approve=draw(st.booleans()))


# -- the rules, restated ---------------------------------------------------------------------
def may_ask(ask: Ask) -> bool:
    role = ROLE[ask.requester]
    if ask.purpose == "CASE_HANDLING":
        return role in ("judge", "prosecutor", "police_officer")
    if ask.purpose == "DEFENSE":
        return role == "defense_lawyer"
    if ask.purpose in SOCIETY:
        return role == SOCIETY_ROLE[ask.purpose]
    return role == "individual" and ask.token_person == ask.subject


@dataclass(frozen=True)
class Answer:
    status: str
    records: dict[str, str] | None = None      # state -> sealStatus
    detentions: dict[str, str] | None = None   # state -> kind
    certificate: tuple[str, bool] | None = None


def expected(ask: Ask, states: frozenset[str], world: World) -> Answer:
    criminal_record = OPEN in states  # an open, effective, guilty judgment
    if ask.purpose == "CASE_HANDLING":
        return Answer("APPROVED",
                      {s: "SEALED" if s == SEALED else "OPEN"
                       for s in states & {OPEN, SEALED, ACQUITTAL}},
                      {s: s.split()[0].upper() for s in states & {CRIMINAL, ADMINISTRATIVE}})
    if ask.purpose == "DEFENSE":
        if (ask.requester, ask.subject, ask.case) not in world.counsel:
            return Answer("REJECTED")
        return Answer("APPROVED", {s: "OPEN" for s in states & {OPEN, ACQUITTAL}})
    if ask.purpose in SOCIETY:
        if ask.decider not in EXAMINERS:
            return Answer("PENDING")
        if not ask.approve:
            return Answer("REJECTED")
        return Answer("APPROVED", certificate=("RESULT_LETTER", criminal_record))
    return Answer("APPROVED", certificate=("REFUSAL_NOTICE", True) if criminal_record
                  else ("NO_RECORD_CERTIFICATE", False))


# -- the service ------------------------------------------------------------------------------
async def reset(registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await clear_tables(session, CLEANED)
        await session.commit()


def principal(ask: Ask, numbers: list[str]) -> Principal:
    if ask.requester == "individual":
        return individual(numbers[ask.token_person])
    return UNITS[ask.requester]


def observed(body: dict[str, Any], field: str, labels: dict[str, tuple[int, str]],
             subject: int) -> Answer:
    inquiry = body["data"][field]
    records = detentions = None
    if inquiry["records"] is not None:
        records = {}
        for r in inquiry["records"]:
            owner, state = labels[r["judgmentNumber"]]
            assert owner == subject, ("another person's judgment", inquiry)
            assert state not in records, ("disclosed twice", inquiry)
            records[state] = r["sealStatus"]
    if inquiry["detentions"] is not None:
        detentions = {}
        for d in inquiry["detentions"]:
            owner, state = labels[d["caseNumber"]]
            assert owner == subject, ("another person's detention", inquiry)
            detentions[state] = d["kind"]
    assert inquiry["subjectName"] == (NAME if records else None), inquiry
    cert = inquiry["certificate"]
    return Answer(inquiry["status"], records, detentions,
                  None if cert is None else (cert["kind"], cert["hasCriminalRecord"]))


@hypothesis.settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
async def test_no_inquiry_ever_discloses_more_than_its_purpose_allows(
        registry: Registry, world: World) -> None:
    await reset(registry)
    await add_units(registry)
    people: list[Person] = [await make_person(registry, states, tag=f"-{n}")
                            for n, states in enumerate(world.people)]
    numbers = [p.id_number for p in people] + [id_number(region="110101")]
    labels = {label: (n, state) for n, p in enumerate(people)
              for label, state in p.labels.items()}
    for lawyer, person, case in sorted(world.counsel):
        await register_counsel(registry, UNITS[lawyer][0], numbers[person], CASES[case])

    answered: list[tuple[Ask, str]] = []
    for ask in world.asks:
        who = principal(ask, numbers)
        states = world.people[ask.subject] if ask.subject < len(people) else frozenset()
        body = await submit(registry, who, ask.purpose, numbers[ask.subject],
                            caseNumber=CASES[ask.case])
        if not may_ask(ask):
            hypothesis.event("refused")
            assert body["data"] is None, (ask, body)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (ask, body)
            continue
        assert "errors" not in body, (ask, body)
        inquiry_id = body["data"]["submitInquiry"]["id"]
        got = observed(body, "submitInquiry", labels, ask.subject)
        if ask.purpose in SOCIETY:
            assert got == Answer("PENDING"), (ask, got)
            decided = await registry.gql(DECIDE, {"id": inquiry_id, "approve": ask.approve,
                                                  "reason": "examined"},
                                         as_=UNITS[ask.decider])
            if ask.decider in EXAMINERS:
                assert "errors" not in decided, (ask, decided)
                got = observed(decided, "decideInquiry", labels, ask.subject)
            else:
                assert decided["data"] is None, (ask, decided)
        want = expected(ask, states, world)
        if ask.purpose in SOCIETY and ask.decider not in EXAMINERS:
            got = observed(await registry.gql(READ, {"id": inquiry_id}, as_=who), "inquiry",
                           labels, ask.subject)
        assert got == want, (ask, world)
        hypothesis.event(f"{ask.purpose.lower()}: {want.status.lower()}")
        # The requester reads the same result again: fixed when it was approved.
        again = await registry.gql(READ, {"id": inquiry_id}, as_=who)
        assert observed(again, "inquiry", labels, ask.subject) == want, (ask, again)
        answered.append((ask, inquiry_id))

    # Nobody else reads what an inquiry disclosed.
    for ask, inquiry_id in answered:
        owner = principal(ask, numbers)
        for key, other in UNITS.items():
            if other == owner:
                continue
            body = await registry.gql(READ, {"id": inquiry_id}, as_=other)
            inquiry = body["data"]["inquiry"]
            examiner = key in EXAMINERS and ask.purpose in SOCIETY
            if key != "auditor" and not examiner:
                assert inquiry is None, (key, ask, body)
                continue
            assert inquiry is not None, (key, ask, body)
            assert inquiry["records"] in (None, []) and inquiry["detentions"] in (None, []), \
                (key, ask, body)
            assert inquiry["subjectName"] is None, (key, ask, body)
        for n in range(len(numbers)):
            if ask.requester == "individual" and n == ask.token_person:
                continue
            body = await registry.gql(READ, {"id": inquiry_id}, as_=individual(numbers[n]))
            assert body == {"data": {"inquiry": None}}, (n, ask, body)
