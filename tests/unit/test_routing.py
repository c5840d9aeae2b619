import pytest

from policies.attributes import in_division
from policies.routing import route_to_authority

AUTHORITIES = [
    ("RA-BJ", "110000"),  # Beijing, province level
    ("RA-BJ-CITY", "110100"),
    ("RA-BJ-DC", "110101"),  # Dongcheng district, county level
    ("RA-SH", "310000"),
]


def test_a_county_authority_beats_its_city_and_province() -> None:
    assert route_to_authority("110101", AUTHORITIES) == "RA-BJ-DC"


def test_a_city_authority_beats_its_province() -> None:
    assert route_to_authority("110102", AUTHORITIES) == "RA-BJ-CITY"


def test_the_province_authority_takes_what_no_city_covers() -> None:
    assert route_to_authority("110228", AUTHORITIES) == "RA-BJ"


def test_order_of_authorities_does_not_matter() -> None:
    assert route_to_authority("110101", list(reversed(AUTHORITIES))) == "RA-BJ-DC"


def test_no_covering_authority_routes_nowhere() -> None:
    assert route_to_authority("440305", AUTHORITIES) is None


def test_a_malformed_region_routes_nowhere() -> None:
    assert route_to_authority("11010", AUTHORITIES) is None


def test_two_authorities_on_one_division_route_to_the_smaller_code() -> None:
    assert route_to_authority("310101", [("RA-SH-B", "310000"), ("RA-SH-A", "310000")]) == "RA-SH-A"


@pytest.mark.parametrize(
    ("division", "region", "contained"),
    [
        ("110000", "110000", True),
        ("110000", "110100", True),
        ("110000", "110101", True),
        ("110100", "110101", True),
        ("110100", "110100", True),
        ("110101", "110101", True),
        ("110101", "110102", False),
        ("110100", "110201", False),
        ("110100", "110000", False),  # a city does not contain its province
        ("110000", "310101", False),
        ("11000", "110101", False),
        ("110000", "11010x", False),
        ("", "110101", False),
        ("000000", "000000", False),
    ],
)
def test_a_division_contains_the_regions_below_it(
    division: str, region: str, contained: bool
) -> None:
    assert in_division(division, region) is contained
