"""Cases (DESIGN.md §1.6, CONTRACT.md §4) through HTTP, on SQLite and PostgreSQL: registered
by the organ handling them, read by its officials and auditors only, handed on, closed;
and nobody else learns that a case exists."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlmodel import col, select

from api.seed import add_agency
from db.models import AuditEvent, CaseParty, CriminalCase
from tests.cases import (
    ADD_PARTY,
    CLOSE,
    READ_CASE,
    REGISTER_CASE,
    TRANSFER,
    add_party,
    close,
    counsel,
    party,
    register_case,
    transfer,
)
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    EMPLOYER,
    JUDGE,
    JUDGE_SHANGHAI,
    LAWYER,
    POLICE,
    PROSECUTOR,
    SECURITY_ADMIN,
    Registry,
    id_number,
)

NUMBER = "(2026) Jing Dong Gong Xing Li No. 17"
NOWHERE = "(2026) Jing Dong Gong Xing Li No. 9999"
STATE_SECURITY = ("officer.security", "state_security_officer", "SSB-110000")
POLICE_TWO = ("police.wang", "police_officer", "PSB-110101")  # a colleague, same agency


async def add_state_security(registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await add_agency(session, code=STATE_SECURITY[2], kind="STATE_SECURITY",
                         name="Beijing State Security Bureau", region="110000")
        await session.commit()


async def stored(registry: Registry) -> list[tuple[str, str, str, bool, list[tuple[str, str]]]]:
    """Every case as stored: number, handling agency's id, stage, open, parties."""
    async with registry.app.state.registry.database.session() as session:
        cases = (await session.scalars(select(CriminalCase).order_by(
            col(CriminalCase.id)))).all()
        found = []
        for case in cases:
            parties = (await session.scalars(select(CaseParty).where(
                col(CaseParty.case_id) == case.id).order_by(col(CaseParty.id)))).all()
            found.append((case.case_number, str(case.agency_id), case.stage, case.open,
                          [(p.id_number, p.role) for p in parties]))
        return found


async def events(registry: Registry, action: str) -> list[AuditEvent]:
    async with registry.app.state.registry.database.session() as session:
        return list((await session.scalars(select(AuditEvent).where(
            col(AuditEvent.action) == action).order_by(col(AuditEvent.seq)))).all())


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"] is None, body
    [error] = body["errors"]
    return error  # type: ignore[no-any-return]


# -- registering ------------------------------------------------------------------------------

@pytest.mark.parametrize("official", [JUDGE, PROSECUTOR, POLICE, STATE_SECURITY],
                         ids=lambda p: p[1])
async def test_an_official_of_a_case_handling_organ_registers_a_case_their_agency_handles(
        registry: Registry, official: Any) -> None:
    await add_state_security(registry)
    suspect, victim = id_number(), id_number()
    case = await register_case(registry, official, NUMBER,
                               [party(suspect), party(victim, "VICTIM")], stage="INVESTIGATION")
    assert case == {"caseNumber": NUMBER, "agency": {"code": official[2]},
                    "stage": "INVESTIGATION", "open": True,
                    "parties": [party(suspect), party(victim, "VICTIM")], "counsel": []}
    [(number, _, stage, is_open, parties)] = await stored(registry)
    assert (number, stage, is_open, parties) == (
        NUMBER, "INVESTIGATION", True, [(suspect, "SUSPECT"), (victim, "VICTIM")])
    [event] = await events(registry, "case:register")
    assert (event.outcome, event.sub, event.case_number) == ("permit", official[0], NUMBER)
    assert event.resource_ids[0].startswith("cas_")
    assert suspect not in json.dumps(event.model_dump(mode="json"))


