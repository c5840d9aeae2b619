"""Policy administration rules (issue 5): what a change to the policy set may not do, what
it would change, and a described request explained.

- The lock-out guard: a change that would leave nobody able to write policies is refused.
  "Nobody" is judged over the principals the registry can name: the admin making the
  change, then every role with no agency and at every agency of the registry.
- The preview: the policy test table (policies/table.py) decided under the set as it is
  and under the set with the change applied; the rows whose decision flips.
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
from policies.pdp import Decision, DecisionPoint, PolicyProblem
from policies.table import TABLE, TableRow
from policies.vocabulary import ANONYMOUS_ROLE, ROLES, VOCABULARY

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


def someone_can_write(point: DecisionPoint, candidates: Iterable[Mapping[str, Any]]
                      ) -> bool:
    return any(point.decide(subject, ANY_POLICY, Action.POLICY_WRITE, CONTEXT_DEFAULTS).allowed
               for subject in candidates)


# --- the preview --------------------------------------------------------------------------


@dataclass(frozen=True)
class Flip:
    row: TableRow
    before: Decision
    after: Decision


def flips(before: DecisionPoint, after: DecisionPoint,
          rows: Sequence[TableRow] = TABLE) -> list[Flip]:
    """The rows of the policy test table decided differently under `after`."""
    found = []
    for row in rows:
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
