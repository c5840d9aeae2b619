"""The decision cache never changes a decision: a cached answer equals a fresh evaluation."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.actions import Action
from policies.pdp import DecisionPoint
from policies.store import load_default_documents

POINT = DecisionPoint(load_default_documents(), 1)

subjects = st.fixed_dictionaries(
    {"sub": st.sampled_from(["u1", "u2"]),
     "role": st.sampled_from(["registry_clerk", "judge", "employer", "auditor",
                              "security_admin", "anonymous", ""]),
     "agency_kind": st.sampled_from(["registration_authority", "court", ""]),
     "region": st.sampled_from(["110101", "310000", ""])},
    optional={"in_requester_division": st.sampled_from(["yes", "no"]),
              "scopes": st.lists(st.sampled_from(["a", "b"]))},
)
resources = st.fixed_dictionaries(
    {"type": st.sampled_from(["judgment", "offender", "policy", "audit", "notice", "agency",
                              "subject"]),
     "id": st.sampled_from(["jdg_1", "jdg_2", "x"])},
    optional={"seal_status": st.sampled_from(["open", "sealed"]),
              "in_requester_division": st.sampled_from(["yes", "no", 1, True]),
              "verdict": st.sampled_from(["guilty", "acquitted"])},
)
contexts = st.fixed_dictionaries(
    {}, optional={"purpose": st.sampled_from(["case_handling", "defense", None]),
                  "case_number": st.text(max_size=3)},
)


@settings(max_examples=400, deadline=None)
@given(subjects, resources, st.sampled_from(list(Action)), contexts)
def test_a_cached_decision_equals_a_fresh_evaluation(
    subject: dict[str, Any], resource: dict[str, Any], action: Action, context: dict[str, Any]
) -> None:
    cached = POINT.decide(subject, resource, action, context)
    fresh = POINT._evaluate(subject, resource, action, context)
    assert cached == fresh