@pytest.mark.parametrize("principal", [
    LAWYER, CLERK_DONGCHENG, EMPLOYER, AUDITOR, SECURITY_ADMIN,
    ("person.x", "individual", None),
    ("judge.fake", "judge", "LAW-110101"),          # a role claimed at a law firm
    ("police.fake", "police_officer", "REG-110101"),
    ("prosecutor.fake", "prosecutor", "COURT-110101"),
    ("judge.nowhere", "judge", None),
    ("judge.unknown", "judge", "COURT-999999"),      # an agency the registry does not know
], ids=lambda p: f"{p[1]}@{p[2]}")
async def test_nobody_but_an_official_of_a_case_handling_organ_registers_a_case(
        registry: Registry, principal: Any) -> None:
    body = await registry.gql(REGISTER_CASE, {"input": {
        "caseNumber": NUMBER, "stage": "INVESTIGATION", "parties": [party(id_number())]}},
        as_=principal)
    assert error_of(body)["extensions"] == {"code": "FORBIDDEN"}
    assert await stored(registry) == []
    [denied] = await events(registry, "case:register")
    assert (denied.outcome, denied.sub) == ("deny", principal[0])


async def test_registering_a_case_number_that_is_taken_is_a_conflict_and_changes_nothing(
        registry: Registry) -> None:
    """The same answer whoever holds the number, open or closed: it says the number is
    taken, not who handles the case or what it holds (see schema/cases.py)."""
    await register_case(registry, POLICE, NUMBER, [party(id_number())])
    before = await stored(registry)
    attempt = {"input": {"caseNumber": NUMBER, "stage": "TRIAL", "parties": [
        party(id_number(), "DEFENDANT")]}}
    answers = [await registry.gql(REGISTER_CASE, attempt, as_=who)
               for who in (JUDGE, POLICE, POLICE_TWO)]
    await close(registry, POLICE, NUMBER)
    answers.append(await registry.gql(REGISTER_CASE, attempt, as_=JUDGE))
    assert answers[0] == answers[1] == answers[2] == answers[3]
    assert error_of(answers[0])["extensions"] == {"code": "CONFLICT", "field": "input.caseNumber"}
    after = await stored(registry)
    assert after == [(*before[0][:3], False, before[0][4])]
    # Each attempt is audited with the number it named.
    conflicts = [e for e in await events(registry, "case:register")
                 if "CONFLICT" in e.detail.get("errors", [])]
    assert [(e.sub, e.case_number) for e in conflicts] == [
        (JUDGE[0], NUMBER), (POLICE[0], NUMBER), (POLICE_TWO[0], NUMBER), (JUDGE[0], NUMBER)]


async def test_registering_one_case_number_concurrently_registers_one_case(
        registry: Registry) -> None:
    value = {"input": {"caseNumber": NUMBER, "stage": "INVESTIGATION",
                       "parties": [party(id_number())]}}
    bodies = await asyncio.gather(*[registry.gql(REGISTER_CASE, value, as_=who)
                                    for who in (POLICE, JUDGE, PROSECUTOR, POLICE_TWO)])
    assert sorted("errors" in b for b in bodies) == [False, True, True, True], bodies
    assert {error_of(b)["extensions"]["code"] for b in bodies if "errors" in b} == {"CONFLICT"}
    assert len(await stored(registry)) == 1


async def test_a_case_number_is_one_case_however_it_is_spaced(registry: Registry) -> None:
    await register_case(registry, POLICE, NUMBER, [])
    body = await registry.gql(REGISTER_CASE, {"input": {
        "caseNumber": f"  {NUMBER} ", "stage": "TRIAL", "parties": []}}, as_=JUDGE)
    assert error_of(body)["extensions"]["code"] == "CONFLICT"


BAD_CASES: list[tuple[str, dict[str, Any]]] = [
    ("input.caseNumber", {"caseNumber": "  "}),
    ("input.caseNumber", {"caseNumber": "x" * 101}),
    ("input.caseNumber", {"caseNumber": "line\nbreak"}),
    ("input.parties[1].idNumber", {"parties": [party(id_number()),
                                               party("110101199005170001")]}),  # check digit
    ("input.parties[0].idNumber", {"parties": [party("not a number")]}),
    ("input.parties[0].idNumber", {"parties": [party("")]}),
    ("input.parties", {"parties": [party(id_number()) for _ in range(501)]}),
]


