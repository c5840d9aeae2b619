"""Policy administration (issue 5): security staff read, change, roll back, preview and
explain the policies while the service runs; on SQLite and PostgreSQL.

The adversarial cases sit beside each rule: everyone else through every mutation, a
malformed policy of every kind, a change that would lock every writer out.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from db.engine import Database
from db.models import AuditEvent, PolicyRecord
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    EMPLOYER,
    JUDGE,
    REPORT,
    SECURITY_ADMIN,
    Registry,
    id_number,
    report_input,
)

POLICY_FIELDS = "uid version setVersion description effect document deleted author"
CREATE = f"mutation($p: JSON!) {{ createPolicy(policy: $p) {{ {POLICY_FIELDS} }} }}"
UPDATE = f"""mutation($uid: String!, $p: JSON!, $v: Int) {{
  updatePolicy(uid: $uid, policy: $p, expectedVersion: $v) {{ {POLICY_FIELDS} }} }}"""
DELETE = "mutation($uid: String!) { deletePolicy(uid: $uid) }"
ROLLBACK = f"""mutation($uid: String!, $v: Int!) {{
  rollbackPolicy(uid: $uid, version: $v) {{ {POLICY_FIELDS} }} }}"""
POLICY = f"query($uid: String!) {{ policy(uid: $uid) {{ {POLICY_FIELDS} }} }}"
HISTORY = ("query($uid: String!) { policyHistory(uid: $uid) { "
           "edges { node { version deleted author } } } }")
SEALED_COUNT = "{ judgments(filter: {sealStatus: SEALED}) { totalCount } }"
SEALED_IDS = "{ judgments(filter: {sealStatus: SEALED}) { edges { node { id } } } }"
ADMIN_POLICY = "security-admin.manages-policies"


def versions(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The versions a HISTORY answer shows (its first page, 20)."""
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["policyHistory"]["edges"]]


def clerks_may_not_read_sealed(uid: str = "clerk.no-sealed-records") -> dict[str, Any]:
    """The README's example: registry clerks lose sight of sealed records."""
    return {
        "uid": uid,
        "description": "Registry clerks do not read sealed records (example rule).",
        "effect": "deny",
        "rules": {
            "subject": {"$.role": {"condition": "Equals", "value": "registry_clerk"}},
            "resource": {"$.type": {"condition": "IsIn", "values": ["judgment", "offender"]},
                         "$.seal_status": {"condition": "Equals", "value": "sealed"}},
            "action": {"$.name": {"condition": "IsIn",
                                  "values": ["judgment:read", "judgment:list"]}},
            "context": {},
        },
        "targets": {},
    }


def errors_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e.get("extensions", {}) for e in body.get("errors", [])]


def code_of(body: dict[str, Any]) -> str:
    return str(errors_of(body)[0]["code"]) if body.get("errors") else "OK"


async def policy_rows(registry: Registry) -> int:
    database = Database(registry.settings.database_url)
    try:
        async with database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(PolicyRecord)) or 0)
    finally:
        await database.dispose()


async def audit_events(registry: Registry, action: str) -> list[AuditEvent]:
    database = Database(registry.settings.database_url)
    try:
        async with database.session() as session:
            return list((await session.scalars(
                select(AuditEvent).where(AuditEvent.action == action)
                .order_by(AuditEvent.seq))).all())
    finally:
        await database.dispose()


async def sealed_judgment(registry: Registry) -> str:
    """A minor's judgment of five years or less: sealed when registered. Its id."""
    birth = date(2009, 3, 2)
    body = await registry.gql(REPORT, {"input": report_input(
        defendant={"idNumber": id_number(birth=birth), "birthDate": birth.isoformat()},
        offenseDate="2026-03-02")}, as_=JUDGE)
    assert "errors" not in body, body
    sealed = await registry.gql(SEALED_IDS, as_=CLERK_DONGCHENG)
    return str(sealed["data"]["judgments"]["edges"][-1]["node"]["id"])


# --- reading ----------------------------------------------------------------------------


