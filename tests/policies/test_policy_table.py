"""The policy test table (policies/table.py) against the default policy set: every row's
decision, and the table's own shape (unique names, allow and deny rows for every action
the defaults grant, attributes inside the vocabulary)."""

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from policies.actions import Action
from policies.pdp import DecisionPoint
from policies.store import load_default_documents
from policies.table import TABLE, VOCABULARY_BYPASSES, TableRow
from policies.vocabulary import VOCABULARY


@pytest.fixture(scope="module")
def decision_point() -> DecisionPoint:
    return DecisionPoint(load_default_documents(), version=1)


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.name)
def test_the_default_policy_set_decides_every_row_of_the_policy_test_table(
        decision_point: DecisionPoint, row: TableRow) -> None:
    decision = decision_point.decide(row.subject, row.resource, row.action, row.context)
    assert decision.allowed is row.expected, decision.reason


def test_row_names_are_unique() -> None:
    names = [row.name for row in TABLE]
    assert sorted(n for n in names if names.count(n) > 1) == []


def test_the_table_stays_small_enough_to_preview_a_change() -> None:
    assert 300 <= len(TABLE) < 2_000


def _action_names(rules: Mapping[str, Any]) -> Iterable[str]:
    groups = rules.get("action") or {}
    for group in groups if isinstance(groups, list) else [groups]:
        condition = group.get("$.name", {})
        if condition.get("condition") == "Equals":
            yield condition["value"]
        elif condition.get("condition") == "IsIn":
            yield from condition["values"]


def test_every_action_has_an_allow_row_and_a_deny_row() -> None:
    granted = {name for document in load_default_documents() if document["effect"] == "allow"
               for name in _action_names(document["rules"])}
    assert granted <= {action.value for action in Action}
    covered = {(row.action, row.expected) for row in TABLE}
    for action in sorted(granted):
        assert (action, True) in covered, action
        assert (action, False) in covered, action


def test_every_action_appears_in_the_table() -> None:
    assert {action.value for action in Action} - {row.action for row in TABLE} == set()


def test_every_row_asks_in_the_full_context_the_app_uses() -> None:
    for row in TABLE:
        assert set(row.context) == VOCABULARY["context"], row.name


def test_table_attributes_stay_inside_the_vocabulary() -> None:
    """Except the documented bypass rows, which inject an unknown key on purpose."""
    bypassing = set()
    for row in TABLE:
        parts = {"subject": row.subject, "resource": row.resource, "context": row.context}
        outside = {part: set(attributes) - VOCABULARY[part]
                   for part, attributes in parts.items() if set(attributes) - VOCABULARY[part]}
        if row.principal in VOCABULARY_BYPASSES or row.resource_name in VOCABULARY_BYPASSES:
            bypassing.add(row.principal if row.principal in VOCABULARY_BYPASSES
                          else row.resource_name)
            assert outside, f"{row.name}: a bypass row without an out-of-vocabulary key"
        else:
            assert outside == {}, row.name
    assert bypassing == VOCABULARY_BYPASSES


def test_rows_are_data_a_preview_cannot_change() -> None:
    row = TABLE[0]
    with pytest.raises(AttributeError):
        row.expected = not row.expected  # type: ignore[misc]
