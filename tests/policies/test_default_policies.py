"""The default policy set: every document valid and described, and which policy decides
the rules that matter most. The decisions themselves are rows of the policy test table
(policies/table.py), run by test_policy_table.py."""

import pytest

from policies.actions import Action
from policies.pdp import DecisionPoint, validate_policy
from policies.store import load_default_documents
from policies.table import RECORD_PRINCIPALS as PRINCIPALS
from policies.table import RECORD_RESOURCES as RESOURCES

A = Action


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


def test_every_default_policy_is_valid_and_described() -> None:
    documents = load_default_documents()
    assert documents
    for document in documents:
        assert validate_policy(document) == [], document["uid"]
        assert len(document["description"]) > 20


def test_default_uids_are_unique() -> None:
    uids = [d["uid"] for d in load_default_documents()]
    assert len(uids) == len(set(uids))


def test_a_sealed_record_is_denied_by_the_sealing_policy_not_just_by_default(
    decision_point: DecisionPoint,
) -> None:
    decision = decision_point.decide(PRINCIPALS["prosecutor"],
                                     RESOURCES["sealed judgment in division"],
                                     A.JUDGMENT_READ, {})
    assert decision.policy_uid == (
        "sealed.records-are-hidden-outside-case-handling-and-record-management"
    )


def test_anonymous_is_denied_by_the_explicit_deny_policy(decision_point: DecisionPoint) -> None:
    decision = decision_point.decide(PRINCIPALS["anonymous"], RESOURCES["self"], A.ME_READ, {})
    assert decision.policy_uid == "anonymous.is-denied-everything"
    assert decision.reason == "denied by anonymous.is-denied-everything"


def test_a_clerk_permit_names_the_policy_and_version(decision_point: DecisionPoint) -> None:
    decision = decision_point.decide(PRINCIPALS["dongcheng clerk"],
                                     RESOURCES["sealed judgment in division"],
                                     A.JUDGMENT_READ, {})
    assert (decision.allowed, decision.policy_uid, decision.policy_version) == (
        True, "clerk.reads-records-in-division", 1)
    assert decision.reason == "permitted by clerk.reads-records-in-division"
