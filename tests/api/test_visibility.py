"""Who sees which record (DESIGN.md §1.3, §1.4, §2; CONTRACT.md §4, §6), through HTTP.

A registry clerk of a registration authority reads the records of people resident in the
authority's division, sealed ones included (RECORD_MANAGEMENT); nobody else reads any.
For everyone who may not read it, a sealed record does not exist: absent from lists and
counts, and `null` by id exactly as a missing id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlmodel import col, select

from db.models import Judgment, Offender
from tests.factories import (
    AUDITOR,
    CLERK_AT_A_COURT,
    CLERK_BEIJING,
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    EMPLOYER,
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

# Those who read nothing at all, whatever the record.
NOBODY_ELSE: list[Principal] = [JUDGE, LAWYER, EMPLOYER, AUDITOR, SECURITY_ADMIN,
                                CLERK_AT_A_COURT]

JUDGMENT_FIELDS = """id judgmentNumber sealStatus ageAtOffense offenseDate
  court { code } penalty { kind termMonths } crimes { name }
  offender { id idNumber residenceRegion }"""

LISTS = """query Lists {
  judgments(first: 100) { totalCount edges { cursor node { id sealStatus } }
                          pageInfo { hasNextPage endCursor } }
  offenders(first: 100) { totalCount edges { cursor node { id idNumber } }
                          pageInfo { hasNextPage endCursor } }
  sealed: judgments(filter: {sealStatus: SEALED}, first: 100) {
    totalCount edges { node { id } } }
}"""


@dataclass(frozen=True)
class Record:
    judgment: str  # public id
    offender: str  # public id
    id_number: str
    region: str
    sealed: bool


async def report(registry: Registry, *, region: str, sealed: bool = False,
                 name: str = "Wang Wei", judge: Principal | None = None) -> Record:
    """Reports one judgment through the API and returns its public ids."""
    birth = date(2010, 1, 1) if sealed else date(1990, 5, 17)  # 16 or 35 at the offence
    number = id_number(region, birth)
    value = report_input(defendant={"idNumber": number, "name": name,
                                    "birthDate": birth.isoformat(), "residenceRegion": region})
    if judge is None:
        judge = JUDGE_SHANGHAI if region.startswith("31") else JUDGE
    body = await registry.gql(REPORT, {"input": value}, as_=judge)
    assert "errors" not in body, body
    assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
    async with registry.app.state.registry.database.session() as session:
        row = (await session.execute(
            select(Judgment.public_id, Judgment.seal_status, Offender.public_id)
            .join(Offender, col(Offender.id) == col(Judgment.offender_id))
            .where(col(Judgment.judgment_number) == value["judgmentNumber"]))).one()
    assert row[1] == ("sealed" if sealed else "open")
    return Record(judgment=row[0], offender=row[2], id_number=number, region=region,
                  sealed=sealed)


async def seed(registry: Registry) -> dict[str, Record]:
    return {
        "dongcheng": await report(registry, region="110101"),
        "dongcheng_sealed": await report(registry, region="110101", sealed=True),
        "chaoyang": await report(registry, region="110105", name="Li Fang"),
        "huangpu": await report(registry, region="310101", name="Zhang Min"),
    }


def ids_of(connection: dict[str, Any]) -> set[str]:
    return {edge["node"]["id"] for edge in connection["edges"]}


VISIBLE: dict[Principal, set[str]] = {
    CLERK_DONGCHENG: {"dongcheng", "dongcheng_sealed"},
    CLERK_BEIJING: {"dongcheng", "dongcheng_sealed", "chaoyang"},
    CLERK_SHANGHAI: {"huangpu"},
}


@pytest.mark.parametrize("clerk", list(VISIBLE), ids=lambda p: p[0])
async def test_a_clerk_reads_only_records_of_people_resident_in_the_authoritys_division(
        registry: Registry, clerk: Principal) -> None:
    records = await seed(registry)
    visible = {records[name] for name in VISIBLE[clerk]}
    hidden = set(records.values()) - visible

    body = await registry.gql(LISTS, as_=clerk)
    assert "errors" not in body, body
    assert ids_of(body["data"]["judgments"]) == {r.judgment for r in visible}
    assert body["data"]["judgments"]["totalCount"] == len(visible)
    assert ids_of(body["data"]["offenders"]) == {r.offender for r in visible}
    assert body["data"]["offenders"]["totalCount"] == len({r.offender for r in visible})

    for record in records.values():
        body = await registry.gql(
            "query One($j: ID!, $o: ID!) { judgment(id: $j) { id offender { id } } "
            "offender(id: $o) { id judgments { totalCount edges { node { id } } } } }",
            {"j": record.judgment, "o": record.offender}, as_=clerk)
        assert "errors" not in body, body
        if record in hidden:
            assert body["data"] == {"judgment": None, "offender": None}, record
        else:
            assert body["data"]["judgment"] == {"id": record.judgment,
                                                "offender": {"id": record.offender}}
            assert body["data"]["offender"]["id"] == record.offender
            assert ids_of(body["data"]["offender"]["judgments"]) == {record.judgment}
            assert body["data"]["offender"]["judgments"]["totalCount"] == 1


@pytest.mark.parametrize("principal", NOBODY_ELSE, ids=lambda p: p[0])
async def test_no_one_but_a_clerk_of_a_registration_authority_reads_any_record(
        registry: Registry, principal: Principal) -> None:
    records = await seed(registry)
    body = await registry.gql(LISTS, as_=principal)
    assert "errors" not in body, body
    for name in ("judgments", "offenders", "sealed"):
        assert body["data"][name]["totalCount"] == 0, name
        assert body["data"][name]["edges"] == [], name
    for record in records.values():
        body = await registry.gql(
            "query One($j: ID!, $o: ID!) { judgment(id: $j) { id } offender(id: $o) { id } }",
            {"j": record.judgment, "o": record.offender}, as_=principal)
        assert body == {"data": {"judgment": None, "offender": None}}, record


@pytest.mark.parametrize("clerk", [CLERK_DONGCHENG, CLERK_BEIJING], ids=lambda p: p[0])
async def test_the_clerk_of_the_division_sees_a_sealed_record_marked_sealed(
        registry: Registry, clerk: Principal) -> None:
    records = await seed(registry)
    sealed = records["dongcheng_sealed"]
    body = await registry.gql(f"query($id: ID!) {{ judgment(id: $id) {{ {JUDGMENT_FIELDS} }} }}",
                              {"id": sealed.judgment}, as_=clerk)
    assert "errors" not in body, body
    assert body["data"]["judgment"]["id"] == sealed.judgment
    assert body["data"]["judgment"]["sealStatus"] == "SEALED"
    assert body["data"]["judgment"]["ageAtOffense"] == 16
    listed = await registry.gql(LISTS, as_=clerk)
    by_id = {e["node"]["id"]: e["node"]["sealStatus"]
             for e in listed["data"]["judgments"]["edges"]}
    assert by_id[sealed.judgment] == "SEALED"
    assert by_id[records["dongcheng"].judgment] == "OPEN"
    assert ids_of(listed["data"]["sealed"]) == {sealed.judgment}


@pytest.mark.parametrize("principal", [CLERK_SHANGHAI, *NOBODY_ELSE], ids=lambda p: p[0])
async def test_a_sealed_record_by_id_is_exactly_a_missing_id_for_everyone_else(
        registry: Registry, principal: Principal) -> None:
    records = await seed(registry)
    query = f"query($id: ID!) {{ judgment(id: $id) {{ {JUDGMENT_FIELDS} }} }}"
    sealed = await registry.gql(query, {"id": records["dongcheng_sealed"].judgment},
                                as_=principal)
    missing = await registry.gql(query, {"id": "jdg_doesnotexist"}, as_=principal)
    assert sealed == missing == {"data": {"judgment": None}}
    # Nested under a visible or a missing offender alike.
    query = "query($id: ID!) { offender(id: $id) { id judgments { totalCount } } }"
    sealed = await registry.gql(query, {"id": records["dongcheng_sealed"].offender},
                                as_=principal)
    missing = await registry.gql(query, {"id": "ofd_doesnotexist"}, as_=principal)
    assert sealed == missing == {"data": {"offender": None}}


@pytest.mark.parametrize("principal", [CLERK_SHANGHAI, *NOBODY_ELSE], ids=lambda p: p[0])
async def test_a_sealed_record_changes_no_list_and_no_count_for_everyone_else(
        registry: Registry, principal: Principal) -> None:
    await report(registry, region="110101")
    await report(registry, region="310101", name="Zhang Min")
    before = await registry.gql(LISTS, as_=principal)
    sealed = await report(registry, region="110101", sealed=True)
    after = await registry.gql(LISTS, as_=principal)
    assert "errors" not in after, after
    assert after == before
    # Asking for it by its person's identity number finds nothing either.
    query = ("query($n: String!) { judgments(filter: {idNumber: $n}) { totalCount "
             "edges { node { id } } } offenders(filter: {idNumber: $n}) { totalCount } }")
    body = await registry.gql(query, {"n": sealed.id_number}, as_=principal)
    assert body == {"data": {"judgments": {"totalCount": 0, "edges": []},
                             "offenders": {"totalCount": 0}}}


async def test_a_sealed_record_in_another_division_changes_nothing_for_a_clerk(
        registry: Registry) -> None:
    """A sealed record in Shanghai does not show in Beijing, and vice versa."""
    await seed(registry)
    before = await registry.gql(LISTS, as_=CLERK_BEIJING)
    await report(registry, region="310101", sealed=True, name="Zhao Lei")
    after = await registry.gql(LISTS, as_=CLERK_BEIJING)
    assert after == before
    shanghai = await registry.gql(LISTS, as_=CLERK_SHANGHAI)
    assert shanghai["data"]["judgments"]["totalCount"] == 2
    assert shanghai["data"]["sealed"]["totalCount"] == 1


async def test_judgments_filter_by_seal_status(registry: Registry) -> None:
    records = await seed(registry)
    query = ("query($s: SealStatus!) { judgments(filter: {sealStatus: $s}) { totalCount "
             "edges { node { id sealStatus } } } }")
    sealed = await registry.gql(query, {"s": "SEALED"}, as_=CLERK_BEIJING)
    assert ids_of(sealed["data"]["judgments"]) == {records["dongcheng_sealed"].judgment}
    assert sealed["data"]["judgments"]["totalCount"] == 1
    opened = await registry.gql(query, {"s": "OPEN"}, as_=CLERK_BEIJING)
    assert ids_of(opened["data"]["judgments"]) == {records["dongcheng"].judgment,
                                                   records["chaoyang"].judgment}
    assert {e["node"]["sealStatus"] for e in opened["data"]["judgments"]["edges"]} == {"OPEN"}
    nothing = await registry.gql(query, {"s": "SEALED"}, as_=CLERK_SHANGHAI)
    assert nothing["data"]["judgments"] == {"totalCount": 0, "edges": []}


async def test_judgments_filter_by_identity_number_and_offender(registry: Registry) -> None:
    records = await seed(registry)
    by_number = ("query($n: String!) { judgments(filter: {idNumber: $n}) { totalCount "
                 "edges { node { id } } } }")
    by_offender = ("query($o: ID!) { judgments(filter: {offenderId: $o}) { totalCount "
                   "edges { node { id } } } }")
    for record in records.values():
        for principal in VISIBLE:
            seen = record in {records[n] for n in VISIBLE[principal]}
            expected = {record.judgment} if seen else set()
            body = await registry.gql(by_number, {"n": record.id_number}, as_=principal)
            assert ids_of(body["data"]["judgments"]) == expected, (principal, record)
            assert body["data"]["judgments"]["totalCount"] == len(expected)
            body = await registry.gql(by_offender, {"o": record.offender}, as_=principal)
            assert ids_of(body["data"]["judgments"]) == expected, (principal, record)
            assert body["data"]["judgments"]["totalCount"] == len(expected)
    # Lower-case check character is the same number.
    body = await registry.gql(by_number, {"n": records["dongcheng"].id_number.lower()},
                              as_=CLERK_DONGCHENG)
    assert ids_of(body["data"]["judgments"]) == {records["dongcheng"].judgment}
    body = await registry.gql(by_offender, {"o": "ofd_doesnotexist"}, as_=CLERK_DONGCHENG)
    assert body["data"]["judgments"] == {"totalCount": 0, "edges": []}


async def test_offenders_filters(registry: Registry) -> None:
    records = await seed(registry)
    query = ("query($f: OffenderFilter) { offenders(filter: $f) { totalCount "
             "edges { node { id name residenceRegion } } } }")

    async def offenders(principal: Principal, **filter_: str) -> set[str]:
        body = await registry.gql(query, {"f": filter_}, as_=principal)
        assert "errors" not in body, body
        connection = body["data"]["offenders"]
        assert connection["totalCount"] == len(connection["edges"])
        return ids_of(connection)

    assert await offenders(CLERK_BEIJING, residenceRegion="110105") == \
        {records["chaoyang"].offender}
    assert await offenders(CLERK_BEIJING, residenceRegion="310101") == set()
    assert await offenders(CLERK_DONGCHENG, residenceRegion="110105") == set()
    assert await offenders(CLERK_SHANGHAI, residenceRegion="310101") == \
        {records["huangpu"].offender}
    assert await offenders(CLERK_BEIJING, name="Li Fang") == {records["chaoyang"].offender}
    assert await offenders(CLERK_DONGCHENG, name="Li Fang") == set()
    assert await offenders(CLERK_SHANGHAI, name="Zhang Min") == {records["huangpu"].offender}
    assert await offenders(CLERK_BEIJING, name="Zhang Min") == set()
    assert await offenders(CLERK_DONGCHENG, idNumber=records["dongcheng_sealed"].id_number) \
        == {records["dongcheng_sealed"].offender}
    assert await offenders(CLERK_SHANGHAI, idNumber=records["dongcheng"].id_number) == set()
    assert await offenders(CLERK_BEIJING, name="Wang Wei", residenceRegion="110101") == \
        {records["dongcheng"].offender, records["dongcheng_sealed"].offender}
    for principal in NOBODY_ELSE:
        assert await offenders(principal, residenceRegion="110101") == set()


@pytest.mark.parametrize("field,query", [
    ("filter.idNumber", "{ judgments(filter: {idNumber: \"110101199005170000\"}) "
                        "{ totalCount } }"),
    ("filter.idNumber", "{ judgments(filter: {idNumber: \"not a number\"}) { totalCount } }"),
    ("filter.idNumber", "{ offenders(filter: {idNumber: \"11010119900517001\"}) "
                        "{ totalCount } }"),
    ("filter.residenceRegion", "{ offenders(filter: {residenceRegion: \"11\"}) "
                               "{ totalCount } }"),
])
async def test_an_invalid_filter_is_bad_user_input_naming_the_field(
        registry: Registry, field: str, query: str) -> None:
    await seed(registry)
    for principal in (CLERK_DONGCHENG, JUDGE):
        body = await registry.gql(query, as_=principal)
        assert body["data"] is None, body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"]["field"] == field, error


@pytest.mark.parametrize("principal", [CLERK_SHANGHAI, JUDGE, LAWYER], ids=lambda p: p[0])
async def test_a_sealed_record_asked_for_twice_in_one_operation_is_exactly_a_missing_id(
        registry: Registry, principal: Principal) -> None:
    records = await seed(registry)
    query = "query($id: ID!) { a: judgment(id: $id) { id } b: judgment(id: $id) { id } }"
    sealed = await registry.gql(query, {"id": records["dongcheng_sealed"].judgment},
                                as_=principal)
    missing = await registry.gql(query, {"id": "jdg_doesnotexist"}, as_=principal)
    assert missing == {"data": {"a": None, "b": None}}
    assert sealed == missing


async def test_a_record_listed_and_read_by_id_in_one_operation_is_returned_without_error(
        registry: Registry) -> None:
    records = await seed(registry)
    sealed = records["dongcheng_sealed"]
    body = await registry.gql(
        "query($j: ID!, $o: ID!) { judgments { edges { node { id offender { id } } } } "
        "judgment(id: $j) { id } offender(id: $o) { id } }",
        {"j": sealed.judgment, "o": sealed.offender}, as_=CLERK_DONGCHENG)
    assert "errors" not in body, body
    assert body["data"]["judgment"] == {"id": sealed.judgment}
    assert body["data"]["offender"] == {"id": sealed.offender}
