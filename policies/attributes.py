"""Models to policy attributes, in exactly one place (STYLE.md "Do this" 4).

Values are lower-case strings; relations between the record and the requester are
"yes"/"no" attributes, so that each takes few values and a list can be filtered in SQL
by deciding every combination once (DESIGN.md §2).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

from db.models import Agency, CriminalCase, Detention, Inquiry, Judgment, Notice, Offender
from policies.identity import is_valid_region
from policies.routing import division_level, in_division

__all__ = [
    "CaseRelation",
    "case_attributes",
    "case_combinations",
    "counsel_attributes",
    "counsel_combinations",
    "detention_attributes",
    "detention_close_combinations",
    "detention_seal_status",
    "in_division",
    "judgment_attributes",
    "judgment_visibility_combinations",
    "notice_attributes",
    "notice_visibility_combinations",
    "offender_attributes",
    "offender_visibility_combinations",
    "resource_attributes",
    "subject_attributes",
    "REQUEST_CONTEXT",
]

# The context of a request made on nobody's behalf (no inquiry): what every decision carries
# unless an inquiry's own purpose, case and counsel relation replace it.
REQUEST_CONTEXT: dict[str, str] = {"purpose": "", "case_number": "", "inquiry_id": "",
                                   "is_counsel": "no"}


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def subject_attributes(
    *,
    sub: str,
    role: str,
    agency: Agency | None,
    id_number: str | None,
    scopes: Iterable[str],
) -> dict[str, Any]:
    """The requester's attributes. Kind and region come from the agency table, never
    from the token (CONTRACT.md §3)."""
    return {
        "sub": sub,
        "role": role,
        "agency": agency.code if agency is not None else "",
        "agency_kind": agency.kind.lower() if agency is not None else "",
        # province, city or county: the level of the agency's division (DESIGN.md §1.2).
        "agency_level": _level(agency.region) if agency is not None else "",
        "region": agency.region if agency is not None else "",
        "id_number": id_number or "",
        "scopes": sorted(scopes),
    }


def _level(region: str) -> str:
    if not is_valid_region(region):
        return ""
    return {1: "province", 2: "city", 3: "county"}[division_level(region)]


def _in_requester_division(subject: Mapping[str, Any], region: str) -> str:
    division = subject.get("region") or ""
    return _yes_no(bool(division) and in_division(division, region))


def judgment_attributes(judgment: Judgment, subject: Mapping[str, Any]) -> dict[str, Any]:
    """A judgment as it is read and listed. `owner_agency` (the reporting court) is empty
    here, meaning "nobody's" to the sealed-record deny: it is stated only where a decision
    is about the court's own act on its judgment, a correction and its read-back
    (schema.corrections.CorrectionTarget), so that no grant keyed on it reaches further."""
    return {
        "type": "judgment",
        "id": judgment.public_id,
        "seal_status": judgment.seal_status.lower(),
        "region": judgment.region,
        "owner_agency": "",
        "in_requester_division": _in_requester_division(subject, judgment.region),
        "record_kind": "judgment",
        "verdict": judgment.verdict.lower(),
    }


def offender_attributes(offender: Offender, subject: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "offender",
        "id": offender.public_id,
        "seal_status": "open",
        "region": offender.residence_region,
        "owner_agency": "",
        "in_requester_division": _in_requester_division(subject, offender.residence_region),
        "record_kind": "offender",
    }


def notice_attributes(notice: Notice, *, sender_code: str, receiver_code: str,
                      subject: Mapping[str, Any]) -> dict[str, Any]:
    """A notice: `owner_agency` is its sender, `receiving_agency` the authority whose queue
    it is in, `region` that queue's division ("" while no authority covers it)."""
    return {
        "type": "notice",
        "id": notice.public_id,
        "kind": notice.kind.lower(),
        "status": notice.status.lower(),
        "seal_status": "open",
        "owner_agency": sender_code,
        "receiving_agency": receiver_code,
        "region": notice.queue_region,
        "in_requester_division": _in_requester_division(subject, notice.queue_region),
    }


