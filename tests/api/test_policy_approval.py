"""Two people for every policy change (issue 12 items 1 and 2, DESIGN.md §1.5, CONTRACT.md §4),
on SQLite and PostgreSQL: a change proposed by one security admin is applied when enough
*other* security admins approve it; what it widens is spelled out before that; policy
writing never leaves security staff; nothing matches everything.

The registry here needs two admins per change (REGISTRY_POLICY_APPROVERS=2, production's
default) unless a test asks for another number.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from api.settings import Settings
from tests.api.test_policy_admin import (
    ADMIN_POLICY,
    CREATE,
    DELETE,
    HISTORY,
    POLICY,
    SEALED_COUNT,
    UPDATE,
    audit_events,
    clerks_may_not_read_sealed,
    code_of,
    errors_of,
    policy_rows,
    sealed_judgment,
    versions,
)
from tests.factories import AUDITOR, CLERK_DONGCHENG, EMPLOYER, SECURITY_ADMIN, Registry

SECOND_ADMIN = ("security.second", "security_admin", "REG-110000")
THIRD_ADMIN = ("security.third", "security_admin", "REG-310000")

CHANGE_FIELDS = ("id uid kind status proposedBy approvedBy approvalsNeeded baseVersion "
                 "decidedBy reason policy widens flips { row before after }")
CHANGES = f"""query($s: PolicyChangeStatus) {{ policyChanges(status: $s) {{ {CHANGE_FIELDS} }} }}"""
APPROVE = f"mutation($id: ID!) {{ approvePolicyChange(id: $id) {{ {CHANGE_FIELDS} }} }}"
REJECT = f"""mutation($id: ID!, $r: String!) {{
  rejectPolicyChange(id: $id, reason: $r) {{ {CHANGE_FIELDS} }} }}"""
PREVIEW = """query($p: JSON!) { previewPolicyChange(policy: $p) {
  change widens refusedBecause locksOutPolicyWriters flips { row before after } } }"""


@pytest.fixture
def approvers() -> int:
    return 2


@pytest.fixture
def settings(settings: Settings, approvers: int) -> Settings:
    return settings.with_(policy_approvers=approvers)


def policy_doc(uid: str, role: str | dict[str, Any], actions: list[str], type_: str,
               effect: str = "allow") -> dict[str, Any]:
    subject = ({"$.role": {"condition": "Equals", "value": role}} if isinstance(role, str)
               else role)
    return {"uid": uid, "description": f"{effect} {role} {actions} on {type_} (a test rule)",
            "effect": effect,
            "rules": {"subject": subject,
                      "resource": {"$.type": {"condition": "Equals", "value": type_}},
                      "action": {"$.name": {"condition": "IsIn", "values": actions}},
                      "context": {}},
            "targets": {}}


def employers_read_judgments() -> dict[str, Any]:
    return policy_doc("employer.reads-judgments", "employer",
                      ["judgment:read", "judgment:list"], "judgment")


async def pending(registry: Registry) -> list[dict[str, Any]]:
    body = await registry.gql(CHANGES, {"s": "PENDING"}, as_=SECURITY_ADMIN)
    assert "errors" not in body, body
    return list(body["data"]["policyChanges"])


async def propose_and_id(registry: Registry, query: str, variables: dict[str, Any],
                         as_: Any = SECURITY_ADMIN) -> str:
    body = await registry.gql(query, variables, as_=as_)
    assert "errors" not in body, body
    change = body["extensions"]["policyChange"]
    assert change["status"] == "PENDING" and change["approvalsNeeded"] >= 1
    return str(change["id"])


# --- proposing ----------------------------------------------------------------------------


async def test_a_proposed_change_waits_and_decides_nothing_until_another_admin_approves(
        registry: Registry) -> None:
    await sealed_judgment(registry)
    rows = await policy_rows(registry)
    body = await registry.gql(CREATE, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    # the answer is the policy as it will be, and says that it is not yet in force
    assert body["data"]["createPolicy"]["version"] == 1
    assert body["data"]["createPolicy"]["setVersion"] == 0
    assert body["extensions"]["policyChange"]["status"] == "PENDING"
    assert await policy_rows(registry) == rows
    assert (await registry.gql(SEALED_COUNT, as_=CLERK_DONGCHENG))["data"]["judgments"][
        "totalCount"] == 1
    [change] = await pending(registry)
    assert (change["uid"], change["kind"], change["proposedBy"], change["approvedBy"],
            change["approvalsNeeded"], change["baseVersion"]) == (
        "clerk.no-sealed-records", "CREATE", "security.admin", [], 1, 0)
    assert change["policy"] == clerks_may_not_read_sealed()
    # the preview's flips are recorded with it: clerks' reads of sealed records
    assert change["flips"] and all(f["before"] and not f["after"] for f in change["flips"])

    approved = await registry.gql(APPROVE, {"id": change["id"]}, as_=SECOND_ADMIN)
    assert approved["data"]["approvePolicyChange"]["status"] == "APPLIED"
    assert approved["data"]["approvePolicyChange"]["approvedBy"] == ["security.second"]
    assert (await registry.gql(SEALED_COUNT, as_=CLERK_DONGCHENG))["data"]["judgments"][
        "totalCount"] == 0
    policy = (await registry.gql(POLICY, {"uid": "clerk.no-sealed-records"},
                                 as_=SECURITY_ADMIN))["data"]["policy"]
    assert (policy["version"], policy["author"]) == (1, "security.admin")
    assert await pending(registry) == []


async def test_approving_ones_own_change_is_refused_and_applies_nothing(
        registry: Registry) -> None:
    change = await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    rows = await policy_rows(registry)
    body = await registry.gql(APPROVE, {"id": change}, as_=SECURITY_ADMIN)
    assert errors_of(body) == [{"code": "FORBIDDEN", "field": "id", "reason": "OWN_CHANGE"}]
    assert await policy_rows(registry) == rows
    assert [c["approvedBy"] for c in await pending(registry)] == [[]]


@pytest.mark.parametrize("approvers", [3])
async def test_with_three_approvers_one_admin_cannot_approve_twice(registry: Registry) -> None:
    change = await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    first = await registry.gql(APPROVE, {"id": change}, as_=SECOND_ADMIN)
    assert first["data"]["approvePolicyChange"]["status"] == "PENDING"
    again = await registry.gql(APPROVE, {"id": change}, as_=SECOND_ADMIN)
    assert errors_of(again) == [{"code": "CONFLICT", "field": "id",
                                 "reason": "ALREADY_APPROVED"}]
    last = await registry.gql(APPROVE, {"id": change}, as_=THIRD_ADMIN)
    assert last["data"]["approvePolicyChange"]["status"] == "APPLIED"
    assert last["data"]["approvePolicyChange"]["approvedBy"] == ["security.second",
                                                                 "security.third"]


async def test_two_admins_approving_one_change_at_once_apply_it_once(registry: Registry) -> None:
    change = await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    rows = await policy_rows(registry)
    bodies = await asyncio.gather(registry.gql(APPROVE, {"id": change}, as_=SECOND_ADMIN),
                                  registry.gql(APPROVE, {"id": change}, as_=THIRD_ADMIN))
    assert sorted(code_of(b) for b in bodies) == ["CONFLICT", "OK"]
    refused = next(b for b in bodies if code_of(b) == "CONFLICT")
    assert errors_of(refused)[0]["reason"] == "CHANGE_DECIDED"
    assert await policy_rows(registry) == rows + 1
    history = await registry.gql(HISTORY, {"uid": "clerk.no-sealed-records"}, as_=SECURITY_ADMIN)
    assert [h["version"] for h in versions(history)] == [1]
    approvals = await audit_events(registry, "policy:approve")
    assert sorted(str((e.detail.get("status"), e.detail.get("errors"))) for e in approvals) == [
        str(("APPLIED", None)), str((None, ["CONFLICT"]))]


@pytest.mark.parametrize("approvers", [3])
async def test_two_approvals_arriving_at_once_both_count_and_apply_the_change_once(
        registry: Registry) -> None:
    change = await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    rows = await policy_rows(registry)
    bodies = await asyncio.gather(registry.gql(APPROVE, {"id": change}, as_=SECOND_ADMIN),
                                  registry.gql(APPROVE, {"id": change}, as_=THIRD_ADMIN))
    assert sorted(b["data"]["approvePolicyChange"]["status"] for b in bodies) == [
        "APPLIED", "PENDING"]
    assert await policy_rows(registry) == rows + 1


async def test_a_rejected_change_never_applies(registry: Registry) -> None:
    change = await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    rows = await policy_rows(registry)
    rejected = await registry.gql(REJECT, {"id": change, "r": "too broad"}, as_=SECOND_ADMIN)
    body = rejected["data"]["rejectPolicyChange"]
    assert (body["status"], body["decidedBy"], body["reason"]) == (
        "REJECTED", "security.second", "too broad")
    late = await registry.gql(APPROVE, {"id": change}, as_=THIRD_ADMIN)
    assert errors_of(late) == [{"code": "CONFLICT", "field": "id", "reason": "CHANGE_DECIDED"}]
    assert await policy_rows(registry) == rows
    assert [e.detail["change"] for e in await audit_events(registry, "policy:reject")] == [change]


async def test_a_rejection_says_why(registry: Registry) -> None:
    change = await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    for reason in ("", "   ", "x" * 1001):
        body = await registry.gql(REJECT, {"id": change, "r": reason}, as_=SECOND_ADMIN)
        assert errors_of(body)[0]["code"] == "BAD_USER_INPUT"
        assert errors_of(body)[0]["field"] == "reason"
    assert [c["status"] for c in await pending(registry)] == ["PENDING"]


async def test_the_proposer_may_withdraw_their_change(registry: Registry) -> None:
    change = await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    body = await registry.gql(REJECT, {"id": change, "r": "withdrawn"}, as_=SECURITY_ADMIN)
    assert body["data"]["rejectPolicyChange"]["status"] == "REJECTED"


async def test_a_change_whose_policy_moved_on_is_a_conflict_when_approved(
        registry: Registry) -> None:
    admin = (await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=SECURITY_ADMIN))[
        "data"]["policy"]["document"]
    first = await propose_and_id(registry, UPDATE, {
        "uid": ADMIN_POLICY, "p": {**admin, "description": "first wording"}})
    second = await propose_and_id(registry, UPDATE, {
        "uid": ADMIN_POLICY, "p": {**admin, "description": "second wording"}})
    assert code_of(await registry.gql(APPROVE, {"id": first}, as_=SECOND_ADMIN)) == "OK"
    rows = await policy_rows(registry)
    stale = await registry.gql(APPROVE, {"id": second}, as_=SECOND_ADMIN)
    assert errors_of(stale) == [{"code": "CONFLICT", "field": "id", "reason": "STALE_CHANGE"}]
    assert await policy_rows(registry) == rows
    now = (await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=SECURITY_ADMIN))["data"]["policy"]
    assert now["description"] == "first wording"


# --- who approves -------------------------------------------------------------------------


@pytest.mark.parametrize("who", [AUDITOR, CLERK_DONGCHENG, EMPLOYER])
async def test_nobody_but_security_staff_approves_or_rejects_and_missing_ids_look_the_same(
        registry: Registry, who: Any) -> None:
    change = await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    for query, extra in ((APPROVE, {}), (REJECT, {"r": "no"})):
        real = await registry.gql(query, {"id": change, **extra}, as_=who)
        missing = await registry.gql(query, {"id": "pch_doesnotexist00", **extra}, as_=who)
        assert real == missing == {"data": None, "errors": [real["errors"][0]]}
        assert errors_of(real) == [{"code": "FORBIDDEN"}]
    assert [c["status"] for c in await pending(registry)] == ["PENDING"]


async def test_an_unknown_change_is_named_to_security_staff(registry: Registry) -> None:
    body = await registry.gql(APPROVE, {"id": "pch_doesnotexist00"}, as_=SECOND_ADMIN)
    assert errors_of(body) == [{"code": "BAD_USER_INPUT", "field": "id"}]


async def test_auditors_read_the_changes_and_others_do_not(registry: Registry) -> None:
    await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    body = await registry.gql(CHANGES, {}, as_=AUDITOR)
    assert [c["status"] for c in body["data"]["policyChanges"]] == ["PENDING"]
    for who in (CLERK_DONGCHENG, EMPLOYER):
        assert code_of(await registry.gql(CHANGES, {}, as_=who)) == "FORBIDDEN"


async def test_every_step_of_a_change_is_audited(registry: Registry) -> None:
    change = await propose_and_id(registry, CREATE, {"p": employers_read_judgments()})
    await registry.gql(APPROVE, {"id": change}, as_=SECURITY_ADMIN)  # refused: own change
    await registry.gql(APPROVE, {"id": change}, as_=SECOND_ADMIN)
    [proposed] = await audit_events(registry, "policy:create")
    assert (proposed.sub, proposed.detail["change"], proposed.detail["status"]) == (
        "security.admin", change, "PENDING")
    assert "employer: judgment:read" in proposed.detail["widens"]
    approvals = await audit_events(registry, "policy:approve")
    assert [(e.sub, e.outcome, e.detail.get("errors")) for e in approvals] == [
        ("security.admin", "permit", ["FORBIDDEN"]), ("security.second", "permit", None)]
    assert approvals[-1].detail["status"] == "APPLIED"
    assert approvals[-1].detail["written_version"] == 1


# --- what a change widens, and what it may not do ------------------------------------------


async def test_a_proposal_widening_judgment_reading_to_employers_says_so_before_approval(
        registry: Registry) -> None:
    preview = (await registry.gql(PREVIEW, {"p": employers_read_judgments()},
                                  as_=SECURITY_ADMIN))["data"]["previewPolicyChange"]
    assert {"employer: judgment:read", "employer: judgment:list"} <= set(preview["widens"])
    assert preview["refusedBecause"] is None
    await propose_and_id(registry, CREATE, {"p": employers_read_judgments()})
    [change] = await pending(registry)
    assert change["widens"] == preview["widens"]
    assert all(w.startswith("employer: ") for w in change["widens"])


async def test_a_grant_hidden_behind_a_condition_still_shows_as_widening(
        registry: Registry) -> None:
    sneaky = employers_read_judgments()
    sneaky["rules"]["resource"]["$.region"] = {"condition": "Equals", "value": "999999"}
    preview = (await registry.gql(PREVIEW, {"p": sneaky}, as_=SECURITY_ADMIN))[
        "data"]["previewPolicyChange"]
    assert "employer: judgment:read" in preview["widens"]
    assert preview["flips"] == []  # no row of the table varies that region: reach shows it


async def test_lifting_a_deny_widens_what_it_denied(registry: Registry) -> None:
    body = await registry.gql(CREATE, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    change = body["extensions"]["policyChange"]["id"]
    await registry.gql(APPROVE, {"id": change}, as_=SECOND_ADMIN)
    await registry.gql(DELETE, {"uid": "clerk.no-sealed-records"}, as_=SECURITY_ADMIN)
    [deletion] = await pending(registry)
    assert deletion["kind"] == "DELETE" and deletion["policy"] is None
    assert "registry_clerk: judgment:read" in deletion["widens"]


async def test_a_narrowing_change_widens_nothing(registry: Registry) -> None:
    await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    [change] = await pending(registry)
    assert change["widens"] == []


@pytest.mark.parametrize("approvers", [1, 2])
@pytest.mark.parametrize("action", ["policy:write", "policy:approve"])
async def test_a_change_handing_policy_administration_to_auditors_is_refused(
        registry: Registry, action: str) -> None:
    rows = await policy_rows(registry)
    handover = policy_doc("auditor.administers-policies", "auditor", [action], "policy")
    body = await registry.gql(CREATE, {"p": handover}, as_=SECURITY_ADMIN)
    assert errors_of(body) == [{"code": "CONFLICT", "field": "policy",
                                "reason": "POLICY_ADMINISTRATION_BEYOND_SECURITY_STAFF",
                                "roles": [f"auditor: {action}"]}]
    # also hidden behind a condition, or granted to everyone but admins
    for subject in ({"$.role": {"condition": "Equals", "value": "auditor"},
                     "$.agency": {"condition": "Equals", "value": "REG-110000"}},
                    {"$.sub": {"condition": "Equals", "value": "auditor.one"}}):
        hidden = policy_doc("someone.administers-policies", subject, [action], "policy")
        refused = await registry.gql(CREATE, {"p": hidden}, as_=SECURITY_ADMIN)
        assert errors_of(refused)[0]["reason"] == "POLICY_ADMINISTRATION_BEYOND_SECURITY_STAFF"
    preview = (await registry.gql(PREVIEW, {"p": handover}, as_=SECURITY_ADMIN))[
        "data"]["previewPolicyChange"]
    assert preview["refusedBecause"] == "POLICY_ADMINISTRATION_BEYOND_SECURITY_STAFF"
    assert await policy_rows(registry) == rows
    assert await pending(registry) == []


@pytest.mark.parametrize("effect", ["allow", "deny"])
async def test_a_policy_matching_every_subject_resource_and_action_is_refused(
        registry: Registry, effect: str) -> None:
    everything = {"uid": "everything", "description": "everything", "effect": effect,
                  "rules": {"subject": {}, "resource": {}, "action": {}, "context": {}},
                  "targets": {}}
    not_nobody = {**everything, "rules": {
        "subject": {"$.role": {"condition": "NotEquals", "value": "nobody"}},
        "resource": {}, "action": {}, "context": {"$.purpose": {"condition": "Equals",
                                                                 "value": "SELF"}}}}
    for document in (everything, not_nobody):
        body = await registry.gql(CREATE, {"p": document}, as_=SECURITY_ADMIN)
        assert errors_of(body) == [{"code": "CONFLICT", "field": "policy",
                                    "reason": "MATCHES_EVERYTHING"}]
    assert await pending(registry) == []


async def test_the_lock_out_guard_holds_when_two_approved_changes_together_would_lock_out(
        registry: Registry) -> None:
    admin = (await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=SECURITY_ADMIN))[
        "data"]["policy"]["document"]
    backup = {**admin, "uid": "security-admin.backup"}
    created = await propose_and_id(registry, CREATE, {"p": backup})
    assert code_of(await registry.gql(APPROVE, {"id": created}, as_=SECOND_ADMIN)) == "OK"
    # each deletion alone leaves the other writer policy: both may be proposed
    first = await propose_and_id(registry, DELETE, {"uid": ADMIN_POLICY})
    second = await propose_and_id(registry, DELETE, {"uid": "security-admin.backup"},
                                  as_=SECOND_ADMIN)
    assert code_of(await registry.gql(APPROVE, {"id": first}, as_=SECOND_ADMIN)) == "OK"
    rows = await policy_rows(registry)
    last = await registry.gql(APPROVE, {"id": second}, as_=SECURITY_ADMIN)
    assert errors_of(last)[0] == {"code": "CONFLICT", "field": "id",
                                  "reason": "LOCKS_OUT_POLICY_WRITERS"}
    assert await policy_rows(registry) == rows
    # and a proposal that would lock out at once is refused when proposed
    body = await registry.gql(DELETE, {"uid": "security-admin.backup"}, as_=SECURITY_ADMIN)
    assert errors_of(body)[0]["reason"] == "LOCKS_OUT_POLICY_WRITERS"


async def test_taking_approval_away_from_everyone_locks_out_when_approvals_are_needed(
        registry: Registry) -> None:
    admin = (await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=SECURITY_ADMIN))[
        "data"]["policy"]["document"]
    no_approving = {**admin, "rules": {**admin["rules"], "action": {"$.name": {
        "condition": "IsIn", "values": ["policy:read", "policy:write"]}}}}
    body = await registry.gql(UPDATE, {"uid": ADMIN_POLICY, "p": no_approving},
                              as_=SECURITY_ADMIN)
    assert errors_of(body)[0]["reason"] == "LOCKS_OUT_POLICY_WRITERS"


@pytest.mark.parametrize("approvers", [1])
async def test_with_one_approver_a_change_applies_at_once_and_is_recorded(
        registry: Registry) -> None:
    body = await registry.gql(CREATE, {"p": employers_read_judgments()}, as_=SECURITY_ADMIN)
    assert "extensions" not in body and body["data"]["createPolicy"]["setVersion"] > 0
    changes = (await registry.gql(CHANGES, {}, as_=AUDITOR))["data"]["policyChanges"]
    assert [(c["status"], c["approvalsNeeded"], c["proposedBy"]) for c in changes] == [
        ("APPLIED", 0, "security.admin")]
    assert "employer: judgment:read" in changes[0]["widens"]


async def test_a_rejection_is_audited_as_a_rejection_and_a_refused_one_too(
        registry: Registry) -> None:
    change = await propose_and_id(registry, CREATE, {"p": clerks_may_not_read_sealed()})
    await registry.gql(REJECT, {"id": change, "r": "no"}, as_=AUDITOR)
    await registry.gql(REJECT, {"id": change, "r": "not needed"}, as_=SECOND_ADMIN)
    rejections = await audit_events(registry, "policy:reject")
    assert [(e.sub, e.outcome, e.resource_ids, e.detail.get("change"))
            for e in rejections] == [("auditor.one", "deny", ["clerk.no-sealed-records"], None),
                                     ("security.second", "permit",
                                      ["clerk.no-sealed-records"], change)]
    assert await audit_events(registry, "policy:approve") == []
