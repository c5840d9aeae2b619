"""The rules of policy administration without a database (policies/admin.py): the lock-out
guard, the preview's flips, what a change widens, and a described request filled as the
service fills one."""

from __future__ import annotations

from typing import Any

import pytest

from policies.admin import (
    RequestProblem,
    apply_change,
    flips,
    matches_everything,
    parse_request,
    policy_writers_beyond_security_staff,
    reach,
    someone_can_write,
    widened,
    writer_candidates,
)
from policies.pdp import DecisionPoint
from policies.store import load_default_documents
from policies.table import TABLE

DEFAULTS = load_default_documents()
ADMIN_POLICY = "security-admin.manages-policies"
NOBODY = {"sub": "x", "role": "registry_clerk", "agency": "", "agency_kind": "",
          "agency_level": "", "region": "", "id_number": "", "scopes": []}
DONGCHENG = {"agency": "REG-110101", "agency_kind": "registration_authority",
             "agency_level": "county", "region": "110101"}


def writers_at(agency_code: str) -> dict[str, Any]:
    """policy:write for security admins of one agency only."""
    return {"uid": "writers.at-one-agency", "description": "Only one agency's admins write.",
            "effect": "allow",
            "rules": {"subject": {"$.role": {"condition": "Equals", "value": "security_admin"},
                                  "$.agency": {"condition": "Equals", "value": agency_code}},
                      "resource": {"$.type": {"condition": "Equals", "value": "policy"}},
                      "action": {"$.name": {"condition": "Equals", "value": "policy:write"}},
                      "context": {}},
            "targets": {}}


def point(documents: list[dict[str, Any]]) -> DecisionPoint:
    return DecisionPoint(documents, 1)


def test_the_default_set_lets_someone_write_policies() -> None:
    assert someone_can_write(point(DEFAULTS), writer_candidates(NOBODY, []))


def test_without_the_admin_policy_nobody_can_write_policies() -> None:
    without = apply_change(DEFAULTS, ADMIN_POLICY, None)
    assert not someone_can_write(point(without), writer_candidates(NOBODY, [DONGCHENG]))


def test_a_writer_at_one_agency_counts_only_where_that_agency_is_known() -> None:
    changed = apply_change(apply_change(DEFAULTS, ADMIN_POLICY, None), "writers.at-one-agency",
                           writers_at("REG-110101"))
    assert not someone_can_write(point(changed), writer_candidates(NOBODY, []))
    assert someone_can_write(point(changed), writer_candidates(NOBODY, [DONGCHENG]))


def test_the_requester_counts_as_a_candidate_first() -> None:
    changed = apply_change(apply_change(DEFAULTS, ADMIN_POLICY, None), "writers.at-one-agency",
                           writers_at("REG-110101"))
    admin_there = {**NOBODY, **DONGCHENG, "role": "security_admin"}
    assert someone_can_write(point(changed), writer_candidates(admin_there, []))


def test_apply_change_replaces_adds_and_removes_by_uid() -> None:
    documents = [{"uid": "b", "v": 1}, {"uid": "a", "v": 1}]
    assert apply_change(documents, "a", {"uid": "a", "v": 2}) == [{"uid": "a", "v": 2},
                                                                   {"uid": "b", "v": 1}]
    assert apply_change(documents, "c", {"uid": "c"})[-1] == {"uid": "c"}
    assert apply_change(documents, "a", None) == [{"uid": "b", "v": 1}]


def test_no_change_flips_nothing_and_removing_the_admin_policy_flips_its_rows() -> None:
    before = point(DEFAULTS)
    assert flips(before, point(list(DEFAULTS))) == []
    found = flips(before, point(apply_change(DEFAULTS, ADMIN_POLICY, None)))
    assert found
    assert {f.row.action for f in found} <= {"policy:read", "policy:write", "policy:approve"}
    assert all(f.before.allowed and not f.after.allowed for f in found)
    assert all(f.before.policy_uid == ADMIN_POLICY for f in found)
    assert len(found) < len(TABLE)


def test_a_described_request_is_filled_as_the_service_fills_one() -> None:
    subject, resource, action, context = parse_request(
        {"subject": {"role": "judge"}, "resource": {"type": "judgment"},
         "action": {"name": "judgment:read"}})
    assert subject["role"] == "judge" and subject["agency"] == "" and subject["scopes"] == []
    assert resource == {"id": "*", "type": "judgment"}
    assert action == "judgment:read"
    assert context == {"purpose": "", "case_number": "", "inquiry_id": "", "is_counsel": "no"}


