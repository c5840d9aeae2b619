"""Safety (issue 4): over random people, records, counsel registrations and inquiries, no
inquiry ever discloses more than its purpose allows.

The expected answer is restated here from DESIGN.md §1.1, §1.3 and §1.4, not taken from
the policies:
- who may ask: CASE_HANDLING a judge, prosecutor or police officer; DEFENSE a defense
  lawyer; EMPLOYMENT an employer, ENLISTMENT a (military) recruiter, CONTINUING_EDUCATION a
  school; SELF an individual,
  for the identity number of their own token. Anyone else is refused and nothing stored;
- CASE_HANDLING (DESIGN.md §1.6): approved only in a registered, open case that the
  requester's agency handles now (not one another agency handles, nor one it transferred
  away), about a suspect or defendant of it (not a victim or witness, nor anyone else);
  then every judgment of the person (sealed ones marked SEALED; an acquittal is read as an
  open judgment, as the default policies have it) and the detention records, never an
  expunged one; otherwise rejected, nothing disclosed;
- DEFENSE: approved only for counsel registered, by the organ handling it, in that case for
  that person, the case still open (wherever it was transferred) and the person a suspect
  or defendant of it; then the judgments that are not sealed, no detention; otherwise
  rejected, nothing disclosed;
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
    submit,
)
from tests.cases import close, counsel, party, register_case, transfer
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
           "case_party", "criminal_case", "detention", "judgment", "offender")

# The numbers of the cases a world registers, and one nobody registers (after the last).
CASE_NUMBERS = ("(2026) Jing 0101 Xing No. 71", "(2026) Jing 0101 Xing No. 72",
                "(2026) Jing 0101 Xing No. 73", "(2026) FAKE-0000")
HANDLING = ("judge", "prosecutor", "police")
PARTY_ROLES = ("SUSPECT", "DEFENDANT", "VICTIM", "WITNESS")
# Drawn more often than the others: the parties inquiries are about.
ROLES_DRAWN = ("SUSPECT", "DEFENDANT", "SUSPECT", "DEFENDANT", "VICTIM", "WITNESS")
ACCUSED = ("SUSPECT", "DEFENDANT")
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
    case: int           # index into the world's cases; len(cases) is a number nobody registered
    decider: str        # who examines a society inquiry
    approve: bool


@dataclass(frozen=True)
class Case:
    """A case as its organs left it: registered by `handler` with `parties` (person, role)
    and `counsel` (lawyer key, accused person), then perhaps handed on and closed."""

    handler: str                          # judge, prosecutor or police: who registered it
    parties: tuple[tuple[int, str], ...]
    counsel: frozenset[tuple[str, int]]
    transferred_to: str | None            # the organ it was handed on to
    closed: bool

    def handled_by(self) -> str:
        return self.transferred_to or self.handler

    def accused(self, person: int) -> bool:
        return any(p == person and role in ACCUSED for p, role in self.parties)


@dataclass(frozen=True)
class World:
    people: list[frozenset[str]]
    cases: list[Case]
    asks: list[Ask]

    def case(self, index: int) -> Case | None:
        return self.cases[index] if index < len(self.cases) else None

    def counsel(self) -> list[tuple[str, int, int]]:
        return sorted((lawyer, person, n) for n, case in enumerate(self.cases)
                      for lawyer, person in case.counsel)


@st.composite
def cases_of(draw: st.DrawFn, everyone: int) -> Case:
    handler = draw(st.sampled_from(HANDLING))
    parties = tuple(draw(st.lists(st.tuples(st.integers(0, everyone - 1),
                                            st.sampled_from(ROLES_DRAWN)),
                                  min_size=1, max_size=3, unique=True)))
    accused = sorted({p for p, role in parties if role in ACCUSED})
    counsel = draw(st.frozensets(st.tuples(st.sampled_from(["lawyer", "other lawyer"]),
                                           st.sampled_from(accused)), max_size=2)
                   if accused else st.just(frozenset()))
    # Most cases stay where they were registered, and open.
    transferred_to = draw(st.sampled_from(
        [None, None, *[h for h in HANDLING if h != handler]]))
    return Case(handler, parties, counsel, transferred_to, draw(st.integers(0, 3)) == 0)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    people = draw(st.lists(st.frozensets(st.sampled_from(STATES)), min_size=1, max_size=3))
    everyone = len(people) + 1  # and one person the registry never heard of
    cases = draw(st.lists(cases_of(everyone), min_size=1, max_size=len(CASE_NUMBERS) - 1))
    world = World(people, cases, [])
    asks = [draw(asks_in(everyone, world)) for _ in range(draw(st.integers(1, 5)))]
    return World(people, cases, asks)


FITTING = {"CASE_HANDLING": ["judge", "prosecutor", "police"],
           "DEFENSE": ["lawyer", "other lawyer"], "SELF": ["individual"],
           "EMPLOYMENT": ["employer"], "ENLISTMENT": ["recruiter"],
           "CONTINUING_EDUCATION": ["school"]}


@st.composite
def asks_in(draw: st.DrawFn, everyone: int, world: World) -> Ask:
    """An inquiry, most often one its requester may make (an organ asking about a party of
    a case, counsel asking in their case, an individual about themselves), sometimes
    anything at all."""
    purpose = draw(st.sampled_from(PURPOSES))
    anything = draw(st.integers(0, 3)) == 0
    requester = draw(st.sampled_from([*UNITS, "individual"] if anything
                                     else FITTING[purpose]))
    subject = draw(st.integers(0, everyone - 1))
    case = draw(st.integers(0, len(world.cases)))
    if purpose == "CASE_HANDLING" and world.cases and not anything:
        # Mostly the organ handling the case now, about someone in it (often accused).
        case = draw(st.integers(0, len(world.cases) - 1))
        chosen = world.cases[case]
        requester = draw(st.sampled_from([chosen.handled_by(), chosen.handled_by(),
                                          chosen.handler, requester]))
        people = [p for p, _ in chosen.parties]
        subject = draw(st.sampled_from(people)) if people else subject
    if purpose == "DEFENSE" and world.counsel() and not anything:
        requester, subject, case = draw(st.sampled_from(world.counsel()))
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
    case = world.case(ask.case)
    if ask.purpose == "CASE_HANDLING":
        if (case is None or case.closed or case.handled_by() != ask.requester
                or not case.accused(ask.subject)):
            return Answer("REJECTED")
        return Answer("APPROVED",
                      {s: "SEALED" if s == SEALED else "OPEN"
                       for s in states & {OPEN, SEALED, ACQUITTAL}},
                      {s: s.split()[0].upper() for s in states & {CRIMINAL, ADMINISTRATIVE}})
    if ask.purpose == "DEFENSE":
        if (case is None or case.closed or not case.accused(ask.subject)
                or (ask.requester, ask.subject) not in case.counsel):
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


def case_state(ask: Ask, world: World) -> str:
    """The state of the case an inquiry names, as tests/api/test_inquiry_disclosure_table.py
    names them (for the statistics: `--hypothesis-show-statistics`)."""
    case = world.case(ask.case)
    if case is None:
        return "no such case"
    if case.closed:
        return "closed"
    if not case.accused(ask.subject):
        return "not a party"
    if ask.purpose == "DEFENSE":
        return "counsel" if (ask.requester, ask.subject) in case.counsel else "not counsel"
    if case.handled_by() == ask.requester:
        return "handled by me"
    return "transferred" if case.handler == ask.requester else "handled by another agency"


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
    for n, case in enumerate(world.cases):
        handler, number = UNITS[case.handler], CASE_NUMBERS[n]
        await register_case(registry, handler, number,
                            [party(numbers[p], role) for p, role in case.parties])
        for lawyer, person in sorted(case.counsel):
            await counsel(registry, handler, number, UNITS[lawyer][0], numbers[person])
        if case.transferred_to is not None:
            await transfer(registry, handler, number, UNITS[case.transferred_to])
        if case.closed:
            await close(registry, UNITS[case.handled_by()], number)

    answered: list[tuple[Ask, str]] = []
    for ask in world.asks:
        who = principal(ask, numbers)
        states = world.people[ask.subject] if ask.subject < len(people) else frozenset()
        body = await submit(registry, who, ask.purpose, numbers[ask.subject],
                            caseNumber=CASE_NUMBERS[ask.case])
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
        if ask.purpose in ("CASE_HANDLING", "DEFENSE"):
            hypothesis.event(f"{ask.purpose.lower()}: {case_state(ask, world)}")
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
