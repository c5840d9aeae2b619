"""An inquiry's records are read in the inquiry's context all the way down (CONTRACT.md §4):
`records { offender { judgments detentions } }` shows what the inquiry disclosed and nothing
more, at any depth, through HTTP on SQLite and PostgreSQL.

A CASE_HANDLING inquiry's `records { offender { detentions } }` shows the person's detention
records; a DEFENSE inquiry's shows none, and its `records { offender { judgments } }` no
sealed judgment (DESIGN.md §1.3, §1.4). The person's records are made as in
tests/api/test_inquiry_disclosure_table.py, whose table the first test walks again with
every nested field asked.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_inquiry_disclosure_table import (
    ACQUITTAL,
    ADMINISTRATIVE,
    ALL,
    CRIMINAL,
    EXPUNGED,
    JUDGMENT_STATES,
    OPEN,
    REQUESTERS,
    SEALED,
    TABLE,
    Expect,
    Person,
    make_person,
    register_counsel,
    row_id,
    submit,
)
from tests.api.test_query_count import counting
from tests.factories import JUDGE, LAWYER, POLICE, REPORT, Registry, report_input

PAGE = "totalCount edges { cursor node { judgmentNumber sealStatus } } " \
       "pageInfo { hasNextPage endCursor }"
NESTED = """query Read($id: ID!) { inquiry(id: $id) { status
  records { judgmentNumber sealStatus offender { idNumber
    judgments { PAGE }
    detentions { caseNumber kind }
    deeper: judgments { edges { node { judgmentNumber offender {
      judgments { PAGE } detentions { caseNumber kind } } } } } } }
  detentions { caseNumber kind } } }""".replace("PAGE", PAGE)
OFFENDER_PAGE = """query Page($id: ID!, $first: Int, $after: String) { inquiry(id: $id) {
  records { offender { judgments(first: $first, after: $after) { PAGE } } } } }""".replace(
    "PAGE", PAGE)


async def read_nested(registry: Registry, who: Any, inquiry_id: str) -> dict[str, Any]:
    body = await registry.gql(NESTED, {"id": inquiry_id}, as_=who)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["inquiry"]
    return found


def labelled(person: Person, page: dict[str, Any]) -> dict[str, str]:
    """A page of judgments, by the state each was made in."""
    return {person.state_of(e["node"]["judgmentNumber"]): e["node"]["sealStatus"]
            for e in page["edges"]}


def detention_states(person: Person, detentions: list[dict[str, Any]]) -> dict[str, str]:
    return {person.state_of(d["caseNumber"]): d["kind"] for d in detentions}


def assert_nested_shows_what_the_inquiry_disclosed(person: Person, inquiry: dict[str, Any],
                                                   purpose: str) -> None:
    records = {person.state_of(r["judgmentNumber"]): r["sealStatus"]
               for r in inquiry["records"]}
    detentions = (detention_states(person, inquiry["detentions"])
                  if inquiry["detentions"] is not None else {})
    for record in inquiry["records"]:
        offender = record["offender"]
        pages = [offender["judgments"], *[e["node"]["offender"]["judgments"]
                                          for e in offender["deeper"]["edges"]]]
        for page in pages:
            assert labelled(person, page) == records, inquiry
            assert page["totalCount"] == len(records), inquiry
            assert page["pageInfo"]["hasNextPage"] is False
        nested_detentions = [offender["detentions"], *[
            e["node"]["offender"]["detentions"] for e in offender["deeper"]["edges"]]]
        for shown in nested_detentions:
            assert detention_states(person, shown) == detentions, inquiry
            if purpose == "DEFENSE":
                assert shown == [], inquiry


DISCLOSING_ROWS = [row for row in TABLE
                   if row[1] in ("CASE_HANDLING", "DEFENSE") and not row[3].forbidden]


@pytest.mark.parametrize(("states", "purpose", "requester", "expect"),
                         [pytest.param(*row, id=row_id(*row)) for row in DISCLOSING_ROWS])
async def test_nested_fields_under_records_disclose_what_the_inquiry_disclosed_and_no_more(
        registry: Registry, states: frozenset[str], purpose: str, requester: str,
        expect: Expect) -> None:
    person = await make_person(registry, states)
    await register_counsel(registry, LAWYER[0], person.id_number)
    who = REQUESTERS[requester]
    body = await submit(registry, who, purpose, person.id_number)
    assert "errors" not in body, body
    inquiry = await read_nested(registry, who, body["data"]["submitInquiry"]["id"])
    assert inquiry["status"] == expect.status
    if expect.status != "APPROVED":
        assert inquiry["records"] is None
        return
    assert_nested_shows_what_the_inquiry_disclosed(person, inquiry, purpose)


async def test_a_case_handling_inquirys_records_show_the_persons_detention_records_through_the_offender(  # noqa: E501
        registry: Registry) -> None:
    person = await make_person(registry, ALL)
    body = await submit(registry, JUDGE, "CASE_HANDLING", person.id_number)
    inquiry = await read_nested(registry, JUDGE, body["data"]["submitInquiry"]["id"])
    assert {r["sealStatus"] for r in inquiry["records"]} == {"OPEN", "SEALED"}
    for record in inquiry["records"]:
        offender = record["offender"]
        assert detention_states(person, offender["detentions"]) == {
            CRIMINAL: "CRIMINAL", ADMINISTRATIVE: "ADMINISTRATIVE"}  # never the expunged one
        assert EXPUNGED not in detention_states(person, offender["detentions"])
        # Every judgment, the sealed one marked, as `records` itself.
        assert labelled(person, offender["judgments"]) == {
            OPEN: "OPEN", SEALED: "SEALED", ACQUITTAL: "OPEN"}
    # The contract's path and the extra `Inquiry.detentions` field agree.
    assert detention_states(person, inquiry["detentions"]) == detention_states(
        person, inquiry["records"][0]["offender"]["detentions"])


def without_labels(inquiry: dict[str, Any]) -> Any:
    """An answer with every judgment number, case number and cursor blanked: what stays is
    what it tells of the person's records (how many, their seal status, detention kinds)."""
    if isinstance(inquiry, dict):
        return {k: "*" if k in ("judgmentNumber", "caseNumber", "cursor", "endCursor",
                                "idNumber") and v is not None else without_labels(v)
                for k, v in inquiry.items()}
    if isinstance(inquiry, list):
        return [without_labels(v) for v in inquiry]
    return inquiry


