"""The default policy set as a data table (STYLE.md §9): named principals, resources and
actions with the expected decision, and a bypass attempt beside each rule.

Every row runs through a DecisionPoint built from the real files in policies/defaults.
"""

from dataclasses import dataclass, field
from typing import Any

import pytest

from policies.actions import Action
from policies.pdp import DecisionPoint, validate_policy
from policies.store import load_default_documents


def who(role: str, agency_kind: str = "", region: str = "", **extra: Any) -> dict[str, Any]:
    return {"sub": f"{role}-1", "role": role, "agency": f"{agency_kind or 'none'}-{region}",
            "agency_kind": agency_kind, "region": region, "id_number": "", "scopes": [],
            **extra}


PRINCIPALS: dict[str, dict[str, Any]] = {
    "dongcheng clerk": who("registry_clerk", "registration_authority", "110101"),
    "beijing city clerk": who("registry_clerk", "registration_authority", "110100"),
    "shanghai clerk": who("registry_clerk", "registration_authority", "310000"),
    "judge": who("judge", "court", "110101"),
    "prosecutor": who("prosecutor", "procuratorate", "110101"),
    "police officer": who("police_officer", "public_security", "110101"),
    "defense lawyer": who("defense_lawyer", "law_firm", "110101"),
    "employer": who("employer", "employer", "110101"),
    "individual": who("individual", id_number="11010519491231002X"),
    "auditor": who("auditor"),
    "security admin": who("security_admin"),
    "anonymous": {"sub": "", "role": "anonymous", "agency": "", "agency_kind": "",
                  "region": "", "id_number": "", "scopes": []},
    # Bypass attempts: the right role at the wrong kind of agency, a forged relation.
    "clerk at a court": who("registry_clerk", "court", "110101"),
    "clerk without agency": who("registry_clerk"),
    "judge at a registration authority": who("judge", "registration_authority", "110101"),
    "employer claiming in-division": who("employer", "employer", "110101",
                                         in_requester_division="yes", seal_status="open"),
    "role-less requester": {"sub": "x", "agency_kind": "registration_authority"},
    "unknown role": who("superuser", "registration_authority", "110101"),
}


def judgment(seal_status: str, in_division: str) -> dict[str, Any]:
    return {"type": "judgment", "id": "jdg_1", "seal_status": seal_status, "region": "110101",
            "owner_agency": "", "in_requester_division": in_division,
            "record_kind": "judgment", "verdict": "guilty"}


RESOURCES: dict[str, dict[str, Any]] = {
    "open judgment in division": judgment("open", "yes"),
    "open judgment out of division": judgment("open", "no"),
    "sealed judgment in division": judgment("sealed", "yes"),
    "sealed judgment out of division": judgment("sealed", "no"),
    "offender in division": {"type": "offender", "id": "ofd_1", "seal_status": "open",
                             "region": "110101", "in_requester_division": "yes",
                             "record_kind": "offender"},
    "offender out of division": {"type": "offender", "id": "ofd_1", "seal_status": "open",
                                 "region": "310101", "in_requester_division": "no",
                                 "record_kind": "offender"},
    "detention in division": {"type": "detention", "id": "det_1", "seal_status": "open",
                              "in_requester_division": "yes"},
    "sealed detention in division": {"type": "detention", "id": "det_1", "kind": "administrative",
                                     "seal_status": "sealed", "in_requester_division": "yes"},
    "the police officer's detention": {"type": "detention", "id": "det_1", "kind": "criminal",
                                       "seal_status": "open", "in_requester_division": "yes",
                                       "owner_agency": "public_security-110101"},
    "new detention": {"type": "detention", "id": "*", "kind": "criminal",
                      "owner_agency": "public_security-110101"},
    "notice in division": {"type": "notice", "id": "ntc_1", "in_requester_division": "yes"},
    "notice out of division": {"type": "notice", "id": "ntc_1", "in_requester_division": "no"},
    "agency": {"type": "agency", "id": "RA-BJ"},
    "self": {"type": "subject"},
    "policy": {"type": "policy", "id": "clerk.reads-records-in-division"},
    "audit": {"type": "audit"},
    "new judgment": {"type": "judgment"},
    "new counsel": {"type": "counsel", "id": "*", "counsel_is_requester": "no"},
    # A mislabelled resource: the record-reading action on a policy resource.
    "policy labelled in division": {"type": "policy", "in_requester_division": "yes"},
}