@pytest.mark.parametrize(("field", "overrides"), BAD_CASES,
                         ids=[f"{f}={json.dumps(o)[:40]}" for f, o in BAD_CASES])
async def test_bad_input_to_register_a_case_names_the_field_and_stores_nothing(
        registry: Registry, field: str, overrides: dict[str, Any]) -> None:
    value = {"caseNumber": NUMBER, "stage": "INVESTIGATION", "parties": [], **overrides}
    body = await registry.gql(REGISTER_CASE, {"input": value}, as_=POLICE)
    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await stored(registry) == []


async def test_a_role_that_is_no_party_role_is_refused_before_anything_runs(
        registry: Registry) -> None:
    body = await registry.gql(REGISTER_CASE, {"input": {
        "caseNumber": NUMBER, "stage": "INVESTIGATION",
        "parties": [{"idNumber": id_number(), "role": "INFORMANT"}]}}, as_=POLICE)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await stored(registry) == []


async def test_the_same_person_in_the_same_role_twice_is_one_party(registry: Registry) -> None:
    suspect = id_number()
    case = await register_case(registry, POLICE, NUMBER,
                               [party(suspect), party(suspect.lower()), party(suspect, "WITNESS")])
    assert case["parties"] == [party(suspect), party(suspect, "WITNESS")]
    again = await add_party(registry, POLICE, NUMBER, suspect)
    assert again["parties"] == case["parties"]


# -- reading ----------------------------------------------------------------------------------

async def test_the_officials_of_the_handling_agency_and_auditors_read_a_case(
        registry: Registry) -> None:
    suspect = id_number()
    await register_case(registry, POLICE, NUMBER, [party(suspect)])
    await counsel(registry, POLICE, NUMBER, LAWYER[0], suspect)
    await counsel(registry, POLICE_TWO, NUMBER, LAWYER[0], suspect)  # again: one lawyer
    expected = {"caseNumber": NUMBER, "agency": {"code": POLICE[2]}, "stage": "INVESTIGATION",
                "open": True, "parties": [party(suspect)], "counsel": [LAWYER[0]]}
    for who in (POLICE, POLICE_TWO, AUDITOR):
        body = await registry.gql(READ_CASE, {"c": NUMBER}, as_=who)
        assert body == {"data": {"case": expected}}, who


NOT_THE_HANDLERS = [JUDGE, PROSECUTOR, JUDGE_SHANGHAI, LAWYER, CLERK_DONGCHENG, EMPLOYER,
                    SECURITY_ADMIN, ("person.x", "individual", None),
                    ("police.fake", "police_officer", "REG-110101")]


@pytest.mark.parametrize("who", NOT_THE_HANDLERS, ids=lambda p: f"{p[1]}@{p[2]}")
async def test_anyone_else_reads_another_agencys_case_as_a_number_nobody_registered(
        registry: Registry, who: Any) -> None:
    await register_case(registry, POLICE, NUMBER, [party(id_number())])
    answers = [await registry.gql(READ_CASE, {"c": n}, as_=who) for n in (NUMBER, NOWHERE)]
    assert answers[0] == answers[1] == {"data": {"case": None}}
    # Both attempts are in the audit trail, with the number each named.
    attempts = [e for e in await events(registry, "case:read") if e.sub == who[0]]
    assert sorted(e.case_number for e in attempts) == sorted([NUMBER, NOWHERE])
    assert {e.outcome for e in attempts} == {"deny"}


async def test_a_transferred_case_is_read_by_the_agency_it_went_to_and_no_longer_by_the_other(
        registry: Registry) -> None:
    suspect = id_number()
    await register_case(registry, POLICE, NUMBER, [party(suspect)])
    handed = await transfer(registry, POLICE, NUMBER, PROSECUTOR, "PROSECUTION")
    assert (handed["agency"], handed["stage"]) == ({"code": PROSECUTOR[2]}, "PROSECUTION")
    assert (await registry.gql(READ_CASE, {"c": NUMBER}, as_=POLICE)) == \
        {"data": {"case": None}}
    read = await registry.gql(READ_CASE, {"c": NUMBER}, as_=PROSECUTOR)
    assert read["data"]["case"] == {**handed, "parties": [party(suspect)]}
    [event] = await events(registry, "case:transfer")
    assert event.detail == {"from_agency": POLICE[2], "to_agency": PROSECUTOR[2],
                            "stage": "PROSECUTION"}


