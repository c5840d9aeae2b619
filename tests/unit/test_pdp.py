"""The decision point's mechanics: combining, the decision cache, validation."""

from typing import Any

import pytest

from policies.pdp import Decision, DecisionPoint, PolicyLoadError, validate_policy


def policy(uid: str, effect: str = "allow", **rules: Any) -> dict[str, Any]:
    return {"uid": uid, "description": f"test policy {uid}", "effect": effect,
            "rules": rules, "targets": {}}


def eq(value: str) -> dict[str, Any]:
    return {"condition": "Equals", "value": value}


CLERK_READS = policy("clerk.reads", subject={"$.role": eq("clerk")},
                     action={"$.name": eq("judgment:read")})
SEALED_DENIED = policy("sealed.denied", "deny", resource={"$.seal_status": eq("sealed")},
                       action={"$.name": eq("judgment:read")})
CLERK = {"sub": "u1", "role": "clerk", "region": "110101"}
OPEN = {"type": "judgment", "id": "jdg_1", "seal_status": "open"}


def point(*documents: dict[str, Any], version: int = 7) -> DecisionPoint:
    return DecisionPoint(documents, version)


# --- combining ---------------------------------------------------------------------------


def test_no_applicable_policy_denies_by_default() -> None:
    assert point(CLERK_READS).decide({"role": "judge"}, OPEN, "judgment:read", {}) == Decision(
        False, None, 7, "no applicable policy (default deny)", ()
    )


def test_a_fitting_allow_policy_permits_and_names_itself() -> None:
    decision = point(CLERK_READS, SEALED_DENIED).decide(CLERK, OPEN, "judgment:read", {})
    assert decision == Decision(True, "clerk.reads", 7, "permitted by clerk.reads",
                                ("clerk.reads",))


def test_a_fitting_deny_policy_overrides_an_allow() -> None:
    sealed = {**OPEN, "seal_status": "sealed"}
    decision = point(CLERK_READS, SEALED_DENIED).decide(CLERK, sealed, "judgment:read", {})
    assert not decision.allowed
    assert decision.policy_uid == "sealed.denied"
    assert decision.reason == "denied by sealed.denied"
    assert set(decision.applicable) == {"clerk.reads", "sealed.denied"}


def test_an_empty_policy_set_denies_everything() -> None:
    assert not point().decide(CLERK, OPEN, "judgment:read", {}).allowed


def test_a_document_py_abac_refuses_does_not_build() -> None:
    with pytest.raises(PolicyLoadError):
        point({"uid": "x", "effect": "maybe", "rules": {}, "targets": {}})


def test_targets_match_the_subject_and_resource_ids() -> None:
    targeted = {**policy("only.u1"), "targets": {"subject_id": "u1", "resource_id": "jdg_*"}}
    dp = point(targeted)
    assert dp.decide(CLERK, OPEN, "judgment:read", {}).allowed
    assert not dp.decide({**CLERK, "sub": "u2"}, OPEN, "judgment:read", {}).allowed
    assert not dp.decide(CLERK, {**OPEN, "id": "ofd_1"}, "judgment:read", {}).allowed


# --- the decision cache -----------------------------------------------------------------


def test_requests_differing_only_in_an_unreferenced_attribute_share_a_cache_entry() -> None:
    dp = point(CLERK_READS, SEALED_DENIED)
    first = dp.decide(CLERK, OPEN, "judgment:read", {})
    second = dp.decide({**CLERK, "sub": "u2", "region": "310000"},
                       {**OPEN, "id": "jdg_2"}, "judgment:read", {"case_number": "X"})
    assert second is first
    assert dp.cache_size == 1


def test_requests_differing_in_a_referenced_attribute_do_not_share_a_cache_entry() -> None:
    dp = point(CLERK_READS, SEALED_DENIED)
    open_decision = dp.decide(CLERK, OPEN, "judgment:read", {})
    sealed_decision = dp.decide(CLERK, {**OPEN, "seal_status": "sealed"}, "judgment:read", {})
    judge_decision = dp.decide({**CLERK, "role": "judge"}, OPEN, "judgment:read", {})
    assert open_decision.allowed and not sealed_decision.allowed and not judge_decision.allowed
    assert dp.cache_size == 3


def test_a_missing_attribute_is_not_confused_with_a_present_one() -> None:
    dp = point(policy("no-role.denied", "deny", subject={"$.role": {"condition": "NotExists"}}),
               policy("anyone", subject={}))
    assert dp.decide({"role": ""}, OPEN, "judgment:read", {}).allowed
    assert not dp.decide({}, OPEN, "judgment:read", {}).allowed


def test_value_types_are_part_of_the_key() -> None:
    dp = point(policy("is-true", subject={"$.flag": {"condition": "Eq", "value": 1}}))
    assert dp.cache_key({"flag": 1}, {}, "a", {}) != dp.cache_key({"flag": "1"}, {}, "a", {})


def test_attributes_referenced_by_an_attribute_condition_are_in_the_key() -> None:
    same_region = policy("same-region", resource={
        "$.region": {"condition": "EqualsAttribute", "ace": "subject", "path": "$.region"}})
    dp = point(same_region)
    assert dp.decide(CLERK, {**OPEN, "region": "110101"}, "judgment:read", {}).allowed
    assert not dp.decide({**CLERK, "region": "310000"}, {**OPEN, "region": "110101"},
                         "judgment:read", {}).allowed


def test_an_unparseable_path_puts_the_whole_part_in_the_key() -> None:
    dp = point(policy("fancy", subject={"$.role[0]": {"condition": "Any"}}))
    assert dp.cache_key({"role": "a", "x": 1}, {}, "a", {}) != dp.cache_key(
        {"role": "a", "x": 2}, {}, "a", {})


