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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import re2  # google-re2, untyped: mypy sees Any
from marshmallow import post_load
from py_abac import Policy
from py_abac.context import EvaluationContext
from py_abac.exceptions import PolicyCreateError
from py_abac.policy.conditions.schema import ConditionSchema
from py_abac.policy.conditions.string.base import StringConditionSchema
from py_abac.policy.conditions.string.regex_match import RegexMatch as AbacRegexMatch
from py_abac.request import AccessRequest
from py_abac.storage.memory import MemoryStorage

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


# --- patterns ---------------------------------------------------------------------------
#
# py-abac runs RegexMatch with Python's re, which backtracks: `a*a*a*a*a*a*a*a*b` takes
# seconds on 40 letters. RE2 takes time linear in the text times the size of its program,
# and refuses what it cannot run that way (backreferences, lookaround). Two bounds keep the
# factors small: a compile budget caps the program (RE2 refuses a bigger one), and a text
# longer than any attribute value has (OIDC caps `sub` at 255) is not read by a pattern or a
# target glob at all: the condition cannot be decided, so its policy fails closed.

PATTERN_BUDGET = 64 * 1024  # bytes for one pattern's RE2 program and its DFA cache
MAX_MATCHED_LENGTH = 256  # characters


class PatternError(ValueError):
    """A pattern or target glob that cannot be decided; its policy fails closed."""


def compile_pattern(pattern: str, *, case_insensitive: bool = False
                    ) -> tuple[Any, str | None]:
    """(its RE2 program, None), or (None, why RE2 cannot run `pattern`, for its author)."""
    options = re2.Options()
    options.max_mem = PATTERN_BUDGET
    options.never_capture = True  # only "does it match": the DFA, no submatches
    options.log_errors = False
    options.case_sensitive = not case_insensitive
    try:
        return re2.compile(pattern, options), None
    except UnicodeError:  # a lone surrogate, as JSON's "\\ud800"
        return None, "RE2 cannot run this pattern: it is not valid Unicode"
    except re2.error as error:
        reason = error.args[0] if error.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return None, (f"RE2 cannot run this pattern: {reason} (RE2 syntax: no backreferences "
                      "or lookaround, end of text is \\z, counts up to 1000)")


class RegexMatch(AbacRegexMatch):  # type: ignore[misc]
    """py-abac's RegexMatch run by RE2 (same name: py-abac dumps a condition by class name).

    A pattern RE2 cannot run still loads (a policy stored before RE2 decided must not stop
    the service); it raises when evaluated, so its policy fails closed."""

    def __init__(self, value: str, case_insensitive: bool = False) -> None:
        super().__init__(value, case_insensitive)
        self._program, self._problem = compile_pattern(
            value, case_insensitive=self.case_insensitive)

    def _is_satisfied(self, what: str) -> bool:
        if self._program is None:
            raise PatternError(self._problem)
        if len(what) > MAX_MATCHED_LENGTH:
            raise PatternError(f"a text longer than {MAX_MATCHED_LENGTH} characters")
        try:
            return self._program.search(what) is not None
        except UnicodeError:
            raise PatternError("a text that is not valid Unicode") from None


class _RegexMatchSchema(StringConditionSchema):  # type: ignore[misc]
    """`value` and `case_insensitive` as py-abac's other string conditions; no re.compile."""

    @post_load
    def post_load(self, data: dict[str, Any], **_: Any) -> RegexMatch:
        return RegexMatch(**data)


# py-abac finds a condition's schema by name in this table: RegexMatch is RE2's from here on.
ConditionSchema.type_schemas[AbacRegexMatch.__name__] = _RegexMatchSchema


def _globs(ids: Any) -> bool:
    """Whether a target (a glob or a list of them) reads the id at all."""
    return any(glob != "*" for glob in (ids if isinstance(ids, list) else [ids]))


