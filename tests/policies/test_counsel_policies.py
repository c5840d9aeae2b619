"""Defense-counsel policies (policies/defaults/counsel.json): which policy decides. The
decisions themselves are the "counsel" rows of the policy test table (policies/table.py)."""

import pytest

from policies.actions import Action
from policies.pdp import DecisionPoint
from policies.store import load_default_documents
from policies.table import COUNSEL_PRINCIPALS as PRINCIPALS
from policies.table import COUNSEL_RESOURCES as RESOURCES
from policies.vocabulary import RESOURCE_ATTRIBUTES

A = Action


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


def test_a_permit_names_the_counsel_policy(decision_point: DecisionPoint) -> None:
    decision = decision_point.decide(PRINCIPALS["judge"], RESOURCES["new counsel"],
                                     A.COUNSEL_REGISTER, {})
    assert decision.policy_uid == "case-handling-organs.register-defense-counsel"


def test_registering_oneself_is_denied_by_an_explicit_deny_not_just_by_default(
        decision_point: DecisionPoint) -> None:
    # The allow fits the judge; the deny overrides it, whatever allow is added later.
    decision = decision_point.decide(PRINCIPALS["judge"], RESOURCES["themselves as counsel"],
                                     A.COUNSEL_REGISTER, {})
    assert decision.policy_uid == "counsel.nobody-registers-themselves"
    assert "case-handling-organs.register-defense-counsel" in decision.applicable


def test_counsel_attributes_stay_inside_the_vocabulary() -> None:
    assert set(RESOURCES["new counsel"]) <= RESOURCE_ATTRIBUTES
