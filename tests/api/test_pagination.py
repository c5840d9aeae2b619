"""Relay pagination (CONTRACT.md §4): opaque, stable cursors; counts and pages that never
reveal a row the requester may not see (DESIGN.md §2, §3)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLObjectType, parse
from sqlmodel import select

from db.models import Judgment
from schema import build_schema
from schema.limits import LIST_FIELDS, Limits, default_page, examine
from tests.factories import (
    AUDITOR,
    CLERK_BEIJING,
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    JUDGE,
    JUDGE_SHANGHAI,
    LAWYER,
    REPORT,
    SECURITY_ADMIN,
    Registry,
    id_number,
    report_input,
)

Principal = tuple[str, str, str | None]

# The notices report_many sends are received today (UTC): a window around it.
TODAY = datetime.now(UTC).date()
PERIOD = f'from: "{TODAY - timedelta(days=3)}", to: "{TODAY + timedelta(days=1)}"'
UID = "auditor.reads-policies"  # a default policy: one version at least

PAGE = """query Page($first: Int!, $after: String) {
  judgments(first: $first, after: $after) {
    totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""

OFFENDER_PAGE = """query Page($first: Int!, $after: String) {
  offenders(first: $first, after: $after) {
    totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""


async def report_many(registry: Registry, count: int, region: str = "110101") -> None:
    judge = JUDGE_SHANGHAI if region.startswith("31") else JUDGE
    for _ in range(count):
        defendant = {"idNumber": id_number(region, date(1990, 5, 17)), "residenceRegion": region}
        body = await registry.gql(REPORT, {"input": report_input(defendant=defendant)},
                                  as_=judge)
        assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body


async def page(registry: Registry, principal: Principal, first: int, after: str | None = None,
               query: str = PAGE) -> dict[str, Any]:
    body = await registry.gql(query, {"first": first, "after": after}, as_=principal)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


async def walk(registry: Registry, principal: Principal, first: int,
               query: str = PAGE) -> list[dict[str, Any]]:
    pages, after = [], None
    while True:
        current = await page(registry, principal, first, after, query)
        pages.append(current)
        if not current["pageInfo"]["hasNextPage"]:
            return pages
        after = current["pageInfo"]["endCursor"]
        assert len(pages) < 50, "pagination does not end"


def b64decode(cursor: str) -> bytes:
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            return decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            continue
    return b""


async def test_paging_through_25_records_ten_at_a_time_visits_each_exactly_once(
        registry: Registry) -> None:
    await report_many(registry, 25)
    pages = await walk(registry, CLERK_DONGCHENG, 10)
    assert [len(p["edges"]) for p in pages] == [10, 10, 5]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    assert all(p["totalCount"] == 25 for p in pages)
    seen = [e["node"]["id"] for p in pages for e in p["edges"]]
    assert len(seen) == len(set(seen)) == 25
    async with registry.app.state.registry.database.session() as session:
        every = set((await session.scalars(select(Judgment.public_id))).all())
    assert set(seen) == every
    for p in pages:
        assert p["pageInfo"]["endCursor"] == p["edges"][-1]["cursor"]
    # Offenders page the same way.
    offenders = await walk(registry, CLERK_DONGCHENG, 10, OFFENDER_PAGE)
    seen = [e["node"]["id"] for p in offenders for e in p["edges"]]
    assert len(seen) == len(set(seen)) == 25


async def test_cursors_are_opaque_not_row_numbers(registry: Registry) -> None:
    await report_many(registry, 5)
    current = await page(registry, CLERK_DONGCHENG, 5)
    async with registry.app.state.registry.database.session() as session:
        row_ids = dict((await session.execute(select(Judgment.public_id, Judgment.id))).all())
    for edge in current["edges"]:
        cursor = edge["cursor"]
        assert not cursor.isdigit()
        decoded = b64decode(cursor).decode("utf-8", "replace")
        # No integer in it: neither the whole of it nor a delimited part of it.
        for part in re.split(r"[:|,;/=\s]", decoded):
            assert not part.isdigit(), (cursor, decoded)
        row_id = row_ids[edge["node"]["id"]]
        assert not re.search(rf"(?<![A-Za-z0-9_-]){row_id}(?![A-Za-z0-9_-])", decoded), \
            (cursor, decoded)


async def test_cursors_are_stable(registry: Registry) -> None:
    await report_many(registry, 12)
    first = await walk(registry, CLERK_DONGCHENG, 5)
    again = await walk(registry, CLERK_DONGCHENG, 5)
    assert first == again
    # A record added meanwhile does not make an old cursor skip or repeat a row.
    cursor = first[0]["pageInfo"]["endCursor"]
    before = [e["node"]["id"] for p in first for e in p["edges"]][5:]
    await report_many(registry, 3)
    rest, after = [], cursor
    while True:
        current = await page(registry, CLERK_DONGCHENG, 5, after)
        rest += [e["node"]["id"] for e in current["edges"]]
        if not current["pageInfo"]["hasNextPage"]:
            break
        after = current["pageInfo"]["endCursor"]
    assert set(before) <= set(rest)
    assert len(rest) == len(set(rest))
    same = await page(registry, CLERK_DONGCHENG, 100)
    by_id = {e["node"]["id"]: e["cursor"] for e in same["edges"]}
    for p in first:
        for edge in p["edges"]:
            assert by_id[edge["node"]["id"]] == edge["cursor"]


async def test_total_count_counts_only_visible_rows(registry: Registry) -> None:
    await report_many(registry, 25)
    await report_many(registry, 3, region="310101")
    await report_many(registry, 2, region="110105")
    expected = {CLERK_DONGCHENG: 25, CLERK_BEIJING: 27, CLERK_SHANGHAI: 3, LAWYER: 0}
    for principal, total in expected.items():
        for first in (0, 1, 10, 100):
            current = await page(registry, principal, first)
            assert current["totalCount"] == total, (principal, first)
            assert len(current["edges"]) == min(first, total)
            if first:
                assert current["pageInfo"]["hasNextPage"] == (total > first), (principal, first)
        pages = await walk(registry, principal, 10)
        assert sum(len(p["edges"]) for p in pages) == total


@pytest.mark.parametrize("after", [
    "garbage", "!!!!", "", "0", "10", "MTA", "YzE6", "bm90IGEgY3Vyc29y", "%00", "😀",
    "YzE6" + "QUFB" * 40,
])
@pytest.mark.parametrize("query", [PAGE, OFFENDER_PAGE], ids=["judgments", "offenders"])
async def test_a_garbage_after_is_bad_user_input_naming_after(
        registry: Registry, after: str, query: str) -> None:
    await report_many(registry, 2)
    body = await registry.gql(query, {"first": 5, "after": after}, as_=CLERK_DONGCHENG)
    if after == "YzE6":
        # "c1:" with an empty key is a cursor before the first row, or refused: either way
        # it shows nothing that the first page does not.
        if "errors" not in body:
            assert body == await registry.gql(query, {"first": 5}, as_=CLERK_DONGCHENG)
            return
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == "after", error


async def test_page_size_bounds(registry: Registry) -> None:
    await report_many(registry, 3)
    for query in (PAGE, OFFENDER_PAGE):
        empty = await page(registry, CLERK_DONGCHENG, 0, query=query)
        assert empty["edges"] == [] and empty["totalCount"] == 3
        assert empty["pageInfo"]["endCursor"] is None
        full = await page(registry, CLERK_DONGCHENG, 100, query=query)
        assert len(full["edges"]) == 3 and not full["pageInfo"]["hasNextPage"]
        for first in (101, 1000, -1):
            body = await registry.gql(query, {"first": first}, as_=CLERK_DONGCHENG)
            assert body["data"] is None, body
            [error] = body["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", (first, error)
            assert error["extensions"]["field"] == "first", (first, error)
    nested = await registry.gql("{ offenders(first: 1) { edges { node { "
                                "judgments(first: 101) { totalCount } } } } }",
                                as_=CLERK_DONGCHENG)
    assert nested["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}


async def test_another_requesters_cursors_reach_no_row_hidden_from_me(
        registry: Registry) -> None:
    await report_many(registry, 6)
    await report_many(registry, 6, region="110105")
    await report_many(registry, 4, region="310101")
    mine = {e["node"]["id"] for p in await walk(registry, CLERK_DONGCHENG, 100)
            for e in p["edges"]}
    assert len(mine) == 6
    beijing = [e["cursor"] for p in await walk(registry, CLERK_BEIJING, 3) for e in p["edges"]]
    assert len(beijing) == 12
    for cursor in beijing:
        for first in (1, 5, 100):
            current = await page(registry, CLERK_DONGCHENG, first, cursor)
            ids = {e["node"]["id"] for e in current["edges"]}
            assert ids <= mine, cursor
            assert current["totalCount"] == 6
            current = await page(registry, CLERK_SHANGHAI, first, cursor)
            assert current["totalCount"] == 4
            assert all(e["node"]["id"] not in mine for e in current["edges"])
            current = await page(registry, LAWYER, first, cursor)
            assert current == {"totalCount": 0, "edges": [],
                               "pageInfo": {"hasNextPage": False, "endCursor": None}}
    # Walking from a foreign cursor still visits only my rows, each once.
    seen: list[str] = []
    after: str | None = beijing[0]
    while True:
        current = await page(registry, CLERK_DONGCHENG, 2, after)
        seen += [e["node"]["id"] for e in current["edges"]]
        if not current["pageInfo"]["hasNextPage"]:
            break
        after = current["pageInfo"]["endCursor"]
    assert set(seen) <= mine and len(seen) == len(set(seen))


# --- `first` is exactly `Int = 20` (CONTRACT.md §4) -------------------------------------------

CONTRACT_LISTS = {"Query.offenders", "Query.judgments", "Query.inquiries", "Query.notices",
                  "Query.auditEvents", "Offender.judgments"}


def first_arguments() -> dict[str, tuple[str, Any]]:
    """Every field with a `first` argument: (its type, its default)."""
    found = {}
    for name, type_ in build_schema()._schema.type_map.items():
        if name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for field_name, field in type_.fields.items():
            argument = field.args.get("first")
            if argument is not None:
                found[f"{name}.{field_name}"] = (str(argument.type), argument.default_value)
    return found


def test_every_first_argument_is_a_nullable_int_defaulting_to_20_and_audit_events_to_50(
        ) -> None:
    found = first_arguments()
    assert CONTRACT_LISTS <= set(found)
    for name, (type_, default) in found.items():
        assert (type_, default) == ("Int", 50 if name == "Query.auditEvents" else 20), name


def test_the_cost_model_prices_an_absent_or_null_first_at_the_schemas_default() -> None:
    for name, (_, default) in first_arguments().items():
        field = name.split(".")[1]
        assert field in LIST_FIELDS, name
        assert default_page(field) == default, name
    limits = Limits(max_cost=10**9)

    def cost(document: str) -> int | None:
        return examine(parse(document), limits).costs[None]

    for field, default in (("judgments", 20), ("offenders", 20), ("inquiries", 20),
                           ("notices", 20), ("auditEvents", 50), ("policyHistory", 20),
                           ("reportingCompliance", 20), ("history", 20)):
        absent = cost(f"{{ {field} {{ edges {{ cursor }} }} }}")
        assert absent == cost(f"{{ {field}(first: null) {{ edges {{ cursor }} }} }}"), field
        assert absent == cost(f"{{ {field}(first: {default}) {{ edges {{ cursor }} }} }}")
        assert absent != cost(f"{{ {field}(first: 7) {{ edges {{ cursor }} }} }}"), field
    nested = "{ offenders(first: 1) { edges { node { judgments%s { totalCount } } } } }"
    assert cost(nested % "") == cost(nested % "(first: null)") == cost(nested % "(first: 20)")
    # A variable, null or not, is priced as the largest page it may ask for.
    variable = cost("query ($n: Int) { judgments(first: $n) { edges { cursor } } }")
    assert variable == cost("{ judgments(first: 100) { edges { cursor } } }")


NULLABLE_PAGE = """query Page($first: Int, $after: String) {
  judgments(first: $first, after: $after) {
    totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""


async def test_a_null_first_means_the_default_page_of_20(registry: Registry) -> None:
    await report_many(registry, 25)
    absent = await registry.gql("{ judgments { totalCount edges { cursor node { id } } "
                                "pageInfo { hasNextPage endCursor } } }", as_=CLERK_DONGCHENG)
    assert len(absent["data"]["judgments"]["edges"]) == 20
    assert absent["data"]["judgments"]["pageInfo"]["hasNextPage"] is True
    literal = await registry.gql("{ judgments(first: null) { totalCount edges { cursor node { "
                                 "id } } pageInfo { hasNextPage endCursor } } }",
                                 as_=CLERK_DONGCHENG)
    variable = await registry.gql(NULLABLE_PAGE, {"first": None}, as_=CLERK_DONGCHENG)
    unset = await registry.gql(NULLABLE_PAGE, {}, as_=CLERK_DONGCHENG)
    assert absent == literal == variable == unset
    # The rest of the pages, null all the way.
    after = absent["data"]["judgments"]["pageInfo"]["endCursor"]
    rest = await registry.gql(NULLABLE_PAGE, {"first": None, "after": after},
                              as_=CLERK_DONGCHENG)
    assert len(rest["data"]["judgments"]["edges"]) == 5


LISTS = {  # a list field, read with a nullable `first`, by someone who may list it
    "offenders": ("query P($first: Int) { offenders(first: $first) { totalCount } }",
                  CLERK_DONGCHENG),
    "judgments": ("query P($first: Int) { judgments(first: $first) { totalCount } }",
                  CLERK_DONGCHENG),
    "inquiries": ("query P($first: Int) { inquiries(first: $first) { totalCount } }",
                  AUDITOR),
    "notices": ("query P($first: Int) { notices(first: $first) { totalCount } }",
                CLERK_DONGCHENG),
    "auditEvents": ("query P($first: Int) { auditEvents(first: $first) { totalCount } }",
                    AUDITOR),
    "Offender.judgments": ("query P($first: Int) { offenders(first: 1) { edges { node { "
                           "judgments(first: $first) { totalCount } } } } }", CLERK_DONGCHENG),
    "policyHistory": ('query P($first: Int) { policyHistory(uid: "' + UID + '", first: $first)'
                      " { totalCount } }", SECURITY_ADMIN),
    "reportingCompliance": ("query P($first: Int) { reportingCompliance(" + PERIOD
                            + ", first: $first) { totalCount } }", AUDITOR),
    "Judgment.history": ("query P($first: Int) { judgments(first: 1) { edges { node { "
                         "history(first: $first) { totalCount } } } } }", CLERK_DONGCHENG),
}


async def correct_every_judgment(registry: Registry, months: int = 10) -> None:
    """One more earlier version for each judgment: a clerk of their division corrects its
    term to `months`."""
    every = await page(registry, CLERK_DONGCHENG, 100)
    for edge in every["edges"]:
        body = await registry.gql(
            """mutation C($id: ID!, $input: CorrectJudgmentInput!) { correctJudgment(
                 id: $id, input: $input, reason: "term mistyped") { notice { id } } }""",
            {"id": edge["node"]["id"],
             "input": {"penalty": {"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": months}}},
            as_=CLERK_DONGCHENG)
        assert "errors" not in body, body


@pytest.mark.parametrize("field", sorted(LISTS))
async def test_every_list_takes_a_nullable_first_and_still_refuses_a_page_size_out_of_bounds(
        registry: Registry, field: str) -> None:
    await report_many(registry, 2)
    query, who = LISTS[field]
    for first in (None, 0, 1, 100):
        body = await registry.gql(query, {"first": first}, as_=who)
        assert "errors" not in body, (first, body)
    for first in (-1, 101, 2**31 - 1):
        body = await registry.gql(query, {"first": first}, as_=who)
        assert body["data"] is None, (first, body)
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}, (first, body)
    literal = await registry.gql(query.replace("$first", "null").replace(
        "query P(null: Int) ", ""), as_=who)
    assert "errors" not in literal, literal
    if field != "auditEvents":  # each read of the audit trail is itself an event
        assert literal == await registry.gql(query, {"first": None}, as_=who)


# --- `first: 0`, and backward paging (Relay: `last`, `before`) ------------------------------

BACK = """query Back($last: Int, $before: String) {
  judgments(last: $last, before: $before) { totalCount edges { cursor node { id } }
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }"""

OFFENDER_BACK = BACK.replace("judgments(", "offenders(")


async def walk_back(registry: Registry, principal: Principal, last: int,
                    query: str = BACK) -> list[dict[str, Any]]:
    pages, before = [], None
    while True:
        body = await registry.gql(query, {"last": last, "before": before}, as_=principal)
        assert "errors" not in body, body
        current = next(iter(body["data"].values()))
        pages.append(current)
        if not current["pageInfo"]["hasPreviousPage"]:
            return pages
        before = current["pageInfo"]["startCursor"]
        assert len(pages) < 50, "pagination does not end"


async def test_a_page_of_first_0_says_whether_rows_wait_beyond_it(registry: Registry) -> None:
    await report_many(registry, 6)
    zero = """query Z($after: String) { judgments(first: 0, after: $after) {
      %s edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    empty = {"hasNextPage": True, "hasPreviousPage": False, "startCursor": None,
             "endCursor": None}
    for total in ("totalCount", ""):  # counted or not, the same answer
        body = await registry.gql(zero % total, as_=CLERK_DONGCHENG)
        assert body["data"]["judgments"]["edges"] == [], body
        assert body["data"]["judgments"]["pageInfo"] == empty, body
        if total:
            assert body["data"]["judgments"]["totalCount"] == 6
        rows = (await page(registry, CLERK_DONGCHENG, 100))["edges"]
        after_first = await registry.gql(zero % total, {"after": rows[0]["cursor"]},
                                         as_=CLERK_DONGCHENG)
        assert after_first["data"]["judgments"]["pageInfo"]["hasNextPage"] is True
        after_last = await registry.gql(zero % total, {"after": rows[-1]["cursor"]},
                                        as_=CLERK_DONGCHENG)
        assert after_last["data"]["judgments"]["pageInfo"]["hasNextPage"] is False
        # Nothing waits for one who sees nothing.
        hidden = await registry.gql(zero % total, as_=LAWYER)
        assert hidden["data"]["judgments"]["pageInfo"]["hasNextPage"] is False


ZERO_LISTS = {  # a list with rows waiting after report_many, and who sees them
    "offenders": ("{ offenders(first: 0) { pageInfo { hasNextPage } } }", CLERK_DONGCHENG),
    "judgments": ("{ judgments(first: 0) { pageInfo { hasNextPage } } }", CLERK_DONGCHENG),
    "notices": ("{ notices(first: 0) { pageInfo { hasNextPage } } }", CLERK_DONGCHENG),
    "auditEvents": ("{ auditEvents(first: 0) { pageInfo { hasNextPage } } }", AUDITOR),
    "Offender.judgments": ("{ offenders(first: 1) { edges { node { judgments(first: 0) { "
                           "pageInfo { hasNextPage } } } } } }", CLERK_DONGCHENG),
    "policyHistory": ('{ policyHistory(uid: "' + UID + '", first: 0) { pageInfo { hasNextPage '
                      "} } }", SECURITY_ADMIN),
    "reportingCompliance": ("{ reportingCompliance(" + PERIOD + ", first: 0) { pageInfo { "
                            "hasNextPage } } }", AUDITOR),
    "Judgment.history": ("{ judgments(first: 1) { edges { node { history(first: 0) { "
                         "pageInfo { hasNextPage } } } } } }", CLERK_DONGCHENG),
}


@pytest.mark.parametrize("field", sorted(ZERO_LISTS))
async def test_every_list_answers_first_0_with_has_next_page_when_rows_wait(
        registry: Registry, field: str) -> None:
    await report_many(registry, 2)
    await correct_every_judgment(registry)
    query, who = ZERO_LISTS[field]
    body = await registry.gql(query, as_=who)
    assert "errors" not in body, body
    assert re.findall(r'"hasNextPage": (\w+)', json.dumps(body)) == ["true"], body


async def test_paging_backward_through_25_records_visits_each_once_in_the_forward_order(
        registry: Registry) -> None:
    await report_many(registry, 25)
    for forward_query, back_query in ((PAGE, BACK), (OFFENDER_PAGE, OFFENDER_BACK)):
        forward = [e for p in await walk(registry, CLERK_DONGCHENG, 10, forward_query)
                   for e in p["edges"]]
        pages = await walk_back(registry, CLERK_DONGCHENG, 10, back_query)
        assert [len(p["edges"]) for p in pages] == [10, 10, 5]
        assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [True, True, False]
        assert not any(p["pageInfo"]["hasNextPage"] for p in pages)
        assert all(p["totalCount"] == 25 for p in pages)
        assert [e for p in reversed(pages) for e in p["edges"]] == forward
        for p in pages:
            assert p["pageInfo"]["startCursor"] == p["edges"][0]["cursor"]
            assert p["pageInfo"]["endCursor"] == p["edges"][-1]["cursor"]
        # `after` and `before` together: the rows between them.
        body = await registry.gql(
            back_query.replace("$before: String)", "$before: String, $after: String)")
            .replace("before: $before)", "before: $before, after: $after)"),
            {"last": 100, "before": forward[9]["cursor"], "after": forward[2]["cursor"]},
            as_=CLERK_DONGCHENG)
        between = next(iter(body["data"].values()))["edges"]
        assert between == forward[3:9]


async def test_backward_from_another_requesters_cursors_reaches_no_row_hidden_from_me(
        registry: Registry) -> None:
    await report_many(registry, 4)
    await report_many(registry, 4, region="110105")
    mine = [e for p in await walk(registry, CLERK_DONGCHENG, 100) for e in p["edges"]]
    beijing = [e["cursor"] for p in await walk(registry, CLERK_BEIJING, 100)
               for e in p["edges"]]
    assert len(mine) == 4 and len(beijing) == 8
    for cursor in beijing:
        for last in (1, 100):
            body = await registry.gql(BACK, {"last": last, "before": cursor},
                                      as_=CLERK_DONGCHENG)
            current = body["data"]["judgments"]
            assert current["totalCount"] == 4
            assert all(e in mine for e in current["edges"]), cursor
            body = await registry.gql(BACK, {"last": last, "before": cursor}, as_=LAWYER)
            assert body["data"]["judgments"] == {"totalCount": 0, "edges": [], "pageInfo": {
                "hasPreviousPage": False, "hasNextPage": False, "startCursor": None,
                "endCursor": None}}


async def test_the_audit_trail_pages_backward_to_its_oldest_events(registry: Registry) -> None:
    await report_many(registry, 3)
    query = """query A($first: Int, $last: Int, $before: String) {
      auditEvents(first: $first, last: $last, before: $before) {
        edges { cursor } pageInfo { hasPreviousPage hasNextPage } } }"""
    forward = [e["cursor"] for e in (await registry.gql(
        query, {"first": 100}, as_=AUDITOR))["data"]["auditEvents"]["edges"]]
    assert len(forward) > 5
    # Reading the trail adds to its newest end: the oldest events stay where they are.
    oldest = (await registry.gql(query, {"last": 3}, as_=AUDITOR))["data"]["auditEvents"]
    assert [e["cursor"] for e in oldest["edges"]] == forward[-3:]
    assert oldest["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": False}
    newer = (await registry.gql(query, {"last": 2, "before": forward[-3]},
                                as_=AUDITOR))["data"]["auditEvents"]
    assert [e["cursor"] for e in newer["edges"]] == forward[-5:-3]


BACK_LISTS = {  # every connection, with `%s` for its paging arguments, and who may list it
    "offenders": ("{ offenders(%s) { totalCount } }", CLERK_DONGCHENG),
    "judgments": ("{ judgments(%s) { totalCount } }", CLERK_DONGCHENG),
    "inquiries": ("{ inquiries(%s) { totalCount } }", AUDITOR),
    "notices": ("{ notices(%s) { totalCount } }", CLERK_DONGCHENG),
    "cases": ("{ cases(%s) { totalCount } }", AUDITOR),
    "auditEvents": ("{ auditEvents(%s) { totalCount } }", AUDITOR),
    "Offender.judgments": ("{ offenders(first: 1) { edges { node { judgments(%s) { totalCount "
                           "} } } } }", CLERK_DONGCHENG),
    "policyHistory": ('{ policyHistory(uid: "' + UID + '", %s) { totalCount } }', SECURITY_ADMIN),
    "reportingCompliance": ("{ reportingCompliance(" + PERIOD + ", %s) { totalCount } }", AUDITOR),
    "Judgment.history": ("{ judgments(first: 1) { edges { node { history(%s) { totalCount } } "
                         "} } }", CLERK_DONGCHENG),
}


def test_every_connection_takes_last_and_before() -> None:
    found = first_arguments()
    type_map = build_schema()._schema.type_map
    for name in found:
        type_name, field_name = name.split(".")
        owner = type_map[type_name]
        assert isinstance(owner, GraphQLObjectType)
        field = owner.fields[field_name]
        assert str(field.args["last"].type) == "Int", name
        assert field.args["last"].default_value is None, name
        assert str(field.args["before"].type) == "String", name
    assert {n.replace("Query.", "") for n in found} == set(BACK_LISTS)


@pytest.mark.parametrize("field", sorted(BACK_LISTS))
async def test_first_and_last_together_are_refused_naming_last_and_last_is_bounded_as_first(
        registry: Registry, field: str) -> None:
    await report_many(registry, 2)
    template, who = BACK_LISTS[field]

    async def error_of(arguments: str, variables: dict[str, Any] | None = None) -> Any:
        body = await registry.gql(template % arguments[1:-1], variables, as_=who)
        assert body["data"] is None, (arguments, body)
        [error] = body["errors"]
        return error["extensions"]

    assert await error_of("(first: 1, last: 1)") == {"code": "BAD_USER_INPUT", "field": "last"}
    assert await error_of("(first: 0, last: 0)") == {"code": "BAD_USER_INPUT", "field": "last"}
    for last in (-1, 101):
        assert await error_of(f"(last: {last})") == {"code": "BAD_USER_INPUT",
                                                      "field": "last"}
    assert await error_of('(last: 1, before: "garbage")') == {"code": "BAD_USER_INPUT",
                                                               "field": "before"}
    # A default or null `first` is no `first`: `last` alone is what was asked.
    for arguments in ("(last: 1)", "(first: null, last: 1)", "(last: 0)"):
        body = await registry.gql(template % arguments[1:-1], as_=who)
        assert "errors" not in body, (arguments, body)
    declared = template.replace("{", "query Q($first: Int, $last: Int) {", 1)
    body = await registry.gql(declared % "first: $first, last: $last", {"last": 1}, as_=who)
    assert "errors" not in body, body
    body = await registry.gql(declared % "first: $first, last: $last",
                              {"first": 1, "last": 1}, as_=who)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "last"}


def test_the_cost_model_prices_last_as_first() -> None:
    limits = Limits(max_cost=10**9)

    def cost(document: str) -> int | None:
        return examine(parse(document), limits).costs[None]

    for field in ("judgments", "offenders", "inquiries", "notices", "cases", "auditEvents",
                  "policyHistory", "reportingCompliance", "history"):
        for size in (0, 1, 7, 100):
            assert cost(f"{{ {field}(last: {size}) {{ edges {{ cursor }} }} }}") == \
                cost(f"{{ {field}(first: {size}) {{ edges {{ cursor }} }} }}"), (field, size)
        assert cost(f"{{ {field}(last: null) {{ edges {{ cursor }} }} }}") == \
            cost(f"{{ {field} {{ edges {{ cursor }} }} }}")
        assert cost(f"query ($n: Int) {{ {field}(last: $n) {{ edges {{ cursor }} }} }}") == \
            cost(f"{{ {field}(last: 100) {{ edges {{ cursor }} }} }}")
    nested = "{ offenders(first: 3) { edges { node { judgments%s { totalCount } } } } }"
    assert cost(nested % "(last: 9)") == cost(nested % "(first: 9)")
    # Both (refused when run): priced at the larger.
    assert cost("{ judgments(first: 2, last: 90) { edges { cursor } } }") == \
        cost("{ judgments(first: 90) { edges { cursor } } }")
