"""`policyHistory`, `reportingCompliance` and `Judgment.history` are Relay connections
(issue 14 item 5): bounded pages in their order of before (versions newest first, a
judgment's history oldest first, agencies by code), paged both ways on a stable unique key,
cursors of their own, and `totalCount` counted only when asked. `policies`,
`policyChanges` and `Offender.detentions` stay plain lists (CONTRACT.md §4 fixes them)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType

from schema import build_schema
from schema.pagination import encode_cursor, encode_tagged_cursor
from tests.api.test_inquiry_disclosure_table import OPEN, SEALED, make_person, submit
from tests.api.test_pagination import PERIOD, Principal, correct_every_judgment, report_many
from tests.api.test_policy_admin import CREATE, UPDATE, clerks_may_not_read_sealed
from tests.api.test_query_count import counting
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    JUDGE,
    PRISON_OFFICER,
    SECURITY_ADMIN,
    Registry,
    release_input,
    report_input,
)

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
POLICY_PAGE = """query H($uid: String!, $first: Int, $after: String, $last: Int, $before: String) {
  policyHistory(uid: $uid, first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { cursor node { version description } } PAGE_INFO } }""".replace(
    "PAGE_INFO", PAGE_INFO)
HISTORY_PAGE = """query H($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  judgment(id: $id) { history(first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { cursor node { version reason penalty { termMonths } } } PAGE_INFO } } }
    """.replace("PAGE_INFO", PAGE_INFO)
COMPLIANCE_PAGE = """query C($first: Int, $after: String, $last: Int, $before: String) {
  reportingCompliance(PERIOD, first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { cursor node { agency { code } received } } PAGE_INFO } }""".replace(
    "PAGE_INFO", PAGE_INFO).replace("PERIOD", PERIOD)

async def connection(registry: Registry, query: str, who: Principal,
                     **variables: Any) -> dict[str, Any]:
    body = await registry.gql(query, variables, as_=who)
    assert "errors" not in body, body
    found = next(iter(body["data"].values()))
    return found["history"] if "history" in found else found  # type: ignore[no-any-return]


async def both_ways(registry: Registry, query: str, who: Principal, size: int,
                    **variables: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every edge paging forward by `size`, and every edge paging backward by `size` (put
    back in the forward order), each walk checked page by page."""
    forward: list[dict[str, Any]] = []
    after = None
    for _ in range(50):
        current = await connection(registry, query, who, first=size, after=after, **variables)
        assert len(current["edges"]) <= size
        assert current["pageInfo"]["hasPreviousPage"] is False
        forward += current["edges"]
        if not current["pageInfo"]["hasNextPage"]:
            break
        after = current["pageInfo"]["endCursor"]
        assert after == current["edges"][-1]["cursor"]
    backward: list[dict[str, Any]] = []
    before = None
    for _ in range(50):
        current = await connection(registry, query, who, last=size, before=before, **variables)
        assert current["pageInfo"]["hasNextPage"] is False
        backward = current["edges"] + backward
        if not current["pageInfo"]["hasPreviousPage"]:
            break
        before = current["pageInfo"]["startCursor"]
        assert before == current["edges"][0]["cursor"]
    return forward, backward


async def seven_versions(registry: Registry) -> str:
    document = clerks_may_not_read_sealed()
    assert "errors" not in await registry.gql(CREATE, {"p": document}, as_=SECURITY_ADMIN)
    for n in range(2, 8):
        body = await registry.gql(UPDATE, {"uid": document["uid"],
                                           "p": {**document, "description": f"Edit {n}."}},
                                  as_=SECURITY_ADMIN)
        assert body["data"]["updatePolicy"]["version"] == n, body
    return str(document["uid"])


async def corrected_four_times(registry: Registry) -> str:
    await report_many(registry, 1)
    for months in (13, 14, 15, 16):
        await correct_every_judgment(registry, months)
    edges = (await registry.gql("{ judgments { edges { node { id } } } }",
                                as_=CLERK_DONGCHENG))["data"]["judgments"]["edges"]
    return str(edges[0]["node"]["id"])


async def compliance_of_two_senders(registry: Registry) -> None:
    """Notices received today from a court (three judgments) and a prison (a release)."""
    await report_many(registry, 2)
    report = report_input()
    body = await registry.gql("""mutation R($input: ReportJudgmentInput!) {
      reportJudgment(input: $input) { notice { status } } }""", {"input": report}, as_=JUDGE)
    assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
    released = await registry.gql("""mutation R($input: ReportReleaseInput!) {
      reportRelease(input: $input) { notice { status } } }""",
                                  {"input": release_input(report)}, as_=PRISON_OFFICER)
    assert "errors" not in released, released


# --- every row once, in its order, both ways ------------------------------------------------

