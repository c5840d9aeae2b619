"""Which registration authority receives a notice (DESIGN.md §1.2).

A registration authority covers an administrative division: a province (`110000`), a
city (`110100`) or a county (`110101`). A notice goes to the most specific authority
whose division contains the person's residence code.
"""

from collections.abc import Iterable

from policies.identity import is_valid_region


def division_level(division: str) -> int:
    """3 for a county, 2 for a city, 1 for a province-level division."""
    if division[4:] != "00":
        return 3
    if division[2:4] != "00":
        return 2
    return 1


def in_division(division: str, region: str) -> bool:
    """Does the division `division` contain the region code `region`?

    110000 contains 110100 and 110101; 110100 contains 110101; 110101 only itself.
    Malformed codes contain nothing and are contained in nothing.
    """
    if not (is_valid_region(division) and is_valid_region(region)):
        return False
    prefix = {1: 2, 2: 4, 3: 6}[division_level(division)]
    return region[:prefix] == division[:prefix]


def route_to_authority(region: str, authorities: Iterable[tuple[str, str]]) -> str | None:
    """The code of the most specific authority (code, division) containing `region`.

    Two authorities on the same division: the smaller code wins, so routing is stable.
    """
    best: tuple[int, str] | None = None
    for code, division in authorities:
        if not in_division(division, region):
            continue
        level = division_level(division)
        if best is None or level > best[0] or (level == best[0] and code < best[1]):
            best = (level, code)
    return None if best is None else best[1]