LIST = """query Cases($open: Boolean) { cases(open: $open) { totalCount
  edges { node { caseNumber agency { code } open } } pageInfo { hasNextPage } } }"""


async def test_cases_lists_the_cases_the_requesters_agency_handles_and_auditors_see_all(
        registry: Registry) -> None:
    await register_case(registry, POLICE, "P-1", [])
    await register_case(registry, POLICE, "P-2", [])
    await register_case(registry, JUDGE, "J-1", [])
    await transfer(registry, POLICE, "P-2", JUDGE)
    await close(registry, POLICE, "P-1")

    async def numbers(who: Any, open: bool | None = None) -> tuple[int, list[str]]:
        page = (await registry.gql(LIST, {"open": open}, as_=who))["data"]["cases"]
        return page["totalCount"], sorted(e["node"]["caseNumber"] for e in page["edges"])

    assert await numbers(POLICE) == (1, ["P-1"])
    assert await numbers(POLICE, open=True) == (0, [])
    assert await numbers(JUDGE) == (2, ["J-1", "P-2"])
    assert await numbers(AUDITOR) == (3, ["J-1", "P-1", "P-2"])
    for other in (PROSECUTOR, LAWYER, CLERK_DONGCHENG):
        assert await numbers(other) == (0, [])


# -- changing: a case the requester's agency does not handle, however it looks ------------------

async def attempts_on(registry: Registry, who: Any, number: str) -> list[dict[str, Any]]:
    suspect = id_number()
    return [
        await registry.gql(ADD_PARTY, {"c": number, "p": party(suspect)}, as_=who),
        await registry.gql(TRANSFER, {"c": number, "to": PROSECUTOR[2],
                                      "stage": "PROSECUTION"}, as_=who),
        await registry.gql(CLOSE, {"c": number}, as_=who),
    ]


async def test_changing_a_case_of_another_agency_is_answered_as_for_a_number_nobody_registered(
        registry: Registry) -> None:
    await register_case(registry, JUDGE, NUMBER, [party(id_number())])
    before = await stored(registry)
    theirs = await attempts_on(registry, POLICE, NUMBER)
    missing = await attempts_on(registry, POLICE, NOWHERE)
    assert theirs == missing
    assert [error_of(b)["extensions"] for b in theirs] == [
        {"code": "BAD_USER_INPUT", "field": "caseNumber"}] * 3
    assert await stored(registry) == before


async def test_changing_a_case_transferred_away_is_answered_as_for_a_number_nobody_registered(
        registry: Registry) -> None:
    await register_case(registry, POLICE, NUMBER, [party(id_number())])
    await transfer(registry, POLICE, NUMBER, PROSECUTOR, "PROSECUTION")
    before = await stored(registry)
    assert await attempts_on(registry, POLICE, NUMBER) == \
        await attempts_on(registry, POLICE, NOWHERE)
    assert await stored(registry) == before


async def test_a_closed_case_takes_no_party_and_is_not_handed_on(registry: Registry) -> None:
    await register_case(registry, POLICE, NUMBER, [party(id_number())])
    await close(registry, POLICE, NUMBER)
    before = await stored(registry)
    bodies = (await attempts_on(registry, POLICE, NUMBER))[:2]
    assert [error_of(b)["extensions"] for b in bodies] == [
        {"code": "BAD_USER_INPUT", "field": "caseNumber"}] * 2
    assert await stored(registry) == before
    # Closing it again changes nothing and says it is closed.
    assert (await close(registry, POLICE, NUMBER))["open"] is False
    assert await stored(registry) == before


@pytest.mark.parametrize("who", [LAWYER, CLERK_DONGCHENG, EMPLOYER, AUDITOR],
                         ids=lambda p: p[1])
