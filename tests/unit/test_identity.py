import pytest

from policies.identity import (
    birth_date_of,
    id_number_check_char,
    is_valid_id_number,
    is_valid_region,
    normalize_id_number,
)

# The worked example of GB 11643-1999.
VALID = "11010519491231002X"


def make(first17: str) -> str:
    return first17 + id_number_check_char(first17)


def test_the_standard_example_is_valid() -> None:
    assert id_number_check_char(VALID[:17]) == "X"
    assert is_valid_id_number(VALID)


def test_a_wrong_check_character_is_invalid() -> None:
    assert not is_valid_id_number(VALID[:17] + "1")


def test_a_changed_digit_is_caught_by_the_check_character() -> None:
    assert not is_valid_id_number("11010519491231003X")


def test_a_lowercase_x_is_not_canonical_but_normalizes() -> None:
    assert not is_valid_id_number(VALID.lower())
    assert is_valid_id_number(normalize_id_number(" " + VALID.lower() + " "))


@pytest.mark.parametrize("birth", ["20230230", "20231301", "20230000", "17991231"])
def test_an_impossible_birth_date_is_invalid(birth: str) -> None:
    assert not is_valid_id_number(make(f"110105{birth}002"))


def test_a_real_leap_day_birth_date_is_valid() -> None:
    assert is_valid_id_number(make("11010520080229002"))
    assert not is_valid_id_number(make("11010520070229002"))


@pytest.mark.parametrize("value", ["", "1101051949123100", "11010519491231002XX", "A" * 18,
                                   "110105194912310021 ", "１１０１０５１９４９１２３１００２X"])
def test_malformed_identity_numbers_are_invalid(value: str) -> None:
    assert not is_valid_id_number(value)


def test_an_unknown_province_prefix_is_invalid() -> None:
    assert not is_valid_id_number(make("99010519491231002"))


def test_the_birth_date_is_read_from_the_number() -> None:
    assert birth_date_of(VALID).isoformat() == "1949-12-31"


def test_check_char_needs_17_digits() -> None:
    with pytest.raises(ValueError):
        id_number_check_char("1234")


@pytest.mark.parametrize("code", ["110000", "110101", "310000", "460100", "710000", "820000"])
def test_real_region_codes_are_valid(code: str) -> None:
    assert is_valid_region(code)


@pytest.mark.parametrize("code", ["000000", "990000", "160000", "11010", "1101011", "11010a", ""])
def test_bad_region_codes_are_invalid(code: str) -> None:
    assert not is_valid_region(code)