# The value of `owner_agency` that stands for "an agency other than the requester's" when
# notice lists are decided per combination: no agency code can be equal to it.
ANOTHER_AGENCY = "\x00another agency"
NOTICE_KINDS = ("judgment", "release", "correction_expiry", "judgment_correction")
NOTICE_STATUSES = ("registered", "unmatched", "resolved", "rejected")


def notice_visibility_combinations(subject: Mapping[str, Any]) -> list[dict[str, str]]:
    """As `judgment_visibility_combinations`, for notice rows: kind, status, whether the
    queue is in the requester's division, and whether the requester's agency sent it."""
    own = str(subject.get("agency") or "")
    return [
        {"type": "notice", "kind": kind, "status": status, "seal_status": "open",
         "in_requester_division": inside, "owner_agency": owner}
        for kind, status, inside, owner in product(
            NOTICE_KINDS, NOTICE_STATUSES, ("yes", "no"), (own, ANOTHER_AGENCY))
    ]


def inquiry_attributes(inquiry: Inquiry, *, subject: Mapping[str, Any],
                       case: "CaseRelation | None" = None) -> dict[str, Any]:
    """An inquiry: `requester` is who asked, `region` the division of their agency (where
    an examined inquiry is examined). Submitted, it also carries its case number's relation
    to the requester and the subject (`case`)."""
    attributes = {
        "type": "inquiry",
        "id": inquiry.public_id,
        "purpose": inquiry.purpose.lower(),
        "status": inquiry.status.lower(),
        "seal_status": "open",
        "requester": inquiry.requester_sub,
        "region": inquiry.region,
        "in_requester_division": _in_requester_division(subject, inquiry.region),
    }
    if case is not None:
        attributes.update(case.attributes())
    return attributes


# -- cases (DESIGN.md §1.6) ----------------------------------------------------------------

CASE_STATUSES = ("open", "closed")
CASE_STAGES = ("investigation", "prosecution", "trial")


@dataclass(frozen=True)
class CaseRelation:
    """A case number as the registry knows it, relative to one requester and one person:
    whether a case is registered under it and is open (`status`: open, closed or none),
    whether the requester's agency handles it now, whether the person is a suspect or
    defendant in it, and whether the requester is registered counsel for the person in it.
    Every "no" looks alike from outside: only the decision point sees which one it was."""

    status: str = "none"
    handled_by_requester: bool = False
    subject_is_accused: bool = False
    is_counsel: bool = False
    # The case's row, for the caller that acts on it once permitted; not an attribute.
    case_id: int | None = None

    def attributes(self) -> dict[str, str]:
        return {"handled_by_requester": _yes_no(self.handled_by_requester),
                "subject_is_accused": _yes_no(self.subject_is_accused),
                "case_status": self.status}


NO_CASE = CaseRelation()


def handles(subject: Mapping[str, Any], agency_code: str) -> bool:
    """Does the requester's agency handle a case handled by `agency_code`? Never for a
    requester without an agency, whatever the case records ("" is nobody's code)."""
    own = str(subject.get("agency") or "")
    return bool(own) and own == agency_code


def case_attributes(case: CriminalCase, *, handling_agency: str,
                    subject: Mapping[str, Any]) -> dict[str, Any]:
    """A case: `owner_agency` is the organ handling it now, `handled_by_requester` whether
    that is the requester's agency."""
    return {
        "type": "case",
        "id": case.public_id,
        "stage": case.stage.lower(),
        "status": "open" if case.open else "closed",
        "seal_status": "open",
        "owner_agency": handling_agency,
        "handled_by_requester": _yes_no(handles(subject, handling_agency)),
    }


def case_combinations() -> list[dict[str, str]]:
    """Every kind of case a requester might act on: whether they may act on any at all is
    decided on these before a case number is looked up, so the answer says nothing about
    it; the allowed ones filter `cases` in SQL."""
    return [
        {"type": "case", "stage": stage, "status": status, "seal_status": "open",
         "handled_by_requester": handled}
        for stage, status, handled in product(CASE_STAGES, CASE_STATUSES, ("yes", "no"))
    ]


def counsel_attributes(relation: CaseRelation, *, counsel_is_requester: bool
                       ) -> dict[str, Any]:
    """A counsel registration asked for: the case's relation to the requester (the official)
    and to the suspect named, and whether the official names themselves as the lawyer."""
    return {"type": "counsel", "id": "*",
            "counsel_is_requester": _yes_no(counsel_is_requester), **relation.attributes()}


