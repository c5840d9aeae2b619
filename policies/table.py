"""The policy test table (STYLE.md §9): named principals, resources and actions with the
decision the default policy set (policies/defaults) makes, and a bypass attempt beside
each rule.

It is production data, not a test: `previewPolicyChange` runs it with a change applied and
reports which decisions would flip, and tests/policies/test_policy_table.py runs it against
the defaults. Each row carries whole attribute dicts, shaped as the app builds them
(policies/attributes.py, schema/*), with the full request context. Keep it under 2,000 rows:
a preview evaluates every row twice, uncached.

This module imports nothing but policies.actions and the standard library.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policies.actions import Action

__all__ = ["TABLE", "VOCABULARY_BYPASSES", "TableRow"]


@dataclass(frozen=True)
class TableRow:
    name: str
    principal: str
    subject: Mapping[str, Any]
    action: str
    resource_name: str
    resource: Mapping[str, Any]
    context: Mapping[str, Any]
    expected: bool
    section: str


# Principals and resources that carry an attribute outside policies/vocabulary.py on
# purpose: an injected key must not count (the relation is the resource's, not the
# subject's). Every other attribute in the table is inside the vocabulary.
VOCABULARY_BYPASSES = frozenset({"employer claiming in-division",
                                 "police officer claiming to handle the case"})

A = Action
NO_CONTEXT: Mapping[str, str] = {"purpose": "", "case_number": "", "inquiry_id": "",
                                 "is_counsel": "no", "is_own_record": "no"}
CASE_NUMBER = "(2026) Jing 0101 Xing Chu 1"
# Placeholders filled per row: the requester's own sub, or their own agency's code (an
# inquiry's requester, the sender of a notice being reported).
THEIRS = "\x00the requester's sub"
THEIR_AGENCY = "\x00the requester's agency"


def _context(**values: str) -> dict[str, str]:
    return {**NO_CONTEXT, **values}


def _describe(context: Mapping[str, Any]) -> str:
    words = []
    if context.get("purpose"):
        words.append(f"for {context['purpose']}")
    if context.get("case_number"):
        words.append("with a case number")
    if context.get("is_counsel") == "yes":
        words.append("as registered counsel")
    if context.get("is_own_record") == "yes":
        words.append("about their own record")
    return "".join(f" {w}" for w in words)


def _fill(resource: Mapping[str, Any], subject: Mapping[str, Any]) -> dict[str, Any]:
    fills = {THEIRS: subject.get("sub", ""), THEIR_AGENCY: subject.get("agency", "")}
    return {k: fills.get(v, v) if isinstance(v, str) else v for k, v in resource.items()}


Case = tuple[str, Action, str, bool] | tuple[str, Action, str, bool, Mapping[str, str]]


def _section(section: str, principals: Mapping[str, Mapping[str, Any]],
             resources: Mapping[str, Mapping[str, Any]],
             cases: Iterable[Case]) -> tuple[TableRow, ...]:
    rows = []
    for case in cases:
        principal, action, resource_name, expected = case[:4]
        context = _context(**case[4]) if len(case) == 5 else dict(NO_CONTEXT)
        subject = principals[principal]
        verdict = "may" if expected else "may not"
        rows.append(TableRow(
            name=f"{principal} {verdict} {action.value} {resource_name}{_describe(context)}",
            principal=principal, subject=dict(subject), action=action.value,
            resource_name=resource_name, resource=_fill(resources[resource_name], subject),
            context=context, expected=expected, section=section))
    return tuple(rows)


def _who(role: str, agency_kind: str = "", region: str = "", **extra: Any) -> dict[str, Any]:
    return {"sub": f"{role}-1", "role": role, "agency": f"{agency_kind or 'none'}-{region}",
            "agency_kind": agency_kind, "region": region, "id_number": "", "scopes": [],
            **extra}


def _officer(role: str, agency_kind: str, agency: str, region: str = "110101",
             level: str = "county", id_number: str = "") -> dict[str, Any]:
    return {"sub": f"{role}-1", "role": role, "agency": agency, "agency_kind": agency_kind,
            "agency_level": level, "region": region, "id_number": id_number, "scopes": []}


ANONYMOUS: Mapping[str, Any] = {"sub": "", "role": "anonymous", "agency": "", "agency_kind": "",
                                "region": "", "id_number": "", "scopes": []}
PERSON_ID = "11010519491231002X"

# --- records, reporting, the directory, administration ----------------------------------

RECORD_PRINCIPALS: dict[str, Mapping[str, Any]] = {
    "dongcheng clerk": _who("registry_clerk", "registration_authority", "110101"),
    "beijing city clerk": _who("registry_clerk", "registration_authority", "110100"),
    "shanghai clerk": _who("registry_clerk", "registration_authority", "310000"),
    "judge": _who("judge", "court", "110101"),
    "prosecutor": _who("prosecutor", "procuratorate", "110101"),
    "police officer": _who("police_officer", "public_security", "110101"),
    "defense lawyer": _who("defense_lawyer", "law_firm", "110101"),
    "employer": _who("employer", "employer", "110101"),
    "individual": _who("individual", id_number=PERSON_ID),
    "auditor": _who("auditor"),
    "security admin": _who("security_admin"),
    "anonymous": ANONYMOUS,
    # Bypass attempts: the right role at the wrong kind of agency, a forged relation.
    "clerk at a court": _who("registry_clerk", "court", "110101"),
    "clerk without agency": _who("registry_clerk"),
    "judge at a registration authority": _who("judge", "registration_authority", "110101"),
    # Out of the vocabulary on purpose (VOCABULARY_BYPASSES): resource attributes injected
    # into the subject.
    "employer claiming in-division": _who("employer", "employer", "110101",
                                          in_requester_division="yes", seal_status="open"),
    "role-less requester": {"sub": "x", "agency_kind": "registration_authority"},
    "unknown role": _who("superuser", "registration_authority", "110101"),
}


def _judgment(seal_status: str, in_division: str) -> dict[str, Any]:
    return {"type": "judgment", "id": "jdg_1", "seal_status": seal_status, "region": "110101",
            "owner_agency": "", "in_requester_division": in_division,
            "record_kind": "judgment", "verdict": "guilty"}


RECORD_RESOURCES: dict[str, Mapping[str, Any]] = {
    "open judgment in division": _judgment("open", "yes"),
    "open judgment out of division": _judgment("open", "no"),
    "sealed judgment in division": _judgment("sealed", "yes"),
    "sealed judgment out of division": _judgment("sealed", "no"),
    "offender in division": {"type": "offender", "id": "ofd_1", "seal_status": "open",
                             "region": "110101", "in_requester_division": "yes",
                             "record_kind": "offender"},
    "offender out of division": {"type": "offender", "id": "ofd_1", "seal_status": "open",
                                 "region": "310101", "in_requester_division": "no",
                                 "record_kind": "offender"},
    "detention in division": {"type": "detention", "id": "det_1", "seal_status": "open",
                              "in_requester_division": "yes"},
    "sealed detention in division": {"type": "detention", "id": "det_1",
                                     "kind": "administrative", "seal_status": "sealed",
                                     "in_requester_division": "yes"},
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
    "audit": {"type": "audit", "id": "*"},
    "new judgment": {"type": "judgment", "id": "*", "owner_agency": THEIR_AGENCY},
    # A mislabelled resource: the record-reading action on a policy resource.
    "policy labelled in division": {"type": "policy", "in_requester_division": "yes"},
}

RECORD_READS = (A.OFFENDER_READ, A.OFFENDER_LIST, A.JUDGMENT_READ, A.JUDGMENT_LIST)
EVERYONE_ELSE = ("judge", "prosecutor", "police officer", "defense lawyer", "employer",
                 "individual", "auditor", "security admin", "anonymous")
CASE_HANDLING = {"purpose": "case_handling", "case_number": CASE_NUMBER}

RECORDS = _section("records", RECORD_PRINCIPALS, RECORD_RESOURCES, [
    # RECORD_MANAGEMENT: clerks read everything in their division, sealed included
    *[("dongcheng clerk", a, r, True) for a in (A.JUDGMENT_READ, A.JUDGMENT_LIST)
      for r in ("open judgment in division", "sealed judgment in division")],
    *[("dongcheng clerk", a, "offender in division", True)
      for a in (A.OFFENDER_READ, A.OFFENDER_LIST)],
    ("dongcheng clerk", A.DETENTION_READ, "detention in division", True),
    ("beijing city clerk", A.JUDGMENT_READ, "sealed judgment in division", True),
    *[("dongcheng clerk", a, r, False) for a in (A.JUDGMENT_READ, A.JUDGMENT_LIST)
      for r in ("open judgment out of division", "sealed judgment out of division")],
    *[("shanghai clerk", a, "offender out of division", False)
      for a in (A.OFFENDER_READ, A.OFFENDER_LIST)],
    ("dongcheng clerk", A.NOTICE_READ, "notice in division", True),
    ("dongcheng clerk", A.NOTICE_LIST, "notice in division", True),
    ("dongcheng clerk", A.NOTICE_READ, "notice out of division", False),
    ("dongcheng clerk", A.JUDGMENT_REPORT, "new judgment", False),
    ("dongcheng clerk", A.OFFENDER_READ, "policy labelled in division", False),
    ("dongcheng clerk", A.POLICY_WRITE, "policy labelled in division", False),
    # bypass: the right role at the wrong agency, or no agency at all
    *[(p, a, r, False) for p in ("clerk at a court", "clerk without agency")
      for a in RECORD_READS for r in ("open judgment in division", "offender in division")],
    ("clerk at a court", A.NOTICE_READ, "notice in division", False),
    ("unknown role", A.JUDGMENT_READ, "open judgment in division", False),
    ("role-less requester", A.JUDGMENT_READ, "open judgment in division", False),
    # nobody else reads records directly, whatever the resource says
    *[(p, a, r, False) for p in EVERYONE_ELSE for a in RECORD_READS
      for r in ("open judgment in division", "offender in division")],
    *[(p, A.DETENTION_READ, "detention in division", False) for p in EVERYONE_ELSE],
    *[(p, A.NOTICE_LIST, "notice in division", False) for p in EVERYONE_ELSE],
    # bypass: the relation injected at the subject level does not count
    ("employer claiming in-division", A.JUDGMENT_READ, "open judgment out of division", False),
    ("employer claiming in-division", A.OFFENDER_READ, "offender out of division", False),
    # CASE_HANDLING: a case-handling organ reads sealed records under an approved inquiry
    # (only the server sets the context, from the inquiry: never the client).
    ("prosecutor", A.JUDGMENT_READ, "sealed judgment in division", True, CASE_HANDLING),
    # bypass: the purpose without a case number, or for a requester who is no organ
    ("prosecutor", A.JUDGMENT_READ, "sealed judgment in division", False,
     {"purpose": "case_handling"}),
    ("employer", A.JUDGMENT_READ, "sealed judgment in division", False, CASE_HANDLING),
    ("employer", A.JUDGMENT_READ, "open judgment in division", False,
     {"purpose": "record_management"}),
])

REPORTING = _section("reporting", RECORD_PRINCIPALS, RECORD_RESOURCES, [
    # judges of a court report, and only report
    ("judge", A.JUDGMENT_REPORT, "new judgment", True),
    ("judge at a registration authority", A.JUDGMENT_REPORT, "new judgment", False),
    *[(p, A.JUDGMENT_REPORT, "new judgment", False)
      for p in ("prosecutor", "police officer", "employer", "anonymous")],
])

EVERYONE = _section("everyone", RECORD_PRINCIPALS, RECORD_RESOURCES, [
    # everyone authenticated reads themselves and the agency directory
    *[(p, A.ME_READ, "self", True) for p in RECORD_PRINCIPALS
      if p not in ("anonymous", "role-less requester", "unknown role")],
    *[(p, A.AGENCY_READ, "agency", True) for p in ("dongcheng clerk", "judge", "employer",
                                                   "individual", "defense lawyer")],
    ("anonymous", A.ME_READ, "self", False),
    ("anonymous", A.AGENCY_READ, "agency", False),
    ("role-less requester", A.ME_READ, "self", False),
    ("unknown role", A.AGENCY_READ, "agency", False),
    ("employer", A.ME_READ, "open judgment in division", False),
    ("employer", A.AGENCY_READ, "offender in division", False),
])

ADMINISTRATION = _section("administration", RECORD_PRINCIPALS, RECORD_RESOURCES, [
    ("security admin", A.POLICY_READ, "policy", True),
    ("security admin", A.POLICY_WRITE, "policy", True),
    # four eyes (DESIGN.md 1.5): security admins approve each other's changes, nobody else
    ("security admin", A.POLICY_APPROVE, "policy", True),
    ("auditor", A.POLICY_APPROVE, "policy", False),
    ("security admin", A.POLICY_APPROVE, "audit", False),
    ("security admin", A.AUDIT_READ, "audit", False),
    ("security admin", A.JUDGMENT_READ, "sealed judgment in division", False),
    ("auditor", A.AUDIT_READ, "audit", True),
    ("auditor", A.POLICY_READ, "policy", True),
    ("auditor", A.POLICY_WRITE, "policy", False),
    ("auditor", A.AUDIT_READ, "policy", False),
    # bypass: the administration actions on a resource of another type
    ("security admin", A.POLICY_WRITE, "audit", False),
    ("security admin", A.POLICY_READ, "open judgment in division", False),
    ("auditor", A.AUDIT_READ, "open judgment in division", False),
    *[(p, a, r, False) for p in ("dongcheng clerk", "judge", "employer", "anonymous",
                                 "individual", "unknown role", "role-less requester",
                                 "clerk at a court")
      for a, r in ((A.POLICY_READ, "policy"), (A.POLICY_WRITE, "policy"),
                   (A.POLICY_APPROVE, "policy"), (A.AUDIT_READ, "audit"))],
])

# --- detentions -------------------------------------------------------------------------

DETENTION_PRINCIPALS: dict[str, Mapping[str, Any]] = {
    "dongcheng police": _officer("police_officer", "public_security", "PSB-110101"),
    "chaoyang police": _officer("police_officer", "public_security", "PSB-110105", "110105"),
    "state security officer": _officer("state_security_officer", "state_security",
                                       "SSB-110000", "110000", "province"),
    "judge": _officer("judge", "court", "COURT-110101"),
    "prosecutor": _officer("prosecutor", "procuratorate", "PROC-110101"),
    "dongcheng clerk": _officer("registry_clerk", "registration_authority", "REG-110101"),
    "shanghai clerk": _officer("registry_clerk", "registration_authority", "REG-310000",
                               "310000", "province"),
    "employer": _officer("employer", "employer", "EMP-110101"),
    "defense lawyer": _officer("defense_lawyer", "law_firm", "LAW-110101"),
    "auditor": _officer("auditor", "registration_authority", "REG-110000", "110000",
                        "province"),
    "anonymous": ANONYMOUS,
    # Bypass attempts: the right role at the wrong kind of agency, or the agency's code
    # claimed by a principal of another kind.
    "police at a registry": _officer("police_officer", "registration_authority", "REG-110101"),
    "judge at a public security organ": _officer("judge", "public_security", "PSB-110101"),
    "employer named like the agency": _officer("employer", "employer", "PSB-110101"),
    # A forged relation: no agency code on either side ("" == "").
    "police without an agency code": _officer("police_officer", "public_security", ""),
    "state security officer without an agency code": _officer(
        "state_security_officer", "state_security", "", "110000", "province"),
}


def _detention(kind: str, owner: str = "PSB-110101", in_division: str = "yes"
               ) -> dict[str, Any]:
    return {"type": "detention", "id": "dtn_1", "kind": kind,
            "seal_status": "sealed" if kind == "administrative" else "open", "status": "open",
            "region": "110101", "owner_agency": owner, "in_requester_division": in_division,
            "record_kind": "detention"}


DETENTION_RESOURCES: dict[str, Mapping[str, Any]] = {
    "criminal detention": _detention("criminal"),
    "administrative detention": _detention("administrative"),
    "criminal detention out of division": _detention("criminal", in_division="no"),
    "state security's criminal detention": _detention("criminal", owner="SSB-110000"),
    "new criminal detention": {"type": "detention", "id": "*", "kind": "criminal",
                               "owner_agency": "PSB-110101"},
    # A forged relation: a detention that records no registering agency.
    "a detention of no agency": _detention("criminal", owner=""),
    "an administrative detention of no agency": _detention("administrative", owner=""),
    "new administrative detention": {"type": "detention", "id": "*", "kind": "administrative",
                                     "owner_agency": "PSB-110101"},
    # A mislabelled resource: the detention action on a judgment.
    "judgment": {"type": "judgment", "id": "jdg_1", "seal_status": "open",
                 "in_requester_division": "yes", "owner_agency": "PSB-110101"},
}

DETENTION_CASE = {"purpose": "case_handling", "case_number": "(2026) Jing 0101 1"}
ORGANS = ("judge", "prosecutor", "dongcheng police", "chaoyang police",
          "state security officer")
NOT_ORGANS = ("dongcheng clerk", "shanghai clerk", "employer", "defense lawyer", "auditor")

DETENTIONS = _section("detentions", DETENTION_PRINCIPALS, DETENTION_RESOURCES, [
    # registering: public (and state) security organs
    *[(p, A.DETENTION_REGISTER, r, True)
      for p in ("dongcheng police", "chaoyang police", "state security officer")
      for r in ("new criminal detention", "new administrative detention")],
    *[(p, A.DETENTION_REGISTER, "new criminal detention", False)
      for p in ("judge", "prosecutor", "dongcheng clerk", "employer", "anonymous",
                "police at a registry", "judge at a public security organ",
                "employer named like the agency")],
    ("dongcheng police", A.DETENTION_REGISTER, "judgment", False),
    # the registering agency reads and closes its own criminal detention
    *[("dongcheng police", a, "criminal detention", True)
      for a in (A.DETENTION_READ, A.DETENTION_CLOSE)],
    *[(p, a, "criminal detention", False)
      for p in ("chaoyang police", "state security officer", "police at a registry",
                "employer named like the agency", "judge at a public security organ")
      for a in (A.DETENTION_READ, A.DETENTION_CLOSE)],
    ("state security officer", A.DETENTION_CLOSE, "state security's criminal detention", True),
    ("dongcheng police", A.DETENTION_CLOSE, "judgment", False),
    # bypass: no agency code on the subject matches no agency code on the detention
    *[(p, a, r, False)
      for p in ("police without an agency code",
                "state security officer without an agency code")
      for a in (A.DETENTION_READ, A.DETENTION_CLOSE)
      for r in ("a detention of no agency", "an administrative detention of no agency")],
    # ... and its administrative one, sealed from all but the organ handling it
    *[("dongcheng police", a, "administrative detention", True)
      for a in (A.DETENTION_READ, A.DETENTION_CLOSE)],
    ("dongcheng police", A.DETENTION_CLOSE, "administrative detention", True, DETENTION_CASE),
    *[("chaoyang police", a, "administrative detention", False)
      for a in (A.DETENTION_READ, A.DETENTION_CLOSE)],
    # registry clerks read criminal detentions in division, never a sealed one
    ("dongcheng clerk", A.DETENTION_READ, "criminal detention", True),
    ("dongcheng clerk", A.DETENTION_READ, "criminal detention out of division", False),
    ("shanghai clerk", A.DETENTION_READ, "criminal detention out of division", False),
    ("dongcheng clerk", A.DETENTION_READ, "administrative detention", False),
    ("dongcheng clerk", A.DETENTION_READ, "administrative detention", False, DETENTION_CASE),
    ("dongcheng clerk", A.DETENTION_CLOSE, "criminal detention", False),
    # case-handling organs read every detention when handling a case
    *[(p, A.DETENTION_READ, r, True, DETENTION_CASE) for p in ORGANS
      for r in ("criminal detention", "administrative detention")],
    *[(p, A.DETENTION_READ, r, False) for p in ("judge", "prosecutor")
      for r in ("criminal detention", "administrative detention")],
    *[(p, A.DETENTION_CLOSE, "criminal detention", False, DETENTION_CASE)
      for p in ("judge", "prosecutor", "chaoyang police")],
    # bypass: a purpose in the context grants nothing to anyone else
    *[(p, A.DETENTION_READ, r, False, DETENTION_CASE) for p in NOT_ORGANS[2:]
      for r in ("criminal detention", "administrative detention")],
    *[(p, A.DETENTION_READ, "administrative detention", False, DETENTION_CASE)
      for p in ("police at a registry", "judge at a public security organ")],
    # expunging happens by closing with dismissal: no policy grants the action itself
    *[(p, A.DETENTION_EXPUNGE, "criminal detention", False)
      for p in ("dongcheng police", "dongcheng clerk", "anonymous")],
]) + _section("detentions", RECORD_PRINCIPALS, RECORD_RESOURCES, [
    # from the overview of the default set, with its own principals
    ("police officer", A.DETENTION_REGISTER, "new detention", True),
    *[(p, A.DETENTION_REGISTER, "new detention", False)
      for p in ("judge", "dongcheng clerk", "employer", "anonymous")],
    ("police officer", A.DETENTION_READ, "the police officer's detention", True),
    ("police officer", A.DETENTION_CLOSE, "the police officer's detention", True),
    ("dongcheng clerk", A.DETENTION_CLOSE, "the police officer's detention", False),
    ("dongcheng clerk", A.DETENTION_READ, "sealed detention in division", False),
])

# --- defense counsel --------------------------------------------------------------------

COUNSEL_PRINCIPALS: dict[str, Mapping[str, Any]] = {
    "judge": _officer("judge", "court", "COURT-110101"),
    "prosecutor": _officer("prosecutor", "procuratorate", "PROC-110101"),
    "police officer": _officer("police_officer", "public_security", "PSB-110101"),
    "state security officer": _officer("state_security_officer", "state_security",
                                       "SSB-110000", "110000"),
    "defense lawyer": _officer("defense_lawyer", "law_firm", "LAW-110101"),
    "clerk": _officer("registry_clerk", "registration_authority", "REG-110101"),
    "employer": _officer("employer", "employer", "EMP-110101"),
    "auditor": _officer("auditor", "registration_authority", "REG-110000", "110000"),
    "security admin": _officer("security_admin", "registration_authority", "REG-110000",
                               "110000"),
    "prison officer": _officer("prison_officer", "prison", "PRISON-110000", "110000"),
    "judicial admin officer": _officer("judicial_admin_officer", "judicial_administration",
                                       "JA-110101"),
    "individual": _officer("individual", "", ""),
    "anonymous": ANONYMOUS,
    # Bypass attempts: the right role at the wrong kind of agency, or no agency at all.
    "judge at a registry": _officer("judge", "registration_authority", "REG-110101"),
    "judge at a law firm": _officer("judge", "law_firm", "LAW-110101"),
    "prosecutor at a court": _officer("prosecutor", "court", "COURT-110101"),
    "police officer at a law firm": _officer("police_officer", "law_firm", "LAW-110101"),
    "state security officer at public security": _officer(
        "state_security_officer", "public_security", "PSB-110101"),
    "lawyer at a court": _officer("defense_lawyer", "court", "COURT-110101"),
    "clerk at a court": _officer("registry_clerk", "court", "COURT-110101"),
    "judge without agency": _officer("judge", "", ""),
    "role-less requester": {"sub": "x", "agency_kind": "court"},
}


def _case(handled: str = "yes", accused: str = "yes", status: str = "open"
          ) -> dict[str, str]:
    """A case number's relation to the requester and a person, as
    policies.attributes.CaseRelation.attributes gives it."""
    return {"handled_by_requester": handled, "subject_is_accused": accused,
            "case_status": status}


NO_CASE = _case("no", "no", "none")


def _counsel(counsel_is_requester: str = "no", **case: str) -> dict[str, Any]:
    """As policies.attributes.counsel_attributes builds it."""
    return {"type": "counsel", "id": "*", "counsel_is_requester": counsel_is_requester,
            **_case(**case)}


COUNSEL_RESOURCES: dict[str, Mapping[str, Any]] = {
    # For a suspect or defendant of an open case the requester's agency handles.
    "new counsel": _counsel(),
    # The requester names themselves as the lawyer.
    "themselves as counsel": _counsel("yes"),
    # Bypass attempts (DESIGN.md 1.6): another agency's case (or one transferred away),
    # a victim or witness, a closed case, a number nobody registered.
    "counsel in another agency's case": _counsel(handled="no"),
    "counsel for a victim or witness": _counsel(accused="no"),
    "counsel in a closed case": _counsel(status="closed"),
    "counsel in no registered case": _counsel(handled="no", accused="no", status="none"),
    # Mislabelled resources: the counsel action on something else.
    "judgment": {"type": "judgment", "id": "jdg_1", "seal_status": "open",
                 "in_requester_division": "yes", "counsel_is_requester": "no"},
    "untyped counsel": {"id": "*", "counsel_is_requester": "no"},
}

COUNSEL_ORGANS = ("judge", "prosecutor", "police officer", "state security officer")
COUNSEL_NOT_ORGANS = ("defense lawyer", "clerk", "employer", "auditor", "security admin",
                      "prison officer", "judicial admin officer", "individual", "anonymous")
COUNSEL_BYPASSES = ("judge at a registry", "judge at a law firm", "prosecutor at a court",
                    "police officer at a law firm",
                    "state security officer at public security", "lawyer at a court",
                    "clerk at a court", "judge without agency", "role-less requester")

COUNSEL = _section("counsel", COUNSEL_PRINCIPALS, COUNSEL_RESOURCES, [
    # the case-handling organ registers counsel
    *[(p, A.COUNSEL_REGISTER, "new counsel", True) for p in COUNSEL_ORGANS],
    # nobody else, and no role at the wrong kind of agency
    *[(p, A.COUNSEL_REGISTER, "new counsel", False)
      for p in COUNSEL_NOT_ORGANS + COUNSEL_BYPASSES],
    # nobody registers themselves: not a lawyer, not an organ
    *[(p, A.COUNSEL_REGISTER, "themselves as counsel", False)
      for p in (*COUNSEL_ORGANS, "defense lawyer")],
    # only in an open case their agency handles, for a suspect or defendant of it
    *[(p, A.COUNSEL_REGISTER, r, False) for p in COUNSEL_ORGANS
      for r in ("counsel in another agency's case", "counsel for a victim or witness",
                "counsel in a closed case", "counsel in no registered case")],
    # the action grants nothing on another resource, nor another action on counsel
    *[(p, A.COUNSEL_REGISTER, r, False) for p in COUNSEL_ORGANS
      for r in ("judgment", "untyped counsel")],
    *[(p, a, "new counsel", False) for p in COUNSEL_ORGANS
      for a in (A.JUDGMENT_READ, A.INQUIRY_READ, A.POLICY_WRITE)],
])

# --- certificates -----------------------------------------------------------------------


def _certifier(role: str, agency_kind: str) -> dict[str, Any]:
    return {"sub": f"{role}-1", "role": role, "agency": f"{agency_kind}-1",
            "agency_kind": agency_kind, "agency_level": "county", "region": "110101",
            "id_number": "", "scopes": []}


CERTIFICATE_PRINCIPALS: dict[str, Mapping[str, Any]] = {
    "police officer": _certifier("police_officer", "public_security"),
    "clerk": _certifier("registry_clerk", "registration_authority"),
    "individual": _certifier("individual", ""),
    "employer": _certifier("employer", "employer"),
    "anonymous": ANONYMOUS,
    "role-less requester": {"sub": "x", "agency_kind": "employer"},
    "auditor": _certifier("auditor", "registration_authority"),
    "military recruiter": _certifier("recruiter", "military"),
    # Bypass attempts: a role outside CONTRACT.md §3, a known role spelt otherwise.
    "unknown role": _certifier("superuser", "registration_authority"),
    "employer in capitals": _certifier("EMPLOYER", "employer"),
}


def _certified(seal_status: str = "open", verdict: str = "guilty") -> dict[str, Any]:
    return {"type": "judgment", "id": "jdg_1", "seal_status": seal_status, "verdict": verdict,
            "region": "110101", "in_requester_division": "yes", "record_kind": "judgment",
            "owner_agency": ""}


CERTIFICATE_RESOURCES: dict[str, Mapping[str, Any]] = {
    "open guilty judgment": _certified(),
    "sealed guilty judgment": _certified("sealed"),
    "acquittal": _certified(verdict="acquitted"),
    "certificate": {"type": "certificate", "id": "CRC-2026-000001"},
}


def _purpose(name: str) -> dict[str, str]:
    return {"purpose": name, "inquiry_id": "inq_1"}


CERTIFICATES = _section("certificates", CERTIFICATE_PRINCIPALS, CERTIFICATE_RESOURCES, [
    # judgment:certify: effective guilty judgments count, sealed ones never, whoever decides;
    # the purpose gates it.
    *[("police officer", A.JUDGMENT_CERTIFY, "open guilty judgment", True, _purpose(p))
      for p in ("employment", "enlistment", "continuing_education")],
    ("individual", A.JUDGMENT_CERTIFY, "open guilty judgment", True, _purpose("self")),
    ("police officer", A.JUDGMENT_CERTIFY, "sealed guilty judgment", False,
     _purpose("employment")),
    ("individual", A.JUDGMENT_CERTIFY, "sealed guilty judgment", False, _purpose("self")),
    ("police officer", A.JUDGMENT_CERTIFY, "acquittal", False, _purpose("employment")),
    # bypass: a clerk deciding (were a policy to make clerks examiners) still never counts
    # a sealed record: the clerks' exception to the sealed-record deny does not reach here.
    ("clerk", A.JUDGMENT_CERTIFY, "sealed guilty judgment", False, _purpose("employment")),
    # bypass: no certificate purpose, no count
    ("police officer", A.JUDGMENT_CERTIFY, "open guilty judgment", False,
     _purpose("case_handling")),
    ("police officer", A.JUDGMENT_CERTIFY, "open guilty judgment", False, _purpose("")),
    # certificate:verify: any authenticated requester checks a number, nothing more
    *[(p, A.CERTIFICATE_VERIFY, "certificate", True)
      for p in ("police officer", "clerk", "individual", "employer", "auditor",
                "military recruiter")],
    # ... and only a role of CONTRACT.md §3: not anonymous, none, nor one it does not know
    *[(p, A.CERTIFICATE_VERIFY, "certificate", False)
      for p in ("anonymous", "role-less requester", "unknown role", "employer in capitals")],
    ("employer", A.CERTIFICATE_VERIFY, "open guilty judgment", False),
    ("employer", A.JUDGMENT_READ, "certificate", False),
])

# --- inquiries --------------------------------------------------------------------------

INQUIRY_PRINCIPALS: dict[str, Mapping[str, Any]] = {
    "judge": _officer("judge", "court", "COURT-110101"),
    "prosecutor": _officer("prosecutor", "procuratorate", "PROC-110101"),
    "police officer": _officer("police_officer", "public_security", "PSB-110101"),
    "chaoyang police officer": _officer("police_officer", "public_security", "PSB-110105",
                                        "110105"),
    "state security officer": _officer("state_security_officer", "state_security",
                                       "SSB-110000", "110000", "province"),
    "judicial admin officer": _officer("judicial_admin_officer", "judicial_administration",
                                       "JA-110101"),
    "defense lawyer": _officer("defense_lawyer", "law_firm", "LAW-110101"),
    "employer": _officer("employer", "employer", "EMP-110101"),
    "military recruiter": _officer("recruiter", "military", "MIL-110101"),
    "school": _officer("school", "school", "SCH-110101"),
    "individual": _officer("individual", "", "", "", "", PERSON_ID),
    "clerk": _officer("registry_clerk", "registration_authority", "REG-110101"),
    "auditor": _officer("auditor", "registration_authority", "REG-110000", "110000",
                        "province"),
    "security admin": _officer("security_admin", "registration_authority", "REG-110000",
                               "110000", "province"),
    "anonymous": ANONYMOUS,
    # Bypass attempts: the right role at the wrong kind of agency, no agency, no sub.
    "judge at a law firm": _officer("judge", "law_firm", "LAW-110101"),
    "lawyer at a court": _officer("defense_lawyer", "court", "COURT-110101"),
    "employer at a school": _officer("employer", "school", "SCH-110101"),
    "school at an employer": _officer("school", "employer", "EMP-110101"),
    "recruiter at a school": _officer("recruiter", "school", "SCH-110101"),
    "recruiter at an employer": _officer("recruiter", "employer", "EMP-110101"),
    "employer without agency": _officer("employer", "", "", ""),
    "police officer at a registry": _officer("police_officer", "registration_authority",
                                             "REG-110101"),
    "judicial admin officer at a court": _officer("judicial_admin_officer", "court",
                                                  "COURT-110101"),
    "requester without a sub": {**_officer("individual", "", "", "", "", PERSON_ID),
                                "sub": ""},
    "role-less requester": {"sub": "x", "agency_kind": "public_security", "region": "110101"},
}

SOCIETY = ("employment", "enlistment", "continuing_education")
PURPOSES = ("case_handling", "defense", *SOCIETY, "self", "record_management")


def _inquiry(purpose: str, requester: str = THEIRS, status: str = "pending",
             in_division: str = "yes", case: Mapping[str, str] | None = None
             ) -> dict[str, Any]:
    """As policies.attributes.inquiry_attributes builds it; a new one with its case
    number's relation (`case`)."""
    return {"type": "inquiry", "id": "inq_1", "purpose": purpose, "status": status,
            "seal_status": "open", "requester": requester, "region": "110101",
            "in_requester_division": in_division, **(case or {})}


