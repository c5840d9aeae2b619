"""Models to attributes: the one place where a record becomes what the policies see."""

from datetime import date

from db.models import Agency, Judgment, Offender
from policies.actions import Action
from policies.attributes import (
    judgment_attributes,
    judgment_visibility_combinations,
    offender_attributes,
    offender_visibility_combinations,
    resource_attributes,
    subject_attributes,
)
from policies.pdp import DecisionPoint
from policies.store import load_default_documents
from policies.vocabulary import RESOURCE_ATTRIBUTES, SUBJECT_ATTRIBUTES

DONGCHENG = Agency(code="RA-BJ-DC", kind="REGISTRATION_AUTHORITY", name="Dongcheng",
                   region="110101")


def clerk() -> dict[str, object]:
    return subject_attributes(sub="u1", role="registry_clerk", agency=DONGCHENG,
                              id_number=None, scopes=["registry", "graphql"])


def a_judgment(region: str = "110101", seal_status: str = "sealed") -> Judgment:
    return Judgment(public_id="jdg_1", offender_id=1, court_agency_id=2,
                    judgment_number="(2025)京0101刑初1号", prosecutor="P",
                    judgment_date=date(2025, 3, 1), effective_date=date(2025, 3, 15),
                    offense_date=date(2024, 12, 1), age_at_offense=16, region=region,
                    penalty_kind="FIXED_TERM_IMPRISONMENT", term_months=12,
                    seal_status=seal_status)


def test_subject_kind_and_region_come_from_the_agency_in_lower_case() -> None:
    assert clerk() == {"sub": "u1", "role": "registry_clerk", "agency": "RA-BJ-DC",
                       "agency_kind": "registration_authority", "agency_level": "county",
                       "region": "110101", "id_number": "", "scopes": ["graphql", "registry"]}


def test_a_subject_without_agency_has_empty_agency_attributes() -> None:
    subject = subject_attributes(sub="p", role="individual", agency=None,
                                 id_number="11010519491231002X", scopes=())
    assert (subject["agency"], subject["agency_kind"], subject["region"]) == ("", "", "")
    assert subject["id_number"] == "11010519491231002X"


def test_subject_attributes_stay_inside_the_vocabulary() -> None:
    assert set(clerk()) <= SUBJECT_ATTRIBUTES


def test_a_judgment_in_the_clerks_division_is_in_requester_division() -> None:
    attributes = judgment_attributes(a_judgment("110101"), clerk())
    assert attributes == {"type": "judgment", "id": "jdg_1", "seal_status": "sealed",
                          "region": "110101", "owner_agency": "",
                          "in_requester_division": "yes", "record_kind": "judgment",
                          "verdict": "guilty"}
    assert set(attributes) <= RESOURCE_ATTRIBUTES


def test_a_judgment_elsewhere_is_not_in_requester_division() -> None:
    assert judgment_attributes(a_judgment("110102"), clerk())["in_requester_division"] == "no"


def test_a_requester_without_a_region_has_no_division() -> None:
    subject = {**clerk(), "region": ""}
    assert judgment_attributes(a_judgment(), subject)["in_requester_division"] == "no"


def test_offender_attributes_use_the_residence_region() -> None:
    offender = Offender(public_id="ofd_1", id_number="11010519491231002X", name="N",
                        birth_date=date(1949, 12, 31), residence_region="310101")
    attributes = offender_attributes(offender, clerk())
    assert attributes["type"] == "offender"
    assert attributes["region"] == "310101"
    assert attributes["in_requester_division"] == "no"
    assert attributes["seal_status"] == "open"
    assert set(attributes) <= RESOURCE_ATTRIBUTES


def test_generic_resources_carry_their_type() -> None:
    assert resource_attributes("policy", id="x") == {"type": "policy", "id": "x"}


def test_judgment_visibility_combinations_cover_every_value() -> None:
    combinations = judgment_visibility_combinations()
    assert len(combinations) == 8
    assert len({tuple(sorted(c.items())) for c in combinations}) == 8
    assert {c["seal_status"] for c in combinations} == {"open", "sealed"}


def test_a_clerk_sees_every_judgment_combination_in_division_and_none_outside() -> None:
    point = DecisionPoint(load_default_documents(), 1)
    visible = [c for c in judgment_visibility_combinations()
               if point.decide(clerk(), c, Action.JUDGMENT_LIST, {}).allowed]
    assert visible and all(c["in_requester_division"] == "yes" for c in visible)
    assert len(visible) == 4


def test_an_employer_sees_no_judgment_or_offender_combination() -> None:
    point = DecisionPoint(load_default_documents(), 1)
    employer = subject_attributes(sub="e", role="employer", agency=None, id_number=None,
                                  scopes=())
    combinations = judgment_visibility_combinations() + offender_visibility_combinations()
    assert not any(point.decide(employer, c, Action.JUDGMENT_LIST, {}).allowed
                   for c in combinations)
    assert not any(point.decide(employer, c, Action.OFFENDER_LIST, {}).allowed
                   for c in combinations)
