from datetime import date

import pytest

from policies.sealing import (
    REASON_ACQUITTED,
    REASON_ADULT,
    REASON_LIFE_OR_DEATH,
    REASON_MINOR_LIGHT_PENALTY,
    REASON_OVER_FIVE_YEARS,
    REASON_UNSEALED_COMBINED,
    SealDecision,
    SealFacts,
    combined_penalty_exceeds_five_years,
    decide_person_seals,
    decide_seal,
)

BORN = date(2008, 6, 15)
AS_MINOR = date(2025, 1, 10)
AS_ADULT = date(2027, 1, 10)


def seal(penalty_kind: str, term_months: int | None = None, *, offense_date: date = AS_MINOR,
         verdict: str = "guilty") -> SealDecision:
    return decide_seal(birth_date=BORN, offense_date=offense_date, penalty_kind=penalty_kind,
                       term_months=term_months, verdict=verdict)


@pytest.mark.parametrize(
    ("penalty_kind", "term_months"),
    [
        ("EXEMPTED", None),
        ("SUPPLEMENTARY_ONLY", None),
        ("PUBLIC_SURVEILLANCE", 12),
        ("CRIMINAL_DETENTION", 6),
        ("FIXED_TERM_IMPRISONMENT", 1),
        ("FIXED_TERM_IMPRISONMENT", 60),
    ],
)
def test_a_minor_sentenced_to_five_years_or_less_is_sealed(
    penalty_kind: str, term_months: int | None
) -> None:
    assert seal(penalty_kind, term_months) == SealDecision("sealed", REASON_MINOR_LIGHT_PENALTY)


def test_a_minor_sentenced_to_61_months_is_not_sealed() -> None:
    assert seal("FIXED_TERM_IMPRISONMENT", 61) == SealDecision("open", REASON_OVER_FIVE_YEARS)


@pytest.mark.parametrize("penalty_kind", ["LIFE_IMPRISONMENT", "DEATH_WITH_REPRIEVE", "DEATH"])
def test_life_imprisonment_and_death_are_never_sealed(penalty_kind: str) -> None:
    assert seal(penalty_kind) == SealDecision("open", REASON_LIFE_OR_DEATH)


def test_an_adult_offence_is_not_sealed_whatever_the_penalty() -> None:
    assert seal("EXEMPTED", offense_date=AS_ADULT) == SealDecision("open", REASON_ADULT)


def test_an_offence_on_the_18th_birthday_is_sealed() -> None:
    assert seal("CRIMINAL_DETENTION", 3, offense_date=date(2026, 6, 15)).status == "sealed"


def test_an_offence_the_day_after_the_18th_birthday_is_not_sealed() -> None:
    assert seal("CRIMINAL_DETENTION", 3, offense_date=date(2026, 6, 16)).status == "open"


def test_an_acquittal_is_not_a_criminal_record_so_sealing_does_not_apply() -> None:
    assert seal("EXEMPTED", verdict="acquitted") == SealDecision("open", REASON_ACQUITTED)


def test_an_unknown_penalty_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown penalty kind"):
        seal("CANING")


def test_fixed_term_imprisonment_needs_a_term() -> None:
    with pytest.raises(ValueError, match="term_months"):
        seal("FIXED_TERM_IMPRISONMENT", None)


def test_a_negative_term_is_an_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        seal("FIXED_TERM_IMPRISONMENT", -1)


def test_combined_fixed_terms_over_60_months_exceed_five_years() -> None:
    assert combined_penalty_exceeds_five_years(
        [("FIXED_TERM_IMPRISONMENT", 36), ("FIXED_TERM_IMPRISONMENT", 25)]
    )


def test_combined_fixed_terms_of_exactly_60_months_do_not_exceed() -> None:
    assert not combined_penalty_exceeds_five_years(
        [("FIXED_TERM_IMPRISONMENT", 36), ("FIXED_TERM_IMPRISONMENT", 24), ("EXEMPTED", None)]
    )


def test_lighter_penalties_add_nothing_to_the_combined_term() -> None:
    assert not combined_penalty_exceeds_five_years(
        [("FIXED_TERM_IMPRISONMENT", 60), ("CRIMINAL_DETENTION", 6), ("PUBLIC_SURVEILLANCE", 24)]
    )


def test_a_life_sentence_alone_exceeds_five_years() -> None:
    assert combined_penalty_exceeds_five_years([("LIFE_IMPRISONMENT", None)])