# A new inquiry as submitInquiry decides it: CASE_HANDLING in an open case the requester's
# agency handles, about an accused; DEFENSE in an open case (another agency's), about an
# accused; the other purposes name no case.
NEW_CASE = {"case_handling": _case(), "defense": _case(handled="no")}

INQUIRY_RESOURCES: dict[str, Mapping[str, Any]] = {
    **{f"their new {p} inquiry": _inquiry(p, case=NEW_CASE.get(p, NO_CASE)) for p in PURPOSES},
    # Bypass attempts (DESIGN.md 1.6): a case number that names another agency's case (or
    # one transferred away), a closed case, a victim or witness, or nothing registered.
    "their new case_handling inquiry in another agency's case": _inquiry(
        "case_handling", case=_case(handled="no")),
    "their new case_handling inquiry in a closed case": _inquiry(
        "case_handling", case=_case(status="closed")),
    "their new case_handling inquiry about a witness": _inquiry(
        "case_handling", case=_case(accused="no")),
    "their new case_handling inquiry in no registered case": _inquiry("case_handling",
                                                                     case=NO_CASE),
    "their new defense inquiry in a closed case": _inquiry(
        "defense", case=_case(handled="no", status="closed")),
    "their new defense inquiry about a victim": _inquiry(
        "defense", case=_case(handled="no", accused="no")),
    "their new defense inquiry in no registered case": _inquiry("defense", case=NO_CASE),
    **{f"their {p} inquiry": _inquiry(p, status="approved") for p in PURPOSES},
    **{f"another's {p} inquiry in division": _inquiry(p, "requester-2") for p in PURPOSES},
    **{f"another's {p} inquiry out of division": _inquiry(p, "requester-2", in_division="no")
       for p in SOCIETY},
    "another's approved employment inquiry in division": _inquiry("employment", "requester-2",
                                                                  "approved"),
    # A forged relation: an inquiry with no requester, asked about by a requester with no sub.
    "an inquiry with no requester": _inquiry("self", ""),
    # Mislabelled: an inquiry action on a judgment.
    "judgment": {"type": "judgment", "id": "jdg_1", "seal_status": "open", "purpose": "self",
                 "in_requester_division": "yes", "requester": THEIRS},
}

