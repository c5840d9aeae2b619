"""Policy administration rules (issue 5): what a change to the policy set may not do, what
it would change, and a described request explained.

- The lock-out guard: a change that would leave nobody able to write policies is refused.
  "Nobody" is judged over the principals the registry can name: the admin making the
  change, then every role with no agency and at every agency of the registry.
- The preview: the policy test table (policies/table.py) decided under the set as it is
  and under the set with the change applied; the rows whose decision flips.
- What a change widens: each (role, action on criminal information) the change newly
  allows, and the two refusals of DESIGN.md §1.5: policy writing or approving handed to
  anyone but security staff, and a policy that matches every subject, resource and action.
- The explanation: a request as an admin describes it, filled in the way the service
  fills a real one (every attribute the service always sends, empty where not given), so
  that the answer is the one the service would give.

No database and no py_abac here: callers pass documents and DecisionPoints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from db.models import Agency
from policies.actions import Action
from policies.attributes import REQUEST_CONTEXT, subject_attributes
from policies.pdp import Decision, DecisionPoint, PolicyProblem, action_names
from policies.table import TABLE, TableRow
from policies.vocabulary import ANONYMOUS_ROLE, ROLES, VOCABULARY

SECURITY_STAFF = "security_admin"

# The key every change of the policy set locks (db.locks.POLICY_KEYS), so the lock-out
# guard judges the set as committed.
POLICY_SET = "policy-set"
# The resource a "may write policies at all" question is asked about.
ANY_POLICY = {"type": "policy", "id": "*"}

# What the service always sends, so a described request is decided as a real one: the
# attributes of a requester with nothing (no sub, no agency), and a request's own context.
SUBJECT_DEFAULTS: dict[str, Any] = subject_attributes(sub="", role=ANONYMOUS_ROLE, agency=None,
                                                      id_number=None, scopes=())
CONTEXT_DEFAULTS: dict[str, Any] = dict(REQUEST_CONTEXT)
REQUEST_PARTS = ("subject", "resource", "action", "context")


def apply_change(documents: Iterable[Mapping[str, Any]], uid: str,
                 document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The set with `uid` replaced by `document` (added when new; removed when None)."""
    changed = [dict(d) for d in documents if d.get("uid") != uid]
    if document is not None:
        changed.append(dict(document))
    return sorted(changed, key=lambda d: str(d.get("uid")))


# --- the lock-out guard -------------------------------------------------------------------


