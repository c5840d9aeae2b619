"""`reportingCompliance(from, to)`: how timely each sending agency reported (DESIGN.md §1.2:
timeliness is part of accountability), counted from the notices the requester may account
for, filtered in SQL."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import strawberry
from sqlmodel import col, select

from db.models import Agency, Notice
from policies.actions import Action
from schema.agencies import AgencyNode
from schema.context import Context
from schema.errors import BadUserInput
from schema.fields import authorized
from schema.notices import REPORTED_KINDS, visible_notices


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


async def reporting_compliance(ctx: Context, from_: date, to: date
                               ) -> list[AgencyComplianceNode]:
    """Per sending agency, the notices received from `from_` to `to` (inclusive) that the
    requester may account for: on time, late, the median delay, and those still queued."""
    if to < from_:
        raise BadUserInput("to", "must not be before from")
    if (to - from_).days > 3660:
        raise BadUserInput("to", "the period may be at most ten years")
    visible, reachable = await visible_notices(ctx, Action.NOTICE_COMPLIANCE)
    begin = datetime.combine(from_, time(), tzinfo=UTC)
    end = datetime.combine(to + timedelta(days=1), time(), tzinfo=UTC)
    result = await ctx.execute(
        select(col(Notice.sender_agency_id), col(Notice.late), col(Notice.delay_days),
               col(Notice.status))
        .where(visible, col(Notice.created_at) >= begin, col(Notice.created_at) < end,
               # A correction is no report of an event and has no deadline.
               col(Notice.kind).in_(REPORTED_KINDS)))
    rows: Sequence[Any] = result.all()
    delays: dict[int, list[int]] = defaultdict(list)
    late: dict[int, int] = defaultdict(int)
    queued: dict[int, int] = defaultdict(int)
    for sender_id, is_late, delay, status in rows:
        delays[sender_id].append(int(delay or 0))
        late[sender_id] += int(bool(is_late))
        queued[sender_id] += int(status == "UNMATCHED")
    report: list[Any] = []
    for sender_id, found in delays.items():
        agency = await ctx.loaders.agency.load(sender_id)
        assert agency is not None  # a foreign key
        report.append(ComplianceView(agency, received=len(found), late=late[sender_id],
                                     median_delay_days=float(statistics.median(found)),
                                     unresolved=queued[sender_id]))
    if reachable:
        # The notices themselves were not read, only counted: one event for the report.
        ctx.authz.note(Action.NOTICE_COMPLIANCE, "permit", "notice",
                       [f"{from_.isoformat()}..{to.isoformat()}"])
    return sorted(report, key=lambda r: str(r.agency.code))