# The contexts the app decides an inquiry in (schema.inquiries.inquiry_context).
_CASE = {"case_number": CASE_NUMBER, "inquiry_id": "inq_1"}
FOR_A_CASE = {"purpose": "case_handling", **_CASE}
NO_CASE_NUMBER = {"purpose": "case_handling", "inquiry_id": "inq_1"}
AS_COUNSEL = {"purpose": "defense", "is_counsel": "yes", **_CASE}
NOT_COUNSEL = {"purpose": "defense", **_CASE}
DEFENSE_WITHOUT_CASE = {"purpose": "defense", "inquiry_id": "inq_1"}
OWN_RECORD = {"purpose": "self", "is_own_record": "yes", "inquiry_id": "inq_1"}
ANOTHERS_RECORD = {"purpose": "self", "inquiry_id": "inq_1"}


def _for(purpose: str) -> dict[str, str]:
    return {"purpose": purpose, "inquiry_id": "inq_1"}


SUBMIT_ORGANS = ("judge", "prosecutor", "police officer", "state security officer")
SOCIETY_UNITS = ("employer", "military recruiter", "school")
# DESIGN.md 1.3: each unit inquires for its own purpose only.
SOCIETY_PURPOSE_OF = {"employer": "employment", "military recruiter": "enlistment",
                      "school": "continuing_education"}
