"""Detention policies (policies/defaults/detentions.json): which policy decides, the
attributes the app builds, and the close gate. Who registers, reads and closes is the
"detentions" rows of the policy test table (policies/table.py)."""

from datetime import date

import pytest

from db.models import Detention
from policies.actions import Action
from policies.attributes import detention_attributes, detention_close_combinations
from policies.pdp import DecisionPoint
from policies.store import load_default_documents
from policies.table import DETENTION_CASE
from policies.table import DETENTION_PRINCIPALS as PRINCIPALS
from policies.table import DETENTION_RESOURCES as RESOURCES
from policies.vocabulary import RESOURCE_ATTRIBUTES
from schema.authz import Authorizer

A = Action
CASE = DETENTION_CASE


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


def test_a_clerk_is_denied_an_administrative_detention_by_the_detention_sealing_policy(
        decision_point: DecisionPoint) -> None:
    # Not by default: the clerk's record-management allow does fit, and the deny overrides.
    decision = decision_point.decide(PRINCIPALS["dongcheng clerk"],
                                     RESOURCES["administrative detention"], A.DETENTION_READ,
                                     CASE)
    assert decision.policy_uid == "sealed.detentions-are-read-only-by-case-handling-organs"
    assert "clerk.reads-records-in-division" in decision.applicable


def a_detention(kind: str) -> Detention:
    return Detention(public_id="dtn_1", kind=kind, case_number="C-1",
                     id_number="11010519491231002X", name="N", birth_date=date(1949, 12, 31),
                     region="110101", start_date=date(2026, 11, 2), agency_id=1)


def test_detention_attributes_stay_inside_the_vocabulary_and_seal_administrative_ones(
) -> None:
    clerk = PRINCIPALS["dongcheng clerk"]
    criminal = detention_attributes(a_detention("CRIMINAL"), owner_agency="PSB-110101",
                                    subject=clerk)
    assert criminal == RESOURCES["criminal detention"]
    administrative = detention_attributes(a_detention("ADMINISTRATIVE"),
                                          owner_agency="PSB-110101", subject=clerk)
    assert (administrative["kind"], administrative["seal_status"]) == ("administrative",
                                                                        "sealed")
    assert set(criminal) <= RESOURCE_ATTRIBUTES
    for combination in detention_close_combinations(clerk):
        assert set(combination) <= RESOURCE_ATTRIBUTES


def test_only_those_who_close_some_detention_pass_the_close_gate(
        decision_point: DecisionPoint) -> None:
    def closes_some(principal: str) -> bool:
        subject = PRINCIPALS[principal]
        return any(decision_point.decide(subject, c, A.DETENTION_CLOSE, {}).allowed
                   for c in detention_close_combinations(subject))

    assert closes_some("dongcheng police") and closes_some("state security officer")
    assert not any(closes_some(p) for p in ("judge", "dongcheng clerk", "employer",
                                            "police at a registry"))


@pytest.mark.parametrize(("purpose", "allowed"), [("case_handling", True), ("", False),
                                                  ("record_management", False)])
def test_a_judge_reads_an_administrative_detention_only_when_handling_a_case(
        decision_point: DecisionPoint, purpose: str, allowed: bool) -> None:
    """Through the Authorizer, as resolvers ask: the inquiry mechanism sets the purpose."""
    authz = Authorizer(decision_point, PRINCIPALS["judge"],
                       context={**CASE, "purpose": purpose, "inquiry_id": "",
                                "is_counsel": "no"})
    resource = detention_attributes(a_detention("ADMINISTRATIVE"), owner_agency="PSB-110101",
                                    subject=PRINCIPALS["judge"])
    assert authz.check_object(A.DETENTION_READ, resource) is allowed
    [entry] = authz.audit_entries()
    assert (entry.outcome, entry.resource_ids) == ("permit" if allowed else "deny", ["dtn_1"])
    # A permitted read of a sealed record is a recorded disclosure.
    assert entry.sealed_ids == (["dtn_1"] if allowed else [])
    if not allowed:
        assert entry.policy_uid == (
            "sealed.records-are-hidden-outside-case-handling-and-record-management")
