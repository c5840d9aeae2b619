"""Age at a date, the way criminal law counts it (DESIGN.md §1.4).

Criminal law counts age in full years on the Gregorian calendar, and a person reaches a
full year on the day *after* the birthday (最高人民法院《关于审理未成年人刑事案件具体应用
法律若干问题的解释》第二条: "周岁，按照公历的年、月、日计算，从周岁生日的第二天起算").
So an offence committed on the 18th birthday was committed at 17.

A 29 February birthday: in a year without 29 February the birthday is taken as
28 February, so the year is reached on 1 March, the same day as in a leap year.
"""

from datetime import date


def _birthday_in(birth_date: date, year: int) -> date:
    try:
        return birth_date.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def age_in_full_years(birth_date: date, on: date) -> int:
    """Full years reached on `on`; a year is reached the day after the birthday."""
    if on < birth_date:
        raise ValueError(f"date {on.isoformat()} is before the birth date {birth_date.isoformat()}")
    years = on.year - birth_date.year
    if _birthday_in(birth_date, on.year) >= on:
        years -= 1
    return max(years, 0)


def under_18_at(birth_date: date, offence_date: date) -> bool:
    return age_in_full_years(birth_date, offence_date) < 18