EXAMINERS = ("prosecutor", "police officer", "state security officer",
             "judicial admin officer")

# (principal, resource, context, submit, approve at once, refer for examination): the
# three decisions submitInquiry asks, in the inquiry's own context.
SUBMISSIONS: list[tuple[str, str, Mapping[str, str], bool, bool, bool]] = [
    # CASE_HANDLING: the organs, with a case number, answered at once
    *[(p, "their new case_handling inquiry", FOR_A_CASE, True, True, False)
      for p in SUBMIT_ORGANS],
    *[(p, "their new case_handling inquiry", NO_CASE_NUMBER, False, False, False)
      for p in SUBMIT_ORGANS],
    *[(p, "their new case_handling inquiry", FOR_A_CASE, False, False, False)
      for p in ("defense lawyer", "employer", "clerk", "judicial admin officer",
                "judge at a law firm", "police officer at a registry", "anonymous")],
    *[(p, f"their new {s} inquiry", _for(s), False, False, False)
      for p in SUBMIT_ORGANS for s in SOCIETY],
    # ... only in an open case their agency handles now, about a suspect or defendant
    *[(p, f"their new case_handling inquiry {where}", FOR_A_CASE, True, False, False)
      for p in SUBMIT_ORGANS
      for where in ("in another agency's case", "in a closed case", "about a witness",
                    "in no registered case")],
    # DEFENSE: a lawyer with a case number; answered at once only as registered counsel,
    # in an open case, about a suspect or defendant
    ("defense lawyer", "their new defense inquiry", AS_COUNSEL, True, True, False),
    *[("defense lawyer", f"their new defense inquiry {where}", AS_COUNSEL, True, False, False)
      for where in ("in a closed case", "about a victim", "in no registered case")],
    ("defense lawyer", "their new defense inquiry", NOT_COUNSEL, True, False, False),
    ("defense lawyer", "their new defense inquiry", DEFENSE_WITHOUT_CASE, False, False, False),
    *[(p, "their new defense inquiry", AS_COUNSEL, False, False, False)
      for p in ("lawyer at a court", "judge", "individual", "anonymous")],
    # EMPLOYMENT by employers, ENLISTMENT by (military) recruiters, CONTINUING_EDUCATION by
    # schools: sent for examination
    *[(p, f"their new {s} inquiry", _for(s), True, False, True)
      for p, s in SOCIETY_PURPOSE_OF.items()],
    # bypass: a unit inquiring for another unit's purpose (an employer's ENLISTMENT, a
    # school's EMPLOYMENT inquiry)
    *[(p, f"their new {s} inquiry", _for(s), False, False, False)
      for p in SOCIETY_UNITS for s in SOCIETY if s != SOCIETY_PURPOSE_OF[p]],
    *[(p, f"their new {s} inquiry", _for(s), False, False, False)
      for p in ("employer at a school", "school at an employer", "recruiter at a school",
                "recruiter at an employer", "employer without agency", "individual",
                "clerk", "auditor", "anonymous")
      for s in SOCIETY],
    *[(p, "their new self inquiry", OWN_RECORD, False, False, False) for p in SOCIETY_UNITS],
    # SELF: an individual, about their own record, answered at once
    ("individual", "their new self inquiry", OWN_RECORD, True, True, False),
    ("individual", "their new self inquiry", ANOTHERS_RECORD, False, False, False),
    *[(p, "their new self inquiry", OWN_RECORD, False, False, False)
      for p in ("clerk", "anonymous", "role-less requester")],
    # RECORD_MANAGEMENT is never inquired: clerks query records directly
    *[(p, "their new record_management inquiry", _for("record_management"), False, False,
       False) for p in ("clerk", "individual", "employer")],
    # bypass: an inquiry action on a judgment
    ("individual", "judgment", OWN_RECORD, False, False, False),
    ("judge", "judgment", FOR_A_CASE, False, False, False),
]