async def test_security_staff_and_auditors_read_the_policies_in_force(
        registry: Registry) -> None:
    for who in (SECURITY_ADMIN, AUDITOR):
        body = await registry.gql("{ policies { uid version effect } }", as_=who)
        uids = [p["uid"] for p in body["data"]["policies"]]
        assert ADMIN_POLICY in uids and uids == sorted(uids)
    one = await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=AUDITOR)
    assert one["data"]["policy"]["document"]["effect"] == "allow"
    assert one["data"]["policy"]["version"] == 1


@pytest.mark.parametrize("who", [CLERK_DONGCHENG, JUDGE, EMPLOYER])
async def test_nobody_else_reads_the_policies(registry: Registry, who: Any) -> None:
    assert code_of(await registry.gql("{ policies { uid } }", as_=who)) == "FORBIDDEN"
    assert code_of(await registry.gql(HISTORY, {"uid": ADMIN_POLICY}, as_=who)) == "FORBIDDEN"
    # a single policy reads as missing, as a record does
    assert (await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=who))["data"] == {
        "policy": None}


async def test_a_missing_policy_reads_as_null(registry: Registry) -> None:
    body = await registry.gql(POLICY, {"uid": "no.such-policy"}, as_=SECURITY_ADMIN)
    assert body == {"data": {"policy": None}}


# --- a change takes effect on the next request -------------------------------------------


async def test_a_security_admin_adds_a_rule_and_the_next_request_obeys_it(
        registry: Registry) -> None:
    judgment_id = await sealed_judgment(registry)
    before = await registry.gql(SEALED_COUNT, as_=CLERK_DONGCHENG)
    assert before["data"]["judgments"]["totalCount"] == 1

    created = await registry.gql(CREATE, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    policy = created["data"]["createPolicy"]
    assert (policy["uid"], policy["version"], policy["author"], policy["deleted"]) == (
        "clerk.no-sealed-records", 1, "security.admin", False)

    after = await registry.gql(SEALED_COUNT, as_=CLERK_DONGCHENG)
    assert after["data"]["judgments"]["totalCount"] == 0
    read = await registry.gql("query($id: ID!) { judgment(id: $id) { id } }",
                              {"id": judgment_id}, as_=CLERK_DONGCHENG)
    assert read == {"data": {"judgment": None}}
    # the deny names itself, and the set's version, in the audit trail of the read
    denials = [e for e in await audit_events(registry, "judgment:read") if e.outcome == "deny"]
    assert denials and denials[-1].policy_uid == "clerk.no-sealed-records"
    assert denials[-1].resource_ids == [judgment_id]
    assert denials[-1].policy_version == policy["setVersion"]


async def test_a_change_is_audited_with_who_what_and_the_version_written(
        registry: Registry) -> None:
    await registry.gql(CREATE, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    changed = clerks_may_not_read_sealed()
    changed["description"] = "Registry clerks do not read sealed records (edited)."
    await registry.gql(UPDATE, {"uid": changed["uid"], "p": changed}, as_=SECURITY_ADMIN)
    created = await audit_events(registry, "policy:create")
    updated = await audit_events(registry, "policy:update")
    assert [(e.sub, e.resource_ids, e.detail["written_version"]) for e in created + updated] == [
        ("security.admin", ["clerk.no-sealed-records"], 1),
        ("security.admin", ["clerk.no-sealed-records"], 2)]
    assert all(e.policy_uid == ADMIN_POLICY for e in created + updated)


async def test_an_update_makes_a_new_version_and_keeps_the_old_one(registry: Registry) -> None:
    document = clerks_may_not_read_sealed()
    await registry.gql(CREATE, {"p": document}, as_=SECURITY_ADMIN)
    edited = {**document, "description": "Edited once."}
    body = await registry.gql(UPDATE, {"uid": document["uid"], "p": edited, "v": 1},
                              as_=SECURITY_ADMIN)
    assert body["data"]["updatePolicy"]["version"] == 2
    history = await registry.gql(HISTORY, {"uid": document["uid"]}, as_=AUDITOR)
    assert [h["version"] for h in versions(history)] == [2, 1]


async def test_an_update_of_a_version_other_than_the_one_read_is_a_conflict(
        registry: Registry) -> None:
    document = clerks_may_not_read_sealed()
    await registry.gql(CREATE, {"p": document}, as_=SECURITY_ADMIN)
    await registry.gql(UPDATE, {"uid": document["uid"], "p": {**document, "description": "A."}},
                       as_=SECURITY_ADMIN)
    rows = await policy_rows(registry)
    stale = await registry.gql(UPDATE, {"uid": document["uid"], "v": 1,
                                        "p": {**document, "description": "B."}},
                               as_=SECURITY_ADMIN)
    assert errors_of(stale)[0] == {"code": "CONFLICT", "field": "expectedVersion"}
    assert await policy_rows(registry) == rows


async def test_an_unchanged_document_writes_no_new_version(registry: Registry) -> None:
    body = await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=SECURITY_ADMIN)
    rows = await policy_rows(registry)
    document = body["data"]["policy"]["document"]
    same = await registry.gql(UPDATE, {"uid": ADMIN_POLICY, "p": document}, as_=SECURITY_ADMIN)
    assert same["data"]["updatePolicy"]["version"] == 1
    assert await policy_rows(registry) == rows


async def test_update_uses_the_uid_argument_and_refuses_another(registry: Registry) -> None:
    document = clerks_may_not_read_sealed()
    await registry.gql(CREATE, {"p": document}, as_=SECURITY_ADMIN)
    without_uid = {k: v for k, v in document.items() if k != "uid"}
    body = await registry.gql(UPDATE, {"uid": document["uid"],
                                       "p": {**without_uid, "description": "No uid given."}},
                              as_=SECURITY_ADMIN)
    assert body["data"]["updatePolicy"]["version"] == 2
    other = await registry.gql(UPDATE, {"uid": document["uid"],
                                        "p": {**document, "uid": "another.uid"}},
                               as_=SECURITY_ADMIN)
    assert errors_of(other)[0] == {"code": "BAD_USER_INPUT", "field": "policy.uid"}
    missing = await registry.gql(UPDATE, {"uid": "no.such-policy", "p": {**without_uid}},
                                 as_=SECURITY_ADMIN)
    assert errors_of(missing)[0] == {"code": "BAD_USER_INPUT", "field": "uid"}


async def test_creating_an_existing_uid_is_a_conflict(registry: Registry) -> None:
    body = await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=SECURITY_ADMIN)
    again = await registry.gql(CREATE, {"p": body["data"]["policy"]["document"]},
                               as_=SECURITY_ADMIN)
    assert errors_of(again)[0] == {"code": "CONFLICT", "field": "policy.uid"}


