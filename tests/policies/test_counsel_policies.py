"""Defense-counsel policies (policies/defaults/counsel.json) as a data table (STYLE.md §9):
the case-handling organs register counsel, nobody else does, nobody registers themselves,
and a bypass attempt beside each rule."""

from dataclasses import dataclass
from typing import Any

import pytest

from policies.actions import Action
from policies.pdp import DecisionPoint
from policies.store import load_default_documents
from policies.vocabulary import RESOURCE_ATTRIBUTES


def who(role: str, agency_kind: str, agency: str, region: str = "110101") -> dict[str, Any]:
    return {"sub": f"{role}-1", "role": role, "agency": agency, "agency_kind": agency_kind,
            "agency_level": "county", "region": region, "id_number": "", "scopes": []}


PRINCIPALS: dict[str, dict[str, Any]] = {
    "judge": who("judge", "court", "COURT-110101"),
    "prosecutor": who("prosecutor", "procuratorate", "PROC-110101"),
    "police officer": who("police_officer", "public_security", "PSB-110101"),
    "state security officer": who("state_security_officer", "state_security", "SSB-110000",
                                  "110000"),
    "defense lawyer": who("defense_lawyer", "law_firm", "LAW-110101"),
    "clerk": who("registry_clerk", "registration_authority", "REG-110101"),
    "employer": who("employer", "employer", "EMP-110101"),
    "auditor": who("auditor", "registration_authority", "REG-110000", "110000"),
    "security admin": who("security_admin", "registration_authority", "REG-110000", "110000"),
    "prison officer": who("prison_officer", "prison", "PRISON-110000", "110000"),
    "judicial admin officer": who("judicial_admin_officer", "judicial_administration",
                                  "JA-110101"),
    "individual": who("individual", "", ""),
    "anonymous": {"sub": "", "role": "anonymous", "agency": "", "agency_kind": "",
                  "region": "", "id_number": "", "scopes": []},
    # Bypass attempts: the right role at the wrong kind of agency, or no agency at all.
    "judge at a registry": who("judge", "registration_authority", "REG-110101"),
    "judge at a law firm": who("judge", "law_firm", "LAW-110101"),
    "prosecutor at a court": who("prosecutor", "court", "COURT-110101"),
    "police officer at a law firm": who("police_officer", "law_firm", "LAW-110101"),
    "state security officer at public security": who("state_security_officer",
                                                      "public_security", "PSB-110101"),
    "lawyer at a court": who("defense_lawyer", "court", "COURT-110101"),
    "judge without agency": who("judge", "", ""),
    "role-less requester": {"sub": "x", "agency_kind": "court"},
}


def counsel(counsel_is_requester: str = "no") -> dict[str, Any]:
    return {"type": "counsel", "id": "*", "counsel_is_requester": counsel_is_requester}


RESOURCES: dict[str, dict[str, Any]] = {
    "new counsel": counsel(),
    # The requester names themselves as the lawyer.
    "themselves as counsel": counsel("yes"),
    # Mislabelled resources: the counsel action on something else.
    "judgment": {"type": "judgment", "id": "jdg_1", "seal_status": "open",
                 "in_requester_division": "yes", "counsel_is_requester": "no"},
    "untyped counsel": {"id": "*", "counsel_is_requester": "no"},
}


@dataclass(frozen=True)
class Case:
    principal: str
    action: Action
    resource: str
    allowed: bool

    def __str__(self) -> str:
        verdict = "may" if self.allowed else "may not"
        return f"{self.principal} {verdict} {self.action.value} {self.resource}"


A = Action
ORGANS = ("judge", "prosecutor", "police officer", "state security officer")
NOT_ORGANS = ("defense lawyer", "clerk", "employer", "auditor", "security admin",
              "prison officer", "judicial admin officer", "individual", "anonymous")
BYPASSES = ("judge at a registry", "judge at a law firm", "prosecutor at a court",
            "police officer at a law firm", "state security officer at public security",
            "lawyer at a court", "judge without agency", "role-less requester")

CASES: list[Case] = [
    # --- the case-handling organ registers counsel ---------------------------------------
    *[Case(p, A.COUNSEL_REGISTER, "new counsel", True) for p in ORGANS],
    # --- nobody else, and no role at the wrong kind of agency -------------------------------
    *[Case(p, A.COUNSEL_REGISTER, "new counsel", False) for p in NOT_ORGANS + BYPASSES],
    # --- nobody registers themselves: not a lawyer, not an organ ----------------------------
    *[Case(p, A.COUNSEL_REGISTER, "themselves as counsel", False)
      for p in (*ORGANS, "defense lawyer")],
    # --- the action grants nothing on another resource, nor another action on counsel ------
    *[Case(p, A.COUNSEL_REGISTER, r, False) for p in ORGANS
      for r in ("judgment", "untyped counsel")],
    *[Case(p, a, "new counsel", False) for p in ORGANS
      for a in (A.JUDGMENT_READ, A.INQUIRY_READ, A.POLICY_WRITE)],
]


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_counsel_policy_table(decision_point: DecisionPoint, case: Case) -> None:
    decision = decision_point.decide(PRINCIPALS[case.principal], RESOURCES[case.resource],
                                     case.action, {})
    assert decision.allowed is case.allowed, decision.reason


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
    assert set(counsel()) <= RESOURCE_ATTRIBUTES
