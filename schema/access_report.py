"""`accessReport(from, to)`: misuse signals for auditors (DESIGN.md §1.5, issue 5).

Per requester (sub, role, agency) in a window of days: the inquiries submitted by purpose,
the reads of criminal information, the denied attempts, the sealed records disclosed, the
case numbers used and the share of the notices they sent that could not be matched; and
the requesters far above the peers of their role.

Everything is counted in SQL. Inquiries come from the `inquiry` table, not from the
`inquiry:submit` audit events: a row is one inquiry that exists, with its purpose, whereas
the permit event of a submission whose operation then failed stays in the trail (rolled
back, the inquiry never existed); a denied submission is counted as a denied attempt.
Notices come from the `notice` table likewise (a replay is no new notice). Everything else
comes from the audit trail.

The unmatched share: a notice tells its sender nothing that the sender may not read
(DESIGN.md §1.2), but whether it was matched is still an answer, so probing the registry
with notices shows as a share of unmatched notices far above the senders of the same role.
A notice counts as unmatched when it could not be matched on receipt (UNMATCHED, or since
resolved or rejected by a clerk).

Outliers, robustly: for each role with at least `MIN_PEERS` other requesters in the
report, a requester is flagged on a measure when their value is at least `FLOOR` and
above max(3 × the peer median, peer median + 3 × the peers' median absolute deviation),
the peers being the *other* requesters of the role (so a requester never raises their
own bar). Median and MAD ignore a few heavy users, unlike a mean and standard deviation.
The unmatched share (a percentage) is judged among the requesters of the role who sent
notices, and its floor is `FLOOR` unmatched notices, not `FLOOR` percent: a first
notice that cannot be matched is 100 % and no signal yet.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Integer, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from db.models import Agency, AuditEvent, Inquiry, Notice
from policies.actions import Action
from schema.agencies import AGENCY_DETAILS, AgencyNode, agency_details
from schema.context import Context
from schema.errors import BadUserInput
from schema.fields import attribute, authorized
from schema.inquiries import Purpose
from schema.notices import REPORTED_KINDS

MAX_DAYS = 366
MIN_PEERS = 3
FLOOR = 5
FACTOR = 3

# Reads of criminal information: the permitted reads and lists of these resources.
READ_ACTIONS = (Action.OFFENDER_READ, Action.OFFENDER_LIST, Action.JUDGMENT_READ,
                Action.JUDGMENT_LIST, Action.DETENTION_READ, Action.INQUIRY_READ,
                Action.INQUIRY_LIST, Action.CASE_READ, Action.CASE_LIST)


@strawberry.enum(description=(
    "A per-requester measure of the access report, compared with the peers of the same "
    "role."))
class AccessMeasure(Enum):
    INQUIRIES = "inquiries"
    READS = "reads"
    RECORDS_READ = "records_read"
    DENIED_ATTEMPTS = "denied_attempts"
    SEALED_DISCLOSURES = "sealed_disclosures"
    CASE_NUMBERS = "case_numbers"
    UNMATCHED_NOTICE_SHARE = "unmatched_notice_share"


# -- counting JSON lists on both databases -------------------------------------------------

class json_list_length(FunctionElement[int]):  # noqa: N801 (an SQL function)
    """The length of the JSON list in `column` (or in its top-level `key`); NULL if none."""

    type = Integer()
    inherit_cache = False  # the key is part of the SQL text

    def __init__(self, column: Any, key: str | None = None) -> None:
        assert key is None or key.replace("_", "").isalnum()  # a constant, never input
        self.key = key
        super().__init__(column)


@compiles(json_list_length, "sqlite")
def _sqlite_length(element: json_list_length, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    path = "$" if element.key is None else f"$.{element.key}"
    return f"json_array_length({column}, '{path}')"


@compiles(json_list_length, "postgresql")
def _postgresql_length(element: json_list_length, compiler: SQLCompiler, **kw: Any) -> str:
    # Through ::json, so a jsonb column would do as well as the json one we have.
    column = compiler.process(element.clauses, **kw)
    value = column if element.key is None else f"(({column})::json -> '{element.key}')"
    return f"json_array_length(({value})::json)"


# -- the report as plain data ------------------------------------------------------------

@dataclass
class PurposeCountView:
    resource: dict[str, Any]
    purpose: Purpose
    count: int

    def authz_resource(self) -> dict[str, Any]:
        return self.resource


@dataclass
class RequesterView:
    resource: dict[str, Any]
    sub: str
    role: str
    agency: str
    inquiries: list[PurposeCountView] = field(default_factory=list)
    reads: int = 0
    records_read: int = 0
    denied_attempts: int = 0
    sealed_disclosures: int = 0
    case_numbers: int = 0
    notices: int = 0
    unmatched_notices: int = 0

    def authz_resource(self) -> dict[str, Any]:
        return self.resource

    @property
    def unmatched_notice_share(self) -> int:
        """The percentage (rounded down) of the notices sent that could not be matched."""
        return 100 * self.unmatched_notices // self.notices if self.notices else 0

    def value(self, measure: AccessMeasure) -> int:
        if measure is AccessMeasure.INQUIRIES:
            return sum(p.count for p in self.inquiries)
        return int(getattr(self, measure.value))


@dataclass
class OutlierView:
    resource: dict[str, Any]
    sub: str
    role: str
    agency: str
    measure: AccessMeasure
    value: int
    peer_median: float

    def authz_resource(self) -> dict[str, Any]:
        return self.resource


@dataclass
class ReportView:
    resource: dict[str, Any]
    from_: date
    to: date
    requesters: list[RequesterView]
    outliers: list[OutlierView]

    def authz_resource(self) -> dict[str, Any]:
        return self.resource



# Every view of one report stands for the same resource object: decided (and audited, with
# the window as its id) once per request, not once per row.
@strawberry.type(name="PurposeCount", description=(
    "Inquiries submitted for one purpose."))
class PurposeCountNode:
    purpose: Purpose = authorized(Action.AUDIT_READ, resolver=attribute("purpose"))
    count: int = authorized(Action.AUDIT_READ, resolver=attribute("count"))


@strawberry.type(name="RequesterAccess", description=(
    "What one requester did in the report's window, from the audit trail."))
class RequesterAccessNode:
    sub: str = authorized(Action.AUDIT_READ, resolver=attribute("sub"))
    role: str = authorized(Action.AUDIT_READ, resolver=attribute("role"))
    agency: str = authorized(Action.AUDIT_READ, resolver=attribute("agency"),
                             description="The code of the requester's agency.")
    agency_details: AgencyNode | None = authorized(
        Action.AUDIT_READ, resolver=agency_details(lambda view: view.agency),
        description=AGENCY_DETAILS)
    inquiries: list[PurposeCountNode] = authorized(
        Action.AUDIT_READ, resolver=attribute("inquiries"),
        description="Inquiries submitted in the window, by purpose.")
    reads: int = authorized(Action.AUDIT_READ, resolver=attribute("reads"), description=(
        "Permitted reads and lists of offenders, judgments, detentions and inquiries "
        "(audit events: one per operation and kind)."))
    records_read: int = authorized(Action.AUDIT_READ, resolver=attribute("records_read"),
                                   description="The record ids those reads returned.")
    denied_attempts: int = authorized(Action.AUDIT_READ, resolver=attribute("denied_attempts"))
    sealed_disclosures: int = authorized(Action.AUDIT_READ,
                                         resolver=attribute("sealed_disclosures"),
                                         description="Sealed records disclosed.")
    case_numbers: int = authorized(Action.AUDIT_READ, resolver=attribute("case_numbers"),
                                   description="Distinct case numbers acted under.")
    notices: int = authorized(Action.AUDIT_READ, resolver=attribute("notices"), description=(
        "Notices sent (judgments, releases, correction expiries) and received in the "
        "window."))
    unmatched_notices: int = authorized(
        Action.AUDIT_READ, resolver=attribute("unmatched_notices"),
        description="Of those, the notices that could not be matched when received.")
    unmatched_notice_share: int = authorized(
        Action.AUDIT_READ, resolver=attribute("unmatched_notice_share"),
        description="unmatchedNotices as a percentage of notices, rounded down (0 without "
                    "notices).")


@strawberry.type(name="AccessOutlier", description=(
    "A requester far above the median of their role's peers on one measure."))
class AccessOutlierNode:
    sub: str = authorized(Action.AUDIT_READ, resolver=attribute("sub"))
    role: str = authorized(Action.AUDIT_READ, resolver=attribute("role"))
    agency: str = authorized(Action.AUDIT_READ, resolver=attribute("agency"),
                             description="The code of the requester's agency.")
    agency_details: AgencyNode | None = authorized(
        Action.AUDIT_READ, resolver=agency_details(lambda view: view.agency),
        description=AGENCY_DETAILS)
    measure: AccessMeasure = authorized(Action.AUDIT_READ, resolver=attribute("measure"))
    value: int = authorized(Action.AUDIT_READ, resolver=attribute("value"))
    peer_median: float = authorized(Action.AUDIT_READ, resolver=attribute("peer_median"))


@strawberry.type(name="AccessReport", description=(
    "Misuse signals per requester over a window of the audit trail."))
class AccessReportNode:
    from_: date = authorized(Action.AUDIT_READ, resolver=attribute("from_"), name="from")
    to: date = authorized(Action.AUDIT_READ, resolver=attribute("to"))
    requesters: list[RequesterAccessNode] = authorized(Action.AUDIT_READ,
                                                       resolver=attribute("requesters"))
    outliers: list[AccessOutlierNode] = authorized(Action.AUDIT_READ,
                                                   resolver=attribute("outliers"))


# -- outliers ----------------------------------------------------------------------------

def find_outliers(requesters: Sequence[RequesterView]) -> list[OutlierView]:
    """The requesters far above the other requesters of their role (module docstring)."""
    by_role: dict[str, list[RequesterView]] = {}
    for r in requesters:
        by_role.setdefault(r.role, []).append(r)
    found: list[OutlierView] = []
    for role_group in by_role.values():
        for measure in AccessMeasure:
            group = [r for r in role_group if _takes_part(r, measure)]
            if len(group) - 1 < MIN_PEERS:
                continue
            values = [r.value(measure) for r in group]
            for i, r in enumerate(group):
                peers = values[:i] + values[i + 1:]
                median = float(statistics.median(peers))
                mad = float(statistics.median(abs(v - median) for v in peers))
                bar = max(FACTOR * median, median + FACTOR * mad)
                if _floor_value(r, measure) >= FLOOR and values[i] > bar:
                    found.append(OutlierView(r.resource, r.sub, r.role, r.agency, measure,
                                             values[i], median))
    return sorted(found, key=lambda o: (o.role, o.sub, o.agency, o.measure.value))


def _takes_part(r: RequesterView, measure: AccessMeasure) -> bool:
    """A share of notices is judged among those who sent notices; every other measure among
    every requester of the role."""
    return measure is not AccessMeasure.UNMATCHED_NOTICE_SHARE or r.notices > 0


def _floor_value(r: RequesterView, measure: AccessMeasure) -> int:
    """What `FLOOR` is held against: the measure, or for the share, the unmatched notices."""
    if measure is AccessMeasure.UNMATCHED_NOTICE_SHARE:
        return r.unmatched_notices
    return r.value(measure)


# -- the query ---------------------------------------------------------------------------

async def access_report(ctx: Context, from_: date, to: date) -> AccessReportNode:
    ctx.authz.require(Action.AUDIT_READ, {"type": "audit", "id": "*"})
    if to < from_:
        raise BadUserInput("to", "must not be before from")
    if (to - from_).days + 1 > MAX_DAYS:
        raise BadUserInput("to", f"the window may be at most {MAX_DAYS} days")
    begin = datetime.combine(from_, time(), tzinfo=UTC)
    end = datetime.combine(to + timedelta(days=1), time(), tzinfo=UTC)
    resource = {"type": "audit", "id": f"access-report:{from_.isoformat()}..{to.isoformat()}"}
    rows: dict[tuple[str, str, str], RequesterView] = {}

    def row(sub: str, role: str, agency: str | None) -> RequesterView:
        key = (sub, role, agency or "")
        if key not in rows:
            rows[key] = RequesterView(resource, *key)
        return rows[key]

    is_read = (col(AuditEvent.outcome) == "permit") & col(AuditEvent.action).in_(
        [str(a) for a in READ_ACTIONS])
    events = await ctx.execute(
        select(col(AuditEvent.sub), col(AuditEvent.role), col(AuditEvent.agency),
               func.sum(case((is_read, 1), else_=0)),
               func.sum(case((is_read, func.coalesce(
                   json_list_length(col(AuditEvent.resource_ids)), 0)), else_=0)),
               func.sum(case((col(AuditEvent.outcome) == "deny", 1), else_=0)),
               func.sum(case((col(AuditEvent.outcome) == "permit", func.coalesce(
                   json_list_length(col(AuditEvent.detail), "sealed_disclosed"), 0)),
                   else_=0)),
               func.count(func.distinct(func.nullif(col(AuditEvent.case_number), ""))))
        .where(col(AuditEvent.at) >= begin, col(AuditEvent.at) < end)
        .group_by(col(AuditEvent.sub), col(AuditEvent.role), col(AuditEvent.agency)))
    counted: Sequence[Any] = events.all()
    for sub, role, agency, reads, records, denied, sealed, cases in counted:
        r = row(sub, role, agency)
        r.reads, r.records_read, r.denied_attempts = int(reads or 0), int(records or 0), \
            int(denied or 0)
        r.sealed_disclosures, r.case_numbers = int(sealed or 0), int(cases or 0)

    inquiries = await ctx.execute(
        select(col(Inquiry.requester_sub), col(Inquiry.requester_role), col(Agency.code),
               col(Inquiry.purpose), func.count())
        .select_from(Inquiry)
        .outerjoin(Agency, col(Agency.id) == col(Inquiry.requester_agency_id))
        .where(col(Inquiry.submitted_at) >= begin, col(Inquiry.submitted_at) < end)
        .group_by(col(Inquiry.requester_sub), col(Inquiry.requester_role), col(Agency.code),
                  col(Inquiry.purpose)))
    submitted: Sequence[Any] = inquiries.all()
    for sub, role, agency, purpose, count in submitted:
        row(sub, role, agency).inquiries.append(
            PurposeCountView(resource, Purpose(purpose), int(count)))

    notices = await ctx.execute(
        select(col(Notice.sender_sub), col(Notice.sender_role), col(Agency.code), func.count(),
               func.sum(case((col(Notice.status) != "REGISTERED", 1), else_=0)))
        .select_from(Notice)
        .join(Agency, col(Agency.id) == col(Notice.sender_agency_id))
        .where(col(Notice.created_at) >= begin, col(Notice.created_at) < end,
               # A correction is no report: always registered, it would dilute the share.
               col(Notice.kind).in_(REPORTED_KINDS), col(Notice.sender_sub) != "")
        .group_by(col(Notice.sender_sub), col(Notice.sender_role), col(Agency.code)))
    sent: Sequence[Any] = notices.all()
    for sub, role, agency, count, unmatched in sent:
        r = row(sub, role, agency)
        r.notices, r.unmatched_notices = int(count), int(unmatched or 0)

    requesters = sorted(rows.values(), key=lambda r: (r.sub, r.role, r.agency))
    for r in requesters:
        r.inquiries.sort(key=lambda p: p.purpose.value)
    return ReportView(resource, from_, to, requesters,  # type: ignore[return-value]
                      find_outliers(requesters))