def _fits(policy: Policy, ctx: EvaluationContext) -> bool:
    """`policy.fits`, except that a target glob only reads ids of MAX_MATCHED_LENGTH.

    fnmatch (Python's re with atomic groups) is linear in the id, times the glob's length;
    bounding the id keeps the product small whatever the glob."""
    if not policy.rules.is_satisfied(ctx):
        return False
    targets = policy.targets
    for ids, value in ((targets.subject_id, ctx.subject_id),
                       (targets.resource_id, ctx.resource_id),
                       (targets.action_id, ctx.action_id)):
        if _globs(ids) and len(value) > MAX_MATCHED_LENGTH:
            raise PatternError(f"an id longer than {MAX_MATCHED_LENGTH} characters")
    return bool(targets.match(ctx))


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


def action_names(documents: Iterable[Mapping[str, Any] | None]) -> frozenset[str] | None:
    """The action names any of `documents` can apply to (None: not plainly stated)."""
    names: set[str] = set()
    for document in documents:
        if document is None:
            continue
        found = _action_names(document)
        if found is None:
            return None
        names |= found
    return frozenset(names)


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
            for path, problem in _pattern_problems(document):
                LOG.warning("policy %s: %s: %s; it fails closed", policy.uid, path, problem)
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
                fits = _fits(policy, ctx)
            except PatternError as error:
                LOG.warning("policy %s could not be evaluated: %s", policy.uid, error)
                fits = not policy.is_allowed
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


def _conditions(condition: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every condition document nested in `condition`, with its path."""
    if isinstance(condition, list):
        for index, item in enumerate(condition):
            yield from _conditions(item, f"{path}.{index}")
        return
    if not isinstance(condition, dict):
        return
    yield path, condition
    if condition.get("condition") in ("Not", "AllOf", "AnyOf"):  # a tuple: a list is no key
        for key in ("value", "values"):
            nested = condition.get(key)
            if isinstance(nested, dict | list):
                yield from _conditions(nested, f"{path}.{key}")


def _rule_conditions(document: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """(part, attribute path, problem path, condition) of every rule of a document."""
    rules = document.get("rules")
    if not isinstance(rules, dict):
        return
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
            if isinstance(group, dict):
                for attribute_path, condition in group.items():
                    yield part, str(attribute_path), f"{prefix}.{attribute_path}", condition


def _pattern_problem_of(condition: Mapping[str, Any]) -> str | None:
    if condition.get("condition") != "RegexMatch" or not isinstance(condition.get("value"), str):
        return None
    _, problem = compile_pattern(condition["value"],
                                 case_insensitive=bool(condition.get("case_insensitive")))
    return problem


def _pattern_problems(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for _, _, rule_path, rule in _rule_conditions(document):
        for path, condition in _conditions(rule, rule_path):
            problem = _pattern_problem_of(condition)
            if problem:
                yield f"{path}.value", problem


def _check_conditions(condition: Any, path: str, problems: list[PolicyProblem]) -> None:
    """Unknown condition names, attribute references outside the vocabulary, patterns RE2
    cannot run."""
    for where, node in _conditions(condition, path):
        name = node.get("condition")
        if name is not None and not isinstance(name, str):  # a list or object: unhashable
            problems.append(PolicyProblem(f"{where}.condition", "must be the name of a condition"))
            continue
        if name is not None and name not in CONDITION_NAMES:
            problems.append(PolicyProblem(f"{where}.condition", f"unknown condition {name!r}"))
        pattern = _pattern_problem_of(node)
        if pattern:
            problems.append(PolicyProblem(f"{where}.value", pattern))
        ace, ref = node.get("ace"), node.get("path")
        if isinstance(ace, str) and isinstance(ref, str) and ace in VOCABULARY:
            _check_name(ace, ref, f"{where}.path", problems)


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
    for part, attribute_path, path, condition in _rule_conditions(document):
        _check_name(part, attribute_path, path, problems)
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
