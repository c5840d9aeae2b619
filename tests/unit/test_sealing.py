from datetime import date

import pytest

from policies.sealing import (
    REASON_ACQUITTED,
    REASON_ADULT,
    REASON_LIFE_OR_DEATH,
    REASON_MINOR_LIGHT_PENALTY,
    REASON_OVER_FIVE_YEARS,
    SealDecision,
    combined_penalty_exceeds_five_years,
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
