"""No N+1 (DESIGN.md §2, §3): a page of judgments with every field costs a fixed number of
SQL statements, whatever its size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from db.models import ExecutionEvent, Judgment
from tests.factories import (
    CLERK_BEIJING,
    CLERK_DONGCHENG,
    JUDGE,
    JUDGE_SHANGHAI,
    REPORT,
    Registry,
    id_number,
    report_input,
)

EVERYTHING = """query Page($first: Int!) {
  judgments(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id judgmentNumber prosecutor judgmentDate effectiveDate offenseDate ageAtOffense
      sealStatus
      court { code kind name region }
      crimes { name article }
      penalty { kind termMonths probationMonths supplementary fineAmount }
      execution { kind date }
      offender { id name idNumber birthDate gender residenceRegion detentions { id } }
    } }
  }
}"""

MAX_STATEMENTS = 15


@contextmanager
def counting(registry: Registry) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = registry.app.state.registry.database.engine.sync_engine

    def before_cursor_execute(conn: Any, cursor: Any, statement: str, parameters: Any,
                              context: Any, executemany: bool) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


async def seed(registry: Registry, count: int = 25) -> None:
    for n in range(count):
        region = ("110101", "110105")[n % 2]
        birth = date(2010, 1, 1) if n % 3 == 0 else date(1990, 5, 17)  # some sealed
        value = report_input(defendant={"idNumber": id_number(region, birth),
                                        "birthDate": birth.isoformat(),
                                        "residenceRegion": region},
                             crimes=[{"name": "Theft", "article": "Art. 264"},
                                     {"name": "Fraud", "article": "Art. 266"}])
        body = await registry.gql(REPORT, {"input": value},
                                  as_=JUDGE if n % 4 else JUDGE_SHANGHAI)
        assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
    # Execution events on every judgment (reported by prisons; written directly here).
    async with registry.app.state.registry.database.session() as session:
        for judgment_id in (await session.scalars(select(Judgment.id))).all():
            session.add(ExecutionEvent(judgment_id=judgment_id, kind="RELEASED",
                                       date=date(2027, 9, 1)))
        await session.commit()


async def statements_for(registry: Registry, principal: tuple[str, str, str | None],
                         first: int) -> tuple[int, dict[str, Any]]:
    with counting(registry) as statements:
        body = await registry.gql(EVERYTHING, {"first": first}, as_=principal)
    assert "errors" not in body, body
    return len(statements), body


async def test_a_page_costs_the_same_few_statements_for_5_and_for_20_rows(
        registry: Registry) -> None:
    await seed(registry)
    for principal in (CLERK_BEIJING, CLERK_DONGCHENG):
        await statements_for(registry, principal, 1)  # warm caches (policies, agencies)
        five, small = await statements_for(registry, principal, 5)
        twenty, large = await statements_for(registry, principal, 20)
        assert len(small["data"]["judgments"]["edges"]) == 5
        expected = min(20, large["data"]["judgments"]["totalCount"])
        assert len(large["data"]["judgments"]["edges"]) == expected
        assert expected > 5
        node = large["data"]["judgments"]["edges"][0]["node"]
        assert node["court"]["code"] and node["offender"]["id"] and node["crimes"]
        assert node["execution"] == [{"kind": "RELEASED", "date": "2027-09-01"}]
        assert twenty == five, (principal, five, twenty)
        assert five < MAX_STATEMENTS, (principal, five)


async def test_a_denied_page_costs_no_more_than_an_allowed_one(registry: Registry) -> None:
    await seed(registry)
    await statements_for(registry, JUDGE, 1)
    denied, body = await statements_for(registry, JUDGE, 20)
    assert body["data"]["judgments"]["edges"] == []
    allowed, _ = await statements_for(registry, CLERK_BEIJING, 20)
    assert denied <= allowed < MAX_STATEMENTS


WITHOUT_TOTAL = """{ judgments(first: 20) { pageInfo { hasNextPage endCursor }
  edges { cursor node { id offender { id name } } } } }"""
# totalCount under an alias, in a named fragment and in an inline one (one merged field).
TOTAL_IN_FRAGMENTS = """query { judgments(first: 20) { ...Counted ... on JudgmentConnection {
  again: totalCount } edges { cursor node { id } } } }
