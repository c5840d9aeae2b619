"""Accountability (DESIGN.md §1.5) through the API: every read of criminal information and
every denied attempt appends an event to a hash chain that stays intact under load."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlmodel import col, select

from api.auth import CLI_CLIENT_ID
from db.audit import verify_chain
from db.models import AuditEvent, Judgment
from policies.store import policy_set_version
from tests.factories import (
    CLERK_BEIJING,
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    EMPLOYER,
    JUDGE,
    LAWYER,
    REPORT,
    Registry,
    id_number,
    report_input,
)

CLERK_POLICY = "clerk.reads-records-in-division"


async def report(registry: Registry, *, sealed: bool = False, region: str = "110101") -> str:
    birth = date(2010, 1, 1) if sealed else date(1990, 5, 17)
    value = report_input(defendant={"idNumber": id_number(region, birth),
                                    "birthDate": birth.isoformat(), "residenceRegion": region})
    body = await registry.gql(REPORT, {"input": value}, as_=JUDGE)
    assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
    async with registry.app.state.registry.database.session() as session:
        public_id = await session.scalar(select(Judgment.public_id).where(
            col(Judgment.judgment_number) == value["judgmentNumber"]))
    assert public_id is not None
    return str(public_id)


async def events_after(registry: Registry, seq: int) -> list[AuditEvent]:
    async with registry.app.state.registry.database.session() as session:
        return list((await session.scalars(
            select(AuditEvent).where(col(AuditEvent.seq) > seq).order_by(col(AuditEvent.seq))
        )).all())


async def head(registry: Registry) -> int:
    events = await events_after(registry, 0)
    return events[-1].seq if events else 0


async def version(registry: Registry) -> int:
    async with registry.app.state.registry.database.session() as session:
        return await policy_set_version(session)


def judgment_reads(events: list[AuditEvent]) -> list[AuditEvent]:
    return [e for e in events if e.action in ("judgment:list", "judgment:read")]


async def test_a_list_read_is_audited_with_requester_records_and_deciding_policy(
        registry: Registry) -> None:
    ids = {await report(registry), await report(registry)}
    await report(registry, region="310101")  # not the Dongcheng clerk's
    start = await head(registry)
    body = await registry.gql("query Listing { judgments { edges { node { id } } } }",
                              as_=CLERK_DONGCHENG)
    assert {e["node"]["id"] for e in body["data"]["judgments"]["edges"]} == ids
    events = judgment_reads(await events_after(registry, start))
    assert events, "a list read left no audit event"
    permits = [e for e in events if e.outcome == "permit"]
    assert permits and not [e for e in events if e.outcome == "deny"]
    assert {rid for e in permits for rid in e.resource_ids} == ids
    for event in permits:
        assert (event.sub, event.role, event.agency) == CLERK_DONGCHENG
        assert event.client_id == CLI_CLIENT_ID
        assert event.resource_type == "judgment"
        assert event.policy_uid == CLERK_POLICY
        assert event.policy_version == await version(registry)
        assert event.request_id
        assert "sealed_disclosed" not in event.detail


async def test_a_read_by_id_is_audited(registry: Registry) -> None:
    target = await report(registry)
    await report(registry)
    start = await head(registry)
    body = await registry.gql("query($id: ID!) { judgment(id: $id) { id judgmentNumber } }",
                              {"id": target}, as_=CLERK_BEIJING)
    assert body["data"]["judgment"]["id"] == target
    [event] = judgment_reads(await events_after(registry, start))
    assert (event.action, event.outcome) == ("judgment:read", "permit")
    assert (event.sub, event.role, event.agency) == CLERK_BEIJING
    assert event.resource_ids == [target]
    assert event.policy_uid == CLERK_POLICY
    assert event.policy_version == await version(registry)


async def test_a_read_that_returns_a_sealed_record_records_its_disclosure(
        registry: Registry) -> None:
    sealed = await report(registry, sealed=True)
    opened = await report(registry)
    start = await head(registry)
    body = await registry.gql("{ judgments { edges { node { id sealStatus } } } }",
                              as_=CLERK_DONGCHENG)
    assert {e["node"]["id"]: e["node"]["sealStatus"]
            for e in body["data"]["judgments"]["edges"]} == {sealed: "SEALED", opened: "OPEN"}
    events = judgment_reads(await events_after(registry, start))
    disclosed = [rid for e in events for rid in e.detail.get("sealed_disclosed", [])]
    assert disclosed == [sealed]
    assert {rid for e in events for rid in e.resource_ids} == {sealed, opened}

    start = await head(registry)
    body = await registry.gql("query($id: ID!) { judgment(id: $id) { sealStatus } }",
                              {"id": sealed}, as_=CLERK_DONGCHENG)
    assert body["data"]["judgment"] == {"sealStatus": "SEALED"}
    [event] = judgment_reads(await events_after(registry, start))
    assert event.detail["sealed_disclosed"] == [sealed]
    assert event.resource_ids == [sealed]


async def test_a_denied_attempt_is_audited_as_deny(registry: Registry) -> None:
    target = await report(registry)
    for principal in (JUDGE, CLERK_SHANGHAI, LAWYER):
        start = await head(registry)
        body = await registry.gql("query($id: ID!) { judgment(id: $id) { id } }",
                                  {"id": target}, as_=principal)
        assert body == {"data": {"judgment": None}}
        events = await events_after(registry, start)
        denials = [e for e in events if e.outcome == "deny"]
        assert [(e.action, e.sub, e.role, e.agency, e.resource_ids) for e in denials] == \
            [("judgment:read", *principal, [target])], principal
        assert not [e for e in events if e.outcome == "permit"], principal


async def test_a_list_attempt_the_policies_deny_entirely_is_audited_as_deny(
        registry: Registry) -> None:
    await report(registry)
    for principal in (JUDGE, LAWYER, EMPLOYER):
        start = await head(registry)
        body = await registry.gql("{ judgments { totalCount edges { node { id } } } }",
                                  as_=principal)
        assert body == {"data": {"judgments": {"totalCount": 0, "edges": []}}}
        events = await events_after(registry, start)
        assert [(e.action, e.outcome, e.sub) for e in events] == \
            [("judgment:list", "deny", principal[0])], principal


async def test_a_denied_attempt_on_a_sealed_record_is_audited_without_disclosure(
        registry: Registry) -> None:
    sealed = await report(registry, sealed=True)
    start = await head(registry)
    await registry.gql("query($id: ID!) { judgment(id: $id) { id } }", {"id": sealed},
                       as_=EMPLOYER)
    [event] = await events_after(registry, start)
    assert (event.action, event.outcome, event.resource_ids) == ("judgment:read", "deny",
                                                                   [sealed])
    assert "sealed_disclosed" not in event.detail


async def test_the_chain_stays_intact_after_a_mix_of_requests_some_concurrent(
        registry: Registry) -> None:
    ids = [await report(registry), await report(registry, sealed=True),
           await report(registry, region="310101")]
    one = "query($id: ID!) { judgment(id: $id) { id sealStatus } }"
    lists = "{ judgments { totalCount edges { node { id offender { id } } } } }"
    sequential: list[tuple[str, dict[str, Any], tuple[str, str, str | None]]] = [
        (lists, {}, CLERK_DONGCHENG), (lists, {}, JUDGE), (one, {"id": ids[0]}, JUDGE),
        (one, {"id": ids[1]}, CLERK_BEIJING), (one, {"id": ids[2]}, CLERK_SHANGHAI),
        (one, {"id": "jdg_doesnotexist"}, LAWYER), (lists, {}, CLERK_SHANGHAI),
        (one, {"id": ids[1]}, EMPLOYER), ("{ me { sub } }", {}, CLERK_DONGCHENG),
        (REPORT, {"input": report_input()}, JUDGE),
    ]
    for query, variables, principal in sequential:
        await registry.gql(query, variables, as_=principal)
    principals = [CLERK_DONGCHENG, CLERK_BEIJING, JUDGE, LAWYER, CLERK_SHANGHAI]
    concurrent = [registry.gql(one if n % 2 else lists, {"id": ids[n % 3]} if n % 2 else {},
                               as_=principals[n % 5]) for n in range(9)]
    concurrent.append(registry.gql(REPORT, {"input": report_input()}, as_=JUDGE))
    bodies = await asyncio.gather(*concurrent)
    assert all("errors" not in b for b in bodies), bodies
    async with registry.app.state.registry.database.session() as session:
        result = await verify_chain(session, registry.app.state.registry.audit.keys)
        total = len((await session.scalars(select(AuditEvent.seq))).all())
    assert result.intact, result
    assert result.count == total
    events = await events_after(registry, 0)
    assert [e.seq for e in events] == list(range(1, total + 1))
    assert sum(1 for e in events if e.outcome == "deny") >= 4
