"""The rules of policy administration without a database (policies/admin.py): the lock-out
guard, the preview's flips, and a described request filled as the service fills one."""

from __future__ import annotations

from typing import Any

import pytest

from policies.admin import (
    RequestProblem,
    apply_change,
    flips,
    parse_request,
    someone_can_write,
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
    assert {f.row.action for f in found} <= {"policy:read", "policy:write"}
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
