"""Defense-counsel registrations (CONTRACT.md §3, §4) through HTTP, on SQLite and
PostgreSQL: a lawyer's cases come from here, never from the token."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from sqlmodel import col, func, select

from api.seed import add_agency
from db.engine import Database
from db.models import AuditEvent, DefenseCounsel
from schema.authz import Authorizer
from schema.context import Context, Requester
from schema.counsel import is_counsel
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


def counsel(**overrides: str) -> dict[str, str]:
    value = {"caseNumber": CASE, "lawyer": LAWYER_SUB, "suspectIdNumber": id_number()}
    value.update(overrides)
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


async def test_a_judge_a_prosecutor_or_a_police_officer_registers_defense_counsel(
        registry: Registry) -> None:
    organs = (JUDGE, PROSECUTOR, POLICE)
    values = [counsel() for _ in organs]
    for organ, value in zip(organs, values, strict=True):
        body = await register(registry, value, as_=organ)
        assert body == {"data": {"registerDefenseCounsel": True}}, body
    rows = await stored(registry)
    assert [(r.case_number, r.lawyer_sub, r.suspect_id_number, r.registered_by)
            for r in rows] == [(CASE, LAWYER_SUB, v["suspectIdNumber"], o[0])
                               for o, v in zip(organs, values, strict=True)]


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
    value = counsel()
    assert (await register(registry, value))["data"] == {"registerDefenseCounsel": True}
    [first] = await stored(registry)
    # Again, by another organ and with the input spelled as a client might: the same triple.
    again = {**value, "caseNumber": f"  {CASE} ",
             "suspectIdNumber": value["suspectIdNumber"].lower()}
    body = await register(registry, again, as_=PROSECUTOR)
    assert body == {"data": {"registerDefenseCounsel": True}}, body
    [row] = await stored(registry)
    assert (row.id, row.registered_by, row.created_at) == (
        first.id, JUDGE[0], first.created_at)
    # Another case, lawyer or suspect is another registration.
    for other in (counsel(caseNumber="(2026) Jing 0101 Xing Chu No. 8",
                          suspectIdNumber=value["suspectIdNumber"]),
                  {**value, "lawyer": "lawyer.li"},
                  {**value, "suspectIdNumber": id_number()}):
        assert "errors" not in await register(registry, other)
    assert await count(registry) == 4


async def test_registering_the_same_counsel_concurrently_stores_one_row(
        registry: Registry) -> None:
    value = counsel()
    bodies = await asyncio.gather(*[register(registry, value, as_=organ)
                                    for organ in (JUDGE, PROSECUTOR, POLICE, JUDGE)])
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
    value = counsel()
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
    written = json.dumps([e.model_dump(mode="json") for e in events])
    assert value["suspectIdNumber"] not in written
    assert LAWYER_SUB not in written
    assert value["suspectIdNumber"] not in caplog.text


# -- is_counsel -----------------------------------------------------------------------------


async def test_is_counsel_holds_only_for_the_exact_registered_triple(
        database: Database) -> None:
    suspect, other_suspect = id_number(), id_number()
    async with database.session() as session:
        court = await add_agency(session, code="COURT-110101", kind="COURT",
                                 name="Dongcheng District People's Court", region="110101")
        assert court.id is not None
        session.add(DefenseCounsel(case_number=CASE, lawyer_sub=LAWYER_SUB,
                                   suspect_id_number=suspect, registered_by=JUDGE[0],
                                   registered_by_agency_id=court.id))
        await session.commit()
        ctx = Context(request_id="t", requester=Requester(*LAWYER, client_id="tests",
                                                          authenticated=True),
                      session=session, authz=Authorizer(None, {}))
        assert await is_counsel(ctx, CASE, LAWYER_SUB, suspect)
        assert not await is_counsel(ctx, "(2026) Jing 0101 Xing Chu No. 8", LAWYER_SUB,
                                    suspect)
        assert not await is_counsel(ctx, CASE, "lawyer.li", suspect)
        assert not await is_counsel(ctx, CASE, LAWYER_SUB, other_suspect)
        assert not await is_counsel(ctx, "", "", "")