@pytest.mark.parametrize(("request_", "path"), [
    ("judgment:read", ""),
    ({"action": "x", "resource": {"type": "t"}, "extra": {}}, "extra"),
    ({"resource": {"type": "t"}}, "action"),
    ({"action": "x", "resource": []}, "resource"),
    ({"action": "x", "resource": {"type": "t", "secret": "1"}}, "resource.secret"),
    ({"action": "x", "resource": {"type": "t"}, "subject": {"role": 1}}, "subject.role"),
    ({"action": "x", "resource": {"type": "t"}, "subject": {"sub": "s" * 201}}, "subject.sub"),
    ({"action": "x", "resource": {"id": "1"}}, "resource.type"),
])
def test_a_request_outside_the_vocabulary_is_refused_naming_the_path(
        request_: Any, path: str) -> None:
    with pytest.raises(RequestProblem) as raised:
        parse_request(request_)
    assert raised.value.problem.path == path


# --- what a change widens -----------------------------------------------------------------


def grant(uid: str, subject: dict[str, Any], actions: list[str], type_: str,
          effect: str = "allow") -> dict[str, Any]:
    return {"uid": uid, "description": "a test rule", "effect": effect,
            "rules": {"subject": subject,
                      "resource": {"$.type": {"condition": "Equals", "value": type_}},
                      "action": {"$.name": {"condition": "IsIn", "values": actions}},
                      "context": {}},
            "targets": {}}


EMPLOYER = {"$.role": {"condition": "Equals", "value": "employer"}}


def test_the_default_set_lets_only_security_staff_write_or_approve_policies() -> None:
    assert policy_writers_beyond_security_staff(
        DEFAULTS, point(DEFAULTS), writer_candidates(NOBODY, [DONGCHENG])) == []


def test_reach_reads_only_the_role_and_action_conditions() -> None:
    hidden = grant("g", {**EMPLOYER, "$.agency": {"condition": "Equals", "value": "X"}},
                   ["judgment:read"], "judgment")
    assert reach(hidden) == {("employer", "judgment:read")}
    # a grant on another type of resource never applies to the action
    assert reach(grant("g", EMPLOYER, ["judgment:read"], "offender")) == frozenset()
    # no role condition: every role
    assert ("individual", "judgment:read") in reach(grant("g", {}, ["judgment:read"],
                                                          "judgment"))


def test_a_new_grant_widens_what_it_reaches_and_an_unchanged_one_nothing() -> None:
    employer = grant("employer.reads", EMPLOYER, ["judgment:read", "audit:read"], "judgment")
    assert widened(DEFAULTS, [*DEFAULTS, employer]) == ["employer: judgment:read"]
    assert widened(DEFAULTS, list(DEFAULTS)) == []
    # a new description of the same rules widens nothing
    described = [{**d, "description": "new words"} for d in DEFAULTS]
    assert widened(DEFAULTS, described) == []


def test_lifting_a_deny_widens_what_an_allow_still_reaches() -> None:
    deny = grant("clerks.no-judgments", {"$.role": {"condition": "Equals",
                                                    "value": "registry_clerk"}},
                 ["judgment:read", "audit:read"], "judgment", effect="deny")
    with_deny = [*DEFAULTS, deny]
    # clerks read judgments by an allow of the defaults; nothing allows them the audit trail
    assert widened(with_deny, list(DEFAULTS)) == ["registry_clerk: judgment:read"]


def test_a_loosened_condition_shows_by_the_tables_flips() -> None:
    clerk_policy = next(d for d in DEFAULTS if d["uid"].startswith("clerk.reads-records"))
    loosened = {**clerk_policy, "rules": {**clerk_policy["rules"], "resource": {
        "$.type": {"condition": "IsIn", "values": ["judgment", "offender"]}}}}
    after = apply_change(DEFAULTS, clerk_policy["uid"], loosened)
    found = flips(point(DEFAULTS), point(after))
    assert "registry_clerk: judgment:read" in widened(DEFAULTS, after, found)


def test_handing_policy_writing_to_anyone_but_security_staff_is_found() -> None:
    auditors = grant("auditors.write", {"$.role": {"condition": "Equals", "value": "auditor"}},
                     ["policy:write"], "policy")
    after = [*DEFAULTS, auditors]
    assert policy_writers_beyond_security_staff(
        [auditors], point(after), writer_candidates(NOBODY, [])) == ["auditor: policy:write"]
    by_sub = grant("one.person", {"$.sub": {"condition": "Equals", "value": "auditor.one"}},
                   ["policy:approve"], "policy")
    found = policy_writers_beyond_security_staff([by_sub], point([*DEFAULTS, by_sub]), [])
    assert "auditor: policy:approve" in found and "security_admin: policy:approve" not in found


def test_a_policy_matching_everything_is_found_and_the_defaults_are_not() -> None:
    empty = {"uid": "all", "description": "all", "effect": "deny", "targets": {},
             "rules": {"subject": {}, "resource": {}, "action": {}, "context": {}}}
    assert matches_everything(empty)
    assert not any(matches_everything(d) for d in DEFAULTS)
    one_role = {**empty, "rules": {**empty["rules"], "subject": EMPLOYER}}
    assert not matches_everything(one_role)