def writer_candidates(requester: Mapping[str, Any],
                      agencies: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    """The requester first, then every role with no agency, then at each agency given
    (as subject attributes: agency, agency_kind, agency_level, region)."""
    yield dict(requester)
    for role in ROLES:
        yield {**SUBJECT_DEFAULTS, "sub": f"lockout-check:{role}", "role": role}
    for agency in agencies:
        for role in ROLES:
            yield {**SUBJECT_DEFAULTS, **agency, "sub": f"lockout-check:{role}", "role": role}


def agency_attributes(agencies: Iterable[Agency]) -> list[dict[str, Any]]:
    """The subject attributes each agency gives whoever works there."""
    keys = ("agency", "agency_kind", "agency_level", "region")
    return [{k: v for k, v in subject_attributes(sub="", role="", agency=agency,
                                                 id_number=None, scopes=()).items()
             if k in keys} for agency in agencies]


def someone_can_write(point: DecisionPoint, candidates: Iterable[Mapping[str, Any]],
                      *, approvers_needed: int = 1) -> bool:
    """Someone may write policies; with more than one approver needed, someone may also
    approve (a set nobody can approve a change of is as locked as one nobody can write)."""
    listed = list(candidates)
    actions = [Action.POLICY_WRITE] + ([Action.POLICY_APPROVE] if approvers_needed > 1 else [])
    return all(any(point.decide(subject, ANY_POLICY, action, CONTEXT_DEFAULTS).allowed
                   for subject in listed) for action in actions)


# --- what a change widens -----------------------------------------------------------------
#
# Exact "which requests does this change newly allow" is undecidable in general (patterns,
# attributes compared with attributes), so it is answered in two ways whose union is listed:
#
# - by reach: a changed document's rules read for their role and action conditions only,
#   every other condition (and target) taken to hold: the (role, action) pairs it could
#   ever apply to. An allow document that newly reaches a pair widens it; a deny document
#   that no longer reaches a pair widens it where some allow document still reaches it.
#   This over-approximates on purpose: a proposal cannot hide a grant behind a condition
#   on an attribute the table does not vary.
# - by example: each row of the policy test table that flips from deny to allow, which
#   shows a pair whose reach did not change but whose conditions were loosened (a clerk
#   reading outside the division).

# The actions on criminal information (issue 12): what a widening is reported for.
CRIMINAL_INFORMATION_ACTIONS: tuple[str, ...] = tuple(sorted(
    {Action.JUDGMENT_READ, Action.JUDGMENT_LIST, Action.JUDGMENT_CERTIFY,
     Action.OFFENDER_READ, Action.OFFENDER_LIST, Action.DETENTION_READ,
     Action.NOTICE_READ, Action.NOTICE_LIST, Action.NOTICE_EXAMINE,
     Action.CASE_READ, Action.CASE_LIST, Action.AUDIT_READ}
    | {a for a in Action if a.startswith(("inquiry:", "policy:"))}))
# Writing or approving policies: only security staff (DESIGN.md §1.5).
POLICY_ADMINISTRATION = (Action.POLICY_WRITE, Action.POLICY_APPROVE)
EVERY_ROLE = (*ROLES, ANONYMOUS_ROLE)


def _resource_type(action: str) -> str:
    """The type of resource an action is asked about: `judgment` for `judgment:read`."""
    return action.split(":", 1)[0]


def _plain_condition(condition: Any) -> bool:
    """A condition that reads only its own attribute (no comparison with another one)."""
    return not any(True for _ in _attribute_paths(condition))


def _attribute_paths(condition: Any) -> Iterable[str]:
    if isinstance(condition, dict):
        if isinstance(condition.get("ace"), str) and isinstance(condition.get("path"), str):
            yield condition["path"]
        for value in condition.values():
            yield from _attribute_paths(value)
    elif isinstance(condition, list):
        for item in condition:
            yield from _attribute_paths(item)


def _kept(groups: Any, path: str) -> Any:
    """The rule groups of one part with only `path`'s plain condition left in each."""
    def keep(group: Any) -> dict[str, Any]:
        if not isinstance(group, dict):
            return {}
        condition = group.get(path)
        return {path: condition} if condition is not None and _plain_condition(condition) else {}
    if isinstance(groups, list):
        return [keep(g) for g in groups] or {}
    return keep(groups)


def _reach_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """`document` reduced to its role, action and resource-type conditions, as an allow."""
    rules = document.get("rules") or {}
    return {"uid": str(document.get("uid", "reach")), "description": "reach",
            "effect": "allow", "targets": {},
            "rules": {"subject": _kept(rules.get("subject", {}), "$.role"),
                      "action": _kept(rules.get("action", {}), "$.name"),
                      "resource": _kept(rules.get("resource", {}), "$.type"),
                      "context": {}}}


def reach(document: Mapping[str, Any] | None,
          actions: Sequence[str] = CRIMINAL_INFORMATION_ACTIONS) -> frozenset[tuple[str, str]]:
    """The (role, action) pairs `document` could apply to, whatever its other conditions."""
    if document is None:
        return frozenset()
    point = DecisionPoint([_reach_document(document)], 0)
    return frozenset(
        (role, action) for role in EVERY_ROLE for action in actions
        if point.decide({"sub": "", "role": role}, {"type": _resource_type(action), "id": "*"},
                        action, {}).allowed)


def _allows(document: Mapping[str, Any] | None) -> bool:
    return document is not None and document.get("effect") == "allow"


def _denies(document: Mapping[str, Any] | None) -> bool:
    return document is not None and document.get("effect") == "deny"


def _same_rules(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    keys = ("effect", "rules", "targets")
    return (old is not None and new is not None
            and all(old.get(k) == new.get(k) for k in keys))


def widened(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]],
            flipped: Iterable[Flip] = ()) -> list[str]:
    """"role: action" for each action on criminal information the change from `before` to
    `after` (each a list of documents) newly allows, by reach and by the table's flips."""
    old = {str(d.get("uid")): d for d in before}
    new = {str(d.get("uid")): d for d in after}
    pairs: set[tuple[str, str]] = set()
    allowed_after: frozenset[tuple[str, str]] | None = None
    for uid in sorted(set(old) | set(new)):
        was, now = old.get(uid), new.get(uid)
        if was == now or _same_rules(was, now):
            continue
        if _allows(now):
            pairs |= reach(now) - (reach(was) if _allows(was) else frozenset())
        if _denies(was):
            freed = reach(was) - (reach(now) if _denies(now) else frozenset())
            if freed:
                if allowed_after is None:
                    allowed_after = frozenset().union(*(reach(d) for d in after if _allows(d)))
                pairs |= freed & allowed_after
    for flip in flipped:
        if (not flip.before.allowed and flip.after.allowed
                and flip.row.action in CRIMINAL_INFORMATION_ACTIONS):
            pairs.add((str(flip.row.subject.get("role", "")), flip.row.action))
    return [f"{role}: {action}" for role, action in sorted(pairs)]