INQUIRIES = _section("inquiries", INQUIRY_PRINCIPALS, INQUIRY_RESOURCES, [
    *[case for p, r, context, *allowed in SUBMISSIONS
      for case in zip((p,) * 3, (A.INQUIRY_SUBMIT, A.INQUIRY_APPROVE, A.INQUIRY_REFER),
                      (r,) * 3, allowed, (context,) * 3, strict=True)],
    # examination: accepting agencies read, list and decide units' inquiries in division
    *[(p, a, f"another's {s} inquiry in division", True) for p in EXAMINERS
      for a in (A.INQUIRY_READ, A.INQUIRY_LIST, A.INQUIRY_DECIDE) for s in SOCIETY],
    # (the policy says nothing of status: decideInquiry refuses a decided one, CONFLICT)
    ("police officer", A.INQUIRY_DECIDE, "another's approved employment inquiry in division",
     True),
    *[(p, a, f"another's {s} inquiry out of division", False) for p in EXAMINERS
      for a in (A.INQUIRY_READ, A.INQUIRY_DECIDE) for s in SOCIETY],
    *[("chaoyang police officer", a, "another's employment inquiry out of division", False)
      for a in (A.INQUIRY_READ, A.INQUIRY_LIST, A.INQUIRY_DECIDE)],
    *[(p, a, f"another's {s} inquiry in division", False) for p in EXAMINERS
      for a in (A.INQUIRY_READ, A.INQUIRY_DECIDE)
      for s in ("case_handling", "defense", "self")],
    *[(p, a, f"another's {s} inquiry in division", False)
      for p in ("judge", "clerk", "employer", "defense lawyer", "security admin", "anonymous",
                "police officer at a registry", "judicial admin officer at a court",
                "role-less requester")
      for a in (A.INQUIRY_READ, A.INQUIRY_DECIDE) for s in ("employment", "enlistment")],
    # the requester reads and lists their own inquiries, and decides none of them
    *[(p, a, f"their {s} inquiry", True)
      for p, s in (("employer", "employment"), ("school", "continuing_education"),
                   ("individual", "self"), ("defense lawyer", "defense"),
                   ("judge", "case_handling"))
      for a in (A.INQUIRY_READ, A.INQUIRY_LIST)],
    *[(p, A.INQUIRY_DECIDE, f"their {s} inquiry", False)
      for p, s in (("employer", "employment"), ("individual", "self"))],
    *[(p, A.INQUIRY_READ, f"another's {s} inquiry in division", False)
      for p, s in (("school", "continuing_education"), ("individual", "self"),
                   ("defense lawyer", "defense"), ("judge", "case_handling"))],
    # bypass: a forged relation (no sub, no requester), anonymous
    *[(p, a, "an inquiry with no requester", False)
      for p in ("requester without a sub", "anonymous")
      for a in (A.INQUIRY_READ, A.INQUIRY_LIST)],
    ("anonymous", A.INQUIRY_READ, "their self inquiry", False),
    # auditors read every inquiry and its decision, and decide none
    *[("auditor", a, f"another's {s} inquiry in division", True)
      for a in (A.INQUIRY_READ, A.INQUIRY_LIST) for s in PURPOSES],
    ("auditor", A.INQUIRY_DECIDE, "another's employment inquiry in division", False),
    ("auditor", A.INQUIRY_READ, "judgment", False),
]) + _section("inquiries", RECORD_PRINCIPALS, RECORD_RESOURCES, [
    # an inquiry action on a resource that is no inquiry
    *[(p, a, "new judgment", False) for p in ("judge", "dongcheng clerk", "security admin")
      for a in (A.INQUIRY_SUBMIT, A.INQUIRY_DECIDE, A.INQUIRY_READ)],
])

