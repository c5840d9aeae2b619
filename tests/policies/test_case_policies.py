"""Case policies (policies/defaults/cases.json, DESIGN.md §1.6): which policy decides. The
decisions themselves are the "cases" rows of the policy test table (policies/table.py)."""

import pytest

from db.models import CriminalCase
from policies.actions import Action
from policies.attributes import (
    CaseRelation,
    case_attributes,
    case_combinations,
    counsel_attributes,
    counsel_combinations,
)
from policies.pdp import DecisionPoint
from policies.store import load_default_documents
from policies.table import CASE_PRINCIPALS as PRINCIPALS
from policies.table import CASE_RESOURCES as RESOURCES
from policies.vocabulary import RESOURCE_ATTRIBUTES

A = Action


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


def test_a_transfer_to_anything_but_a_case_handling_organ_is_an_explicit_deny(
        decision_point: DecisionPoint) -> None:
    # The allow fits the police officer and their open case; the deny overrides it,
    # whatever allow is added later.
    for receiver in ("their open case to a law firm", "their open case to nowhere"):
        decision = decision_point.decide(PRINCIPALS["police officer"], RESOURCES[receiver],
                                         A.CASE_TRANSFER, {})
        assert decision.policy_uid == "cases.go-only-to-case-handling-organs", receiver
        assert "case-handling-organs.add-parties-to-and-transfer-their-open-cases" in \
            decision.applicable


def test_the_case_attributes_the_app_builds_stay_inside_the_vocabulary() -> None:
    for attributes in (*case_combinations(), *counsel_combinations(counsel_is_requester=False),
                       *RESOURCES.values()):
        assert set(attributes) <= RESOURCE_ATTRIBUTES


def test_every_kind_of_case_the_gate_asks_about_names_each_relation_once() -> None:
    """The combinations decided before a case number is looked up cover every value of the
    few-valued attributes (so that a policy on any of them is honoured by the gate)."""
    combos = case_combinations()
    assert {c["handled_by_requester"] for c in combos} == {"yes", "no"}
    assert {c["status"] for c in combos} == {"open", "closed"}
    assert {c["stage"] for c in combos} == {"investigation", "prosecution", "trial"}
    counsel = counsel_combinations(counsel_is_requester=True)
    assert {c["case_status"] for c in counsel} == {"open", "closed", "none"}
    assert {c["counsel_is_requester"] for c in counsel} == {"yes"}


def test_no_case_relates_nobody_to_anything() -> None:
    assert counsel_attributes(CaseRelation(), counsel_is_requester=False) == {
        "type": "counsel", "id": "*", "counsel_is_requester": "no",
        "handled_by_requester": "no", "subject_is_accused": "no", "case_status": "none"}


def test_a_requester_without_an_agency_handles_no_case_not_even_one_that_records_none() -> None:
    case = CriminalCase(case_number="(2026) X", agency_id=1, stage="TRIAL", registered_by="x")
    for subject in ({"agency": ""}, {}):
        assert case_attributes(case, handling_agency="", subject=subject)[
            "handled_by_requester"] == "no"
    assert case_attributes(case, handling_agency="PSB-1", subject={"agency": "PSB-1"}) == {
        "type": "case", "id": case.public_id, "stage": "trial", "status": "open",
        "seal_status": "open", "owner_agency": "PSB-1", "handled_by_requester": "yes"}