async def test_paging_policy_history_forward_and_backward_gives_every_version_once_newest_first(
        registry: Registry) -> None:
    uid = await seven_versions(registry)
    for size in (1, 3, 7, 20):
        forward, backward = await both_ways(registry, POLICY_PAGE, AUDITOR, size, uid=uid)
        assert [e["node"]["version"] for e in forward] == [7, 6, 5, 4, 3, 2, 1], size
        assert backward == forward, size
    whole = await connection(registry, POLICY_PAGE, AUDITOR, uid=uid)
    assert whole["totalCount"] == 7 and len(whole["edges"]) == 7
    # `after` and `before` together: the versions between them.
    cursors = [e["cursor"] for e in whole["edges"]]
    between = await connection(registry, POLICY_PAGE, AUDITOR, uid=uid, after=cursors[1],
                               before=cursors[5])
    assert [e["node"]["version"] for e in between["edges"]] == [5, 4, 3]


async def test_paging_a_judgments_history_forward_and_backward_gives_every_version_once_oldest_first(  # noqa: E501
        registry: Registry) -> None:
    id = await corrected_four_times(registry)
    for size in (1, 3, 4, 20):
        forward, backward = await both_ways(registry, HISTORY_PAGE, CLERK_DONGCHENG, size, id=id)
        assert [e["node"]["version"] for e in forward] == [1, 2, 3, 4], size
        assert [e["node"]["penalty"]["termMonths"] for e in forward][1:] == [13, 14, 15]
        assert backward == forward, size
    assert (await connection(registry, HISTORY_PAGE, CLERK_DONGCHENG, id=id))["totalCount"] == 4


async def test_paging_reporting_compliance_forward_and_backward_gives_every_agency_once_by_code(
        registry: Registry) -> None:
    await compliance_of_two_senders(registry)
    whole = await connection(registry, COMPLIANCE_PAGE, AUDITOR)
    codes = [e["node"]["agency"]["code"] for e in whole["edges"]]
    assert set(codes) == {"COURT-110101", "PRISON-110000"} and whole["totalCount"] == 2
    for size in (1, 2, 20):
        forward, backward = await both_ways(registry, COMPLIANCE_PAGE, AUDITOR, size)
        assert [e["node"]["agency"]["code"] for e in forward] == codes, size
        assert backward == forward == whole["edges"], size


# --- totalCount: alone, or not at all -------------------------------------------------------

async def test_reporting_compliance_first_0_gives_total_count_alone(registry: Registry) -> None:
    await compliance_of_two_senders(registry)
    zero = await connection(registry, COMPLIANCE_PAGE, AUDITOR, first=0)
    assert zero == {"totalCount": 2, "edges": [], "pageInfo": {
        "hasNextPage": True, "hasPreviousPage": False, "startCursor": None, "endCursor": None}}
    # Another division's clerk accounts for none of them, and learns of none.
    hidden = await connection(registry, COMPLIANCE_PAGE, CLERK_SHANGHAI, first=0)
    assert hidden["totalCount"] == 0 and hidden["pageInfo"]["hasNextPage"] is False


async def test_policy_history_and_a_judgments_history_first_0_give_total_count_alone(
        registry: Registry) -> None:
    uid = await seven_versions(registry)
    zero = await connection(registry, POLICY_PAGE, AUDITOR, uid=uid, first=0)
    assert (zero["totalCount"], zero["edges"], zero["pageInfo"]["hasNextPage"]) == (7, [], True)
    id = await corrected_four_times(registry)
    zero = await connection(registry, HISTORY_PAGE, CLERK_DONGCHENG, id=id, first=0)
    assert (zero["totalCount"], zero["edges"], zero["pageInfo"]["hasNextPage"]) == (4, [], True)


@pytest.mark.parametrize("field", ["policyHistory", "reportingCompliance", "Judgment.history"])
async def test_total_count_is_counted_only_when_asked(registry: Registry, field: str) -> None:
    uid = await seven_versions(registry)
    await compliance_of_two_senders(registry)
    id = await corrected_four_times(registry)
    query, who, variables = {
        "policyHistory": (POLICY_PAGE, AUDITOR, {"uid": uid}),
        "reportingCompliance": (COMPLIANCE_PAGE, AUDITOR, {}),
        "Judgment.history": (HISTORY_PAGE, CLERK_DONGCHENG, {"id": id}),
    }[field]
    counts = []
    for document in (query, query.replace("totalCount ", "")):
        await registry.gql(document, {**variables, "first": 1}, as_=who)  # warm the caches
        with counting(registry) as statements:
            body = await registry.gql(document, {**variables, "first": 1}, as_=who)
        assert "errors" not in body, body
        counts.append(sum("count(" in s.lower() for s in statements))
    assert counts[0] >= 1 and counts[1] == 0, counts


# --- cursors: only ours, each list its own --------------------------------------------------