# --- notices ----------------------------------------------------------------------------

NOTICE_PRINCIPALS: dict[str, Mapping[str, Any]] = {
    "prison officer": _officer("prison_officer", "prison", "PRISON-110000", "110000",
                               "province"),
    "detention centre officer": _officer("prison_officer", "detention_center", "DC-110101"),
    "county judicial admin officer": _officer("judicial_admin_officer",
                                              "judicial_administration", "JA-110101"),
    "city judicial admin officer": _officer("judicial_admin_officer",
                                            "judicial_administration", "JA-110100", "110100",
                                            "city"),
    "judge": _officer("judge", "court", "COURT-110101"),
    "dongcheng clerk": _officer("registry_clerk", "registration_authority", "REG-110101"),
    "shanghai clerk": _officer("registry_clerk", "registration_authority", "REG-310000",
                               "310000", "province"),
    "auditor": _officer("auditor", "registration_authority", "REG-110000", "110000",
                        "province"),
    "employer": _officer("employer", "employer", "EMP-110101"),
    "anonymous": ANONYMOUS,
    # Bypass attempts: the right role at the wrong kind of agency, no agency, the agency's
    # code claimed by a principal of another kind.
    "prison officer at a court": _officer("prison_officer", "court", "COURT-110101"),
    "judge at a prison": _officer("judge", "prison", "PRISON-110000", "110000", "province"),
    "prison officer without agency": _officer("prison_officer", "", "", ""),
    "clerk at a court": _officer("registry_clerk", "court", "COURT-110101"),
    "employer named like the court": _officer("employer", "employer", "COURT-110101"),
    # Bypass attempts: another role at a reporting agency (DESIGN.md 1.2: only the
    # reporting role reports, so only it reads back), and no agency code at all.
    "lawyer at a court": _officer("defense_lawyer", "court", "COURT-110101"),
    "prosecutor at a court": _officer("prosecutor", "court", "COURT-110101"),
    "individual at a prison": _officer("individual", "prison", "PRISON-110000", "110000",
                                       "province"),
    "judge at a detention centre": _officer("judge", "detention_center", "DC-110101"),
    "employer at a judicial administration": _officer("employer", "judicial_administration",
                                                      "JA-110101"),
    "judge without an agency code": _officer("judge", "court", ""),
    "prison officer of a prison without an agency code": _officer(
        "prison_officer", "prison", "", "110000", "province"),
    "judicial admin officer without an agency code": _officer(
        "judicial_admin_officer", "judicial_administration", ""),
}


def _notice(status: str, *, in_division: str = "yes", sender: str = "COURT-110101",
            kind: str = "judgment") -> dict[str, Any]:
    """As policies.attributes.notice_attributes builds it."""
    return {"type": "notice", "id": "ntc_1", "kind": kind, "status": status,
            "seal_status": "open", "owner_agency": sender,
            "receiving_agency": "REG-110101" if in_division == "yes" else "REG-110105",
            "region": "110101" if in_division == "yes" else "110105",
            "in_requester_division": in_division}


def _new_notice(kind: str) -> dict[str, Any]:
    # As schema.reporting asks notice:report: the sender is the requester's agency.
    return {"type": "notice", "id": "*", "kind": kind, "owner_agency": THEIR_AGENCY}


NOTICE_RESOURCES: dict[str, Mapping[str, Any]] = {
    "new release notice": _new_notice("release"),
    "new correction expiry notice": _new_notice("correction_expiry"),
    "new judgment notice": _new_notice("judgment"),
    "unmatched notice in division": _notice("unmatched"),
    "unmatched notice out of division": _notice("unmatched", in_division="no"),
    "registered notice in division": _notice("registered"),
    "rejected notice in division": _notice("rejected"),
    "the court's own notice out of division": _notice("registered", in_division="no"),
    "another court's notice": _notice("registered", in_division="no", sender="COURT-110105"),
    "the prison's release notice": _notice("registered", in_division="no",
                                           sender="PRISON-110000", kind="release"),
    "the detention centre's release notice": _notice("registered", sender="DC-110101",
                                                     kind="release"),
    "the judicial administration's expiry notice": _notice(
        "registered", sender="JA-110101", kind="correction_expiry"),
    # A forged relation: a notice that records no sending agency.
    "a notice of no sender": _notice("registered", in_division="no", sender=""),
    "a release notice of no sender": _notice("registered", in_division="no", sender="",
                                             kind="release"),
    "an expiry notice of no sender": _notice("registered", in_division="no", sender="",
                                             kind="correction_expiry"),
    "a compliance row": {"type": "compliance", "id": "COURT-110101",
                         "owner_agency": "COURT-110101"},
}

REPORTERS = (("prison officer", "new release notice"),
             ("detention centre officer", "new release notice"),
             ("county judicial admin officer", "new correction expiry notice"))

