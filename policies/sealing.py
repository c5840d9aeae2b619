"""Juvenile record sealing (DESIGN.md §1.4).

Criminal Procedure Law art. 286 (《刑事诉讼法》第二百八十六条): where the offender was
under 18 when the crime was committed and was sentenced to fixed-term imprisonment of
five years or less, the criminal record is sealed. Lighter penalties (criminal detention,
public surveillance, supplementary penalties alone, exemption from punishment) are "or
less"; life imprisonment and the death penalty never are.

An acquittal is not a criminal record (DESIGN.md §1.1), so sealing does not apply to it:
it is decided "open" with a reason that says so. Whether anyone sees an acquittal is a
policy question (the `verdict` resource attribute), not a sealing one.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from policies.ages import under_18_at

FIVE_YEARS_IN_MONTHS = 60

LIGHTER_THAN_IMPRISONMENT = frozenset(
    {"EXEMPTED", "SUPPLEMENTARY_ONLY", "PUBLIC_SURVEILLANCE", "CRIMINAL_DETENTION"}
)
FIXED_TERM = "FIXED_TERM_IMPRISONMENT"
NEVER_SEALED = frozenset({"LIFE_IMPRISONMENT", "DEATH_WITH_REPRIEVE", "DEATH"})
PENALTY_KINDS = LIGHTER_THAN_IMPRISONMENT | NEVER_SEALED | {FIXED_TERM}

REASON_MINOR_LIGHT_PENALTY = "minor at offence, penalty 5 years or less"
REASON_ADULT = "adult at offence"
REASON_OVER_FIVE_YEARS = "penalty over 5 years"
REASON_LIFE_OR_DEATH = "life imprisonment or death penalty is never sealed"
REASON_ACQUITTED = "acquitted: not a criminal record, sealing does not apply"


@dataclass(frozen=True)
class SealDecision:
    status: Literal["open", "sealed"]
    reason: str


def _check_penalty(penalty_kind: str, term_months: int | None) -> None:
    if penalty_kind not in PENALTY_KINDS:
        raise ValueError(f"unknown penalty kind {penalty_kind!r}")
    if penalty_kind == FIXED_TERM and term_months is None:
        raise ValueError("fixed-term imprisonment needs term_months")
    if term_months is not None and term_months < 0:
        raise ValueError("term_months must not be negative")


def penalty_is_five_years_or_less(penalty_kind: str, term_months: int | None) -> bool:
    _check_penalty(penalty_kind, term_months)
    if penalty_kind in NEVER_SEALED:
        return False
    if penalty_kind == FIXED_TERM:
        return term_months is not None and term_months <= FIVE_YEARS_IN_MONTHS
    return True


def decide_seal(
    *,
    birth_date: date,
    offense_date: date,
    penalty_kind: str,
    term_months: int | None,
    verdict: str = "guilty",
) -> SealDecision:
    """Sealed iff under 18 at the (principal) offence and the penalty is 5 years or less."""
    _check_penalty(penalty_kind, term_months)
    if verdict != "guilty":
        return SealDecision("open", REASON_ACQUITTED)
    if not under_18_at(birth_date, offense_date):
        return SealDecision("open", REASON_ADULT)
    if penalty_kind in NEVER_SEALED:
        return SealDecision("open", REASON_LIFE_OR_DEATH)
    if not penalty_is_five_years_or_less(penalty_kind, term_months):
        return SealDecision("open", REASON_OVER_FIVE_YEARS)
    return SealDecision("sealed", REASON_MINOR_LIGHT_PENALTY)


def combined_penalty_exceeds_five_years(penalties: Iterable[tuple[str, int | None]]) -> bool:
    """Does the combined penalty of these (penalty_kind, term_months) exceed five years?

    Used to unseal (DESIGN.md §1.4): a later judgment for another crime committed before
    18, or discovered afterwards, unseals when the combined penalty exceeds five years.
    The combination is a simple sum of fixed-term months; life imprisonment or death
    exceeds on its own; lighter penalties add nothing.
    """
    total = 0
    for penalty_kind, term_months in penalties:
        _check_penalty(penalty_kind, term_months)
        if penalty_kind in NEVER_SEALED:
            return True
        if penalty_kind == FIXED_TERM and term_months is not None:
            total += term_months
    return total > FIVE_YEARS_IN_MONTHS


# Status-neutral: the same reason serves a judgment unsealed by a later one and a judgment
# that, registered after the one it combines with, was never sealed at all.
REASON_UNSEALED_COMBINED = (
    "combined with a judgment for a crime committed before 18 or discovered afterwards, "
    "the penalty exceeds 5 years")


@dataclass(frozen=True)
class SealFacts:
    """What sealing depends on, for one judgment of a person."""

    key: int
    birth_date: date
    offense_date: date
    judgment_date: date
    penalty_kind: str
    term_months: int | None
    verdict: str = "guilty"


def _combinable(earlier: SealFacts, later: SealFacts) -> bool:
    """May `later`'s penalty be combined with `earlier`'s to unseal (DESIGN.md §1.4)?

    Yes when the later judgment is for a crime also committed before 18, or for a crime
    discovered afterwards: committed before the earlier judgment was given. Strictly
    before: dates carry no time of day, so a crime committed on the day the judgment was
    given cannot be shown to precede it, and the protective rule (sealing) stands.
    """
    return (under_18_at(later.birth_date, later.offense_date)
            or later.offense_date < earlier.judgment_date)


def decide_person_seals(judgments: Iterable[SealFacts]) -> dict[int, SealDecision]:
    """The seal status of every judgment of one person, each decided with the others.

    Each is first decided on its own (`decide_seal`). A judgment so sealed is unsealed when
    it and the guilty judgments combinable with it (`_combinable`, in either order) carry a
    combined penalty over five years: DESIGN.md §1.4's unsealing by a later judgment.
    Both sides of such a pair are open: the later judgment, combined, is no longer "five
    years or less" either. A judgment given before a sealed one is always combinable with
    it (the sealed crime was committed before 18), so the earlier side needs no date test.
    Judgments are ordered by judgment date, then key (registration order).

    The combined penalty is the simple sum of the fixed terms (see
    `combined_penalty_exceeds_five_years`), not the term a court fixes when it combines
    sentences (Criminal Law art. 69): the registry holds each judgment's own penalty only.
    """
    ordered = sorted(judgments, key=lambda j: (j.judgment_date, j.key))
    decisions = {j.key: decide_seal(birth_date=j.birth_date, offense_date=j.offense_date,
                                    penalty_kind=j.penalty_kind, term_months=j.term_months,
                                    verdict=j.verdict)
                 for j in ordered}
    guilty = [j for j in ordered if j.verdict == "guilty"]
    for position, judgment in enumerate(guilty):
        if decisions[judgment.key].status != "sealed":
            continue
        related = [other for index, other in enumerate(guilty) if index != position and (
            _combinable(judgment, other) if index > position else _combinable(other, judgment))]
        if related and combined_penalty_exceeds_five_years(
                [(j.penalty_kind, j.term_months) for j in (judgment, *related)]):
            decisions[judgment.key] = SealDecision("open", REASON_UNSEALED_COMBINED)
    return decisions