async def test_a_cursor_from_another_connection_is_refused_naming_after_or_before(
        registry: Registry) -> None:
    uid = await seven_versions(registry)
    await compliance_of_two_senders(registry)
    id = await corrected_four_times(registry)
    lists = {
        "policyHistory": (POLICY_PAGE, AUDITOR, {"uid": uid}),
        "reportingCompliance": (COMPLIANCE_PAGE, AUDITOR, {}),
        "Judgment.history": (HISTORY_PAGE, CLERK_DONGCHENG, {"id": id}),
    }
    own = {name: (await connection(registry, query, who, **variables))["edges"][0]["cursor"]
           for name, (query, who, variables) in lists.items()}
    foreign = [encode_cursor(id), encode_cursor("5"), encode_tagged_cursor("xx", 1),
               encode_cursor("pv.1x"), "garbage", encode_tagged_cursor("agc", "\x00")]
    for name, (query, who, variables) in lists.items():
        others = [c for other, c in own.items() if other != name] + foreign
        for cursor in others:
            for argument, size in (("after", "first"), ("before", "last")):
                body = await registry.gql(query, {**variables, argument: cursor, size: 5},
                                          as_=who)
                [error] = body["errors"]
                assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": argument}, \
                    (name, cursor, body)
        # Its own cursor, given to the judgments list, is not one of that list's either.
        body = await registry.gql("query J($a: String) { judgments(after: $a) { totalCount } }",
                                  {"a": own[name]}, as_=CLERK_DONGCHENG)
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_another_divisions_compliance_cursor_shows_a_clerk_nothing_hidden(
        registry: Registry) -> None:
    await compliance_of_two_senders(registry)
    cursors = [e["cursor"] for e in (await connection(registry, COMPLIANCE_PAGE, AUDITOR))[
        "edges"]]
    for cursor in cursors:
        for arguments in ({"after": cursor}, {"before": cursor, "last": 5}):
            hidden = await connection(registry, COMPLIANCE_PAGE, CLERK_SHANGHAI, **arguments)
            assert hidden["totalCount"] == 0 and hidden["edges"] == [], (cursor, hidden)


# --- the plain lists CONTRACT.md fixes --------------------------------------------------------

def test_policies_policy_changes_and_detentions_stay_plain_lists_as_the_contract_fixes() -> None:
    type_map = build_schema()._schema.type_map

    def of(type_name: str, field: str) -> Any:
        owner = type_map[type_name]
        assert isinstance(owner, GraphQLObjectType)
        found = owner.fields[field]
        assert "first" not in found.args, (type_name, field)
        return found.type

    for type_name, field in (("Query", "policies"), ("Query", "policyChanges"),
                             ("Offender", "detentions")):
        kind = of(type_name, field)
        assert isinstance(kind, GraphQLNonNull) and isinstance(kind.of_type, GraphQLList), field


# --- a judgment an inquiry disclosed ----------------------------------------------------------

async def test_a_sealed_judgment_an_inquiry_disclosed_pages_its_history_in_the_inquirys_context_only(  # noqa: E501
        registry: Registry) -> None:
    person = await make_person(registry, {OPEN, SEALED})
    body = await submit(registry, JUDGE, "CASE_HANDLING", person.id_number)
    inquiry_id = body["data"]["submitInquiry"]["id"]
    query = """query R($id: ID!, $after: String) { inquiry(id: $id) { records { id sealStatus
      history(first: 1, after: $after) { totalCount edges { cursor node { version } }
        pageInfo { hasNextPage endCursor } } } } }"""
    records = (await registry.gql(query, {"id": inquiry_id}, as_=JUDGE))["data"]["inquiry"][
        "records"]
    [sealed] = [r["id"] for r in records if r["sealStatus"] == "SEALED"]
    for months in (10, 11):
        corrected = await registry.gql(
            """mutation C($id: ID!, $input: CorrectJudgmentInput!) { correctJudgment(id: $id,
                 input: $input, reason: "term mistyped") { notice { id } } }""",
            {"id": sealed, "input": {"penalty": {"kind": "FIXED_TERM_IMPRISONMENT",
                                                 "termMonths": months}}}, as_=CLERK_DONGCHENG)
        assert "errors" not in corrected, corrected
    versions, after = [], None
    for _ in range(5):
        body = await registry.gql(query, {"id": inquiry_id, "after": after}, as_=JUDGE)
        assert "errors" not in body, body
        [record] = [r for r in body["data"]["inquiry"]["records"] if r["id"] == sealed]
        assert record["sealStatus"] == "SEALED" and record["history"]["totalCount"] == 2
        versions += [e["node"]["version"] for e in record["history"]["edges"]]
        if not record["history"]["pageInfo"]["hasNextPage"]:
            break
        after = record["history"]["pageInfo"]["endCursor"]
    assert versions == [1, 2]
    # Outside the inquiry the judge reads no sealed judgment, and so no history of it.
    direct = await registry.gql("query H($id: ID!) { judgment(id: $id) { history { "
                                "totalCount } } }", {"id": sealed}, as_=JUDGE)
    assert direct == {"data": {"judgment": None}}, direct