async def test_a_defense_inquirys_records_show_no_sealed_judgment_and_no_detention_through_the_offender(  # noqa: E501
        registry: Registry) -> None:
    # Counsel of a person with every kind of record, and of one with an open judgment only:
    # through `records { offender { ... } }` at any depth, the two read alike.
    everything = await make_person(registry, {OPEN, SEALED, CRIMINAL, ADMINISTRATIVE},
                                   tag="-a")
    open_only = await make_person(registry, {OPEN}, tag="-b")
    answers = []
    for person in (everything, open_only):
        await register_counsel(registry, LAWYER[0], person.id_number)
        body = await submit(registry, LAWYER, "DEFENSE", person.id_number)
        inquiry = await read_nested(registry, LAWYER, body["data"]["submitInquiry"]["id"])
        [record] = inquiry["records"]
        assert record["sealStatus"] == "OPEN"
        assert record["offender"]["detentions"] == []
        assert labelled(person, record["offender"]["judgments"]) == {OPEN: "OPEN"}
        answers.append(without_labels(inquiry))
    assert answers[0] == answers[1]


async def test_the_offenders_judgments_in_an_inquiry_page_through_the_disclosed_ones_each_once(
        registry: Registry) -> None:
    person = await make_person(registry, set(JUDGMENT_STATES))
    body = await submit(registry, JUDGE, "CASE_HANDLING", person.id_number)
    inquiry_id = body["data"]["submitInquiry"]["id"]
    seen: list[str] = []
    after = None
    while True:
        page = await registry.gql(OFFENDER_PAGE, {"id": inquiry_id, "first": 1,
                                                  "after": after}, as_=JUDGE)
        assert "errors" not in page, page
        connection = page["data"]["inquiry"]["records"][0]["offender"]["judgments"]
        assert connection["totalCount"] == 3
        seen += [e["node"]["judgmentNumber"] for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(person.labels) and len(seen) == 3
    # `first` is validated there as everywhere.
    bad = await registry.gql(OFFENDER_PAGE, {"id": inquiry_id, "first": 101}, as_=JUDGE)
    assert bad["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}


BACK_PAGE = """query Page($id: ID!, $last: Int, $before: String) { inquiry(id: $id) {
  records { offender { judgments(last: $last, before: $before) { totalCount
    edges { cursor node { judgmentNumber } }
    pageInfo { hasPreviousPage hasNextPage startCursor } } } } } }"""


async def test_the_offenders_judgments_in_an_inquiry_page_backward_in_the_forward_order(
        registry: Registry) -> None:
    person = await make_person(registry, set(JUDGMENT_STATES))
    body = await submit(registry, JUDGE, "CASE_HANDLING", person.id_number)
    inquiry_id = body["data"]["submitInquiry"]["id"]
    forward = await registry.gql(OFFENDER_PAGE, {"id": inquiry_id, "first": 100}, as_=JUDGE)
    order = [e["node"]["judgmentNumber"] for e in
             forward["data"]["inquiry"]["records"][0]["offender"]["judgments"]["edges"]]
    assert len(order) == 3
    seen: list[str] = []
    before = None
    while True:
        page = await registry.gql(BACK_PAGE, {"id": inquiry_id, "last": 2, "before": before},
                                  as_=JUDGE)
        assert "errors" not in page, page
        connection = page["data"]["inquiry"]["records"][0]["offender"]["judgments"]
        assert connection["totalCount"] == 3 and not connection["pageInfo"]["hasNextPage"]
        seen = [e["node"]["judgmentNumber"] for e in connection["edges"]] + seen
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert seen == order


async def test_the_offenders_judgments_in_an_inquiry_are_those_it_disclosed_not_later_ones(
        registry: Registry) -> None:
    person = await make_person(registry, {OPEN})
    body = await submit(registry, JUDGE, "CASE_HANDLING", person.id_number)
    inquiry_id = body["data"]["submitInquiry"]["id"]
    before = await read_nested(registry, JUDGE, inquiry_id)
    later = report_input(judgmentNumber=f"J-later-{person.id_number}", offenseDate="2026-04-01",
                         defendant={"idNumber": person.id_number, "name": "Sun Li",
                                    "birthDate": "2008-01-01", "gender": "female",
                                    "residenceRegion": "110101"})
    reported = await registry.gql(REPORT, {"input": later}, as_=JUDGE)
    assert reported["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", reported
    # A result serves its inquiry as it was approved (DESIGN.md §1.3).
    assert await read_nested(registry, JUDGE, inquiry_id) == before
    # ... and the police, reading their own inquiry on the same person, see their own.
    fresh = await submit(registry, POLICE, "CASE_HANDLING", person.id_number)
    now = await read_nested(registry, POLICE, fresh["data"]["submitInquiry"]["id"])
    assert now["records"][0]["offender"]["judgments"]["totalCount"] == 2


async def test_reading_the_records_persons_judgments_and_detentions_costs_the_same_statements_for_one_record_and_three(  # noqa: E501
        registry: Registry) -> None:
    one = await make_person(registry, {OPEN, CRIMINAL}, tag="-1")
    three = await make_person(registry, {OPEN, SEALED, ACQUITTAL, CRIMINAL, ADMINISTRATIVE},
                              tag="-3")
    counts = []
    for person in (one, three):
        body = await submit(registry, JUDGE, "CASE_HANDLING", person.id_number)
        inquiry_id = body["data"]["submitInquiry"]["id"]
        await read_nested(registry, JUDGE, inquiry_id)  # warm the caches
        with counting(registry) as statements:
            inquiry = await read_nested(registry, JUDGE, inquiry_id)
        assert len(inquiry["records"]) == len(person.labels) - len(
            [s for s in person.labels.values() if "detention" in s])
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
