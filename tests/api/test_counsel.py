"""Defense-counsel registrations (CONTRACT.md §3, §4; DESIGN.md §1.6) through HTTP, on
SQLite and PostgreSQL: a lawyer's cases come from here, never from the token, and only the
organ handling a case registers counsel in it, for a suspect or defendant of it."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from sqlmodel import col, func, select

from db.models import AuditEvent, DefenseCounsel
from tests.cases import add_party, close, party, register_case, transfer
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    EMPLOYER,
    JUDGE,
    LAWYER,
    POLICE,
    PROSECUTOR,
    Registry,
    id_number,
)

REGISTER = """mutation Register($caseNumber: String!, $lawyer: String!,
                                 $suspectIdNumber: String!) {
  registerDefenseCounsel(caseNumber: $caseNumber, lawyer: $lawyer,
                         suspectIdNumber: $suspectIdNumber)
}"""
CASE = "(2026) Jing 0101 Xing Chu No. 7"
LAWYER_SUB = LAWYER[0]
JUDGE_TWO = ("judge.wang", "judge", "COURT-110101")  # a colleague of JUDGE


def counsel(**overrides: str) -> dict[str, str]:
    value = {"caseNumber": CASE, "lawyer": LAWYER_SUB, "suspectIdNumber": id_number()}
    value.update(overrides)
    return value


async def in_case(registry: Registry, value: dict[str, str], handler: Any = JUDGE,
                  role: str = "DEFENDANT") -> dict[str, str]:
    """`value`'s case registered by `handler`'s agency, its suspect a party in `role`."""
    await register_case(registry, handler, value["caseNumber"],
                        [party(value["suspectIdNumber"], role)])
    return value


async def register(registry: Registry, value: dict[str, str],
                   as_: tuple[str, str, str | None] = JUDGE) -> dict[str, Any]:
    return await registry.gql(REGISTER, value, as_=as_)


async def stored(registry: Registry) -> list[DefenseCounsel]:
    async with registry.app.state.registry.database.session() as session:
        return list((await session.scalars(
            select(DefenseCounsel).order_by(col(DefenseCounsel.id)))).all())


async def count(registry: Registry) -> int:
    async with registry.app.state.registry.database.session() as session:
        return int(await session.scalar(
            select(func.count()).select_from(DefenseCounsel)) or 0)


async def audit(registry: Registry) -> list[AuditEvent]:
    async with registry.app.state.registry.database.session() as session:
        return list((await session.scalars(select(AuditEvent).where(
            col(AuditEvent.action) == "counsel:register").order_by(
                col(AuditEvent.seq)))).all())


# -- who registers --------------------------------------------------------------------------


async def test_a_judge_a_prosecutor_or_a_police_officer_registers_counsel_in_their_case(
        registry: Registry) -> None:
    organs = (JUDGE, PROSECUTOR, POLICE)
    values = [counsel(caseNumber=f"{CASE}-{n}") for n, _ in enumerate(organs)]
    for organ, value in zip(organs, values, strict=True):
        await in_case(registry, value, organ)
        body = await register(registry, value, as_=organ)
        assert body == {"data": {"registerDefenseCounsel": True}}, body
    rows = await stored(registry)
    assert [(r.case_number, r.lawyer_sub, r.suspect_id_number, r.registered_by)
            for r in rows] == [(v["caseNumber"], LAWYER_SUB, v["suspectIdNumber"], o[0])
                               for o, v in zip(organs, values, strict=True)]
    assert all(r.case_id is not None for r in rows)


@pytest.mark.parametrize("principal", [
    LAWYER,  # a lawyer registering themselves
    CLERK_DONGCHENG, EMPLOYER, AUDITOR,
    ("judge.fake", "judge", "LAW-110101"),  # a role claimed with a law firm's agency
    ("police.fake", "police_officer", "REG-110101"),
    ("judge.nowhere", "judge", None),
], ids=lambda p: f"{p[1]}@{p[2]}")
async def test_nobody_else_may_register_defense_counsel(
        registry: Registry, principal: tuple[str, str, str | None]) -> None:
    body = await register(registry, counsel(), as_=principal)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert await count(registry) == 0
    [denied] = await audit(registry)
    assert (denied.outcome, denied.sub) == ("deny", principal[0])


async def test_an_organ_may_not_register_itself_as_counsel(registry: Registry) -> None:
    body = await register(registry, counsel(lawyer=JUDGE[0]), as_=JUDGE)
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert await count(registry) == 0
    [denied] = await audit(registry)
    assert denied.policy_uid == "counsel.nobody-registers-themselves"


# -- idempotence ----------------------------------------------------------------------------


async def test_registering_the_same_counsel_again_changes_nothing(registry: Registry) -> None:
    value = await in_case(registry, counsel())
    assert (await register(registry, value))["data"] == {"registerDefenseCounsel": True}
    [first] = await stored(registry)
    # Again, by a colleague and with the input spelled as a client might: the same one.
    again = {**value, "caseNumber": f"  {CASE} ",
             "suspectIdNumber": value["suspectIdNumber"].lower()}
    body = await register(registry, again, as_=JUDGE_TWO)
    assert body == {"data": {"registerDefenseCounsel": True}}, body
    [row] = await stored(registry)
    assert (row.id, row.registered_by, row.created_at) == (
        first.id, JUDGE[0], first.created_at)
    # Another case, lawyer or suspect is another registration.
    other_case = await in_case(registry, counsel(caseNumber="(2026) Jing 0101 Xing Chu No. 8",
                                                 suspectIdNumber=value["suspectIdNumber"]))
    other_suspect = {**value, "suspectIdNumber": id_number()}
    await add_party(registry, JUDGE, CASE, other_suspect["suspectIdNumber"], "SUSPECT")
    for other in (other_case, {**value, "lawyer": "lawyer.li"}, other_suspect):
        assert "errors" not in await register(registry, other)
    assert await count(registry) == 4


async def test_registering_the_same_counsel_concurrently_stores_one_row(
        registry: Registry) -> None:
    value = await in_case(registry, counsel())
    bodies = await asyncio.gather(*[register(registry, value, as_=organ)
                                    for organ in (JUDGE, JUDGE_TWO, JUDGE, JUDGE_TWO)])
    assert bodies == [{"data": {"registerDefenseCounsel": True}}] * 4
    assert await count(registry) == 1
    # Every call is audited, each naming the one row.
    [row] = await stored(registry)
    assert [e.resource_ids for e in await audit(registry)] == [[f"cns_{row.id}"]] * 4


# -- bad input ------------------------------------------------------------------------------

BAD_INPUTS: list[tuple[str, dict[str, str]]] = [
    ("caseNumber", {"caseNumber": "  "}),
    ("caseNumber", {"caseNumber": "x" * 101}),
    ("caseNumber", {"caseNumber": "line\nbreak"}),
    ("lawyer", {"lawyer": ""}),
    ("lawyer", {"lawyer": "l" * 201}),
    ("lawyer", {"lawyer": "lawyer\tzhang"}),
    ("suspectIdNumber", {"suspectIdNumber": "110101199005170001"}),  # check digit
    ("suspectIdNumber", {"suspectIdNumber": "not a number"}),
    ("suspectIdNumber", {"suspectIdNumber": ""}),
]


@pytest.mark.parametrize(("field", "overrides"), BAD_INPUTS,
                         ids=[f"{f}={list(o.values())[0]!r}"[:50] for f, o in BAD_INPUTS])
async def test_bad_input_of_every_argument_names_it_and_stores_nothing(
        registry: Registry, field: str, overrides: dict[str, str]) -> None:
    value = counsel(**overrides)
    body = await register(registry, value)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert body["data"] is None
    if field == "suspectIdNumber" and value["suspectIdNumber"]:
        assert value["suspectIdNumber"] not in json.dumps(body)
    assert await count(registry) == 0


# -- audit ----------------------------------------------------------------------------------


async def test_a_registration_is_audited_without_identity_numbers(
        registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    value = await in_case(registry, counsel())
    # The registry's own loggers at every level (the drivers' are capped by the app:
    # tests/security/test_logs.py).
    caplog.set_level(logging.INFO)
    for ours in ("registry", "api", "schema", "policies", "db"):
        caplog.set_level(logging.DEBUG, logger=ours)
    assert "errors" not in await register(registry, value)
    assert "errors" not in await register(registry, value)  # again: audited again
    assert "errors" in await register(registry, counsel(), as_=EMPLOYER)
    [row] = await stored(registry)
    events = await audit(registry)
    # One event per call: the permit, the policy that decided, and the row it names.
    assert [(e.sub, e.outcome, e.resource_type, e.resource_ids) for e in events] == [
        (JUDGE[0], "permit", "counsel", [f"cns_{row.id}"]),
        (JUDGE[0], "permit", "counsel", [f"cns_{row.id}"]),
        (EMPLOYER[0], "deny", "counsel", []),
    ]
    assert {e.policy_uid for e in events[:2]} == {
        "case-handling-organs.register-defense-counsel"}
    assert [e.case_number for e in events] == [CASE, CASE, ""]
    written = json.dumps([e.model_dump(mode="json") for e in events])
    assert value["suspectIdNumber"] not in written
    assert LAWYER_SUB not in written
    assert value["suspectIdNumber"] not in caplog.text


# -- the case: only its handling organ registers counsel, for an accused ----------------------


async def refused_states(registry: Registry) -> dict[str, dict[str, str]]:
    """For the judge (COURT-110101), a registration in each case that is not theirs to
    register counsel in, each with a suspect of its own."""
    values = {}
    values["no such case"] = counsel(caseNumber="(2026) nobody registered this")
    values["another agency's case"] = await in_case(
        registry, counsel(caseNumber="(2026) Jing Dong Jian No. 1"), PROSECUTOR)
    transferred = await in_case(registry, counsel(caseNumber="(2026) Jing Dong Fa No. 2"))
    await transfer(registry, JUDGE, transferred["caseNumber"], PROSECUTOR, "PROSECUTION")
    values["transferred away"] = transferred
    closed = await in_case(registry, counsel(caseNumber="(2026) Jing Dong Fa No. 3"))
    await close(registry, JUDGE, closed["caseNumber"])
    values["closed"] = closed
    values["a victim"] = await in_case(registry, counsel(caseNumber="(2026) Jing Dong Fa No. 4"),
                                       role="VICTIM")
    values["a witness"] = await in_case(registry, counsel(caseNumber="(2026) Jing Dong Fa No. 5"),
                                        role="WITNESS")
    values["not a party"] = {**await in_case(
        registry, counsel(caseNumber="(2026) Jing Dong Fa No. 6")),
        "suspectIdNumber": id_number()}
    return values


async def test_counsel_is_registered_only_by_the_handling_organ_for_an_accused_of_an_open_case(
        registry: Registry) -> None:
    """Each refusal is the same answer, byte for byte: whether the case exists, who handles
    it, whether it is closed and who is in it stay unknown to the one refused."""
    values = await refused_states(registry)
    answers = {state: await register(registry, value) for state, value in values.items()}
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1, answers
    [error] = answers["no such case"]["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "caseNumber"}
    assert answers["no such case"]["data"] is None
    assert await count(registry) == 0
    denied = [e for e in await audit(registry) if e.outcome == "deny"]
    assert sorted(e.case_number for e in denied) == sorted(v["caseNumber"]
                                                         for v in values.values())
    # The official is told one reason; auditors see which it was.
    why = {e.case_number: e.detail["case"] for e in denied}
    assert why[values["closed"]["caseNumber"]]["case_status"] == "closed"
    assert why[values["a victim"]["caseNumber"]]["subject_is_accused"] == "no"
    assert why[values["another agency's case"]["caseNumber"]]["handled_by_requester"] == "no"


async def test_a_lawyer_registered_by_an_agency_that_does_not_handle_the_case_is_refused(
        registry: Registry) -> None:
    value = await in_case(registry, counsel(), PROSECUTOR)
    for organ in (JUDGE, POLICE):
        body = await register(registry, value, as_=organ)
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT",
                                                   "field": "caseNumber"}
    assert await count(registry) == 0
    assert await register(registry, value, as_=PROSECUTOR) == {
        "data": {"registerDefenseCounsel": True}}


async def test_counsel_registered_in_a_case_stays_counsel_when_the_case_is_handed_on(
        registry: Registry) -> None:
    value = await in_case(registry, counsel(), POLICE, role="SUSPECT")
    assert "errors" not in await register(registry, value, as_=POLICE)
    await transfer(registry, POLICE, CASE, PROSECUTOR, "PROSECUTION")
    # The procuratorate now registers counsel in it; the police no longer do.
    other = {**value, "lawyer": "lawyer.li"}
    assert "errors" in await register(registry, other, as_=POLICE)
    assert "errors" not in await register(registry, other, as_=PROSECUTOR)
    rows = await stored(registry)
    assert [(r.lawyer_sub, r.registered_by) for r in rows] == [
        (LAWYER_SUB, POLICE[0]), ("lawyer.li", PROSECUTOR[0])]
    assert len({r.case_id for r in rows}) == 1

