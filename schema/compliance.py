"""`reportingCompliance(from, to)`: how timely each sending agency reported (DESIGN.md §1.2:
timeliness is part of accountability), counted from the notices the requester may account
for, filtered in SQL."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import strawberry
from sqlalchemy import func
from sqlmodel import col, select

from db.models import Agency, Notice
from policies.actions import Action
from schema.agencies import AgencyNode
from schema.context import Context
from schema.errors import BadUserInput
from schema.fields import authorized
from schema.notices import REPORTED_KINDS, visible_notices
from schema.pagination import (
    PageInfo,
    Window,
    connection_of,
    encode_tagged_cursor,
    text_cursor,
)


@dataclass
class ComplianceView:
    """One sending agency's reporting in a period, counted from the notices the requester
    may account for (the root resolver filtered them in SQL)."""

    agency: Agency
    received: int
    late: int
    median_delay_days: float
    unresolved: int

    def authz_resource(self) -> dict[str, Any]:
        return {"type": "compliance", "id": self.agency.code, "owner_agency": self.agency.code}


@strawberry.type(name="AgencyCompliance", description=(
    "How one sending agency kept its reporting deadlines in a window."))
class AgencyComplianceNode:
    """How one sending agency reported in a period (DESIGN.md §1.2: timeliness is part of
    accountability)."""

    @authorized(Action.NOTICE_COMPLIANCE)
    def agency(self: ComplianceView) -> AgencyNode:  # type: ignore[misc]
        return self.agency  # type: ignore[return-value]

    @authorized(Action.NOTICE_COMPLIANCE)
    def received(self: ComplianceView) -> int:  # type: ignore[misc]
        return self.received

    @authorized(Action.NOTICE_COMPLIANCE)
    def on_time(self: ComplianceView) -> int:  # type: ignore[misc]
        return self.received - self.late

    @authorized(Action.NOTICE_COMPLIANCE)
    def late(self: ComplianceView) -> int:  # type: ignore[misc]
        return self.late

    @authorized(Action.NOTICE_COMPLIANCE)
    def median_delay_days(self: ComplianceView) -> float:  # type: ignore[misc]
        """Median days from the event date (effective, release, expiry) to receipt."""
        return self.median_delay_days

    @authorized(Action.NOTICE_COMPLIANCE)
    def unresolved(self: ComplianceView) -> int:  # type: ignore[misc]
        """Of these notices, those still waiting in an exception queue."""
        return self.unresolved


# A row's cursor holds its agency's code (unique; the order of the list), under a tag.
AGENCY_TAG = "agc"
AGENCY_CURSOR = text_cursor(AGENCY_TAG)


def _agency_cursor(view: ComplianceView) -> str:
    return encode_tagged_cursor(AGENCY_TAG, view.agency.code)


@strawberry.type(name="AgencyComplianceEdge", description=(
    "One sending agency's reporting in a page, with its cursor."))
class AgencyComplianceEdge:
    cursor: str
    node: AgencyComplianceNode = authorized(Action.NOTICE_COMPLIANCE, target="value")


@strawberry.type(name="AgencyComplianceConnection", description=(
    "A page of sending agencies' reporting, by agency code (Relay connection)."))
class AgencyComplianceConnection:
    edges: list[AgencyComplianceEdge]
    page_info: PageInfo
    total_count: int


async def reporting_compliance(ctx: Context, from_: date, to: date, page: Window,
                               counted: bool) -> AgencyComplianceConnection:
    """Per sending agency, by agency code, the notices received from `from_` to `to`
    (inclusive) that the requester may account for: on time, late, the median delay, and
    those still queued. The page of agencies is cut in SQL (keyset on the code); only its
    agencies' notices are read; totalCount, when asked, counts the agencies in one more."""
    if to < from_:
        raise BadUserInput("to", "must not be before from")
    if (to - from_).days > 3660:
        raise BadUserInput("to", "the period may be at most ten years")
    visible, reachable = await visible_notices(ctx, Action.NOTICE_COMPLIANCE)
    begin = datetime.combine(from_, time(), tzinfo=UTC)
    end = datetime.combine(to + timedelta(days=1), time(), tzinfo=UTC)
    where = [visible, col(Notice.created_at) >= begin, col(Notice.created_at) < end,
             # A correction is no report of an event and has no deadline.
             col(Notice.kind).in_(REPORTED_KINDS)]
    total: int | None = None
    if counted:
        total = int(await ctx.scalar(select(func.count(func.distinct(
            col(Notice.sender_agency_id)))).where(*where)) or 0)
    agencies: list[Agency] = []
    if total != 0:
        query = select(Agency).where(col(Agency.id).in_(
            select(col(Notice.sender_agency_id)).where(*where)))
        if page.after is not None:
            query = query.where(col(Agency.code) > page.after)
        if page.before is not None:
            query = query.where(col(Agency.code) < page.before)
        order = col(Agency.code).desc() if page.backward else col(Agency.code)
        agencies = list(await ctx.scalars(query.order_by(order).limit(page.size + 1)))
    shown = agencies[:page.size]
    report: list[ComplianceView] = []
    if shown:
        result = await ctx.execute(
            select(col(Notice.sender_agency_id), col(Notice.late), col(Notice.delay_days),
                   col(Notice.status))
            .where(*where, col(Notice.sender_agency_id).in_([a.id for a in shown])))
        rows: Sequence[Any] = result.all()
        delays: dict[int, list[int]] = defaultdict(list)
        late: dict[int, int] = defaultdict(int)
        queued: dict[int, int] = defaultdict(int)
        for sender_id, is_late, delay, status in rows:
            delays[sender_id].append(int(delay or 0))
            late[sender_id] += int(bool(is_late))
            queued[sender_id] += int(status == "UNMATCHED")
        for agency in shown:
            found = delays[cast(int, agency.id)]
            if not found:  # its notices left the filter between the two statements
                continue
            report.append(ComplianceView(
                agency, received=len(found), late=late[cast(int, agency.id)],
                median_delay_days=float(statistics.median(found)),
                unresolved=queued[cast(int, agency.id)]))
    if reachable:
        # The notices themselves were not read, only counted: one event for the report.
        ctx.authz.note(Action.NOTICE_COMPLIANCE, "permit", "notice",
                       [f"{from_.isoformat()}..{to.isoformat()}"])
    report = [r for r in report if ctx.authz.check_object(Action.NOTICE_COMPLIANCE, r)]
    return connection_of(AgencyComplianceEdge, AgencyComplianceConnection, report, total,
                         page.size, page.backward, cursor=_agency_cursor,
                         more=len(agencies) > page.size)