# --- a person's judgments decided together (DESIGN.md §1.4: unsealing) -------------------
# Born 2008-06-15: under 18 up to and including 2026-06-15.

MINOR_OFFENCE = date(2025, 3, 1)
SEALED_GIVEN = date(2025, 9, 1)  # the date the (sealed) first judgment is given


def facts(key: int, *, offense: date, given: date, months: int | None = None,
          kind: str = "FIXED_TERM_IMPRISONMENT", verdict: str = "guilty") -> SealFacts:
    return SealFacts(key=key, birth_date=BORN, offense_date=offense, judgment_date=given,
                     penalty_kind=kind, term_months=months, verdict=verdict)


def sealed_first(months: int = 36) -> SealFacts:
    """A juvenile judgment sealed on its own: offence at 16, `months` of imprisonment."""
    return facts(1, offense=MINOR_OFFENCE, given=SEALED_GIVEN, months=months)


def statuses(*judgments: SealFacts) -> dict[int, str]:
    return {key: d.status for key, d in decide_person_seals(judgments).items()}


def test_a_single_juvenile_judgment_is_decided_as_on_its_own() -> None:
    assert decide_person_seals([sealed_first()]) == {
        1: SealDecision("sealed", REASON_MINOR_LIGHT_PENALTY)}


def test_a_later_adult_crime_committed_after_the_sealed_judgment_does_not_unseal() -> None:
    later = facts(2, offense=date(2027, 1, 10), given=date(2027, 6, 1), months=120)
    assert statuses(sealed_first(), later) == {1: "sealed", 2: "open"}


def test_a_later_minor_crime_combined_over_60_months_unseals_both() -> None:
    later = facts(2, offense=date(2026, 1, 10), given=date(2026, 5, 1), months=25)
    decisions = decide_person_seals([sealed_first(36), later])
    assert decisions == {1: SealDecision("open", REASON_UNSEALED_COMBINED),
                         2: SealDecision("open", REASON_UNSEALED_COMBINED)}


def test_a_later_minor_crime_combined_to_exactly_60_months_stays_sealed() -> None:
    later = facts(2, offense=date(2026, 1, 10), given=date(2026, 5, 1), months=24)
    assert statuses(sealed_first(36), later) == {1: "sealed", 2: "sealed"}


def test_a_crime_discovered_afterwards_committed_as_an_adult_unseals_when_combined_over_60(
) -> None:
    # Committed before the sealed judgment was given, judged later: a crime discovered
    # afterwards, whatever the age at which it was committed (DESIGN.md §1.4).
    sealed = facts(1, offense=MINOR_OFFENCE, given=date(2026, 9, 1), months=36)
    discovered = facts(2, offense=date(2026, 7, 1), given=date(2027, 3, 1), months=25)
    assert statuses(sealed, discovered) == {1: "open", 2: "open"}


def test_a_crime_discovered_afterwards_combined_to_60_months_stays_sealed() -> None:
    sealed = facts(1, offense=MINOR_OFFENCE, given=date(2026, 9, 1), months=36)
    discovered = facts(2, offense=date(2026, 7, 1), given=date(2027, 3, 1), months=24)
    assert statuses(sealed, discovered) == {1: "sealed", 2: "open"}


def test_an_adult_crime_on_the_day_the_sealed_judgment_was_given_is_not_discovered_afterwards(
) -> None:
    # "Committed before the sealed judgment was given": on the same day it cannot be told
    # apart from a crime committed after it, and the protective rule stands.
    sealed = facts(1, offense=MINOR_OFFENCE, given=date(2026, 9, 1), months=36)
    same_day = facts(2, offense=date(2026, 9, 1), given=date(2027, 3, 1), months=60)
    day_before = facts(2, offense=date(2026, 8, 31), given=date(2027, 3, 1), months=60)
    assert statuses(sealed, same_day) == {1: "sealed", 2: "open"}
    assert statuses(sealed, day_before) == {1: "open", 2: "open"}


def test_an_acquittal_never_counts_towards_the_combined_penalty() -> None:
    later = facts(2, offense=date(2026, 1, 10), given=date(2026, 5, 1), months=48,
                  verdict="acquitted")
    decisions = decide_person_seals([sealed_first(36), later])
    assert decisions[1].status == "sealed"
    assert decisions[2] == SealDecision("open", REASON_ACQUITTED)


