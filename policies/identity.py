"""Identity numbers and region codes.

An identity number is the 18-character citizen identity number of GB 11643-1999: a
6-digit address code, the birth date YYYYMMDD, a 3-digit sequence code and a check
character computed with ISO 7064 MOD 11-2 (`X` stands for 10). The canonical form has
an upper-case `X`: a lower-case `x` is not valid here, and `normalize_id_number` is the
one place that turns user input into the canonical form.

A region is a 6-digit administrative-division code (GB/T 2260) whose first two digits
name a province-level division.
"""

import re
from datetime import date

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"
_ID_NUMBER = re.compile(r"\d{17}[\dX]")
_REGION = re.compile(r"\d{6}")

# Province-level prefixes of GB/T 2260: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82.
PROVINCE_PREFIXES = frozenset(
    f"{n:02d}"
    for n in (
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
    )
)


def id_number_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the first 17 characters of an identity number must be digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalize_id_number(value: str) -> str:
    return value.strip().upper()


def is_valid_region(code: str) -> bool:
    return (
        isinstance(code, str)
        and _REGION.fullmatch(code) is not None
        and code[:2] in PROVINCE_PREFIXES
    )


def _is_real_date(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return born.year >= 1800


def is_valid_id_number(value: str) -> bool:
    if not isinstance(value, str) or _ID_NUMBER.fullmatch(value) is None:
        return False
    if value[:2] not in PROVINCE_PREFIXES or not _is_real_date(value[6:14]):
        return False
    return id_number_check_char(value[:17]) == value[17]


def birth_date_of(id_number: str) -> date:
    """The birth date embedded in a valid identity number."""
    if not is_valid_id_number(id_number):
        raise ValueError("not a valid identity number")
    digits = id_number[6:14]
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