def test_policies_for_other_actions_do_not_widen_the_key() -> None:
    by_id = policy("me", resource={"$.id": eq("u1")}, action={"$.name": eq("subject:read")})
    dp = point(CLERK_READS, by_id)
    dp.decide(CLERK, OPEN, "judgment:read", {})
    dp.decide(CLERK, {**OPEN, "id": "jdg_2"}, "judgment:read", {})
    assert dp.cache_size == 1
    dp.decide(CLERK, {"type": "subject", "id": "u1"}, "subject:read", {})
    dp.decide(CLERK, {"type": "subject", "id": "u2"}, "subject:read", {})
    assert dp.cache_size == 3


def test_the_cache_is_bounded() -> None:
    dp = DecisionPoint([CLERK_READS], 1, cache_size=2)
    for role in ("a", "b", "c", "clerk"):
        dp.decide({"role": role}, OPEN, "judgment:read", {})
    assert dp.cache_size == 2
    assert dp.decide(CLERK, OPEN, "judgment:read", {}).allowed


# --- validation -------------------------------------------------------------------------


def paths(document: Any) -> dict[str, str]:
    return {p.path: p.message for p in validate_policy(document)}


def test_a_good_policy_has_no_problems() -> None:
    assert validate_policy(CLERK_READS) == []


def test_a_policy_must_be_a_json_object() -> None:
    assert paths(["not", "an", "object"]) == {"": "a policy must be a JSON object"}


@pytest.mark.parametrize("field", ["uid", "description", "effect"])
def test_a_missing_required_field_is_named(field: str) -> None:
    document = dict(CLERK_READS)
    del document[field]
    assert paths(document)[field] == "missing required field"


def test_an_effect_other_than_allow_or_deny_is_refused() -> None:
    assert paths({**CLERK_READS, "effect": "permit"})["effect"] == "must be 'allow' or 'deny'"


def test_a_uid_unfit_for_a_file_name_is_refused() -> None:
    assert "uid" in paths({**CLERK_READS, "uid": "../etc/passwd"})


def test_an_unknown_condition_is_named_with_its_path() -> None:
    document = policy("x", subject={"$.role": {"condition": "Equalz", "value": "clerk"}})
    assert paths(document)["rules.subject.$.role.condition"] == "unknown condition 'Equalz'"


def test_a_py_abac_schema_error_is_mapped_to_a_path() -> None:
    document = policy("x", subject={"$.role": {"condition": "Equals"}})
    assert paths(document) == {"rules.subject.$.role.value": "Missing data for required field."}


def test_a_negative_priority_is_a_schema_error() -> None:
    assert "priority" in paths({**CLERK_READS, "priority": -1})


def test_an_empty_target_is_a_schema_error() -> None:
    assert "targets.subject_id" in paths({**CLERK_READS, "targets": {"subject_id": ""}})


@pytest.mark.parametrize(
    ("part", "name"),
    [("subject", "in_requester_division"), ("resource", "role"), ("action", "verb"),
     ("context", "ip_address")],
)
def test_an_attribute_outside_the_vocabulary_is_refused(part: str, name: str) -> None:
    document = policy("x", **{part: {f"$.{name}": eq("yes")}})
    assert f"unknown {part} attribute '{name}'" in paths(document)[f"rules.{part}.$.{name}"]


def test_an_attribute_in_an_implicit_or_list_is_checked_with_its_index() -> None:
    document = policy("x", subject=[{"$.role": eq("a")}, {"$.rank": eq("b")}])
    assert "rules.subject.1.$.rank" in paths(document)


def test_an_attribute_referenced_by_an_attribute_condition_is_checked() -> None:
    document = policy("x", resource={
        "$.region": {"condition": "EqualsAttribute", "ace": "subject", "path": "$.home"}})
    assert "unknown subject attribute 'home'" in paths(document)["rules.resource.$.region.path"]


def test_a_nested_condition_is_checked() -> None:
    document = policy("x", subject={"$.role": {"condition": "Not",
                                               "value": {"condition": "Nope", "value": "a"}}})
    assert "rules.subject.$.role.value.condition" in paths(document)


def test_a_path_that_is_not_a_plain_path_is_refused() -> None:
    document = policy("x", subject={"$..role": eq("a")})
    assert "plain path" in paths(document)["rules.subject.$..role"]


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a*)*", "(a|a)*", r"(\w+\s?)*$"])
def test_a_regex_that_would_backtrack_in_python_is_accepted_as_re2_runs_it_linearly(
        pattern: str) -> None:
    document = policy("x", resource={"$.id": {"condition": "RegexMatch", "value": pattern}})
    assert validate_policy(document) == []


@pytest.mark.parametrize("pattern", ["(jdg", r"(jdg)\1", "jdg(?=_)", r"jdg\Z"])
def test_a_regex_re2_cannot_run_is_refused(pattern: str) -> None:
    document = policy("x", resource={"$.id": {"condition": "RegexMatch", "value": pattern}})
    assert "RE2 cannot run this pattern" in paths(document)["rules.resource.$.id.value"]


def test_a_simple_regex_is_accepted() -> None:
    regex = {"condition": "RegexMatch", "value": "^jdg_[0-9a-z]+$"}
    document = policy("x", resource={"$.id": regex})
    assert validate_policy(document) == []


def test_a_schema_error_inside_an_implicit_or_list_keeps_its_index() -> None:
    groups = [{"$.role": eq("a")}, {"$.role": {"condition": "Equals"}}]
    problems = validate_policy(policy("x", subject=groups))
    assert [p.path for p in problems] == ["rules.subject.1.$.role.value"]
