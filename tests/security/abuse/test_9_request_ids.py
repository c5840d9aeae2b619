"""Item 9: a portal follows its request into our logs and audit trail. An incoming
`X-Request-ID` was ignored. One of 1 to 64 characters `[A-Za-z0-9._-]` is now kept and
echoed; anything else (too long, spaces, line breaks, other characters) is replaced, so that
a caller cannot forge log lines or smuggle data through the id.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from db.models import AuditEvent
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_a_well_formed_request_id_is_echoed_and_audited(registry: Registry) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    response = await registry.http.post(
        "/graphql", json={"query": "{ judgments { edges { node { id } } } }"},
        headers={"Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}",
                 "X-Request-ID": "portal-7.Ab_9"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "portal-7.Ab_9"
    async with registry.app.state.registry.database.session() as session:
        events = (await session.scalars(select(AuditEvent).where(
            AuditEvent.request_id == "portal-7.Ab_9"))).all()
    assert [e.action for e in events] == ["judgment:read"]


@pytest.mark.parametrize("incoming", [
    "x" * 65, "", "two words", "semi;colon", "quote\"", "slash/path", "ü-umlaut",
    "id\u2028line", "<script>", "%0d%0aSet-Cookie:a",
])
async def test_a_malformed_request_id_is_replaced(registry: Registry, incoming: str) -> None:
    response = await registry.http.get("/healthz", headers={
        "X-Request-ID": incoming.encode("utf-8")})
    assert response.headers["x-request-id"] != incoming
    assert GENERATED.fullmatch(response.headers["x-request-id"])


async def test_a_request_id_of_64_characters_is_kept(registry: Registry) -> None:
    response = await registry.http.get("/healthz", headers={"X-Request-ID": "a" * 64})
    assert response.headers["x-request-id"] == "a" * 64


async def test_every_response_gets_a_fresh_id_without_one(registry: Registry) -> None:
    first = await registry.http.get("/healthz")
    second = await registry.http.get("/healthz")
    assert GENERATED.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