def test_an_acquitted_juvenile_judgment_is_neither_sealed_nor_unsealing() -> None:
    acquitted = facts(1, offense=MINOR_OFFENCE, given=SEALED_GIVEN, months=36,
                      verdict="acquitted")
    later = facts(2, offense=date(2026, 1, 10), given=date(2026, 5, 1), months=30)
    assert decide_person_seals([acquitted, later]) == {
        1: SealDecision("open", REASON_ACQUITTED),
        2: SealDecision("sealed", REASON_MINOR_LIGHT_PENALTY)}


@pytest.mark.parametrize("kind", ["LIFE_IMPRISONMENT", "DEATH_WITH_REPRIEVE", "DEATH"])
def test_a_later_life_or_death_sentence_for_a_minor_crime_unseals(kind: str) -> None:
    later = facts(2, offense=date(2026, 1, 10), given=date(2026, 5, 1), kind=kind)
    decisions = decide_person_seals([sealed_first(1), later])
    assert decisions[1] == SealDecision("open", REASON_UNSEALED_COMBINED)
    assert decisions[2] == SealDecision("open", REASON_LIFE_OR_DEATH)


def test_lighter_later_penalties_never_unseal() -> None:
    later = [facts(n, offense=date(2026, 1, n), given=date(2026, 5, 1), kind=kind, months=m)
             for n, (kind, m) in enumerate([("CRIMINAL_DETENTION", 6),
                                            ("PUBLIC_SURVEILLANCE", 24),
                                            ("EXEMPTED", None)], start=2)]
    assert statuses(sealed_first(60), *later) == {1: "sealed", 2: "sealed", 3: "sealed",
                                                  4: "sealed"}


def test_an_earlier_adult_judgment_and_a_later_juvenile_crime_discovered_afterwards() -> None:
    # The adult judgment comes first; the crime committed at 16 is discovered and judged
    # later. Combined over five years, the juvenile judgment is not kept sealed.
    adult = facts(1, offense=date(2026, 8, 1), given=date(2027, 1, 1), months=48)
    juvenile = facts(2, offense=MINOR_OFFENCE, given=date(2027, 6, 1), months=24)
    assert statuses(adult, juvenile) == {1: "open", 2: "open"}
    lighter = facts(2, offense=MINOR_OFFENCE, given=date(2027, 6, 1), months=12)
    assert statuses(adult, lighter) == {1: "open", 2: "sealed"}


def test_three_judgments_each_sealed_judgment_combined_only_with_those_it_relates_to() -> None:
    # 1: sealed, 30 months. 2: a later crime at 17, 20 months (relates to 1).
    # 3: an adult crime committed after 1 was given but before 2 was (relates to 2 only).
    first = facts(1, offense=date(2024, 3, 1), given=date(2024, 9, 1), months=30)
    second = facts(2, offense=date(2025, 1, 1), given=date(2026, 9, 1), months=20)
    third = facts(3, offense=date(2026, 8, 1), given=date(2027, 2, 1), months=20)
    # 1 with 2: 50 months; 2 with 1 and 3: 70 months.
    assert statuses(first, second, third) == {1: "sealed", 2: "open", 3: "open"}


def test_three_juvenile_judgments_unseal_together_once_their_sum_exceeds_60_months() -> None:
    first = facts(1, offense=date(2023, 3, 1), given=date(2023, 9, 1), months=24)
    second = facts(2, offense=date(2024, 3, 1), given=date(2024, 9, 1), months=24)
    assert statuses(first, second) == {1: "sealed", 2: "sealed"}
    third = facts(3, offense=date(2025, 3, 1), given=date(2025, 9, 1), months=13)
    assert statuses(first, second, third) == {1: "open", 2: "open", 3: "open"}


def test_the_order_the_judgments_are_given_in_does_not_matter() -> None:
    judgments = [sealed_first(36),
                 facts(2, offense=date(2026, 1, 10), given=date(2026, 5, 1), months=25),
                 facts(3, offense=date(2027, 1, 10), given=date(2027, 6, 1), months=120)]
    assert decide_person_seals(judgments) == decide_person_seals(reversed(judgments))


def test_a_retrial_raising_the_penalty_above_five_years_unseals() -> None:
    assert statuses(sealed_first(60)) == {1: "sealed"}
    assert decide_person_seals([sealed_first(61)]) == {
        1: SealDecision("open", REASON_OVER_FIVE_YEARS)}