@dataclass(frozen=True)
class Case:
    principal: str
    action: Action
    resource: str
    allowed: bool
    context: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        verdict = "may" if self.allowed else "may not"
        ctx = f" with {self.context}" if self.context else ""
        return f"{self.principal} {verdict} {self.action.value} {self.resource}{ctx}"


A = Action
RECORD_READS = (A.OFFENDER_READ, A.OFFENDER_LIST, A.JUDGMENT_READ, A.JUDGMENT_LIST)
EVERYONE_ELSE = ("judge", "prosecutor", "police officer", "defense lawyer", "employer",
                 "individual", "auditor", "security admin", "anonymous")

CASES: list[Case] = [
    # --- RECORD_MANAGEMENT: clerks read everything in their division, sealed included -------
    *[Case("dongcheng clerk", a, r, True) for a in (A.JUDGMENT_READ, A.JUDGMENT_LIST)
      for r in ("open judgment in division", "sealed judgment in division")],
    *[Case("dongcheng clerk", a, "offender in division", True)
      for a in (A.OFFENDER_READ, A.OFFENDER_LIST)],
    Case("dongcheng clerk", A.DETENTION_READ, "detention in division", True),
    Case("beijing city clerk", A.JUDGMENT_READ, "sealed judgment in division", True),
    *[Case("dongcheng clerk", a, r, False) for a in (A.JUDGMENT_READ, A.JUDGMENT_LIST)
      for r in ("open judgment out of division", "sealed judgment out of division")],
    *[Case("shanghai clerk", a, "offender out of division", False)
      for a in (A.OFFENDER_READ, A.OFFENDER_LIST)],
    Case("dongcheng clerk", A.NOTICE_READ, "notice in division", True),
    Case("dongcheng clerk", A.NOTICE_LIST, "notice in division", True),
    Case("dongcheng clerk", A.NOTICE_READ, "notice out of division", False),
    Case("dongcheng clerk", A.JUDGMENT_REPORT, "new judgment", False),
    Case("dongcheng clerk", A.POLICY_READ, "policy", False),
    Case("dongcheng clerk", A.AUDIT_READ, "audit", False),
    Case("dongcheng clerk", A.OFFENDER_READ, "policy labelled in division", False),
    Case("dongcheng clerk", A.POLICY_WRITE, "policy labelled in division", False),
    # bypass: the right role at the wrong agency, or no agency at all
    *[Case(p, a, r, False) for p in ("clerk at a court", "clerk without agency")
      for a in RECORD_READS for r in ("open judgment in division", "offender in division")],
    Case("clerk at a court", A.NOTICE_READ, "notice in division", False),
    Case("unknown role", A.JUDGMENT_READ, "open judgment in division", False),
    Case("role-less requester", A.JUDGMENT_READ, "open judgment in division", False),
    # --- nobody else reads records directly, whatever the resource says ---------------------
    *[Case(p, a, r, False) for p in EVERYONE_ELSE for a in RECORD_READS
      for r in ("open judgment in division", "offender in division")],
    *[Case(p, A.DETENTION_READ, "detention in division", False) for p in EVERYONE_ELSE],
    *[Case(p, A.NOTICE_LIST, "notice in division", False) for p in EVERYONE_ELSE],
    # bypass: the relation injected at the subject level does not count
    Case("employer claiming in-division", A.JUDGMENT_READ, "open judgment out of division",
         False),
    Case("employer claiming in-division", A.OFFENDER_READ, "offender out of division", False),
    # CASE_HANDLING: a case-handling organ reads sealed records under an approved inquiry
    # (only the server sets the context, from the inquiry: never the client).
    Case("prosecutor", A.JUDGMENT_READ, "sealed judgment in division", True,
         {"purpose": "case_handling", "case_number": "X-1"}),
    # bypass: the purpose without a case number, or for a requester who is no organ
    Case("prosecutor", A.JUDGMENT_READ, "sealed judgment in division", False,
         {"purpose": "case_handling"}),
    Case("employer", A.JUDGMENT_READ, "sealed judgment in division", False,
         {"purpose": "case_handling", "case_number": "X-1"}),
    Case("employer", A.JUDGMENT_READ, "open judgment in division", False,
         {"purpose": "record_management"}),
    # --- reporting: judges of a court report, and only report ---------------------------
    Case("judge", A.JUDGMENT_REPORT, "new judgment", True),
    Case("judge", A.JUDGMENT_READ, "open judgment in division", False),
    Case("judge", A.JUDGMENT_LIST, "open judgment in division", False),
    Case("judge at a registration authority", A.JUDGMENT_REPORT, "new judgment", False),
    *[Case(p, A.JUDGMENT_REPORT, "new judgment", False)
      for p in ("prosecutor", "police officer", "dongcheng clerk", "employer", "anonymous")],
    # --- detentions (more in test_detention_policies.py) ---------------------------------
    Case("police officer", A.DETENTION_REGISTER, "new detention", True),
    *[Case(p, A.DETENTION_REGISTER, "new detention", False)
      for p in ("judge", "dongcheng clerk", "employer", "anonymous")],
    Case("police officer", A.DETENTION_READ, "the police officer's detention", True),
    Case("police officer", A.DETENTION_CLOSE, "the police officer's detention", True),
    Case("dongcheng clerk", A.DETENTION_CLOSE, "the police officer's detention", False),
    Case("dongcheng clerk", A.DETENTION_READ, "sealed detention in division", False),
    # --- defense counsel (more in test_counsel_policies.py) --------------------------------
    *[Case(p, A.COUNSEL_REGISTER, "new counsel", True)
      for p in ("judge", "prosecutor", "police officer")],
    *[Case(p, A.COUNSEL_REGISTER, "new counsel", False)
      for p in ("defense lawyer", "dongcheng clerk", "employer", "auditor", "anonymous",
                "judge at a registration authority", "clerk at a court")],
    # --- everyone authenticated reads themselves and the agency directory ------------------
    *[Case(p, A.ME_READ, "self", True) for p in PRINCIPALS
      if p not in ("anonymous", "role-less requester", "unknown role")],
    *[Case(p, A.AGENCY_READ, "agency", True) for p in ("dongcheng clerk", "judge", "employer",
                                                        "individual", "defense lawyer")],
    Case("anonymous", A.ME_READ, "self", False),
    Case("anonymous", A.AGENCY_READ, "agency", False),
    Case("role-less requester", A.ME_READ, "self", False),
    Case("unknown role", A.AGENCY_READ, "agency", False),
    Case("employer", A.ME_READ, "open judgment in division", False),
    Case("employer", A.AGENCY_READ, "offender in division", False),
    # --- administration ---------------------------------------------------------------
    Case("security admin", A.POLICY_READ, "policy", True),
    Case("security admin", A.POLICY_WRITE, "policy", True),
    Case("security admin", A.AUDIT_READ, "audit", False),
    Case("security admin", A.JUDGMENT_READ, "sealed judgment in division", False),
    Case("auditor", A.AUDIT_READ, "audit", True),
    Case("auditor", A.POLICY_READ, "policy", True),
    Case("auditor", A.POLICY_WRITE, "policy", False),
    Case("auditor", A.AUDIT_READ, "policy", False),
    *[Case(p, a, r, False) for p in ("dongcheng clerk", "judge", "employer", "anonymous",
                                     "individual")
      for a, r in ((A.POLICY_READ, "policy"), (A.POLICY_WRITE, "policy"),
                   (A.AUDIT_READ, "audit"))],
    # --- actions nobody holds yet are denied by default ------------------------------------
    *[Case(p, a, "new judgment", False) for p in ("judge", "dongcheng clerk", "security admin")
      for a in (A.INQUIRY_SUBMIT, A.INQUIRY_DECIDE, A.INQUIRY_READ)],
]


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_default_policy_table(decision_point: DecisionPoint, case: Case) -> None:
    decision = decision_point.decide(
        PRINCIPALS[case.principal], RESOURCES[case.resource], case.action, case.context
    )
    assert decision.allowed is case.allowed, decision.reason


def test_every_action_has_an_allow_and_a_deny_case() -> None:
    covered = {(case.action, case.allowed) for case in CASES}
    granted = {A.ME_READ, A.AGENCY_READ, A.OFFENDER_READ, A.OFFENDER_LIST, A.JUDGMENT_READ,
               A.JUDGMENT_LIST, A.JUDGMENT_REPORT, A.DETENTION_READ, A.DETENTION_REGISTER,
               A.DETENTION_CLOSE, A.COUNSEL_REGISTER, A.NOTICE_READ,
               A.NOTICE_LIST, A.POLICY_READ, A.POLICY_WRITE, A.AUDIT_READ}
    for action in granted:
        assert (action, True) in covered, action
        assert (action, False) in covered, action


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
