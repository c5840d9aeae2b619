"""Issue 14 item 7: what /metrics tells beside per-path HTTP counts: GraphQL operations by
name and outcome with their latency, policy decisions by outcome, audit events written,
rate-limit refusals and the policy set's version; operation names a bounded label. Several
workers adding up: tests/api/test_served_observability.py."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from api.metrics import OPERATION_NAMES, Metrics
from policies.store import policy_set_version
from tests.factories import CLERK_DONGCHENG, EMPLOYER, JUDGE, REPORT, Registry, report_input
from tests.security.conftest import audit_count, serve

LIST = "query Listing { judgments(first: 5) { totalCount edges { node { id } } } }"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and sorted labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_operations_decisions_audit_events_and_the_policy_version(
        registry: Registry) -> None:
    assert "errors" not in await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    for _ in range(2):
        assert "errors" not in await registry.gql(LIST, as_=CLERK_DONGCHENG)
    denied = await registry.gql(LIST, as_=EMPLOYER)  # nothing visible: a denial, audited
    assert denied["data"]["judgments"]["totalCount"] == 0
    assert "data" not in await registry.gql("{ me { ", as_=CLERK_DONGCHENG)  # never ran

    found = samples((await registry.http.get("/metrics")).text)
    ops = "registry_graphql_operations_total"
    assert value(found, ops, operation="Report", outcome="ok") == 1
    assert value(found, ops, operation="Listing", outcome="ok") == 3
    assert value(found, ops, operation="anonymous", outcome="refused") == 1
    assert value(found, "registry_graphql_operation_seconds_count", operation="Listing") == 3
    assert value(found, "registry_decisions_total", outcome="permit") > 0
    assert value(found, "registry_decisions_total", outcome="deny") > 0
    assert value(found, "registry_audit_events_total") == await audit_count(registry) > 0
    async with registry.app.state.registry.database.session() as session:
        version = await policy_set_version(session)
    assert value(found, "registry_policy_set_version") == version > 0
    assert value(found, "registry_rate_limited_total") == 0


async def test_rate_limit_refusals_are_counted(registry: Registry) -> None:
    async with serve(registry.settings.with_(rate_bucket=4, rate_restore=0.001)) as small:
        token = small.token(*CLERK_DONGCHENG)
        for _ in range(3):  # `me { sub role }` costs 3: the second and third do not fit
            await small.http.post("/graphql", json={"query": "query Me { me { sub role } }"},
                                  headers={"Authorization": f"Bearer {token}"})
        found = samples((await small.http.get("/metrics")).text)
    assert value(found, "registry_rate_limited_total") == 2
    assert value(found, "registry_graphql_operations_total", operation="Me",
                 outcome="rate_limited") == 2
    assert value(found, "registry_graphql_operations_total", operation="Me", outcome="ok") == 1


async def test_operation_names_are_a_bounded_label() -> None:
    metrics = Metrics()
    for n in range(OPERATION_NAMES + 10):
        metrics.observe_operation(f"Portal{n}", "ok", 0.01, permits=1, denials=0,
                                  audit_events=0)
    metrics.observe_operation("Q110101199005170016", "ok", 0.01, permits=0, denials=0,
                              audit_events=0)
    metrics.observe_operation("Portal0", "ok", 0.01, permits=0, denials=0, audit_events=0)
    found = samples((await metrics.exposition(_NoPolicies())).decode())
    names = {dict(labels)["operation"] for name, labels in found
             if name == "registry_graphql_operations_total"}
    assert len(names) == OPERATION_NAMES + 1
    assert "other" in names and "Q110101199005170016" not in names
    assert value(found, "registry_graphql_operations_total", operation="other",
                 outcome="ok") == 11
    assert value(found, "registry_graphql_operations_total", operation="Portal0",
                 outcome="ok") == 2
    assert value(found, "registry_decisions_total", outcome="permit") == OPERATION_NAMES + 10


class _NoPolicies:
    async def current(self) -> object:
        raise ConnectionError("no database here")