async def test_two_admins_creating_one_uid_at_once_make_one_policy(registry: Registry) -> None:
    document = clerks_may_not_read_sealed()
    bodies = await asyncio.gather(*(registry.gql(CREATE, {"p": document}, as_=SECURITY_ADMIN)
                                    for _ in range(4)))
    assert sorted(code_of(b) for b in bodies) == ["CONFLICT", "CONFLICT", "CONFLICT", "OK"]
    history = await registry.gql(HISTORY, {"uid": document["uid"]}, as_=SECURITY_ADMIN)
    assert [h["version"] for h in versions(history)] == [1]


async def test_a_deleted_policy_stops_applying_and_its_history_stays(
        registry: Registry) -> None:
    await sealed_judgment(registry)
    await registry.gql(CREATE, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    deleted = await registry.gql(DELETE, {"uid": "clerk.no-sealed-records"}, as_=SECURITY_ADMIN)
    assert deleted == {"data": {"deletePolicy": True}}
    assert (await registry.gql(SEALED_COUNT, as_=CLERK_DONGCHENG))["data"]["judgments"][
        "totalCount"] == 1
    assert (await registry.gql(POLICY, {"uid": "clerk.no-sealed-records"},
                               as_=SECURITY_ADMIN))["data"]["policy"] is None
    history = await registry.gql(HISTORY, {"uid": "clerk.no-sealed-records"}, as_=AUDITOR)
    assert versions(history) == [
        {"version": 2, "deleted": True, "author": "security.admin"},
        {"version": 1, "deleted": False, "author": "security.admin"}]
    again = await registry.gql(DELETE, {"uid": "clerk.no-sealed-records"}, as_=SECURITY_ADMIN)
    assert again == {"data": {"deletePolicy": False}}


async def test_a_rollback_restores_an_earlier_version_as_a_new_one(registry: Registry) -> None:
    document = clerks_may_not_read_sealed()
    await registry.gql(CREATE, {"p": document}, as_=SECURITY_ADMIN)
    await registry.gql(UPDATE, {"uid": document["uid"], "p": {**document, "effect": "allow",
                                                               "description": "Oops."}},
                       as_=SECURITY_ADMIN)
    await registry.gql(DELETE, {"uid": document["uid"]}, as_=SECURITY_ADMIN)
    body = await registry.gql(ROLLBACK, {"uid": document["uid"], "v": 1}, as_=SECURITY_ADMIN)
    restored = body["data"]["rollbackPolicy"]
    assert (restored["version"], restored["deleted"], restored["document"]) == (4, False, document)
    events = await audit_events(registry, "policy:rollback")
    assert [e.detail["written_version"] for e in events] == [4]


@pytest.mark.parametrize(("version", "field"), [(9, "version"), (3, "version")])
async def test_a_rollback_to_a_version_that_is_not_a_document_is_refused(
        registry: Registry, version: int, field: str) -> None:
    document = clerks_may_not_read_sealed()
    await registry.gql(CREATE, {"p": document}, as_=SECURITY_ADMIN)
    await registry.gql(UPDATE, {"uid": document["uid"], "p": {**document, "description": "B."}},
                       as_=SECURITY_ADMIN)
    await registry.gql(DELETE, {"uid": document["uid"]}, as_=SECURITY_ADMIN)  # version 3
    rows = await policy_rows(registry)
    body = await registry.gql(ROLLBACK, {"uid": document["uid"], "v": version},
                              as_=SECURITY_ADMIN)
    assert errors_of(body)[0] == {"code": "BAD_USER_INPUT", "field": field}
    assert await policy_rows(registry) == rows


# --- everyone else, through every mutation ------------------------------------------------

MUTATIONS = [
    ("createPolicy", CREATE, lambda: {"p": clerks_may_not_read_sealed()}),
    ("updatePolicy", UPDATE, lambda: {"uid": ADMIN_POLICY, "p": {
        **clerks_may_not_read_sealed(ADMIN_POLICY), "effect": "allow"}}),
    ("deletePolicy", DELETE, lambda: {"uid": "clerk.reads-records-in-division"}),
    ("rollbackPolicy", ROLLBACK, lambda: {"uid": ADMIN_POLICY, "v": 1}),
    # malformed input from a non-admin: still FORBIDDEN, never a validation answer
    ("createPolicy (malformed)", CREATE, lambda: {"p": {"uid": "x", "rules": 5}}),
]
NOT_ADMINS = [CLERK_DONGCHENG, JUDGE, EMPLOYER, AUDITOR,
              # the right role at an agency that does not exist, and no agency at all
              ("security.admin", "security_admin", "REG-999999"),
              ("x.admin", "registry_clerk", None)]


@pytest.mark.parametrize("who", NOT_ADMINS, ids=lambda w: f"{w[1]}@{w[2]}")
@pytest.mark.parametrize(("name", "query", "variables"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
async def test_only_those_the_policies_let_write_policies_change_them(
        registry: Registry, who: Any, name: str, query: str, variables: Any) -> None:
    rows = await policy_rows(registry)
    body = await registry.gql(query, variables(), as_=who)
    if who[0] == "security.admin":
        # the role is granted whatever the agency: this one may (the policy says so)
        assert code_of(body) in ("OK", "BAD_USER_INPUT", "CONFLICT")
        return
    assert code_of(body) == "FORBIDDEN", body
    assert body["data"] is None
    assert await policy_rows(registry) == rows
    denied = [e for e in await audit_events(registry, "policy:write") if e.sub == who[0]]
    assert denied and denied[-1].outcome == "deny"


async def test_anonymous_changes_nothing(registry: Registry) -> None:
    rows = await policy_rows(registry)
    response = await registry.http.post("/graphql", json={
        "query": DELETE, "variables": {"uid": ADMIN_POLICY}})
    assert response.json()["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN")
    assert await policy_rows(registry) == rows


# --- a malformed policy of every kind ----------------------------------------------------


def with_rule(part: str, path: str, condition: Any) -> dict[str, Any]:
    document = clerks_may_not_read_sealed("malformed.example")
    document["rules"] = {**document["rules"], part: {path: condition}}
    return document


MALFORMED: list[tuple[str, Any, str]] = [
    ("not JSON", '{"uid": "x", "effect": ', "policy"),
    ("not an object", [1, 2], "policy"),
    ("a JSON string of a list", "[1]", "policy"),
    ("no uid", {k: v for k, v in clerks_may_not_read_sealed().items() if k != "uid"},
     "policy.uid"),
    ("uid with spaces", {**clerks_may_not_read_sealed(), "uid": "two words"}, "policy.uid"),
    ("effect neither allow nor deny", {**clerks_may_not_read_sealed(), "effect": "permit"},
     "policy.effect"),
    ("no rules", {k: v for k, v in clerks_may_not_read_sealed().items() if k != "rules"},
     "policy.rules"),
    ("no targets", {k: v for k, v in clerks_may_not_read_sealed().items() if k != "targets"},
     "policy.targets"),
    ("unknown rules part", {**clerks_may_not_read_sealed(), "rules": {
        **clerks_may_not_read_sealed()["rules"], "environment": {}}}, "policy.rules.environment"),
    ("unknown condition", with_rule("subject", "$.role", {"condition": "Equalz", "value": "x"}),
     "policy.rules.subject.$.role.condition"),
    ("unknown subject attribute", with_rule("subject", "$.rol",
                                            {"condition": "Equals", "value": "judge"}),
     "policy.rules.subject.$.rol"),
    ("unknown resource attribute", with_rule("resource", "$.secret",
                                             {"condition": "Equals", "value": "x"}),
     "policy.rules.resource.$.secret"),
    ("unknown context attribute in a nested condition", with_rule(
        "subject", "$.role", {"condition": "Not", "value": {
            "condition": "EqualsAttribute", "ace": "context", "path": "$.ip"}}),
     "policy.rules.subject.$.role.value.path"),
    ("a fancy attribute path", with_rule("subject", "$..role",
                                         {"condition": "Equals", "value": "x"}),
     "policy.rules.subject.$..role"),
    ("regular expression RE2 cannot run", with_rule(
        "subject", "$.sub", {"condition": "RegexMatch", "value": "^(a)\\1"}),
     "policy.rules.subject.$.sub.value"),
    ("condition value of the wrong type", with_rule(
        "subject", "$.role", {"condition": "Equals", "value": {"nested": 1}}),
     "policy.rules.subject.$.role.value"),
    ("too big", {**clerks_may_not_read_sealed(), "description": "x" * 70_000}, "policy"),
    ("nested too deeply", '{"uid": "deep", "x": ' + "[" * 5000 + "]" * 5000 + "}", "policy"),
]


@pytest.mark.parametrize(("kind", "policy", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_a_malformed_policy_is_refused_naming_the_path_and_changes_nothing(
        registry: Registry, kind: str, policy: Any, field: str) -> None:
    rows = await policy_rows(registry)
    attempts = [(CREATE, {"p": policy})]
    if field != "policy.uid":  # updatePolicy takes the uid from its argument
        attempts.append((UPDATE, {"uid": "clerk.reads-records-in-division", "p": policy}))
    for query, variables in attempts:
        body = await registry.gql(query, variables, as_=SECURITY_ADMIN)
        assert errors_of(body)[0]["code"] == "BAD_USER_INPUT", (kind, body)
        assert errors_of(body)[0]["field"] == field, (kind, body)
    preview = await registry.gql(PREVIEW, {"p": policy}, as_=SECURITY_ADMIN)
    assert errors_of(preview)[0]["code"] == "BAD_USER_INPUT"
    assert await policy_rows(registry) == rows


async def test_every_problem_of_a_policy_is_listed(registry: Registry) -> None:
    document = with_rule("subject", "$.rol", {"condition": "Equalz", "value": "x"})
    document["effect"] = "maybe"
    body = await registry.gql(CREATE, {"p": document}, as_=SECURITY_ADMIN)
    fields = {p["field"] for p in errors_of(body)[0]["problems"]}
    assert {"policy.effect", "policy.rules.subject.$.rol",
            "policy.rules.subject.$.rol.condition"} <= fields


# --- the lock-out guard -------------------------------------------------------------------

NOBODY_WRITES = {
    "uid": "nobody.writes-policies",
    "description": "A deny of every policy change: would lock every writer out.",
    "effect": "deny",
    "rules": {"subject": {}, "resource": {"$.type": {"condition": "Equals", "value": "policy"}},
              "action": {"$.name": {"condition": "Equals", "value": "policy:write"}},
              "context": {}},
    "targets": {},
}


async def test_a_change_that_leaves_nobody_able_to_write_policies_is_refused(
        registry: Registry) -> None:
    admin = (await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=SECURITY_ADMIN))[
        "data"]["policy"]["document"]
    rows = await policy_rows(registry)
    attempts = [
        (DELETE, {"uid": ADMIN_POLICY}, "uid"),
        (UPDATE, {"uid": ADMIN_POLICY, "p": {**admin, "effect": "deny"}}, "policy"),
        (UPDATE, {"uid": ADMIN_POLICY, "p": {**admin, "rules": {
            **admin["rules"], "subject": {"$.role": {"condition": "Equals",
                                                     "value": "nobody"}}}}}, "policy"),
        (CREATE, {"p": NOBODY_WRITES}, "policy"),
    ]
    for query, variables, field in attempts:
        body = await registry.gql(query, variables, as_=SECURITY_ADMIN)
        assert errors_of(body)[0] == {"code": "CONFLICT", "field": field,
                                      "reason": "LOCKS_OUT_POLICY_WRITERS"}, body
    assert await policy_rows(registry) == rows
    # the admin can still write
    assert code_of(await registry.gql(CREATE, {"p": clerks_may_not_read_sealed()},
                                      as_=SECURITY_ADMIN)) == "OK"


# --- explainAccess ------------------------------------------------------------------------

EXPLAIN = """query($r: JSON!) { explainAccess(request: $r) {
  allowed decidingPolicy applicablePolicies policyVersion reason request } }"""


async def test_explain_access_names_the_deciding_policy_and_those_that_applied(
        registry: Registry) -> None:
    request = {"subject": {"role": "registry_clerk", "agency_kind": "registration_authority",
                           "region": "110101"},
               "resource": {"type": "judgment", "seal_status": "sealed",
                            "in_requester_division": "yes"},
               "action": "judgment:read"}
    body = await registry.gql(EXPLAIN, {"r": request}, as_=SECURITY_ADMIN)
    decision = body["data"]["explainAccess"]
    assert decision["allowed"] is True
    assert decision["decidingPolicy"] == "clerk.reads-records-in-division"
    assert "clerk.reads-records-in-division" in decision["applicablePolicies"]
    assert decision["request"]["context"]["purpose"] == ""  # filled as the service fills it

    await registry.gql(CREATE, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    denied = (await registry.gql(EXPLAIN, {"r": request}, as_=AUDITOR))["data"]["explainAccess"]
    assert (denied["allowed"], denied["decidingPolicy"]) == (False, "clerk.no-sealed-records")
    assert {"clerk.reads-records-in-division", "clerk.no-sealed-records"} <= set(
        denied["applicablePolicies"])
    assert denied["policyVersion"] > decision["policyVersion"]


async def test_explain_access_with_no_applicable_policy_is_default_deny(
        registry: Registry) -> None:
    body = await registry.gql(EXPLAIN, {"r": {
        "subject": {"role": "employer", "agency_kind": "employer"},
        "resource": {"type": "judgment", "seal_status": "open"},
        "action": {"name": "judgment:read"}}}, as_=SECURITY_ADMIN)
    decision = body["data"]["explainAccess"]
    assert (decision["allowed"], decision["decidingPolicy"]) == (False, None)
    assert decision["reason"] == "no applicable policy (default deny)"


@pytest.mark.parametrize(("request_", "field"), [
    ({"subject": {"rol": "judge"}, "resource": {"type": "judgment"}, "action": "judgment:read"},
     "request.subject.rol"),
    ({"subject": {}, "resource": {"type": "judgment"}}, "request.action"),
    ({"subject": {}, "resource": {}, "action": "judgment:read"}, "request.resource.type"),
    ({"subject": {"role": {"x": 1}}, "resource": {"type": "judgment"},
      "action": "judgment:read"}, "request.subject.role"),
    ({"subjects": {}, "resource": {"type": "judgment"}, "action": "x"}, "request.subjects"),
    ([1], "request"),
])
async def test_explain_access_refuses_a_request_outside_the_vocabulary(
        registry: Registry, request_: Any, field: str) -> None:
    body = await registry.gql(EXPLAIN, {"r": request_}, as_=SECURITY_ADMIN)
    assert errors_of(body)[0] == {"code": "BAD_USER_INPUT", "field": field}


@pytest.mark.parametrize("who", [CLERK_DONGCHENG, JUDGE, EMPLOYER])
async def test_nobody_else_explains_or_previews(registry: Registry, who: Any) -> None:
    explain = await registry.gql(EXPLAIN, {"r": {"resource": {"type": "judgment"},
                                                 "action": "judgment:read"}}, as_=who)
    preview = await registry.gql(PREVIEW, {"p": clerks_may_not_read_sealed()}, as_=who)
    assert code_of(explain) == code_of(preview) == "FORBIDDEN"


# --- previewPolicyChange ------------------------------------------------------------------

PREVIEW = """query($p: JSON, $d: String) { previewPolicyChange(policy: $p, deleteUid: $d) {
  change uid rowsRun locksOutPolicyWriters
  flips { row section principal action resource before after beforePolicy afterPolicy
          expectedByDefault } } }"""


async def test_a_preview_lists_the_decisions_that_would_flip_and_changes_nothing(
        registry: Registry) -> None:
    rows = await policy_rows(registry)
    body = await registry.gql(PREVIEW, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    preview = body["data"]["previewPolicyChange"]
    assert (preview["change"], preview["locksOutPolicyWriters"]) == ("CREATE", False)
    assert preview["rowsRun"] > 100
    assert preview["flips"], "clerks read sealed judgments in the policy test table"
    for flip in preview["flips"]:
        assert "clerk" in flip["principal"]
        assert flip["action"] in ("judgment:read", "judgment:list")
        assert (flip["before"], flip["after"]) == (True, False)
        assert flip["afterPolicy"] == "clerk.no-sealed-records"
    assert await policy_rows(registry) == rows


async def test_a_preview_of_a_deletion_shows_the_lock_out(registry: Registry) -> None:
    body = await registry.gql(PREVIEW, {"d": ADMIN_POLICY}, as_=SECURITY_ADMIN)
    preview = body["data"]["previewPolicyChange"]
    assert (preview["change"], preview["locksOutPolicyWriters"]) == ("DELETE", True)
    assert any(f["action"] == "policy:write" and f["before"] and not f["after"]
               for f in preview["flips"])


async def test_a_preview_of_an_unchanged_policy_flips_nothing(registry: Registry) -> None:
    admin = (await registry.gql(POLICY, {"uid": ADMIN_POLICY}, as_=SECURITY_ADMIN))[
        "data"]["policy"]["document"]
    body = await registry.gql(PREVIEW, {"p": admin}, as_=AUDITOR)
    assert body["data"]["previewPolicyChange"]["change"] == "UPDATE"
    assert body["data"]["previewPolicyChange"]["flips"] == []


@pytest.mark.parametrize(("variables", "field"), [({}, "policy"),
                                                  ({"p": {}, "d": "x"}, "policy"),
                                                  ({"d": "no.such-policy"}, "deleteUid")])
async def test_a_preview_needs_exactly_one_change(registry: Registry, variables: Any,
                                                  field: str) -> None:
    body = await registry.gql(PREVIEW, variables, as_=SECURITY_ADMIN)
    assert errors_of(body)[0]["field"] == field


async def test_a_committed_change_stands_when_this_process_fails_to_reload(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken() -> None:
        raise OSError("database went away between commit and reload")

    monkeypatch.setattr(registry.app.state.registry.policies, "refresh", broken)
    body = await registry.gql(CREATE, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    assert body["data"]["createPolicy"]["version"] == 1
    monkeypatch.undo()
    # the next poll (every request here: policy_poll_seconds=0) loads it
    found = await registry.gql(POLICY, {"uid": "clerk.no-sealed-records"}, as_=SECURITY_ADMIN)
    assert found["data"]["policy"]["version"] == 1
