"""The policy decision point: py-abac behind one small interface, with a decision cache.

This is the only module that imports py_abac (a ruff TID251 rule enforces it).

Policies combine deny-overrides with default deny (CONTRACT.md §5): no fitting policy
denies, any fitting deny policy denies, otherwise the request is allowed.

Why a cache: a page of 20 rows with 15 checked fields would be 300 py-abac evaluations.
A decision depends only on the attributes the policies reference, and those take few
values (role, agency kind, seal status, yes/no relations), so the cache key is the
projection of a request onto the referenced attribute names, computed per action from
the policy documents, and almost every decision after the first is a dict lookup.
"""

import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from py_abac import Policy
from py_abac.context import EvaluationContext
from py_abac.exceptions import PolicyCreateError
from py_abac.policy.conditions.schema import ConditionSchema
from py_abac.request import AccessRequest
from py_abac.storage.memory import MemoryStorage

from policies.regex_safety import regex_problem
from policies.vocabulary import VOCABULARY

LOG = logging.getLogger(__name__)

PARTS = ("subject", "resource", "action", "context")
CONDITION_NAMES = frozenset(ConditionSchema.type_schemas)
_SIMPLE_PATH = re.compile(r"\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_MISSING = ("<missing>",)
DEFAULT_CACHE_SIZE = 10_000


class PolicyLoadError(ValueError):
    """A policy document that py-abac refuses."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    policy_uid: str | None
    policy_version: int
    reason: str
    applicable: tuple[str, ...]


@dataclass(frozen=True)
class PolicyProblem:
    path: str
    message: str


def top_level_name(path: str) -> str | None:
    """`$.role` -> `role`, `$.a.b` -> `a`; anything fancier (filters, `..`) -> None."""
    match = _SIMPLE_PATH.fullmatch(path)
    return match.group(1).split(".")[1] if match else None


# --- what the documents reference -------------------------------------------------------


def _rule_groups(rules: Any) -> list[dict[str, Any]]:
    if isinstance(rules, dict):
        return [rules]
    if isinstance(rules, list):
        return [group for group in rules if isinstance(group, dict)]
    return []


def _attribute_references(condition: Any) -> Iterable[tuple[str, str]]:
    """(ace, path) of every attribute condition nested in a condition document."""
    if isinstance(condition, dict):
        ace, path = condition.get("ace"), condition.get("path")
        if isinstance(ace, str) and isinstance(path, str):
            yield ace, path
        for value in condition.values():
            yield from _attribute_references(value)
    elif isinstance(condition, list):
        for item in condition:
            yield from _attribute_references(item)


def _references(document: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    rules = document.get("rules") or {}
    for part in PARTS:
        for group in _rule_groups(rules.get(part)):
            for path, condition in group.items():
                yield part, path
                yield from _attribute_references(condition)


def _action_names(document: Mapping[str, Any]) -> frozenset[str] | None:
    """The action names a policy can apply to, or None when it is not plainly stated."""
    groups = document.get("rules", {}).get("action")
    if not groups:
        return None
    names: set[str] = set()
    for group in _rule_groups(groups):
        condition = group.get("$.name")
        if not isinstance(condition, dict) or condition.get("case_insensitive"):
            return None
        if condition.get("condition") == "Equals" and isinstance(condition.get("value"), str):
            names.add(condition["value"])
        elif condition.get("condition") == "IsIn" and isinstance(condition.get("values"), list):
            names.update(v for v in condition["values"] if isinstance(v, str))
        else:
            return None
    return frozenset(names)


@dataclass(frozen=True)
class _KeySpec:
    """Per part: the referenced top-level names, or None for "the whole part"."""

    subject: tuple[str, ...] | None
    resource: tuple[str, ...] | None
    context: tuple[str, ...] | None
    subject_id: bool
    resource_id: bool

    # (part index, name) pairs, when every part is projected by name: the fast path.
    flat: tuple[tuple[int, str], ...] | None


def _freeze(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("<list>", *(_freeze(v) for v in value))
    if isinstance(value, set | frozenset):
        return ("<set>", *sorted(repr(_freeze(v)) for v in value))
    # Type-tagged, so True, 1 and "1" never share a key.
    return (type(value).__name__, repr(value))


def _project(part: Mapping[str, Any], names: tuple[str, ...] | None) -> Any:
    if names is None:
        return _freeze(part)
    values = [part.get(name, _MISSING) for name in names]
    # The hot path of every cached decision: attribute values are almost always strings.
    return tuple([v if type(v) is str else _freeze(v) for v in values])


# --- the decision point -----------------------------------------------------------------


class DecisionPoint:
    """An immutable policy set in py-abac's memory storage, and its decision cache."""

    def __init__(
        self,
        documents: Iterable[Mapping[str, Any]],
        version: int,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.version = version
        self.documents: tuple[dict[str, Any], ...] = tuple(dict(d) for d in documents)
        self._storage = MemoryStorage()
        self._policies: list[Policy] = []
        for document in self.documents:
            try:
                policy = Policy.from_json(dict(document))
            except PolicyCreateError as error:
                raise PolicyLoadError(f"policy {document.get('uid')!r}: {error}") from error
            self._storage.add(policy)
            self._policies.append(policy)
        self._cache: OrderedDict[tuple[Any, ...], Decision] = OrderedDict()
        self._cache_size = cache_size
        self._specs: dict[str, _KeySpec] = {}
        self._actions = [_action_names(d) for d in self.documents]

    @property
    def uids(self) -> tuple[str, ...]:
        return tuple(p.uid for p in self._policies)

    def _spec_for(self, action: str) -> _KeySpec:
        spec = self._specs.get(action)
        if spec is not None:
            return spec
        names: dict[str, set[str] | None] = {"subject": set(), "resource": set(), "context": set()}
        subject_id = resource_id = False
        for document, actions in zip(self.documents, self._actions, strict=True):
            if actions is not None and action not in actions:
                continue  # this policy cannot apply to the action: its names do not matter
            for part, path in _references(document):
                if part == "action":
                    continue  # the action is always in the key, whole
                current = names.get(part)
                if current is None:
                    continue
                name = top_level_name(path)
                if name is None:
                    names[part] = None
                else:
                    current.add(name)
            targets = document.get("targets") or {}
            subject_id = subject_id or targets.get("subject_id", "*") != "*"
            resource_id = resource_id or targets.get("resource_id", "*") != "*"

        def ordered(part: str) -> tuple[str, ...] | None:
            found = names[part]
            return None if found is None else tuple(sorted(found))

        parts = (ordered("subject"), ordered("resource"), ordered("context"))
        flat: tuple[tuple[int, str], ...] | None = None
        if all(p is not None for p in parts):
            flat = tuple((i, name) for i, p in enumerate(parts) for name in p or ())
        spec = _KeySpec(*parts, subject_id, resource_id, flat)
        self._specs[action] = spec
        return spec

    def cache_key(
        self,
        subject: Mapping[str, Any],
        resource: Mapping[str, Any],
        action: str,
        context: Mapping[str, Any],
    ) -> tuple[Any, ...]:
        spec = self._specs.get(action) or self._spec_for(action)
        flat = spec.flat
        if flat is not None:
            # The hot path of every cached decision: one pass, values almost always strings.
            parts = (subject, resource, context)
            values = [parts[i].get(name, _MISSING) for i, name in flat]
            key = [action, *[v if type(v) is str else _freeze(v) for v in values]]
        else:
            key = [action, _project(subject, spec.subject), _project(resource, spec.resource),
                   _project(context, spec.context)]
        if spec.subject_id:
            key.append(_subject_id(subject))
        if spec.resource_id:
            key.append(_resource_id(resource))
        return tuple(key)

    def decide(
        self,
        subject: Mapping[str, Any],
        resource: Mapping[str, Any],
        action: str,
        context: Mapping[str, Any],
    ) -> Decision:
        key = self.cache_key(subject, resource, action, context)
        cache = self._cache
        cached = cache.get(key)
        if cached is not None:
            cache.move_to_end(key)
            return cached
        decision = self._evaluate(subject, resource, action, context)
        self._cache[key] = decision
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return decision

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    def _evaluate(
        self,
        subject: Mapping[str, Any],
        resource: Mapping[str, Any],
        action: str,
        context: Mapping[str, Any],
    ) -> Decision:
        request = AccessRequest(
            subject={"id": _subject_id(subject), "attributes": dict(subject)},
            resource={"id": _resource_id(resource), "attributes": dict(resource)},
            action={"id": action, "attributes": {"name": action}},
            context=dict(context),
        )
        ctx = EvaluationContext(request)
        fitting: list[Policy] = []
        for policy in self._storage.get_for_target(ctx.subject_id, ctx.resource_id, action):
            try:
                fits = policy.fits(ctx)
            except Exception:
                # Fail closed: a deny policy that cannot be evaluated counts as fitting,
                # an allow policy as not fitting.
                LOG.exception("policy %s could not be evaluated", policy.uid)
                fits = not policy.is_allowed
            if fits:
                fitting.append(policy)
        applicable = tuple(p.uid for p in fitting)
        if not fitting:
            return Decision(False, None, self.version, "no applicable policy (default deny)", ())
        for policy in fitting:
            if not policy.is_allowed:
                return Decision(False, policy.uid, self.version, f"denied by {policy.uid}",
                                applicable)
        first = fitting[0]
        return Decision(True, first.uid, self.version, f"permitted by {first.uid}", applicable)


def _subject_id(subject: Mapping[str, Any]) -> str:
    return str(subject.get("sub") or "")


def _resource_id(resource: Mapping[str, Any]) -> str:
    return str(resource.get("id") or "")


# --- validation -------------------------------------------------------------------------


def _flatten(errors: Any, path: list[str], out: list[PolicyProblem]) -> None:
    if isinstance(errors, dict):
        in_rules = len(path) >= 2 and path[0] == "rules" and path[1] in PARTS
        at_rule_keys = in_rules and (len(path) == 2 or (len(path) == 3 and path[2].isdigit()))
        for key, value in errors.items():
            step = [*path, str(key)]
            if at_rule_keys and isinstance(value, dict) and not str(key).isdigit():
                # marshmallow's Dict field wraps errors as {"key": ...} / {"value": ...}
                for wrapper, inner in value.items():
                    if wrapper in ("key", "value"):
                        _flatten(inner, step, out)
                    else:
                        _flatten(inner, [*step, str(wrapper)], out)
            else:
                _flatten(value, step, out)
    elif isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            for message in errors:
                out.append(PolicyProblem(".".join(path), message))
        else:
            for index, item in enumerate(errors):
                _flatten(item, [*path, str(index)], out)
    else:
        out.append(PolicyProblem(".".join(path), str(errors)))


def _check_conditions(condition: Any, path: str, problems: list[PolicyProblem]) -> None:
    """Unknown condition names, attribute references outside the vocabulary, unsafe regexes."""
    if isinstance(condition, list):
        for index, item in enumerate(condition):
            _check_conditions(item, f"{path}.{index}", problems)
        return
    if not isinstance(condition, dict):
        return
    name = condition.get("condition")
    if name is not None and name not in CONDITION_NAMES:
        problems.append(PolicyProblem(f"{path}.condition", f"unknown condition {name!r}"))
    if name == "RegexMatch" and isinstance(condition.get("value"), str):
        problem = regex_problem(condition["value"])
        if problem:
            problems.append(PolicyProblem(f"{path}.value", problem))
    ace, ref = condition.get("ace"), condition.get("path")
    if isinstance(ace, str) and isinstance(ref, str) and ace in VOCABULARY:
        _check_name(ace, ref, f"{path}.path", problems)
    for key in ("value", "values"):
        nested = condition.get(key)
        if name in {"Not", "AllOf", "AnyOf"} and isinstance(nested, dict | list):
            _check_conditions(nested, f"{path}.{key}", problems)


def _check_name(part: str, attribute_path: str, path: str, problems: list[PolicyProblem]) -> None:
    name = top_level_name(attribute_path)
    if name is None:
        problems.append(PolicyProblem(path, "attribute path must be a plain path like $.name"))
    elif name not in VOCABULARY[part]:
        allowed = ", ".join(sorted(VOCABULARY[part]))
        problems.append(
            PolicyProblem(path, f"unknown {part} attribute {name!r} (allowed: {allowed})")
        )


def validate_policy(document: Any) -> list[PolicyProblem]:
    """Everything wrong with a policy document, each problem with its path."""
    if not isinstance(document, dict):
        return [PolicyProblem("", "a policy must be a JSON object")]
    problems: list[PolicyProblem] = []
    for field in ("uid", "description", "effect"):
        value = document.get(field)
        if value is None:
            problems.append(PolicyProblem(field, "missing required field"))
        elif not isinstance(value, str) or not value.strip():
            problems.append(PolicyProblem(field, "must be a non-empty string"))
    uid = document.get("uid")
    if isinstance(uid, str) and uid.strip() and _UID.fullmatch(uid) is None:
        problems.append(
            PolicyProblem("uid", "use letters, digits and . _ : - only (at most 200)")
        )
    effect = document.get("effect")
    if isinstance(effect, str) and effect.strip() and effect not in ("allow", "deny"):
        problems.append(PolicyProblem("effect", "must be 'allow' or 'deny'"))
    if "rules" not in document:
        problems.append(PolicyProblem("rules", "missing required field"))
    if "targets" not in document:
        problems.append(PolicyProblem("targets", "missing required field (use {} for any)"))

    rules = document.get("rules")
    if isinstance(rules, dict):
        for part in rules:
            if part not in PARTS:
                problems.append(PolicyProblem(f"rules.{part}", "unknown rules part"))
        for part in PARTS:
            value = rules.get(part)
            groups = (
                [(f"rules.{part}", value)]
                if isinstance(value, dict)
                else [(f"rules.{part}.{i}", g) for i, g in enumerate(value)]
                if isinstance(value, list)
                else []
            )
            for prefix, group in groups:
                if not isinstance(group, dict):
                    continue
                for attribute_path, condition in group.items():
                    path = f"{prefix}.{attribute_path}"
                    _check_name(part, str(attribute_path), path, problems)
                    _check_conditions(condition, path, problems)

    schema_problems: list[PolicyProblem] = []
    try:
        Policy.from_json(document)
    except PolicyCreateError as error:
        _flatten(error.args[0] if error.args else str(error), [], schema_problems)
    except Exception as error:  # py-abac raises plain errors on some malformed input
        schema_problems.append(PolicyProblem("", f"not a valid policy: {error}"))
    seen = {(p.path, p.message) for p in problems}
    seen_paths = {p.path for p in problems}
    for problem in schema_problems:
        if (problem.path, problem.message) in seen:
            continue
        if problem.path in seen_paths:
            continue  # already explained in our own words
        problems.append(problem)
    return problems