async def test_nobody_but_a_case_handling_official_changes_a_case_whatever_the_number(
        registry: Registry, who: Any) -> None:
    await register_case(registry, POLICE, NUMBER, [party(id_number())])
    before = await stored(registry)
    answers = await attempts_on(registry, who, NUMBER)
    assert answers == await attempts_on(registry, who, NOWHERE)
    assert [error_of(b)["extensions"] for b in answers] == [{"code": "FORBIDDEN"}] * 3
    assert await stored(registry) == before


# -- transfers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["LAW-110101", "REG-110101", "PRISON-110000", "JA-110101",
                                  "EMP-110101", "NO-SUCH-AGENCY", "", PROSECUTOR[2].lower()])
async def test_a_case_goes_to_a_case_handling_agency_only(registry: Registry,
                                                          code: str) -> None:
    await register_case(registry, POLICE, NUMBER, [party(id_number())])
    before = await stored(registry)
    body = await registry.gql(TRANSFER, {"c": NUMBER, "to": code, "stage": "PROSECUTION"},
                              as_=POLICE)
    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "toAgency"}
    assert await stored(registry) == before


async def test_a_case_is_not_transferred_to_the_agency_that_handles_it(
        registry: Registry) -> None:
    await register_case(registry, POLICE, NUMBER, [party(id_number())])
    body = await registry.gql(TRANSFER, {"c": NUMBER, "to": POLICE[2],
                                         "stage": "INVESTIGATION"}, as_=POLICE)
    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "toAgency"}


async def test_a_transfer_by_an_official_of_another_agency_changes_nothing(
        registry: Registry) -> None:
    await register_case(registry, POLICE, NUMBER, [party(id_number())])
    before = await stored(registry)
    body = await registry.gql(TRANSFER, {"c": NUMBER, "to": JUDGE[2], "stage": "TRIAL"},
                              as_=PROSECUTOR)
    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "caseNumber"}
    assert await stored(registry) == before
    [denied] = await events(registry, "case:transfer")
    assert (denied.outcome, denied.sub, denied.case_number) == ("deny", PROSECUTOR[0], NUMBER)


async def test_a_case_moves_from_police_to_procuratorate_to_court_and_back(
        registry: Registry) -> None:
    await register_case(registry, POLICE, NUMBER, [party(id_number())])
    await transfer(registry, POLICE, NUMBER, PROSECUTOR, "PROSECUTION")
    await transfer(registry, PROSECUTOR, NUMBER, JUDGE, "TRIAL")
    # A court may return it (e.g. for supplementary investigation): stages are not ordered.
    back = await transfer(registry, JUDGE, NUMBER, PROSECUTOR, "PROSECUTION")
    assert (back["agency"], back["stage"]) == ({"code": PROSECUTOR[2]}, "PROSECUTION")


# -- parties ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "field"), [
    ("110101199005170001", "party.idNumber"), ("", "party.idNumber"),
    ("11010119900517001X0", "party.idNumber")])
async def test_a_party_with_a_malformed_identity_number_is_bad_input_and_adds_nothing(
        registry: Registry, value: str, field: str) -> None:
    await register_case(registry, POLICE, NUMBER, [])
    body = await registry.gql(ADD_PARTY, {"c": NUMBER, "p": party(value)}, as_=POLICE)
    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert value not in json.dumps(body) or value == ""
    assert (await stored(registry))[0][4] == []


async def test_a_party_is_added_by_the_handling_agency(registry: Registry) -> None:
    suspect, witness = id_number(), id_number()
    await register_case(registry, POLICE, NUMBER, [party(suspect)])
    case = await add_party(registry, POLICE_TWO, NUMBER, witness, "WITNESS")
    assert case["parties"] == [party(suspect), party(witness, "WITNESS")]
    [event] = await events(registry, "case:add_party")
    assert (event.outcome, event.detail) == ("permit", {"role": "WITNESS"})
    assert witness not in json.dumps(event.model_dump(mode="json"))

