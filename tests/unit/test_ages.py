from datetime import date

import pytest

from policies.ages import age_in_full_years, under_18_at

BORN = date(2008, 6, 15)


def test_the_18th_birthday_itself_is_still_17() -> None:
    assert age_in_full_years(BORN, date(2026, 6, 15)) == 17
    assert under_18_at(BORN, date(2026, 6, 15))


def test_the_day_after_the_18th_birthday_is_18() -> None:
    assert age_in_full_years(BORN, date(2026, 6, 16)) == 18
    assert not under_18_at(BORN, date(2026, 6, 16))


def test_the_day_before_the_birthday_is_a_year_younger() -> None:
    assert age_in_full_years(BORN, date(2026, 6, 14)) == 17


def test_age_counts_full_years_across_year_ends() -> None:
    assert age_in_full_years(date(2000, 12, 31), date(2001, 1, 1)) == 0
    assert age_in_full_years(date(2000, 12, 31), date(2002, 1, 1)) == 1


def test_the_day_of_birth_is_age_zero() -> None:
    assert age_in_full_years(BORN, BORN) == 0


def test_a_date_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError, match="before the birth date"):
        age_in_full_years(BORN, date(2008, 6, 14))


LEAP = date(2008, 2, 29)


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (date(2026, 2, 28), 17),  # common year: the birthday is taken as 28 February
        (date(2026, 3, 1), 18),  # ... so the year is reached on 1 March
        (date(2028, 2, 29), 19),  # leap year: the birthday itself, still 19
        (date(2028, 3, 1), 20),
    ],
)
def test_a_29_february_birthday_is_reached_on_1_march(on: date, age: int) -> None:
    assert age_in_full_years(LEAP, on) == age


def test_offence_on_the_18th_birthday_of_a_leap_day_child_is_under_18() -> None:
    assert under_18_at(LEAP, date(2026, 2, 28))
    assert not under_18_at(LEAP, date(2026, 3, 1))
