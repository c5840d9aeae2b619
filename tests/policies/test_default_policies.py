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


# --- sealing hides a record from others, not from the organ that made it (DESIGN.md 1.2) ---

SEALED_DENY = "sealed.records-are-hidden-outside-case-handling-and-record-management"
# Grants everything: what is left denied is the deny policies' doing alone.
ALLOW_EVERYTHING = {"uid": "test.allow-everything", "description": "a test grant of all",
                    "effect": "allow", "rules": {"subject": {}, "resource": {}, "action": {},
                                                 "context": {}}, "targets": {}}


def _sealed(owner: str | None) -> dict[str, str]:
    resource = {"type": "judgment", "id": "jdg_1", "seal_status": "sealed",
                "region": "110101", "in_requester_division": "yes",
                "record_kind": "judgment", "verdict": "guilty"}
    if owner is not None:
        resource["owner_agency"] = owner
    return resource


def _judge(agency: str | None) -> dict[str, object]:
    subject: dict[str, object] = {"sub": "judge-1", "role": "judge", "agency_kind": "court",
                                  "region": "110101", "id_number": "", "scopes": []}
    if agency is not None:
        subject["agency"] = agency
    return subject


@pytest.mark.parametrize(("agency", "owner", "spared"), [
    ("COURT-110101", "COURT-110101", True),     # the organ that made it
    ("COURT-110101", "COURT-310101", False),    # another court
    ("COURT-310101", "COURT-110101", False),
    ("COURT-110101", "", False),                # a record naming no organ
    ("COURT-110101", None, False),              # ... or not saying (lists, direct reads)
    ("", "", False),                            # no agency on either side is no match
    ("", None, False),
    (None, None, False),                        # nor a subject without the attribute
    (None, "", False),
])
@pytest.mark.parametrize("action", [A.JUDGMENT_CORRECT, A.JUDGMENT_READ, A.JUDGMENT_LIST])
def test_the_sealed_record_deny_spares_only_the_organ_that_made_the_record(
        agency: str | None, owner: str | None, spared: bool, action: Action) -> None:
    point = DecisionPoint([*load_default_documents(), ALLOW_EVERYTHING], version=1)
    decision = point.decide(_judge(agency), _sealed(owner), action, {"purpose": ""})
    assert decision.allowed is spared, decision.reason
    if not spared:
        assert decision.policy_uid == SEALED_DENY
    # Case handling and the registry's clerks are spared whatever the owner, as before.
    assert point.decide(_judge(agency), _sealed(owner), action,
                        {"purpose": "case_handling"}).allowed
    clerk = {**_judge(agency), "role": "registry_clerk"}
    assert point.decide(clerk, _sealed(owner), action, {"purpose": ""}).allowed
