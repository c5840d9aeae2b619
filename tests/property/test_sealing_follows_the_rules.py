"""Juvenile sealing over time (DESIGN.md §1.4): for any judgments of one person, in any
order, corrected or not, the sealed set is what the rules say.

The rules are written here again from DESIGN.md, independently of policies/sealing.py:
a judgment is sealed when the crime was committed before 18 (the 18th birthday included)
and the penalty is five years' imprisonment or less (life and death never), unless a
judgment given after it for a crime also committed before 18, or for a crime committed
before it was given, makes the combined penalty exceed five years; then both are open.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from sqlmodel import col, select

from db.models import Judgment, Offender, SealEvent
from policies.sealing import SealFacts, decide_person_seals
from tests.api import conftest as api_conftest
from tests.conftest import clear_tables
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, id_number, report_input

registry = api_conftest.registry
settings = api_conftest.settings

NEVER = ("LIFE_IMPRISONMENT", "DEATH_WITH_REPRIEVE", "DEATH")
PENALTIES = [("FIXED_TERM_IMPRISONMENT", n) for n in (6, 24, 30, 36, 59, 60, 61, 120)] + [
    ("CRIMINAL_DETENTION", 6), ("EXEMPTED", None), ("LIFE_IMPRISONMENT", None)]
LAST_JUDGMENT = date(2026, 11, 1)  # effective ten days later, before "today" in the tests


# -- the rules ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Facts:
    key: int
    born: date
    offence: date
    given: date
    kind: str
    months: int | None
    verdict: str = "guilty"


def minor(j: Facts) -> bool:
    return j.offence <= j.born.replace(year=j.born.year + 18)


def light(j: Facts) -> bool:
    return j.kind not in NEVER and (j.kind != "FIXED_TERM_IMPRISONMENT" or (j.months or 0) <= 60)


def over_five_years(judgments: list[Facts]) -> bool:
    if any(j.kind in NEVER for j in judgments):
        return True
    return sum(j.months or 0 for j in judgments if j.kind == "FIXED_TERM_IMPRISONMENT") > 60


def combine(a: Facts, b: Facts) -> bool:
    """Do a and b combine to unseal? The one given later must be for a crime committed
    before 18, or committed before the other was given (same day: registration order)."""
    earlier, later = sorted((a, b), key=lambda j: (j.given, j.key))
    return minor(later) or later.offence < earlier.given


def sealed_by_the_rules(judgments: list[Facts]) -> set[int]:
    guilty = [j for j in judgments if j.verdict == "guilty"]
    return {j.key for j in guilty if minor(j) and light(j) and not over_five_years(
        [j, *[o for o in guilty if o is not j and combine(j, o)]])}


def decided_sealed(judgments: list[Facts]) -> set[int]:
    decisions = decide_person_seals(
        SealFacts(key=j.key, birth_date=j.born, offense_date=j.offence, judgment_date=j.given,
                  penalty_kind=j.kind, term_months=j.months, verdict=j.verdict)
        for j in judgments)
    return {key for key, d in decisions.items() if d.status == "sealed"}


@st.composite
def births(draw: st.DrawFn) -> date:
    return draw(st.dates(date(2005, 1, 1), date(2010, 6, 1))
                .filter(lambda d: (d.month, d.day) != (2, 29)))


@st.composite
def judgments_of(draw: st.DrawFn, born: date, key: int, verdicts: bool = True) -> Facts:
    fourteen = born.replace(year=born.year + 14) + timedelta(days=1)
    eighteenth = born.replace(year=born.year + 18)
    offence = draw(st.one_of(st.dates(fourteen, LAST_JUDGMENT),
                             st.sampled_from([eighteenth, eighteenth + timedelta(days=1)])))
    offence = min(offence, LAST_JUDGMENT)
    given = draw(st.one_of(st.dates(offence, LAST_JUDGMENT),
                           st.just(min(offence + timedelta(days=200), LAST_JUDGMENT))))
    kind, months = draw(st.sampled_from(PENALTIES))
    verdict = draw(st.sampled_from(["guilty", "guilty", "guilty", "acquitted"])) \
        if verdicts else "guilty"
    return Facts(key, born, offence, given, kind, months, verdict)


@st.composite
def people(draw: st.DrawFn, verdicts: bool = True, max_size: int = 5) -> list[Facts]:
    born = draw(births())
    count = draw(st.integers(1, max_size))
    return [draw(judgments_of(born, key, verdicts)) for key in range(1, count + 1)]


@hypothesis.settings(max_examples=400, deadline=None)
@given(judgments=people())
def test_decide_person_seals_follows_the_rules(judgments: list[Facts]) -> None:
    assert decided_sealed(judgments) == sealed_by_the_rules(judgments)


@hypothesis.settings(max_examples=200, deadline=None)
@given(judgments=people(), order=st.randoms(use_true_random=False))
def test_the_order_judgments_are_passed_in_does_not_matter(judgments: list[Facts],
                                                           order: Any) -> None:
    shuffled = list(judgments)
    order.shuffle(shuffled)
    assert decided_sealed(shuffled) == decided_sealed(judgments)


@hypothesis.settings(max_examples=200, deadline=None)
@given(judgments=people(max_size=4), data=st.data())
def test_another_judgment_never_seals_an_open_one_and_an_acquittal_changes_nothing(
        judgments: list[Facts], data: st.DataObject) -> None:
    before = decided_sealed(judgments)
    extra = data.draw(judgments_of(judgments[0].born, len(judgments) + 1))
    after = decided_sealed([*judgments, extra]) - {extra.key}
    assert after <= before
    if extra.verdict == "acquitted":
        assert after == before


# -- the service: reported, corrected, decided again ----------------------------------------

CLEANED = ("audit_checkpoint", "audit_event", "seal_event", "judgment_version",
           "execution_event", "notice", "judgment", "offender")

CORRECT = """mutation Correct($id: ID!, $input: CorrectJudgmentInput!, $reason: String!) {
  correctJudgment(id: $id, input: $input, reason: $reason) { notice { id } } }"""


async def reset(registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await clear_tables(session, CLEANED)
        await session.commit()


def as_input(j: Facts, person: dict[str, Any]) -> dict[str, Any]:
    return report_input(defendant=person, offenseDate=j.offence.isoformat(),
                        judgmentDate=j.given.isoformat(),
                        effectiveDate=(j.given + timedelta(days=10)).isoformat(),
                        penalty={"kind": j.kind, "termMonths": j.months})


async def stored(registry: Registry) -> tuple[list[Facts], dict[int, str], dict[int, list[str]]]:
    async with registry.app.state.registry.database.session() as session:
        found = (await session.execute(select(Judgment, Offender).join(
            Offender, col(Offender.id) == col(Judgment.offender_id)))).all()
        events = (await session.scalars(select(SealEvent).order_by(col(SealEvent.id)))).all()
    facts = [Facts(j.id, o.birth_date, j.offense_date, j.judgment_date, j.penalty_kind,
                   j.term_months) for j, o in found]
    statuses = {j.id: j.seal_status for j, _ in found}
    history: dict[int, list[str]] = {j.id: [] for j, _ in found}
    for event in events:
        history[event.judgment_id].append(event.status)
    return facts, statuses, history


@st.composite
def corrections(draw: st.DrawFn, count: int) -> list[tuple[int, dict[str, Any], bool]]:
    """(index of the judgment, the correction, retrial) for a few corrections."""
    drawn = []
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, count - 1))
        kind, months = draw(st.sampled_from(PENALTIES))
        change = draw(st.sampled_from(["penalty", "birthDate"]))
        value: dict[str, Any] = {"penalty": {"kind": kind, "termMonths": months}}
        if change == "birthDate":
            value = {"birthDate": draw(births()).isoformat()}
        drawn.append((index, value, draw(st.booleans())))
    return drawn


@hypothesis.settings(max_examples=20, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(judgments=people(verdicts=False, max_size=4), data=st.data())
async def test_the_service_keeps_the_sealed_set_the_rules_say_through_reports_and_corrections(
        registry: Registry, judgments: list[Facts], data: st.DataObject) -> None:
    await reset(registry)
    born = judgments[0].born
    person = {"idNumber": id_number("110101", born), "birthDate": born.isoformat(),
              "name": "Zhao Lei", "gender": None, "residenceRegion": "110101"}
    for j in judgments:
        body = await registry.gql(REPORT, {"input": as_input(j, person)}, as_=JUDGE)
        assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
    async with registry.app.state.registry.database.session() as session:
        ids = list((await session.scalars(select(Judgment.public_id)
                                          .order_by(col(Judgment.id)))).all())
    for index, change, retrial in data.draw(corrections(len(judgments))):
        if "birthDate" in change:
            change = {"defendant": {**person, "birthDate": change["birthDate"]}}
        before = await stored(registry)
        body = await registry.gql(CORRECT, {"id": ids[index], "reason": "property test",
                                            "input": {**change, "retrial": retrial}},
                                  as_=CLERK_DONGCHENG)
        if "errors" in body:  # e.g. a birth date that puts an offence under 14
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
            assert await stored(registry) == before
        elif "defendant" in change:
            person = change["defendant"]

    facts, statuses, history = await stored(registry)
    expected = sealed_by_the_rules(facts)
    assert {key for key, status in statuses.items() if status == "sealed"} == expected
    for key, events in history.items():
        # Every change of status is one event; the last is the status now.
        assert events and events[-1] == statuses[key], (key, events)
        assert all(a != b for a, b in zip(events, events[1:], strict=False)), (key, events)


def test_the_rules_here_agree_on_the_examples_of_the_design() -> None:
    born = date(2008, 6, 15)
    sealed = Facts(1, born, date(2025, 3, 1), date(2025, 9, 1), "FIXED_TERM_IMPRISONMENT", 36)
    adult_after = Facts(2, born, date(2027, 1, 10), date(2027, 6, 1),
                        "FIXED_TERM_IMPRISONMENT", 120)
    minor_later = Facts(2, born, date(2026, 1, 10), date(2026, 5, 1),
                        "FIXED_TERM_IMPRISONMENT", 25)
    assert sealed_by_the_rules([sealed, adult_after]) == {1}
    assert sealed_by_the_rules([sealed, minor_later]) == set()
    assert sealed_by_the_rules([sealed, replace(minor_later, months=24)]) == {1, 2}