def consequences(before: DecisionPoint, after: DecisionPoint,
                 changed: Iterable[Mapping[str, Any] | None]) -> tuple[list[Flip], list[str]]:
    """The policy test table's rows a change flips (only the rows of the actions the changed
    documents, old and new, can apply to), and the "role: action" pairs it widens."""
    found = flips(before, after, actions=action_names(changed))
    return found, widened(before.documents, after.documents, found)


def policy_writers_beyond_security_staff(
        changed: Iterable[Mapping[str, Any] | None], point: DecisionPoint,
        candidates: Iterable[Mapping[str, Any]]) -> list[str]:
    """"role: action" for each role other than security staff that could write or approve
    policies after a change: by the reach of the changed allow documents, and by the set
    after the change deciding for every candidate principal."""
    found: set[tuple[str, str]] = set()
    for document in changed:
        if _allows(document):
            found |= {(role, action) for role, action in reach(document, POLICY_ADMINISTRATION)
                      if role != SECURITY_STAFF}
    for subject in candidates:
        role = str(subject.get("role", ""))
        if role == SECURITY_STAFF:
            continue
        for action in POLICY_ADMINISTRATION:
            if point.decide(subject, ANY_POLICY, action, CONTEXT_DEFAULTS).allowed:
                found.add((role, action))
    return [f"{role}: {action}" for role, action in sorted(found)]


@dataclass(frozen=True)
class ChangeRefusal:
    """The rule of DESIGN.md §1.5 a change to the policy set breaks: `reason` is the code
    (MATCHES_EVERYTHING, LOCKS_OUT_POLICY_WRITERS, POLICY_ADMINISTRATION_BEYOND_SECURITY_STAFF),
    `names` what it names (the policies matching everything, the "role: action" handed
    over)."""

    reason: str
    names: tuple[str, ...] = ()


def change_refusal(changed: Sequence[Mapping[str, Any] | None], after: DecisionPoint,
                   candidates: Sequence[Mapping[str, Any]], *, approvers_needed: int,
                   before: DecisionPoint | None = None) -> ChangeRefusal | None:
    """The first rule the set `after` a change of the `changed` documents breaks, whoever
    approves it: the API's changes (schema/policy_changes.py) and `registry policy import`
    (api/policy_import.py) both ask here. With `before`, a set in which nobody could write
    policies already (a first import) is not a lock-out of this change's making."""
    everything = tuple(str(d.get("uid", "")) for d in changed
                       if d is not None and matches_everything(d))
    if everything:
        return ChangeRefusal("MATCHES_EVERYTHING", everything)
    if not someone_can_write(after, candidates, approvers_needed=approvers_needed) and (
            before is None
            or someone_can_write(before, candidates, approvers_needed=approvers_needed)):
        return ChangeRefusal("LOCKS_OUT_POLICY_WRITERS")
    beyond = policy_writers_beyond_security_staff(changed, after, candidates)
    if beyond:
        return ChangeRefusal("POLICY_ADMINISTRATION_BEYOND_SECURITY_STAFF", tuple(beyond))
    return None