NOTICES = _section("notices", NOTICE_PRINCIPALS, NOTICE_RESOURCES, [
    # notice:report: prisons and detention centres report releases, county judicial
    # administrations the expiry of community correction; nobody reports a judgment this way
    *[(p, A.NOTICE_REPORT, r, True) for p, r in REPORTERS],
    ("prison officer", A.NOTICE_REPORT, "new correction expiry notice", False),
    ("county judicial admin officer", A.NOTICE_REPORT, "new release notice", False),
    ("city judicial admin officer", A.NOTICE_REPORT, "new correction expiry notice", False),
    *[(p, A.NOTICE_REPORT, "new judgment notice", False)
      for p in ("prison officer", "county judicial admin officer", "judge", "dongcheng clerk")],
    *[(p, A.NOTICE_REPORT, r, False)
      for p in ("judge", "dongcheng clerk", "auditor", "employer", "anonymous",
                "prison officer at a court", "judge at a prison",
                "prison officer without agency")
      for r in ("new release notice", "new correction expiry notice")],
    # notice:resolve: a clerk works the exception queue of the division, nothing else
    ("dongcheng clerk", A.NOTICE_RESOLVE, "unmatched notice in division", True),
    *[("dongcheng clerk", A.NOTICE_RESOLVE, r, False)
      for r in ("unmatched notice out of division", "registered notice in division",
                "rejected notice in division")],
    ("shanghai clerk", A.NOTICE_RESOLVE, "unmatched notice out of division", False),
    *[(p, A.NOTICE_RESOLVE, "unmatched notice in division", False)
      for p in ("clerk at a court", "judge", "auditor", "county judicial admin officer",
                "anonymous")],
    # notice:examine: the precise reason and the true authority, for the clerks of the
    # queue's division; not for the sender, who may read no record (DESIGN.md 1.2)
    *[("dongcheng clerk", A.NOTICE_EXAMINE, r, True)
      for r in ("unmatched notice in division", "registered notice in division",
                "rejected notice in division")],
    *[(p, A.NOTICE_EXAMINE, "unmatched notice out of division", False)
      for p in ("dongcheng clerk", "shanghai clerk")],
    *[(p, A.NOTICE_EXAMINE, r, False)
      for p, r in (("prison officer", "the prison's release notice"),
                   ("detention centre officer", "the detention centre's release notice"),
                   ("county judicial admin officer",
                    "the judicial administration's expiry notice"),
                   ("judge", "the court's own notice out of division"),
                   ("clerk at a court", "unmatched notice in division"),
                   ("auditor", "unmatched notice in division"),
                   ("employer", "unmatched notice in division"),
                   ("anonymous", "unmatched notice in division"))],
    # notice:compliance: clerks on their division's notices, auditors on all
    *[("dongcheng clerk", A.NOTICE_COMPLIANCE, r, True)
      for r in ("registered notice in division", "a compliance row")],
    ("dongcheng clerk", A.NOTICE_COMPLIANCE, "another court's notice", False),
    *[("auditor", A.NOTICE_COMPLIANCE, r, True)
      for r in ("registered notice in division", "another court's notice", "a compliance row")],
    *[(p, A.NOTICE_COMPLIANCE, r, False)
      for p in ("judge", "clerk at a court", "employer", "anonymous")
      for r in ("registered notice in division", "a compliance row")],
    ("auditor", A.NOTICE_COMPLIANCE, "new release notice", True),
    ("auditor", A.NOTICE_READ, "registered notice in division", False),
    # notice:read and notice:list: a reporting agency reads back what it sent
    *[("judge", a, "the court's own notice out of division", True)
      for a in (A.NOTICE_READ, A.NOTICE_LIST)],
    *[("prison officer", a, "the prison's release notice", True)
      for a in (A.NOTICE_READ, A.NOTICE_LIST)],
    *[("detention centre officer", a, "the detention centre's release notice", True)
      for a in (A.NOTICE_READ, A.NOTICE_LIST)],
    *[("county judicial admin officer", a, "the judicial administration's expiry notice", True)
      for a in (A.NOTICE_READ, A.NOTICE_LIST)],
    # bypass: another role at the reporting agency reads none of its notices
    *[(p, a, r, False)
      for p, r in (("lawyer at a court", "the court's own notice out of division"),
                   ("prosecutor at a court", "the court's own notice out of division"),
                   ("clerk at a court", "the court's own notice out of division"),
                   ("prison officer at a court", "the court's own notice out of division"),
                   ("individual at a prison", "the prison's release notice"),
                   ("judge at a prison", "the prison's release notice"),
                   ("judge at a detention centre", "the detention centre's release notice"),
                   ("employer at a judicial administration",
                    "the judicial administration's expiry notice"))
      for a in (A.NOTICE_READ, A.NOTICE_LIST)],
    # bypass: no agency code on the subject matches no sender on the notice
    *[(p, a, r, False)
      for p, r in (("judge without an agency code", "a notice of no sender"),
                   ("prison officer of a prison without an agency code",
                    "a release notice of no sender"),
                   ("judicial admin officer without an agency code",
                    "an expiry notice of no sender"))
      for a in (A.NOTICE_READ, A.NOTICE_LIST)],
    *[("judge", a, "another court's notice", False) for a in (A.NOTICE_READ, A.NOTICE_LIST)],
    ("prison officer", A.NOTICE_READ, "the court's own notice out of division", False),
    # bypass: the court's code claimed by a principal of another kind
    *[("employer named like the court", a, "the court's own notice out of division", False)
      for a in (A.NOTICE_READ, A.NOTICE_LIST)],
    ("judge", A.NOTICE_RESOLVE, "the court's own notice out of division", False),
])

# --- corrections ------------------------------------------------------------------------

CORRECTION_PRINCIPALS: dict[str, Mapping[str, Any]] = {
    "dongcheng judge": _officer("judge", "court", "COURT-110101"),
    "chaoyang judge": _officer("judge", "court", "COURT-110105", "110105"),
    "dongcheng clerk": _officer("registry_clerk", "registration_authority", "REG-110101"),
    "shanghai clerk": _officer("registry_clerk", "registration_authority", "REG-310000",
                               "310000", "province"),
    "prosecutor": _officer("prosecutor", "procuratorate", "PROC-110101"),
    "auditor": _officer("auditor", "registration_authority", "REG-110000", "110000",
                        "province"),
    "anonymous": ANONYMOUS,
    # Bypass attempts: the right role at the wrong kind of agency, the court's or the
    # authority's code claimed by a principal of another kind, no agency code at all.
    "judge at a registry": _officer("judge", "registration_authority", "REG-110101"),
    "clerk at a court": _officer("registry_clerk", "court", "COURT-110101"),
    "employer named like the court": _officer("employer", "employer", "COURT-110101"),
    "judge without an agency code": _officer("judge", "court", ""),
    "clerk without an agency code": _officer("registry_clerk", "registration_authority", ""),
}


def _correction(*, court: str = "COURT-110101", authority: str = "REG-110101",
                person: str = "no", seal_status: str = "open") -> dict[str, Any]:
    """As schema.corrections.CorrectionTarget.authz_resource builds it."""
    return {**_certified(seal_status), "owner_agency": court, "authority_agency": authority,
            "corrects_person": person}


CORRECTION_RESOURCES: dict[str, Mapping[str, Any]] = {
    "the court's judgment": _correction(),
    "the court's judgment's person": _correction(person="yes"),
    "the court's sealed judgment": _correction(seal_status="sealed"),
    "the court's sealed judgment's person": _correction(seal_status="sealed", person="yes"),
    "another court's judgment": _correction(court="COURT-110105"),
    "another court's sealed judgment": _correction(court="COURT-110105", seal_status="sealed"),
    "a judgment another authority keeps": _correction(authority="REG-310000"),
    # A forged relation: neither court nor authority recorded.
    "a judgment of no court or authority": _correction(court="", authority=""),
    "a sealed judgment of no court or authority": _correction(court="", authority="",
                                                              seal_status="sealed"),
}

CORRECTIONS = _section("corrections", CORRECTION_PRINCIPALS, CORRECTION_RESOURCES, [
    # the reporting court corrects its judgment's own facts, not the person
    ("dongcheng judge", A.JUDGMENT_CORRECT, "the court's judgment", True),
    ("dongcheng judge", A.JUDGMENT_CORRECT, "the court's judgment's person", False),
    # ... sealed or not, and reports its retrial (DESIGN.md 1.2: sealing hides a record from
    # others, not from the organ that made it: the sealed-record deny spares the court that
    # reported the judgment, owner_agency)
    ("dongcheng judge", A.JUDGMENT_CORRECT, "the court's sealed judgment", True),
    ("dongcheng judge", A.JUDGMENT_CORRECT, "the court's sealed judgment's person", False),
    ("dongcheng judge", A.JUDGMENT_CORRECT, "another court's judgment", False),
    ("chaoyang judge", A.JUDGMENT_CORRECT, "the court's judgment", False),
    # bypass: another court, the court's staff who are not judges, the court's code claimed
    # by a principal of another kind, no agency code on either side
    ("dongcheng judge", A.JUDGMENT_CORRECT, "another court's sealed judgment", False),
    ("chaoyang judge", A.JUDGMENT_CORRECT, "the court's sealed judgment", False),
    *[(p, A.JUDGMENT_CORRECT, "the court's sealed judgment", False)
      for p in ("clerk at a court", "employer named like the court", "prosecutor")],
    ("judge without an agency code", A.JUDGMENT_CORRECT,
     "a sealed judgment of no court or authority", False),
    # the keeping authority's clerk corrects all of it, sealed or not
    *[("dongcheng clerk", A.JUDGMENT_CORRECT, r, True)
      for r in ("the court's judgment", "the court's judgment's person",
                "the court's sealed judgment", "another court's judgment")],
    ("dongcheng clerk", A.JUDGMENT_CORRECT, "a judgment another authority keeps", False),
    ("shanghai clerk", A.JUDGMENT_CORRECT, "a judgment another authority keeps", True),
    ("shanghai clerk", A.JUDGMENT_CORRECT, "the court's judgment", False),
    # nobody else, and no role at the wrong kind of agency or without one
    *[(p, A.JUDGMENT_CORRECT, "the court's judgment", False)
      for p in ("prosecutor", "auditor", "anonymous", "judge at a registry",
                "clerk at a court", "employer named like the court")],
    *[(p, A.JUDGMENT_CORRECT, "a judgment of no court or authority", False)
      for p in ("judge without an agency code", "clerk without an agency code")],
    # correcting grants no read: the court does not read back what it corrected (the
    # payload's `judgment`, decided on this resource), sealed or not; its seal status is
    # decided over all of the person's judgments, other courts' too. The keeping clerk does.
    ("dongcheng judge", A.JUDGMENT_READ, "the court's judgment", False),
    ("dongcheng judge", A.JUDGMENT_READ, "the court's sealed judgment", False),
    ("dongcheng clerk", A.JUDGMENT_READ, "the court's sealed judgment", True),
    ("judge without an agency code", A.JUDGMENT_READ,
     "a sealed judgment of no court or authority", False),
])

