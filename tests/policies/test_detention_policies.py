"""Detention policies (policies/defaults/detentions.json) as a data table (STYLE.md §9):
who registers, reads, closes; an administrative detention is sealed from everyone but
case-handling organs, registry clerks included; a bypass attempt beside each rule."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from db.models import Detention
from policies.actions import Action
from policies.attributes import detention_attributes, detention_close_combinations
from policies.pdp import DecisionPoint
from policies.store import load_default_documents
from policies.vocabulary import RESOURCE_ATTRIBUTES
from schema.authz import Authorizer


def who(role: str, agency_kind: str, agency: str, region: str = "110101") -> dict[str, Any]:
    return {"sub": f"{role}-1", "role": role, "agency": agency, "agency_kind": agency_kind,
            "agency_level": "county", "region": region, "id_number": "", "scopes": []}


PRINCIPALS: dict[str, dict[str, Any]] = {
    "dongcheng police": who("police_officer", "public_security", "PSB-110101"),
    "chaoyang police": who("police_officer", "public_security", "PSB-110105", "110105"),
    "state security officer": who("state_security_officer", "state_security", "SSB-110000",
                                  "110000"),
    "judge": who("judge", "court", "COURT-110101"),
    "prosecutor": who("prosecutor", "procuratorate", "PROC-110101"),
    "dongcheng clerk": who("registry_clerk", "registration_authority", "REG-110101"),
    "shanghai clerk": who("registry_clerk", "registration_authority", "REG-310000", "310000"),
    "employer": who("employer", "employer", "EMP-110101"),
    "defense lawyer": who("defense_lawyer", "law_firm", "LAW-110101"),
    "auditor": who("auditor", "registration_authority", "REG-110000", "110000"),
    # Bypass attempts: the right role at the wrong kind of agency, or the agency's code
    # claimed by a principal of another kind.
    "police at a registry": who("police_officer", "registration_authority", "REG-110101"),
    "judge at a public security organ": who("judge", "public_security", "PSB-110101"),
    "employer named like the agency": who("employer", "employer", "PSB-110101"),
}


def detention(kind: str, owner: str = "PSB-110101", in_division: str = "yes") -> dict[str, Any]:
    return {"type": "detention", "id": "dtn_1", "kind": kind,
            "seal_status": "sealed" if kind == "administrative" else "open", "status": "open",
            "region": "110101", "owner_agency": owner, "in_requester_division": in_division,
            "record_kind": "detention"}


RESOURCES: dict[str, dict[str, Any]] = {
    "criminal detention": detention("criminal"),
    "administrative detention": detention("administrative"),
    "criminal detention out of division": detention("criminal", in_division="no"),
    "state security's criminal detention": detention("criminal", owner="SSB-110000"),
    "new criminal detention": {"type": "detention", "id": "*", "kind": "criminal",
                               "owner_agency": "PSB-110101"},
    "new administrative detention": {"type": "detention", "id": "*", "kind": "administrative",
                                     "owner_agency": "PSB-110101"},
    # A mislabelled resource: the detention action on a judgment.
    "judgment": {"type": "judgment", "id": "jdg_1", "seal_status": "open",
                 "in_requester_division": "yes", "owner_agency": "PSB-110101"},
}

CASE = {"purpose": "case_handling", "case_number": "(2026) Jing 0101 1"}


@dataclass(frozen=True)
class Case:
    principal: str
    action: Action
    resource: str
    allowed: bool
    context: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        verdict = "may" if self.allowed else "may not"
        ctx = " handling a case" if self.context else ""
        return f"{self.principal} {verdict} {self.action.value} {self.resource}{ctx}"


A = Action
ORGANS = ("judge", "prosecutor", "dongcheng police", "chaoyang police",
          "state security officer")
NOT_ORGANS = ("dongcheng clerk", "shanghai clerk", "employer", "defense lawyer", "auditor")

CASES: list[Case] = [
    # --- registering: public (and state) security organs --------------------------------
    *[Case(p, A.DETENTION_REGISTER, r, True)
      for p in ("dongcheng police", "chaoyang police", "state security officer")
      for r in ("new criminal detention", "new administrative detention")],
    *[Case(p, A.DETENTION_REGISTER, "new criminal detention", False)
      for p in ("judge", "prosecutor", "dongcheng clerk", "employer", "police at a registry",
                "judge at a public security organ", "employer named like the agency")],
    Case("dongcheng police", A.DETENTION_REGISTER, "judgment", False),
    # --- the registering agency reads and closes its own criminal detention ---------------
    *[Case("dongcheng police", a, "criminal detention", True)
      for a in (A.DETENTION_READ, A.DETENTION_CLOSE)],
    *[Case(p, a, "criminal detention", False)
      for p in ("chaoyang police", "state security officer", "police at a registry",
                "employer named like the agency", "judge at a public security organ")
      for a in (A.DETENTION_READ, A.DETENTION_CLOSE)],
    Case("state security officer", A.DETENTION_CLOSE, "state security's criminal detention",
         True),
    Case("dongcheng police", A.DETENTION_CLOSE, "judgment", False),
    # --- ... and its administrative one, sealed from all but the organ handling it -------
    *[Case("dongcheng police", a, "administrative detention", True)
      for a in (A.DETENTION_READ, A.DETENTION_CLOSE)],
    Case("dongcheng police", A.DETENTION_CLOSE, "administrative detention", True, CASE),
    *[Case("chaoyang police", a, "administrative detention", False)
      for a in (A.DETENTION_READ, A.DETENTION_CLOSE)],
    # --- registry clerks read criminal detentions in division, never a sealed one --------
    Case("dongcheng clerk", A.DETENTION_READ, "criminal detention", True),
    Case("dongcheng clerk", A.DETENTION_READ, "criminal detention out of division", False),
    Case("shanghai clerk", A.DETENTION_READ, "criminal detention out of division", False),
    Case("dongcheng clerk", A.DETENTION_READ, "administrative detention", False),
    Case("dongcheng clerk", A.DETENTION_READ, "administrative detention", False, CASE),
    Case("dongcheng clerk", A.DETENTION_CLOSE, "criminal detention", False),
    # --- case-handling organs read every detention when handling a case ------------------
    *[Case(p, A.DETENTION_READ, r, True, CASE) for p in ORGANS
      for r in ("criminal detention", "administrative detention")],
    *[Case(p, A.DETENTION_READ, r, False) for p in ("judge", "prosecutor", "chaoyang police")
      for r in ("criminal detention", "administrative detention")],
    *[Case(p, A.DETENTION_CLOSE, "criminal detention", False, CASE)
      for p in ("judge", "prosecutor", "chaoyang police")],
    # bypass: a purpose in the context grants nothing to anyone else
    *[Case(p, A.DETENTION_READ, r, False, CASE) for p in NOT_ORGANS[2:]
      for r in ("criminal detention", "administrative detention")],
    *[Case(p, A.DETENTION_READ, "administrative detention", False, CASE)
      for p in ("police at a registry", "judge at a public security organ")],
]


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_detention_policy_table(decision_point: DecisionPoint, case: Case) -> None:
    decision = decision_point.decide(PRINCIPALS[case.principal], RESOURCES[case.resource],
                                     case.action, case.context)
    assert decision.allowed is case.allowed, decision.reason


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
    assert criminal == detention("criminal")
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
