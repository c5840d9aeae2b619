"""`auditEvents(filter)`: auditors read the audit trail (DESIGN.md §1.5), on SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    JUDGE,
    REPORT,
    SECURITY_ADMIN,
    Registry,
    report_input,
)

EVENTS = """query Events($filter: AuditFilter, $first: Int!, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) { totalCount
    edges { cursor node { seq sub action outcome resourceIds purpose policyUid hash } }
    pageInfo { hasNextPage endCursor } } }"""


async def events(registry: Registry, who: Any = AUDITOR, first: int = 50,
                 after: str | None = None, **filter: Any) -> dict[str, Any]:
    return await registry.gql(EVENTS, {"filter": filter or None, "first": first,
                                       "after": after}, as_=who)


async def some_activity(registry: Registry) -> str:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)  # judge: read denied
    body = await registry.gql("{ judgments { edges { node { id } } } }", as_=CLERK_DONGCHENG)
    return str(body["data"]["judgments"]["edges"][0]["node"]["id"])


async def test_an_auditor_reads_the_audit_trail_newest_first_and_filters_it(
        registry: Registry) -> None:
    judgment_id = await some_activity(registry)
    body = await events(registry)
    nodes = [e["node"] for e in body["data"]["auditEvents"]["edges"]]
    assert [n["seq"] for n in nodes] == sorted((n["seq"] for n in nodes), reverse=True)
    assert body["data"]["auditEvents"]["totalCount"] == len(nodes)
    denied = await events(registry, sub=JUDGE[0], outcome="deny")
    assert {n["node"]["action"] for n in denied["data"]["auditEvents"]["edges"]} == {
        "judgment:read"}
    about = await events(registry, resourceId=judgment_id, sub=CLERK_DONGCHENG[0])
    [read] = [e["node"] for e in about["data"]["auditEvents"]["edges"]]
    assert (read["action"], read["outcome"], judgment_id in read["resourceIds"]) == (
        "judgment:read", "permit", True)


async def test_reading_the_audit_trail_is_itself_audited(registry: Registry) -> None:
    await some_activity(registry)
    await events(registry)
    body = await events(registry, sub=AUDITOR[0], action="audit:read")
    assert body["data"]["auditEvents"]["totalCount"] >= 1
    assert {e["node"]["outcome"] for e in body["data"]["auditEvents"]["edges"]} == {"permit"}


@pytest.mark.parametrize("who", [CLERK_DONGCHENG, SECURITY_ADMIN, JUDGE])
async def test_nobody_but_an_auditor_reads_the_audit_trail(registry: Registry,
                                                           who: Any) -> None:
    await some_activity(registry)
    body = await events(registry, who=who)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None
    denied = await events(registry, sub=who[0], action="audit:read", outcome="deny")
    assert denied["data"]["auditEvents"]["totalCount"] == 1


async def test_the_audit_trail_pages_without_repeating_or_skipping(registry: Registry) -> None:
    await some_activity(registry)
    everything = [e["node"]["seq"] for e in
                  (await events(registry))["data"]["auditEvents"]["edges"]]
    seen: list[int] = []
    after = None
    while True:
        page = (await events(registry, first=2, after=after))["data"]["auditEvents"]
        seen += [e["node"]["seq"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # Reading pages adds audit:read events after the first read: compare the older part.
    assert seen[-len(everything):] == everything


async def test_a_bad_audit_filter_names_the_field(registry: Registry) -> None:
    body = await events(registry, since="2026-11-02T00:00:00+00:00",
                        until="2026-11-01T00:00:00+00:00")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT",
                                               "field": "filter.until"}
    body = await events(registry, sub=" ")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.sub"}


async def test_an_audit_event_gives_the_agency_as_an_object_beside_its_code(
        registry: Registry) -> None:
    await some_activity(registry)
    body = await registry.gql("""{ auditEvents(filter: {outcome: permit}) { edges { node {
        outcome agency agencyDetails { code kind } } } } }""", as_=AUDITOR)
    nodes = [e["node"] for e in body["data"]["auditEvents"]["edges"]]
    assert {n["outcome"] for n in nodes} == {"permit"}
    with_agency = [n for n in nodes if n["agency"]]
    assert with_agency != []
    assert [n["agencyDetails"]["code"] for n in with_agency] == [n["agency"] for n in with_agency]
    assert [n["agencyDetails"] for n in nodes if not n["agency"]] == [
        None for n in nodes if not n["agency"]]


async def test_the_outcome_filter_is_an_enum_and_a_string_literal_is_refused(
        registry: Registry) -> None:
    body = await registry.gql('{ auditEvents(filter: {outcome: "deny"}) { totalCount } }',
                              as_=AUDITOR)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in body or body["data"] is None


@pytest.mark.parametrize("arguments", ["first: 2", "last: 2", "first: 0"])
async def test_a_page_audits_the_records_it_shows_not_the_one_read_to_see_if_more_follow(
        registry: Registry, arguments: str) -> None:
    for _ in range(4):
        await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    body = await registry.gql(
        f"{{ judgments({arguments}) {{ edges {{ node {{ id }} }} "
        "pageInfo { hasNextPage hasPreviousPage } } }", as_=CLERK_DONGCHENG)
    page = body["data"]["judgments"]
    shown = {e["node"]["id"] for e in page["edges"]}
    assert page["pageInfo"]["hasNextPage"] or page["pageInfo"]["hasPreviousPage"]
    read = await events(registry, sub=CLERK_DONGCHENG[0], action="judgment:read")
    audited = {i for e in read["data"]["auditEvents"]["edges"]
               for i in e["node"]["resourceIds"]}
    assert audited == shown
