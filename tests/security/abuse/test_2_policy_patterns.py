"""Issue 10, item 2: a policy pattern that backtracks stalls every request.

The attack: a security admin (or anyone who gets a policy past review) creates a deny
policy whose RegexMatch on `resource.id` is `a*a*a*a*a*a*a*a*b`. Python's `re` accepts
it, and the hand-written check in front of it did too; then one `judgment(id:)` of 40
letters `a` takes seconds of backtracking on the event loop, and `/healthz` waits with
every other request. Policy patterns are now run by RE2 (linear in the text): what RE2
cannot run is refused naming the field, and a stored one fails closed.

The same applies to the other place where a policy author's pattern meets a requester's
string: the `targets` globs (fnmatch). RE2 reports no step count, so linearity is shown by
timing: each doubling of the text may at most double the decision's time (times a
generous 3, plus 2 ms of scheduler noise), which polynomial or exponential backtracking
breaks within a few letters.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from api.policy_import import cmd_policy_import
from api.settings import Settings
from db.models import PolicyRecord
from policies.pdp import MAX_MATCHED_LENGTH, Decision, DecisionPoint, validate_policy
from policies.store import cmd_policy_validate
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, SECURITY_ADMIN, Registry, report_input
from tests.security.conftest import serve

POLICY_FIELDS = "uid version"
CREATE = f"mutation($p: JSON!) {{ createPolicy(policy: $p) {{ {POLICY_FIELDS} }} }}"
UPDATE = f"""mutation($uid: String!, $p: JSON!) {{
  updatePolicy(uid: $uid, policy: $p) {{ {POLICY_FIELDS} }} }}"""
PREVIEW = "query($p: JSON) { previewPolicyChange(policy: $p) { change } }"
JUDGMENT = "query($id: ID!) { judgment(id: $id) { id } }"
FIRST_JUDGMENT = "{ judgments(first: 1) { edges { node { id } } } }"
BODY_LIMIT = 256 * 1024  # the longest id a request body can carry (api/graphql.py)

SLACK = 3.0
NOISE = 0.002
LENGTHS = (8, 16, 32, 64, 128, MAX_MATCHED_LENGTH)


def pattern_policy(pattern: str, *, uid: str = "abuse.pattern", effect: str = "deny",
                   **condition: Any) -> dict[str, Any]:
    """`effect` judgment:read where the resource id matches `pattern`."""
    return {
        "uid": uid,
        "description": "A judgment id pattern (issue 10, item 2).",
        "effect": effect,
        "rules": {
            "subject": {},
            "resource": {"$.id": {"condition": "RegexMatch", "value": pattern, **condition}},
            "action": {"$.name": {"condition": "Equals", "value": "judgment:read"}},
            "context": {},
        },
        "targets": {},
    }


def target_policy(glob: str) -> dict[str, Any]:
    """A deny of judgment:read targeted at the resource ids that match `glob`."""
    return {"uid": "abuse.target", "description": "A judgment id glob (issue 10, item 2).",
            "effect": "deny",
            "rules": {"action": {"$.name": {"condition": "Equals", "value": "judgment:read"}}},
            "targets": {"resource_id": glob}}


def decide(point: DecisionPoint, resource_id: str) -> Decision:
    return point.decide({"sub": "u1", "role": "registry_clerk"},
                        {"type": "judgment", "id": resource_id}, "judgment:read", {})


def seconds(point: DecisionPoint, resource_id: str, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        decide(point, resource_id)
        best = min(best, time.perf_counter() - started)
    return best


def assert_linear(point: DecisionPoint, text: Callable[[int], str]) -> None:
    """Each doubling of the text at most doubles the time (generously); measured in
    ascending order, so a backtracking engine fails at a few letters instead of hanging."""
    previous: tuple[int, float] | None = None
    for length in LENGTHS:
        value = text(length)
        assert len(value) == length
        assert decide(point, value).policy_uid is None, "evaluated, and not matched"
        took = seconds(point, value)
        if previous is not None:
            shorter, before = previous
            bound = SLACK * (length / shorter) * before + NOISE
            assert took <= bound, f"{shorter} -> {length} characters: {before:.6f}s -> {took:.6f}s"
        previous = (length, took)
    # Past MAX_MATCHED_LENGTH nothing is matched at all: the longest id a request can
    # carry fails closed (this deny fits) at no more than the cost of the longest match.
    assert previous is not None
    longest = text(MAX_MATCHED_LENGTH)
    huge = (longest * (BODY_LIMIT // len(longest) + 1))[:BODY_LIMIT]
    assert decide(point, huge).policy_uid is not None
    assert seconds(point, huge) <= SLACK * previous[1] + NOISE


def letters(alphabet: str, seed: int = 10) -> Callable[[int], str]:
    def text(length: int) -> str:
        rng = random.Random(seed)
        return "".join(rng.choice(alphabet) for _ in range(length))
    return text


def repeated(head: str, tail: str = "", cap: int | None = None) -> Callable[[int], str]:
    """`head` as often as fits (at most `cap` times), then `tail` to the length."""
    def text(length: int) -> str:
        count = length - len(tail) if cap is None else min(cap, length - len(tail))
        body = head * count
        return (body + tail * length)[:length]
    return text


# The worst patterns we know for a backtracking engine, and for RE2 (big programs that
# defeat its DFA and fall back to the NFA simulation, whose cost per character is the
# program's size: bounded by the compile budget). Each with a text it does not match.
WORST_PATTERNS: list[tuple[str, str, Callable[[int], str]]] = [
    ("the issue's stars before a missing letter", "a*a*a*a*a*a*a*a*b", repeated("a")),
    ("a nested quantifier anchored at the end", "(a+)+$", repeated("a", "!")),
    ("identical alternatives repeated", "(a|a)*b", repeated("a")),
    ("overlapping alternatives repeated", "(a|aa)*c", repeated("a")),
    ("words and optional spaces repeated", r"^(\w+\s?)*$", repeated("a", "!")),
    ("twenty greedy dot-stars", "(.*a){20}", repeated("a", "!", cap=19)),
    ("nested counted repetitions", "(?:(?:a{0,10}){0,10}){0,10}b", repeated("a")),
    ("optional letters before a counted run", "(?:a?){30}a{30}", repeated("a", "!", cap=29)),
    ("a counted repetition at RE2's limit", "a[ab]{999}c", letters("ab")),
    ("the biggest program the budget admits",
     "(?:" + "|".join(f"a[ab]{{{999 - i}}}" for i in range(4)) + ")c", letters("ab")),
    ("a DFA state explosion", "[ab]*a[ab]{20}c", letters("ab")),
    ("the same, case-insensitive", "(?i)[ab]*a[ab]{20}c", letters("aAbB")),
    ("Unicode letter classes", r"\p{L}*\p{L}*\p{L}*0", repeated("é")),
]


@pytest.mark.parametrize(("kind", "pattern", "text"), WORST_PATTERNS,
                         ids=[w[0] for w in WORST_PATTERNS])
def test_the_worst_patterns_decide_in_time_linear_in_the_text(
        kind: str, pattern: str, text: Callable[[int], str]) -> None:
    document = pattern_policy(pattern)
    assert validate_policy(document) == [], kind
    assert_linear(DecisionPoint([document], 1, cache_size=0), text)


WORST_GLOBS: list[tuple[str, str, Callable[[int], str]]] = [
    ("stars before a missing letter", "*a*a*a*a*a*a*a*a*b", repeated("a")),
    ("question marks between stars", "*?*?*?*?*?*?*?*?!", repeated("a")),
    ("a long literal between stars", "*" + "a" * 40 + "b*", repeated("a")),
    ("sets between stars", "*[ab]*[ab]*[ab]*[ab]*c", letters("ab")),
    ("thousands of wildcards in one glob", "*" + "?" * 6_000 + "b*", repeated("a")),
]


@pytest.mark.parametrize(("kind", "glob", "text"), WORST_GLOBS, ids=[w[0] for w in WORST_GLOBS])
def test_the_worst_target_globs_decide_in_time_linear_in_the_id(
        kind: str, glob: str, text: Callable[[int], str]) -> None:
    document = target_policy(glob)
    assert validate_policy(document) == [], kind
    assert_linear(DecisionPoint([document], 1, cache_size=0), text)


async def test_the_issues_deny_pattern_answers_a_40_letter_judgment_without_stalling_healthz(
        registry: Registry) -> None:
    created = await registry.gql(CREATE, {"p": pattern_policy("a*a*a*a*a*a*a*a*b")},
                                 as_=SECURITY_ADMIN)
    assert created["data"]["createPolicy"]["version"] == 1, created
    started = time.perf_counter()
    healthz_took: list[float] = []

    async def healthz() -> None:
        await asyncio.sleep(0.05)  # the judgment's decision is under way by then
        response = await registry.http.get("/healthz")
        assert response.status_code == 200
        healthz_took.append(time.perf_counter() - started)

    body, _ = await asyncio.gather(
        registry.gql(JUDGMENT, {"id": "a" * 40}, as_=CLERK_DONGCHENG), healthz())
    took = time.perf_counter() - started
    assert body == {"data": {"judgment": None}}, body
    # Today's cost is 14 s of backtracking; RE2 answers in milliseconds.
    assert took < 2.0 and healthz_took[0] < 2.0, (took, healthz_took)


# Python's re compiles each of these (so they may be stored), RE2 does not run them.
REFUSED_BY_RE2 = [
    "^(jdg)\\1",             # a backreference
    "^jdg(?=_)",             # lookahead
    "(?<!x)jdg",             # lookbehind
    "(?>jdg_+)",             # an atomic group
    "jdg_\\d++",             # a possessive quantifier
    "^jdg_[0-9a-z]+\\Z",     # Python's end of text (RE2 spells it \\z)
    "(?P<x>j)(?P=x)",        # a named backreference
    "(?(1)a|b)",             # a conditional
    "a{1001}",               # a count over RE2's limit
    "(?:[a-z]{100}){100}",   # nested counts over RE2's limit
    "(?:\\w\\p{L}){20}",     # a program over the compile budget
    "(jdg",                  # not a pattern at all
]
FIELD = "policy.rules.resource.$.id.value"


async def policy_rows(registry: Registry) -> int:
    async with registry.app.state.registry.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(PolicyRecord)) or 0)


async def test_a_pattern_re2_cannot_run_is_refused_naming_the_field_and_changes_nothing(
        registry: Registry) -> None:
    rows = await policy_rows(registry)
    for pattern in REFUSED_BY_RE2:
        attempts = [(CREATE, {"p": pattern_policy(pattern)}, "createPolicy")]
        if pattern == REFUSED_BY_RE2[0]:
            existing = "clerk.reads-records-in-division"
            attempts += [(UPDATE, {"uid": existing, "p": pattern_policy(pattern, uid=existing)},
                          "updatePolicy"),
                         (PREVIEW, {"p": pattern_policy(pattern)}, "previewPolicyChange")]
        for query, variables, name in attempts:
            body = await registry.gql(query, variables, as_=SECURITY_ADMIN)
            error = body["errors"][0]["extensions"]
            assert (error["code"], error["field"]) == ("BAD_USER_INPUT", FIELD), (pattern, body)
            assert "RE2" in body["errors"][0]["message"], (pattern, name, body)
            assert body["data"] is None or body["data"].get(name) is None
    assert await policy_rows(registry) == rows


async def test_the_command_line_refuses_a_pattern_re2_cannot_run(
        database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pattern.json"
    path.write_text(json.dumps(pattern_policy("^(jdg)\\1")), encoding="utf-8")
    assert cmd_policy_validate(str(path)) == 1
    assert "rules.resource.$.id.value: " in capsys.readouterr().out
    settings = Settings(database_url=database_url,
                        signing_key_file=str(tmp_path / "keys" / "signing-key.pem"))
    assert await asyncio.to_thread(cmd_policy_import, settings, str(tmp_path)) == 1
    assert "nothing imported" in capsys.readouterr().out


def test_a_stored_pattern_re2_cannot_run_fails_closed_and_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """Stored before RE2 decided: the set still loads; the deny fits, the allow does not."""
    deny = pattern_policy("^(jdg)\\1", uid="stored.deny")
    allow = pattern_policy("^(?=jdg)", uid="stored.allow", effect="allow")
    with caplog.at_level(logging.WARNING, logger="policies.pdp"):
        denying, allowing = DecisionPoint([deny], 1), DecisionPoint([allow], 1)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "stored.deny" in logged and "stored.allow" in logged and "RE2" in logged
    assert decide(denying, "jdg_1").policy_uid == "stored.deny"
    assert not decide(denying, "jdg_1").allowed
    assert decide(allowing, "jdg_1") == Decision(
        False, None, 1, "no applicable policy (default deny)", ())


async def test_the_service_starts_with_a_stored_pattern_re2_cannot_run_and_denies(
        registry: Registry) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    listed = await registry.gql(FIRST_JUDGMENT, as_=CLERK_DONGCHENG)
    judgment_id = listed["data"]["judgments"]["edges"][0]["node"]["id"]
    seen = await registry.gql(JUDGMENT, {"id": judgment_id}, as_=CLERK_DONGCHENG)
    assert seen == {"data": {"judgment": {"id": judgment_id}}}, seen
    async with registry.app.state.registry.database.session() as session:
        # As if written before RE2 decided (Python's re compiles it; no writer checks it).
        document = pattern_policy("^(jdg)\\1", uid="stored.deny")
        session.add(PolicyRecord(uid="stored.deny", version=1, document=document,
                                 author="before-re2"))
        await session.commit()
    async with serve(registry.settings) as restarted:
        assert (await restarted.http.get("/healthz")).status_code == 200
        hidden = await restarted.gql(JUDGMENT, {"id": judgment_id}, as_=CLERK_DONGCHENG)
        assert hidden == {"data": {"judgment": None}}, hidden


def test_case_insensitive_is_honoured_by_a_pattern() -> None:
    point = DecisionPoint([pattern_policy("^jdg_", case_insensitive=True)], 1)
    assert decide(point, "JDG_1").policy_uid == "abuse.pattern"
    assert decide(point, "xjdg_1").policy_uid is None
    exact = DecisionPoint([pattern_policy("^jdg_")], 1)
    assert decide(exact, "JDG_1").policy_uid is None


@pytest.mark.parametrize(("pattern", "matching", "not_matching"), [
    ("^jdg_[0-9a-z]+$", "jdg_01hx", "jdg_01HX"),
    ("^(?:jdg|det)_", "det_1", "off_1"),
    (r"^\p{Han}+$", "张三", "zhang"),
    ("(?i)^JDG", "jdg_1", "xjdg"),
    ("_9$", "jdg_9", "jdg_9\n"),  # RE2's $ is the end of text (Python's allows a \n)
])
def test_an_ordinary_pattern_decides_as_written(
        pattern: str, matching: str, not_matching: str) -> None:
    point = DecisionPoint([pattern_policy(pattern)], 1)
    assert validate_policy(pattern_policy(pattern)) == []
    assert decide(point, matching).policy_uid == "abuse.pattern"
    assert decide(point, not_matching).policy_uid is None


def test_a_value_longer_than_a_pattern_may_read_fails_closed() -> None:
    long_id = "jdg_" + "1" * MAX_MATCHED_LENGTH
    deny = DecisionPoint([pattern_policy("^jdg_")], 1)
    assert decide(deny, long_id[:MAX_MATCHED_LENGTH]).policy_uid == "abuse.pattern"
    assert decide(deny, "x" * (MAX_MATCHED_LENGTH + 1)).policy_uid == "abuse.pattern"
    allow = DecisionPoint([pattern_policy("^jdg_", effect="allow")], 1)
    assert decide(allow, long_id[:MAX_MATCHED_LENGTH]).allowed
    assert not decide(allow, long_id).allowed


def test_an_id_longer_than_a_target_glob_may_read_fails_closed() -> None:
    point = DecisionPoint([target_policy("jdg_*")], 1)
    assert decide(point, "jdg_1").policy_uid == "abuse.target"
    assert decide(point, "off_1").policy_uid is None
    assert decide(point, "off_" + "1" * MAX_MATCHED_LENGTH).policy_uid == "abuse.target"


def test_an_attribute_path_cannot_carry_a_pattern() -> None:
    """ObjectPath (py-abac's attribute paths) has a `matches` operator run by Python's re;
    only plain paths are accepted, so a policy cannot reach it."""
    document = pattern_policy("^jdg_")
    document["rules"]["resource"] = {'$.id[@ matches "(a+)+$"]': {
        "condition": "Equals", "value": "x"}}
    assert [p.path for p in validate_policy(document)] == [
        'rules.resource.$.id[@ matches "(a+)+$"]']
