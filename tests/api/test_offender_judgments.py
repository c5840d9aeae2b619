"""`Offender.judgments` is loaded for a whole page of offenders at once (DESIGN.md §2)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, id_number, report_input

QUERY = """query($first: Int!) { offenders(first: $first) { totalCount edges { node { idNumber
  judgments(first: 1) { totalCount edges { node { judgmentNumber } } pageInfo { hasNextPage } }
} } } }"""


async def report_people(registry: Registry, people: int, judgments_each: int) -> None:
    for _ in range(people):
        person = id_number()
        for _ in range(judgments_each):
            await registry.gql(REPORT, {"input": report_input(defendant={"idNumber": person})},
                               as_=JUDGE)


async def statements(registry: Registry, first: int) -> tuple[int, dict[str, Any]]:
    engine = registry.app.state.registry.database.engine.sync_engine
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        body = await registry.gql(QUERY, {"first": first}, as_=CLERK_DONGCHENG)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), body


async def test_offenders_with_their_judgments_cost_the_same_queries_whatever_the_page_size(
        registry: Registry) -> None:
    await report_people(registry, people=6, judgments_each=2)
    await registry.gql("{ me { sub } }", as_=CLERK_DONGCHENG)  # loads the policy set
    few, small = await statements(registry, 2)
    many, large = await statements(registry, 6)
    assert few == many
    assert len(large["data"]["offenders"]["edges"]) == 6


async def test_each_offender_gets_its_own_page_and_count_of_judgments(registry: Registry) -> None:
    await report_people(registry, people=3, judgments_each=2)
    _, body = await statements(registry, 3)
    for edge in body["data"]["offenders"]["edges"]:
        judgments = edge["node"]["judgments"]
        assert judgments["totalCount"] == 2
        assert len(judgments["edges"]) == 1
        assert judgments["pageInfo"]["hasNextPage"] is True