# --- cases ------------------------------------------------------------------------------

CASE_PRINCIPALS: dict[str, Mapping[str, Any]] = {
    **COUNSEL_PRINCIPALS,
    # Out of the vocabulary on purpose (VOCABULARY_BYPASSES): the relation claimed by the
    # subject instead of computed for the resource.
    "police officer claiming to handle the case": {
        **COUNSEL_PRINCIPALS["police officer"], "handled_by_requester": "yes"},
}


def _criminal_case(handled: str = "yes", status: str = "open", **extra: str
                   ) -> dict[str, Any]:
    """As policies.attributes.case_attributes builds it (`extra`: a transfer's receiver)."""
    return {"type": "case", "id": "cas_1", "stage": "investigation", "status": status,
            "seal_status": "open",
            "owner_agency": THEIR_AGENCY if handled == "yes" else "PSB-110105",
            "handled_by_requester": handled, **extra}


def _to(kind: str, code: str) -> dict[str, str]:
    return {"receiving_agency": code, "receiving_agency_kind": kind}


CASE_RESOURCES: dict[str, Mapping[str, Any]] = {
    # registerCase: the requester's agency will handle it (none without an agency).
    "new case": {"type": "case", "id": "*", "stage": "investigation", "status": "open",
                 "seal_status": "open", "owner_agency": THEIR_AGENCY,
                 "handled_by_requester": "yes"},
    "new case of no agency": {"type": "case", "id": "*", "stage": "investigation",
                              "status": "open", "seal_status": "open", "owner_agency": "",
                              "handled_by_requester": "no"},
    "their open case": _criminal_case(),
    "their closed case": _criminal_case(status="closed"),
    # Another agency's, or one their agency transferred away: the same attributes.
    "another agency's open case": _criminal_case("no"),
    "another agency's closed case": _criminal_case("no", "closed"),
    # A number nobody registered (schema.cases._missing).
    "a case nobody registered": {"type": "case", "id": "*", "stage": "", "status": "none",
                                 "seal_status": "open", "owner_agency": "",
                                 "handled_by_requester": "no"},
    "their open case to a procuratorate": _criminal_case(**_to("procuratorate", "PROC-110101")),
    "their open case to a court": _criminal_case(**_to("court", "COURT-110101")),
    "their open case to state security": _criminal_case(**_to("state_security", "SSB-110000")),
    "their open case to a law firm": _criminal_case(**_to("law_firm", "LAW-110101")),
    "their open case to a registry": _criminal_case(**_to("registration_authority",
                                                          "REG-110101")),
    "their open case to a prison": _criminal_case(**_to("prison", "PRISON-110000")),
    "their open case to nowhere": _criminal_case(),  # no receiving agency at all
    "their closed case to a court": _criminal_case(status="closed",
                                                   **_to("court", "COURT-110101")),
    "another agency's open case to a court": _criminal_case("no",
                                                            **_to("court", "COURT-110101")),
    # A mislabelled resource: the case actions on a judgment that looks handled.
    "judgment": {"type": "judgment", "id": "jdg_1", "seal_status": "open", "status": "open",
                 "in_requester_division": "yes", "handled_by_requester": "yes"},
}

CASE_OF = {"case_number": CASE_NUMBER}  # the app decides case actions with the number
CASE_READS = (A.CASE_READ, A.CASE_LIST)
CASE_CHANGES = (A.CASE_ADD_PARTY, A.CASE_TRANSFER, A.CASE_CLOSE)
CASE_OTHERS = ("their open case", "another agency's open case", "a case nobody registered")

CASES = _section("cases", CASE_PRINCIPALS, CASE_RESOURCES, [
    # registerCase: an official of a case-handling organ; the agency becomes the handler
    *[(p, A.CASE_REGISTER, "new case", True, CASE_OF) for p in COUNSEL_ORGANS],
    *[(p, A.CASE_REGISTER, "new case of no agency", False, CASE_OF) for p in COUNSEL_ORGANS],
    *[(p, A.CASE_REGISTER, "new case", False, CASE_OF)
      for p in COUNSEL_NOT_ORGANS + COUNSEL_BYPASSES],
    # case(), cases: the officials of the organ handling it, open or closed, and auditors
    *[(p, a, r, True, CASE_OF) for p in COUNSEL_ORGANS for a in CASE_READS
      for r in ("their open case", "their closed case")],
    *[(p, a, r, False, CASE_OF) for p in COUNSEL_ORGANS for a in CASE_READS
      for r in ("another agency's open case", "another agency's closed case",
                "a case nobody registered")],
    *[("auditor", a, r, True, CASE_OF) for a in CASE_READS
      for r in ("another agency's open case", "another agency's closed case")],
    *[("auditor", a, "another agency's open case", False, CASE_OF) for a in CASE_CHANGES],
    *[(p, a, "their open case", False, CASE_OF) for a in CASE_READS
      for p in ("defense lawyer", "clerk", "employer", "security admin", "individual",
                "anonymous", *COUNSEL_BYPASSES)],
    # bypass: the relation claimed by the subject does not count
    *[("police officer claiming to handle the case", a, "another agency's open case", False,
       CASE_OF) for a in (*CASE_READS, *CASE_CHANGES)],
    # addCaseParty: the handling organ, while the case is open
    *[(p, A.CASE_ADD_PARTY, "their open case", True, CASE_OF) for p in COUNSEL_ORGANS],
    *[(p, A.CASE_ADD_PARTY, r, False, CASE_OF) for p in COUNSEL_ORGANS
      for r in ("their closed case", "another agency's open case", "a case nobody registered")],
    # transferCase: the handling organ, an open case, to a case-handling organ only
    *[(p, A.CASE_TRANSFER, r, True, CASE_OF) for p in COUNSEL_ORGANS
      for r in ("their open case to a procuratorate", "their open case to a court",
                "their open case to state security")],
    *[(p, A.CASE_TRANSFER, r, False, CASE_OF) for p in COUNSEL_ORGANS
      for r in ("their open case to a law firm", "their open case to a registry",
                "their open case to a prison", "their open case to nowhere",
                "their closed case to a court", "another agency's open case to a court",
                "a case nobody registered")],
    # closeCase: the handling organ (closing a closed case again changes nothing)
    *[(p, A.CASE_CLOSE, r, True, CASE_OF) for p in COUNSEL_ORGANS
      for r in ("their open case", "their closed case")],
    *[(p, A.CASE_CLOSE, r, False, CASE_OF) for p in COUNSEL_ORGANS
      for r in ("another agency's open case", "another agency's closed case",
                "a case nobody registered")],
    # nobody else changes a case, whatever it looks like
    *[(p, a, r, False, CASE_OF)
      for p in ("defense lawyer", "clerk", "employer", "anonymous", *COUNSEL_BYPASSES)
      for a in CASE_CHANGES for r in CASE_OTHERS],
    # the actions on something that is no case, and no other action on a case
    *[(p, a, "judgment", False, CASE_OF) for p in COUNSEL_ORGANS
      for a in (A.CASE_READ, A.CASE_ADD_PARTY, A.CASE_CLOSE)],
    *[(p, a, "their open case", False, CASE_OF) for p in COUNSEL_ORGANS
      for a in (A.JUDGMENT_READ, A.OFFENDER_READ, A.DETENTION_READ, A.COUNSEL_REGISTER)],
])

TABLE: tuple[TableRow, ...] = (RECORDS + REPORTING + EVERYONE + ADMINISTRATION + DETENTIONS
                               + COUNSEL + CERTIFICATES + INQUIRIES + NOTICES + CORRECTIONS
                               + CASES)