fragment Counted on JudgmentConnection { n: totalCount }"""


def counts(statements: list[str]) -> int:
    """Statements that count rows, or sum the kept counts of judgments (migration 0013)."""
    return sum("count(" in s.lower() or "judgment_tally" in s for s in statements)


async def test_a_page_that_does_not_ask_for_its_total_counts_nothing(registry: Registry) -> None:
    await seed(registry)
    await statements_for(registry, CLERK_BEIJING, 1)
    with counting(registry) as statements:
        body = await registry.gql(WITHOUT_TOTAL, as_=CLERK_BEIJING)
    assert "errors" not in body, body
    assert len(body["data"]["judgments"]["edges"]) == 20
    assert counts(statements) == 0 and len(statements) < MAX_STATEMENTS
    _, counted = await statements_for(registry, CLERK_BEIJING, 20)
    with counting(registry) as statements:
        aliased = await registry.gql(TOTAL_IN_FRAGMENTS, as_=CLERK_BEIJING)
    assert counts(statements) == 1
    total = counted["data"]["judgments"]["totalCount"]
    assert aliased["data"]["judgments"]["n"] == aliased["data"]["judgments"]["again"] == total
    assert total == 25


async def test_a_division_total_is_summed_from_kept_counts_not_counted_row_by_row(
        registry: Registry) -> None:
    await seed(registry)
    await statements_for(registry, CLERK_BEIJING, 1)
    query = """{ all: judgments(first: 1) { totalCount }
                 sealed: judgments(first: 1, filter: {sealStatus: SEALED}) { totalCount } }"""
    with counting(registry) as statements:
        body = await registry.gql(query, as_=CLERK_BEIJING)
    assert body["data"] == {"all": {"totalCount": 25}, "sealed": {"totalCount": 9}}, body
    assert not any("count(" in s.lower() for s in statements)
    assert sum("judgment_tally" in s for s in statements) == 2


async def test_a_backward_page_costs_the_same_statements_as_a_forward_one(
        registry: Registry) -> None:
    await seed(registry)
    backward = EVERYTHING.replace("$first: Int!", "$last: Int!").replace("first: $first",
                                                                         "last: $last")
    await statements_for(registry, CLERK_BEIJING, 1)
    forward, _ = await statements_for(registry, CLERK_BEIJING, 20)
    for last in (5, 20):
        with counting(registry) as statements:
            body = await registry.gql(backward, {"last": last}, as_=CLERK_BEIJING)
        assert "errors" not in body, body
        assert len(body["data"]["judgments"]["edges"]) == last
        assert len(statements) == forward, (last, forward, len(statements))


async def test_a_page_of_none_costs_no_more_than_a_page_of_rows(registry: Registry) -> None:
    await seed(registry)
    await statements_for(registry, CLERK_BEIJING, 1)
    none, body = await statements_for(registry, CLERK_BEIJING, 0)
    assert body["data"]["judgments"]["pageInfo"]["hasNextPage"] is True
    rows, _ = await statements_for(registry, CLERK_BEIJING, 20)
    assert none <= rows


PAGE = ("{ judgments(first: 20) { edges { node { id judgmentNumber judgmentDate "
        "crimes { name } penalty { kind termMonths } court { code } sealStatus "
        "offender { name birthDate } } } } }")


async def test_a_page_of_judgments_reads_its_people_and_courts_in_its_own_statement(
        registry: Registry) -> None:
    await seed(registry, 6)
    await registry.gql(PAGE, as_=CLERK_BEIJING)  # warm caches (policies, agencies)
    with counting(registry) as statements:
        body = await registry.gql(PAGE, as_=CLERK_BEIJING)
    edges = body["data"]["judgments"]["edges"]
    assert len(edges) == 6 and all(e["node"]["offender"]["name"] and e["node"]["court"]
                                   for e in edges)
    reads = [" ".join(s.split()) for s in statements if s.lstrip().upper().startswith("SELECT")]
    pages = [s for s in reads if "FROM judgment" in s]
    assert len(pages) == 1, [s[:300] for s in reads]
    assert "JOIN offender" in pages[0] and "JOIN agency" in pages[0]
    # No loader read them after (the requester's own agency, by code, is the context's).
    assert not [s for s in reads if "FROM offender" in s or "FROM agency WHERE agency.id" in s]