def matches_everything(document: Mapping[str, Any]) -> bool:
    """Whether `document`'s subject, resource and action rules (and targets) fit every role,
    every action and every type of resource, whatever the context."""
    probe = {**document, "uid": str(document.get("uid", "probe")), "effect": "allow",
             "rules": {**(document.get("rules") or {}), "context": {}}}
    point = DecisionPoint([probe], 0)
    return all(
        point.decide({"sub": "", "role": role}, {"type": _resource_type(action), "id": "*"},
                     action, {}).allowed
        for role in EVERY_ROLE for action in Action)


# --- the preview --------------------------------------------------------------------------


@dataclass(frozen=True)
class Flip:
    row: TableRow
    before: Decision
    after: Decision


def flips(before: DecisionPoint, after: DecisionPoint,
          rows: Sequence[TableRow] = TABLE, *,
          actions: frozenset[str] | None = None) -> list[Flip]:
    """The rows of the policy test table decided differently under `after`. `actions`: the
    only actions the change can touch (the changed documents' action names), when known."""
    found = []
    for row in rows:
        if actions is not None and row.action not in actions:
            continue
        old = before.decide(row.subject, row.resource, row.action, row.context)
        new = after.decide(row.subject, row.resource, row.action, row.context)
        if old.allowed != new.allowed:
            found.append(Flip(row, old, new))
    return found


# --- the explanation ----------------------------------------------------------------------


class RequestProblem(ValueError):
    """A described request that is not one: the path inside it, and what is wrong."""

    def __init__(self, problem: PolicyProblem) -> None:
        super().__init__(f"{problem.path}: {problem.message}")
        self.problem = problem


def _value_problem(path: str, value: Any) -> PolicyProblem | None:
    if isinstance(value, str):
        return None if len(value) <= 200 else PolicyProblem(path, "at most 200 characters")
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and len(value) <= 50:
        return None
    return PolicyProblem(path, "must be a string (or, for scopes, a list of strings)")


def parse_request(request: Any) -> tuple[dict[str, Any], dict[str, Any], str, dict[str, Any]]:
    """(subject, resource, action, context) of a described request, filled with what the
    service always sends; RequestProblem when it is not one."""
    if not isinstance(request, dict):
        raise RequestProblem(PolicyProblem("", "must be a JSON object with subject, "
                                               "resource, action and context"))
    for key in request:
        if key not in REQUEST_PARTS:
            raise RequestProblem(PolicyProblem(str(key), "unknown part (use subject, "
                                                         "resource, action, context)"))
    action = request.get("action")
    if isinstance(action, dict):
        action = action.get("name")
    if not isinstance(action, str) or not action.strip():
        raise RequestProblem(PolicyProblem("action", "an action name like judgment:read"))
    parts: dict[str, dict[str, Any]] = {}
    for part in ("subject", "resource", "context"):
        given = request.get(part, {})
        if not isinstance(given, dict):
            raise RequestProblem(PolicyProblem(part, "must be a JSON object"))
        for name, value in given.items():
            if name not in VOCABULARY[part]:
                allowed = ", ".join(sorted(VOCABULARY[part]))
                raise RequestProblem(PolicyProblem(
                    f"{part}.{name}", f"unknown {part} attribute (allowed: {allowed})"))
            problem = _value_problem(f"{part}.{name}", value)
            if problem is not None:
                raise RequestProblem(problem)
        parts[part] = dict(given)
    subject = {**SUBJECT_DEFAULTS, **parts["subject"]}
    context = {**CONTEXT_DEFAULTS, **parts["context"]}
    if "type" not in parts["resource"]:
        raise RequestProblem(PolicyProblem("resource.type", "the resource needs a type"))
    resource = {"id": "*", **parts["resource"]}
    return subject, resource, action.strip(), context
