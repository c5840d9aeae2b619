"""What counts on a certificate or result letter (policies/defaults/inquiries.json and
defence-in-depth.json): which policy leaves a sealed record out. The decisions themselves
are the "certificates" rows of the policy test table (policies/table.py)."""

import pytest

from policies.actions import Action
from policies.pdp import DecisionPoint
from policies.store import load_default_documents
from policies.table import CERTIFICATE_PRINCIPALS, CERTIFICATE_RESOURCES, NO_CONTEXT


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


def test_a_sealed_record_is_left_out_by_its_own_deny_not_by_default(
        decision_point: DecisionPoint) -> None:
    decision = decision_point.decide(CERTIFICATE_PRINCIPALS["clerk"],
                                     CERTIFICATE_RESOURCES["sealed guilty judgment"],
                                     Action.JUDGMENT_CERTIFY,
                                     {**NO_CONTEXT, "purpose": "employment",
                                      "inquiry_id": "inq_1"})
    assert decision.policy_uid == "sealed.records-never-count-on-certificates"
