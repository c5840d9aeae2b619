"""A conservative static check for regular expressions that can backtrack catastrophically.

A policy's RegexMatch runs on attribute values a requester controls, so a pattern such
as `(a+)+$` would let one request occupy a worker for minutes (ReDoS). Refused: inside
an unbounded repeat, another unbounded repeat, a body that can match the empty string,
or an alternation whose branches are not distinct single literals. That refuses some
safe patterns too; policy authors can always rewrite them.
"""

import re

# re._parser is the parser that re itself uses (sre_parse before 3.11, deprecated alias).
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

_MAXREPEAT = sre_parse.MAXREPEAT
_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT}


def _subpatterns(op: Any, av: Any) -> list[Any]:
    if op in _REPEATS:
        return [av[2]]
    if op is sre_parse.SUBPATTERN:
        return [av[-1]]
    if op is sre_parse.BRANCH:
        return list(av[1])
    if op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
        return [av[1]]
    if op is sre_parse.GROUPREF_EXISTS:
        return [branch for branch in av[1:] if branch is not None]
    if op is sre_parse.ATOMIC_GROUP:
        return [av]
    return []


def _has_unbounded_repeat(pattern: Any) -> bool:
    for op, av in pattern:
        if op in _REPEATS and av[1] == _MAXREPEAT:
            return True
        if any(_has_unbounded_repeat(sub) for sub in _subpatterns(op, av)):
            return True
    return False


def _has_ambiguous_branch(pattern: Any) -> bool:
    for op, av in pattern:
        if op is sre_parse.BRANCH:
            firsts = []
            for branch in av[1]:
                items = list(branch)
                if len(items) != 1 or items[0][0] is not sre_parse.LITERAL:
                    return True
                firsts.append(items[0][1])
            if len(set(firsts)) != len(firsts):
                return True
        if any(_has_ambiguous_branch(sub) for sub in _subpatterns(op, av)):
            return True
    return False


def _nested_problem(pattern: Any) -> str | None:
    for op, av in pattern:
        if op in _REPEATS and av[1] == _MAXREPEAT:
            body = av[2]
            if body.getwidth()[0] == 0:
                return "a repeated part can match the empty string (catastrophic backtracking)"
            if _has_unbounded_repeat(body):
                return "nested unbounded repetition (catastrophic backtracking)"
            if _has_ambiguous_branch(body):
                return "alternation inside a repetition (catastrophic backtracking)"
        for sub in _subpatterns(op, av):
            problem = _nested_problem(sub)
            if problem:
                return problem
    return None


def regex_problem(pattern: str) -> str | None:
    """None if the pattern is safe to run on requester-controlled input, else why not."""
    try:
        re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as error:
        return f"invalid regular expression: {error}"
    return _nested_problem(parsed)