def counsel_combinations(*, counsel_is_requester: bool) -> list[dict[str, str]]:
    """As `case_combinations`, for counsel registrations."""
    return [
        counsel_attributes(CaseRelation(status, handled == "yes", accused == "yes"),
                           counsel_is_requester=counsel_is_requester)
        for status, handled, accused in product(("open", "closed", "none"), ("yes", "no"),
                                                ("yes", "no"))
    ]


INQUIRY_PURPOSES = ("case_handling", "defense", "employment", "enlistment",
                    "continuing_education", "self", "record_management")
INQUIRY_STATUSES = ("pending", "approved", "rejected")
# As ANOTHER_AGENCY, for the `requester` of an inquiry: nobody's sub equals it.
ANOTHER_REQUESTER = "\x00another requester"


def inquiry_visibility_combinations(subject: Mapping[str, Any]) -> list[dict[str, str]]:
    """As `notice_visibility_combinations`, for inquiry rows: purpose, status, whether the
    requester's agency is in the division, and whether the requester asked it."""
    own = str(subject.get("sub") or "")
    return [
        {"type": "inquiry", "purpose": purpose, "status": status, "seal_status": "open",
         "in_requester_division": inside, "requester": requester}
        for purpose, status, inside, requester in product(
            INQUIRY_PURPOSES, INQUIRY_STATUSES, ("yes", "no"), (own, ANOTHER_REQUESTER))
    ]


def resource_attributes(type_: str, **attrs: Any) -> dict[str, Any]:
    """A generic resource (policy, audit, notice, inquiry, subject, agency)."""
    return {"type": type_, **attrs}


def judgment_visibility_combinations() -> list[dict[str, str]]:
    """Every combination of the attributes that decide whether a judgment row is visible.

    The schema layer decides each once per request and turns the allowed ones into a
    WHERE clause: seal_status -> judgment.seal_status, in_requester_division -> the
    region prefix test of `in_division`, verdict -> judgment.verdict.
    """
    return [
        {
            "type": "judgment",
            "record_kind": "judgment",
            "seal_status": seal_status,
            "in_requester_division": in_requester_division,
            "verdict": verdict,
        }
        for seal_status, in_requester_division, verdict in product(
            ("open", "sealed"), ("yes", "no"), ("guilty", "acquitted")
        )
    ]


def offender_visibility_combinations() -> list[dict[str, str]]:
    """As `judgment_visibility_combinations`, for offender rows."""
    return [
        {
            "type": "offender",
            "record_kind": "offender",
            "seal_status": "open",
            "in_requester_division": in_requester_division,
        }
        for in_requester_division in ("yes", "no")
    ]


def detention_seal_status(kind: str) -> str:
    """Since 2026-01-01 the law seals every record of an administrative violation
    (DESIGN.md §1.1), administrative detention included; a criminal detention is open."""
    return "sealed" if kind.upper() == "ADMINISTRATIVE" else "open"


def detention_attributes(detention: Detention, *, owner_agency: str,
                         subject: Mapping[str, Any]) -> dict[str, Any]:
    """A detention record: `owner_agency` is the code of the agency that registered it,
    `region` the person's residence."""
    return {
        "type": "detention",
        "id": detention.public_id,
        "kind": detention.kind.lower(),
        "seal_status": detention_seal_status(detention.kind),
        "status": detention.status,
        "region": detention.region,
        "owner_agency": owner_agency,
        "in_requester_division": _in_requester_division(subject, detention.region),
        "record_kind": "detention",
    }


def detention_close_combinations(subject: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every kind of detention a requester might close: whether it may close any at all
    is decided on these before an id is looked up, so the answer says nothing about it."""
    own = str(subject.get("agency") or "")
    return [
        {"type": "detention", "record_kind": "detention", "kind": kind,
         "seal_status": detention_seal_status(kind), "status": status,
         "in_requester_division": inside, "owner_agency": owner}
        for kind, status, inside, owner in product(
            ("criminal", "administrative"), ("open", "closed"), ("yes", "no"),
            (own, ANOTHER_AGENCY))
    ]
