"""`auditEvents(filter)`: auditors read the audit trail (DESIGN.md §1.5), newest first.

Reading it is itself audited (the Authorizer records the `audit:read` decisions with the
event ids read); nobody edits it through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, String, cast, func
from sqlmodel import col, select
from strawberry.scalars import JSON

from db.models import AuditEvent
from policies.actions import Action
from schema import validation as check
from schema.agencies import AGENCY_DETAILS, AgencyNode, agency_details
from schema.context import Context
from schema.errors import BadUserInput
from schema.fields import attribute, authorized
from schema.pagination import PageInfo, Window, encode_cursor, page_info

# CONTRACT.md §4: `auditEvents(first: Int = 50)`, the one page size that is not 20.
AUDIT_PAGE_SIZE = 50


@strawberry.enum(description=(
    "Whether the policy decision point permitted what an audit event records (lower case, "
    "as the audit chain stores it)."))
class AuditOutcome(Enum):
    permit = "permit"
    deny = "deny"


@strawberry.input(description=(
    "Narrows audit events: every field given must match exactly."))
class AuditFilter:
    sub: str | None = None
    agency: str | None = None
    action: str | None = None
    purpose: str | None = None
    resource_id: str | None = None
    outcome: AuditOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class AuditView:
    event: AuditEvent

    def authz_resource(self) -> dict[str, Any]:
        return {"type": "audit", "id": self.event.event_id}



def _outcome(self: AuditView) -> AuditOutcome:
    return AuditOutcome(self.event.outcome)


@strawberry.type(name="AuditEvent", description=(
    "One event of the tamper-evident audit trail: a read, a denied attempt or a write."))
class AuditEventNode:
    seq: int = authorized(Action.AUDIT_READ, resolver=attribute("seq", of="event"))
    event_id: str = authorized(Action.AUDIT_READ, resolver=attribute("event_id", of="event"))
    at: datetime = authorized(Action.AUDIT_READ, resolver=attribute("at", of="event"))
    sub: str = authorized(Action.AUDIT_READ, resolver=attribute("sub", of="event"))
    role: str = authorized(Action.AUDIT_READ, resolver=attribute("role", of="event"))
    agency: str = authorized(Action.AUDIT_READ, resolver=attribute("agency", of="event"),
                             description="The code of the requester's agency; empty when none.")
    agency_details: AgencyNode | None = authorized(
        Action.AUDIT_READ, resolver=agency_details(lambda view: view.event.agency),
        description=AGENCY_DETAILS)
    client_id: str = authorized(Action.AUDIT_READ, resolver=attribute("client_id", of="event"))
    request_id: str = authorized(Action.AUDIT_READ, resolver=attribute("request_id", of="event"))
    operation: str = authorized(Action.AUDIT_READ, resolver=attribute("operation", of="event"))
    action: str = authorized(Action.AUDIT_READ, resolver=attribute("action", of="event"))
    resource_type: str = authorized(Action.AUDIT_READ,
                                    resolver=attribute("resource_type", of="event"))
    resource_ids: list[str] = authorized(Action.AUDIT_READ,
                                         resolver=attribute("resource_ids", of="event"))
    purpose: str = authorized(Action.AUDIT_READ, resolver=attribute("purpose", of="event"))
    inquiry_id: str = authorized(Action.AUDIT_READ, resolver=attribute("inquiry_id", of="event"))
    case_number: str = authorized(Action.AUDIT_READ, resolver=attribute("case_number", of="event"))
    outcome: AuditOutcome = authorized(Action.AUDIT_READ, resolver=_outcome)
    policy_uid: str = authorized(Action.AUDIT_READ, resolver=attribute("policy_uid", of="event"))
    policy_version: int = authorized(Action.AUDIT_READ,
                                     resolver=attribute("policy_version", of="event"))
    detail: JSON = authorized(Action.AUDIT_READ, resolver=attribute("detail", of="event"))
    prev_hash: str = authorized(Action.AUDIT_READ, resolver=attribute("prev_hash", of="event"))
    hash: str = authorized(Action.AUDIT_READ, resolver=attribute("hash", of="event"))


@strawberry.type(name="AuditEventEdge", description=(
    "An audit event in a page, with its cursor."))
class AuditEventEdge:
    cursor: str
    node: AuditEventNode = authorized(Action.AUDIT_READ, target="value")


@strawberry.type(name="AuditEventConnection", description=(
    "A page of audit events, newest first (Relay connection)."))
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo
    total_count: int


def _conditions(filter: AuditFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    where: list[ColumnElement[bool]] = []
    for name in ("sub", "agency", "action", "purpose"):
        value = getattr(filter, name)
        if value is not None:
            where.append(col(getattr(AuditEvent, name)) == check.text(f"filter.{name}", value))
    if filter.outcome is not None:
        where.append(col(AuditEvent.outcome) == filter.outcome.value)
    if filter.resource_id is not None:
        rid = check.text("filter.resourceId", filter.resource_id, max_length=100)
        # The ids are a JSON list: matched as a quoted string in its text, on both databases.
        where.append(cast(col(AuditEvent.resource_ids), String).contains(f'"{rid}"',
                                                                         autoescape=True))
    if filter.since is not None:
        where.append(col(AuditEvent.at) >= filter.since)
    if filter.until is not None:
        if filter.since is not None and filter.until < filter.since:
            raise BadUserInput("filter.until", "must not be before filter.since")
        where.append(col(AuditEvent.at) < filter.until)
    return where


async def list_audit_events(ctx: Context, filter: AuditFilter | None, page: Window
                            ) -> AuditEventConnection:
    """Newest first: `after` is older, `before` newer (the cursors hold sequence numbers)."""
    ctx.authz.require(Action.AUDIT_READ, {"type": "audit", "id": "*"})
    size = page.size
    where = _conditions(filter)
    total = int(await ctx.scalar(select(func.count()).select_from(AuditEvent).where(*where))
                or 0)
    query = select(AuditEvent).where(*where)
    if page.after is not None:
        query = query.where(col(AuditEvent.seq) < page.after)
    if page.before is not None:
        query = query.where(col(AuditEvent.seq) > page.before)
    order = col(AuditEvent.seq) if page.backward else col(AuditEvent.seq).desc()
    rows = list(await ctx.scalars(query.order_by(order).limit(size + 1)))
    views = [AuditView(r) for r in rows]
    views = ctx.authz.page(Action.AUDIT_READ, views, size)
    shown = views[:size]
    if page.backward:
        shown.reverse()
    edges = [AuditEventEdge(cursor=encode_cursor(str(v.event.seq)), node=v)  # type: ignore[arg-type]
             for v in shown]
    return AuditEventConnection(edges=edges, total_count=total,
                                page_info=page_info(edges, len(views) > size, page.backward))
