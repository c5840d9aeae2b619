"""Relay `node(id:)` (issue 14 item 5): any record with an opaque id, read exactly as its
typed lookup reads it. A hidden id and a missing one answer alike, byte for byte, with the
same statements as the typed lookup, and both are audited as the typed lookups audit them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from db.models import AuditEvent, Detention, Inquiry, Judgment, Offender
from tests.api.test_query_count import counting
from tests.factories import (
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    EMPLOYER,
    JUDGE,
    LAWYER,
    POLICE,
    REGISTER_DETENTION,
    REPORT,
    Registry,
    detention_input,
    report_input,
)

Principal = tuple[str, str, str | None]

SUBMIT = """mutation Submit($input: SubmitInquiryInput!) { submitInquiry(input: $input) {
  id } }"""

# Per type: the typed lookup, the fields read through both, who reads it, who may not.
TYPES: dict[str, tuple[str, str, Principal, Principal]] = {
    "Judgment": ("judgment", "id judgmentNumber sealStatus offender { id }", CLERK_DONGCHENG,
                 CLERK_SHANGHAI),
    "Offender": ("offender", "id name residenceRegion judgments { totalCount }",
                 CLERK_DONGCHENG, CLERK_SHANGHAI),
    "Notice": ("notice", "id kind noticeNumber status", JUDGE, LAWYER),
    "Inquiry": ("inquiry", "id purpose status requester", EMPLOYER, LAWYER),
    "Detention": ("detention", "id kind caseNumber status", POLICE, LAWYER),
}
# Types whose hidden ids would run more statements than missing ones. Notices and detentions
# did (their agencies were read before deciding) until schema/lookup.read_by_id read them in
# the row's own statement: none now, and a type added here must say why.
STATEMENTS_DIFFER: set[str] = set()
PREFIX = {"Judgment": "jdg", "Offender": "ofd", "Notice": "ntc", "Inquiry": "inq",
          "Detention": "dtn"}


async def one_of_each(registry: Registry) -> dict[str, str]:
    report = report_input()
    body = await registry.gql(REPORT, {"input": report}, as_=JUDGE)
    ids = {"Notice": body["data"]["reportJudgment"]["notice"]["id"]}
    body = await registry.gql(SUBMIT, {"input": {
        "purpose": "EMPLOYMENT", "subjectIdNumber": report["defendant"]["idNumber"],
        "legalBasis": "Road Traffic Safety Law art. 100", "consentReference": "consent-1"}},
        as_=EMPLOYER)
    assert "errors" not in body, body
    detention = detention_input()
    body = await registry.gql(REGISTER_DETENTION, {"input": detention}, as_=POLICE)
    assert "errors" not in body, body
    async with registry.app.state.registry.database.session() as session:
        judgment, offender = (await session.execute(
            select(Judgment.public_id, Offender.public_id)
            .join(Offender, col(Offender.id) == col(Judgment.offender_id)))).one()
        ids["Judgment"], ids["Offender"] = str(judgment), str(offender)
        ids["Inquiry"] = str(await session.scalar(select(Inquiry.public_id)))
        ids["Detention"] = str(await session.scalar(select(Detention.public_id).where(
            col(Detention.case_number) == detention["caseNumber"])))
    return ids


async def audited(registry: Registry, query: str, variables: dict[str, Any],
                  who: Principal) -> tuple[dict[str, Any], list[tuple[Any, ...]], int]:
    """The answer, the audit events it wrote (what they say, not when), its statements."""
    async with registry.app.state.registry.database.session() as session:
        start = await session.scalar(select(AuditEvent.seq).order_by(
            col(AuditEvent.seq).desc()).limit(1)) or 0
    with counting(registry) as statements:
        body = await registry.gql(query, variables, as_=who)
    async with registry.app.state.registry.database.session() as session:
        events = (await session.scalars(select(AuditEvent).where(
            col(AuditEvent.seq) > start).order_by(col(AuditEvent.seq)))).all()
    return body, [(e.sub, e.action, e.outcome, e.resource_type, e.resource_ids, e.policy_uid)
                  for e in events], len(statements)


@pytest.mark.parametrize("type_name", sorted(TYPES))
async def test_node_reads_a_record_as_its_typed_lookup_and_is_audited_alike(
        registry: Registry, type_name: str) -> None:
    ids = await one_of_each(registry)
    field, fields, reader, _ = TYPES[type_name]
    typed = f"query($id: ID!) {{ r: {field}(id: $id) {{ {fields} }} }}"
    node = f"query($id: ID!) {{ r: node(id: $id) {{ ... on {type_name} {{ {fields} }} }} }}"
    by_type, typed_events, _ = await audited(registry, typed, {"id": ids[type_name]}, reader)
    by_node, node_events, _ = await audited(registry, node, {"id": ids[type_name]}, reader)
    assert by_type["data"]["r"] is not None and by_type["data"]["r"]["id"] == ids[type_name]
    assert by_node == by_type
    assert node_events == typed_events and node_events
    named = await registry.gql("query($id: ID!) { node(id: $id) { __typename id } }",
                               {"id": ids[type_name]}, as_=reader)
    assert named == {"data": {"node": {"__typename": type_name, "id": ids[type_name]}}}


@pytest.mark.parametrize("type_name", sorted(TYPES))
async def test_a_hidden_id_is_exactly_a_missing_id_to_node(
        registry: Registry, type_name: str) -> None:
    ids = await one_of_each(registry)
    field, fields, _, outsider = TYPES[type_name]
    node = f"query($id: ID!) {{ node(id: $id) {{ id ... on {type_name} {{ {fields} }} }} }}"
    missing_id = f"{PREFIX[type_name]}_doesnotexist"
    await registry.gql(node, {"id": missing_id}, as_=outsider)  # warm caches
    hidden, hidden_events, hidden_statements = await audited(
        registry, node, {"id": ids[type_name]}, outsider)
    missing, missing_events, missing_statements = await audited(
        registry, node, {"id": missing_id}, outsider)
    assert hidden == missing == {"data": {"node": None}}
    # Audited as the typed lookup audits the same refusal, with the same statements.
    typed = f"query($id: ID!) {{ node: {field}(id: $id) {{ id }} }}"
    typed_hidden, typed_events, typed_hidden_statements = await audited(
        registry, typed, {"id": ids[type_name]}, outsider)
    _, _, typed_missing_statements = await audited(registry, typed, {"id": missing_id}, outsider)
    assert typed_hidden == hidden
    assert hidden_events == typed_events and hidden_events
    assert [e[:3] for e in missing_events] == [e[:3] for e in hidden_events]
    assert (hidden_statements, missing_statements) == (typed_hidden_statements,
                                                        typed_missing_statements)
    if type_name in STATEMENTS_DIFFER:
        assert hidden_statements > missing_statements  # when fixed: move it to the rest
    else:
        assert hidden_statements == missing_statements


@pytest.mark.parametrize("id", ["", "x", "jdg_", "nope_123", "cas_abc", "evt_1", "ofd" * 20])
async def test_an_id_of_no_known_kind_is_a_missing_id(registry: Registry, id: str) -> None:
    body = await registry.gql("query($id: ID!) { node(id: $id) { id } }", {"id": id},
                              as_=CLERK_DONGCHENG)
    assert body == {"data": {"node": None}}
