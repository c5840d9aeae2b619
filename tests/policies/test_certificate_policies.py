"""What counts on a certificate or result letter (policies/defaults/inquiries.json and
defence-in-depth.json) as a data table (STYLE.md §9): effective guilty judgments count,
sealed ones never do, whoever decides; the purpose gates it."""

from dataclasses import dataclass
from typing import Any

import pytest

from policies.actions import Action
from policies.pdp import DecisionPoint
from policies.store import load_default_documents


def who(role: str, agency_kind: str) -> dict[str, Any]:
    return {"sub": f"{role}-1", "role": role, "agency": f"{agency_kind}-1",
            "agency_kind": agency_kind, "agency_level": "county", "region": "110101",
            "id_number": "", "scopes": []}


def judgment(seal_status: str = "open", verdict: str = "guilty") -> dict[str, Any]:
    return {"type": "judgment", "id": "jdg_1", "seal_status": seal_status, "verdict": verdict,
            "region": "110101", "in_requester_division": "yes", "record_kind": "judgment",
            "owner_agency": ""}


def purpose(name: str) -> dict[str, Any]:
    return {"purpose": name, "case_number": "", "inquiry_id": "inq_1", "is_counsel": "no",
            "is_own_record": "no"}


@dataclass(frozen=True)
class Row:
    decider: dict[str, Any]
    record: dict[str, Any]
    context: dict[str, Any]
    counts: bool


POLICE, CLERK, INDIVIDUAL = (who("police_officer", "public_security"),
                             who("registry_clerk", "registration_authority"),
                             who("individual", ""))
TABLE = [
    *[Row(POLICE, judgment(), purpose(p), True)
      for p in ("employment", "enlistment", "continuing_education")],
    Row(INDIVIDUAL, judgment(), purpose("self"), True),
    Row(POLICE, judgment("sealed"), purpose("employment"), False),
    Row(INDIVIDUAL, judgment("sealed"), purpose("self"), False),
    Row(POLICE, judgment(verdict="acquitted"), purpose("employment"), False),
    # bypass: a clerk deciding (were a policy to make clerks examiners) still never counts
    # a sealed record: the clerks' exception to the sealed-record deny does not reach here.
    Row(CLERK, judgment("sealed"), purpose("employment"), False),
    # bypass: no certificate purpose, no count
    Row(POLICE, judgment(), purpose("case_handling"), False),
    Row(POLICE, judgment(), purpose(""), False),
]


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


@pytest.mark.parametrize("row", TABLE)
def test_what_counts_on_a_certificate(decision_point: DecisionPoint, row: Row) -> None:
    decision = decision_point.decide(row.decider, row.record, Action.JUDGMENT_CERTIFY,
                                     row.context)
    assert decision.allowed is row.counts, decision.reason


def test_a_sealed_record_is_left_out_by_its_own_deny_not_by_default(
        decision_point: DecisionPoint) -> None:
    decision = decision_point.decide(CLERK, judgment("sealed"), Action.JUDGMENT_CERTIFY,
                                     purpose("employment"))
    assert decision.policy_uid == "sealed.records-never-count-on-certificates"
