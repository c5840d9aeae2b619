"""Notices (DESIGN.md §1.2): what an agency sent, whose queue it waits in, how timely it was.

Every notice is kept as received. One that could be matched is REGISTERED; one that could
not waits in the receiving authority's exception queue as UNMATCHED with its reason, until
a clerk resolves it (RESOLVED) or rejects it with a reason (REJECTED). Nothing is dropped.

A notice tells its sender nothing that the sender may not read. Whoever may not examine a
notice (`notice:examine`: the clerks of its queue's division) nor read every record the
registry holds reads `UNMATCHED_REASON` for any reason, and as its receiving authority the
one chosen from the notice's own fields: the residence it states, else the sender's region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, false, func
from sqlmodel import col, select
from strawberry.scalars import JSON
from strawberry.types import Info

from db.models import Agency, Judgment, Notice
from db.queries.visibility import visibility_clause
from policies.actions import Action
from policies.attributes import (
    judgment_visibility_combinations,
    notice_attributes,
    notice_visibility_combinations,
    offender_visibility_combinations,
)
from policies.routing import route_to_authority
from schema.agencies import AgencyNode
from schema.context import Context
from schema.fields import authorized
from schema.lookup import read_by_id
from schema.node import Node
from schema.pagination import PageInfo, Window, connection_of, fetch_page
from schema.records import JudgmentNode

NO_AUTHORITY = "no registration authority covers the residence region"
# What a notice that could not be matched says to whoever may not know why (DESIGN.md
# §1.2): no such judgment, identity fields that disagree, a date before the judgment took
# effect and a sealed judgment the sender may not read all answer this.
UNMATCHED_REASON = ("the notice could not be matched to the registry's records: a registry "
                    "clerk examines it")
# The notice kinds with a reporting deadline (DESIGN.md §1.2).
REPORTED_KINDS = ("JUDGMENT", "RELEASE", "CORRECTION_EXPIRY")


@strawberry.enum(description=(
    "Where a notice stands: matched and registered, waiting in the exception queue "
    "(UNMATCHED), or resolved or rejected there by a clerk."))
class NoticeStatus(Enum):
    REGISTERED = "REGISTERED"
    UNMATCHED = "UNMATCHED"
    RESOLVED = "RESOLVED"
    REJECTED = "REJECTED"


@dataclass
class NoticeView:
    """A notice with the agencies its policy attributes name, and how precisely it answers
    this requester: `precise`, the reason and the authority whose queue it is in
    (`receiver`); otherwise `UNMATCHED_REASON` and the authority of its own fields
    (`stated`)."""

    notice: Notice
    sender: Agency
    receiver: Agency | None
    subject: dict[str, Any]
    precise: bool
    stated: Agency | None

    @property
    def public_id(self) -> str:
        return self.notice.public_id

    @property
    def shown_receiver(self) -> Agency | None:
        return self.receiver if self.precise else self.stated

    @property
    def shown_reason(self) -> str | None:
        if self.notice.reason is None or self.precise:
            return self.notice.reason
        return UNMATCHED_REASON

    def authz_resource(self) -> dict[str, Any]:
        return notice_attributes(self.notice, sender_code=self.sender.code,
                                 receiver_code=self.receiver.code if self.receiver else "",
                                 subject=self.subject)


@strawberry.type(name="Notice", description=(
    "A notice an agency sent the registry: a judgment, a release, a correction expiry or a "
    "judgment correction."))
class NoticeNode(Node):
    @authorized(Action.NOTICE_READ)
    def id(self: NoticeView) -> strawberry.ID:  # type: ignore[misc]
        return strawberry.ID(self.notice.public_id)

    @authorized(Action.NOTICE_READ, description=(
        "JUDGMENT, RELEASE, CORRECTION_EXPIRY or JUDGMENT_CORRECTION (a String: CONTRACT.md "
        "§4 fixes the type)."))
    def kind(self: NoticeView) -> str:  # type: ignore[misc]
        return self.notice.kind

    @authorized(Action.NOTICE_READ)
    def notice_number(self: NoticeView) -> str:  # type: ignore[misc]
        return self.notice.notice_number

    @authorized(Action.NOTICE_READ)
    def status(self: NoticeView) -> NoticeStatus:  # type: ignore[misc]
        return NoticeStatus(self.notice.status)

    @authorized(Action.NOTICE_READ)
    def sender(self: NoticeView) -> AgencyNode:  # type: ignore[misc]
        return self.sender  # type: ignore[return-value]

    @authorized(Action.NOTICE_READ)
    def receiving_authority(self: NoticeView) -> AgencyNode | None:  # type: ignore[misc]
        """The authority whose exception queue the notice is in. To a requester who may not
        examine the notice, the one chosen from its own fields: the authority of the
        residence it states, else of the sender's region."""
        return self.shown_receiver  # type: ignore[return-value]

    @authorized(Action.NOTICE_READ)
    def received_at(self: NoticeView) -> datetime:  # type: ignore[misc]
        return self.notice.created_at

    @authorized(Action.NOTICE_READ)
    def event_date(self: NoticeView) -> date | None:  # type: ignore[misc]
        """The date the reporting deadline runs from: the judgment's effective date, the
        release date or the correction expiry date."""
        return self.notice.event_date

    @authorized(Action.NOTICE_READ)
    def due_date(self: NoticeView) -> date | None:  # type: ignore[misc]
        return self.notice.due_date

    @authorized(Action.NOTICE_READ)
    def delay_days(self: NoticeView) -> int | None:  # type: ignore[misc]
        """Days from the event date to receipt."""
        return self.notice.delay_days

    @authorized(Action.NOTICE_READ)
    def late(self: NoticeView) -> bool:  # type: ignore[misc]
        return self.notice.late

    @authorized(Action.NOTICE_READ)
    def reason(self: NoticeView) -> str | None:  # type: ignore[misc]
        """Why the notice waits in the queue (UNMATCHED), or waited. To a requester who may
        not examine the notice, one generic reason whatever the cause."""
        return self.shown_reason

    @authorized(Action.NOTICE_READ)
    def content(self: NoticeView) -> JSON:  # type: ignore[misc]
        """The notice's input as the agency sent it, named as in the mutation's input: what
        a clerk resolves it from."""
        return _camel(self.notice.payload.get("input", {}))  # type: ignore[no-any-return]

    @authorized(Action.NOTICE_READ)
    async def judgment(self: NoticeView, info: Info[Context, None]  # type: ignore[misc]
                       ) -> JudgmentNode | None:
        """The judgment the notice registered or was matched to, where the requester may
        read it."""
        if self.notice.judgment_id is None:
            return None
        ctx = info.context
        found = await ctx.loaders.named("judgment_by_id", lambda ids: _judgments(ctx, ids)
                                        ).load(self.notice.judgment_id)
        if found is None or not ctx.authz.check_object(Action.JUDGMENT_READ, found):
            return None
        return found  # type: ignore[no-any-return]

    @authorized(Action.NOTICE_READ)
    def resolved_by(self: NoticeView) -> str | None:  # type: ignore[misc]
        return self.notice.resolved_by

    @authorized(Action.NOTICE_READ)
    def resolved_at(self: NoticeView) -> datetime | None:  # type: ignore[misc]
        return self.notice.resolved_at

    @authorized(Action.NOTICE_READ)
    def resolution(self: NoticeView) -> str | None:  # type: ignore[misc]
        """The clerk's reason for resolving or rejecting a queued notice."""
        return self.notice.resolution


@strawberry.type(description=(
    "The notice a report registered."))
class NoticePayload:
    notice: NoticeNode = authorized(Action.NOTICE_READ, target="value")


@strawberry.type(name="NoticeEdge", description=(
    "A notice in a page, with its cursor."))
class NoticeEdge:
    cursor: str
    node: NoticeNode = authorized(Action.NOTICE_READ, target="value")


@strawberry.type(name="NoticeConnection", description=(
    "A page of notices the requester may see (Relay connection)."))
class NoticeConnection:
    edges: list[NoticeEdge]
    page_info: PageInfo
    total_count: int


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel_name(k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _camel_name(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


async def _judgments(ctx: Context, ids: Sequence[int]) -> list[Judgment | None]:
    rows = await ctx.scalars(select(Judgment).where(col(Judgment.id).in_(ids)))
    found = {r.id: r for r in rows}
    return [found.get(i) for i in ids]


# -- shared by the reporting mutations ---------------------------------------------------

async def requester_agency(ctx: Context) -> Agency | None:
    code = ctx.requester.agency_code
    return await ctx.loaders.agency_by_code.load(code) if code else None


async def authority_for(ctx: Context, region: str) -> Agency | None:
    """The most specific registration authority whose division contains `region`."""
    authorities: list[Agency] | None = ctx.memo.get("registration_authorities")
    if authorities is None:
        authorities = ctx.memo["registration_authorities"] = list(await ctx.scalars(
            select(Agency).where(col(Agency.kind) == "REGISTRATION_AUTHORITY")))
    code = route_to_authority(region, [(a.code, a.region) for a in authorities])
    return next((a for a in authorities if a.code == code), None)


async def queue_for(ctx: Context, region: str | None, sender: Agency
                    ) -> tuple[Agency | None, str | None]:
    """The authority that receives a notice about a person resident in `region`, and the
    problem that keeps it from being registered, if any.

    Without an authority for the residence, the notice still waits in a queue: that of the
    authority covering the sender's own region; without that either, in no authority's
    queue yet (the sender still sees it, and `registry agency add` of a covering authority
    takes it over).
    """
    authority = await authority_for(ctx, region) if region else None
    if authority is not None:
        return authority, None
    return await authority_for(ctx, sender.region), NO_AUTHORITY


def set_queue(notice: Notice, authority: Agency | None) -> None:
    notice.receiving_authority_id = authority.id if authority else None
    notice.queue_region = authority.region if authority else ""


def set_timeliness(ctx: Context, notice: Notice, event_date: date, today: date) -> None:
    """Records the deadline of the notice's kind and whether the notice met it."""
    deadline = ctx.deadlines[notice.kind]
    notice.event_date = event_date
    notice.due_date = event_date + timedelta(days=deadline)
    notice.delay_days = (today - event_date).days
    notice.late = today > notice.due_date


async def notice_view(ctx: Context, notice: Notice, *, stated: bool = True) -> NoticeView:
    sender = await ctx.loaders.agency.load(notice.sender_agency_id)
    receiver = (await ctx.loaders.agency.load(notice.receiving_authority_id)
                if notice.receiving_authority_id else None)
    assert sender is not None  # a foreign key
    view = NoticeView(notice, sender, receiver, ctx.authz.subject, precise=False, stated=None)
    # The registry asks, not the requester: no audit event, and no denied attempt that
    # would count against a sender reading its own notices.
    view.precise = (ctx.authz.decide(Action.NOTICE_EXAMINE, view.authz_resource(),
                                     record=False).allowed
                    or reads_every_record(ctx))
    if stated and not view.precise:
        view.stated = await stated_authority(ctx, notice, sender)
    return view


def stated_region(notice: Notice) -> str | None:
    """The residence the notice itself states, if it states one."""
    given = notice.payload.get("input") or {}
    if notice.kind == "JUDGMENT":
        given = given.get("defendant") or {}
    region = given.get("residence_region") if isinstance(given, dict) else None
    return region if isinstance(region, str) and region else None


async def stated_authority(ctx: Context, notice: Notice, sender: Agency) -> Agency | None:
    """The receiving authority chosen from the notice's own fields: that of the residence it
    states, else that of the sender's region. Never from what the registry holds."""
    region = stated_region(notice)
    found = await authority_for(ctx, region) if region else None
    return found or await authority_for(ctx, sender.region)


def reads_every_record(ctx: Context) -> bool:
    """May the requester read every judgment and every person the registry could hold?

    Only then does the precise reason of a notice tell nothing the requester may not read:
    "no judgment with this number" speaks of records that would be hidden, and a reason
    chosen by whether the records a notice met are readable would itself tell whether
    hidden ones exist. So this is decided on every combination of the attributes that
    decide whether a record is visible (as lists are), never on the rows a notice met."""
    known: bool | None = ctx.memo.get("reads_every_record")
    if known is None:
        questions = [(Action.JUDGMENT_READ, {"type": "judgment", "id": "*", **c})
                     for c in judgment_visibility_combinations()]
        questions += [(Action.OFFENDER_READ, {"type": "offender", "id": "*", **c})
                      for c in offender_visibility_combinations()]
        known = ctx.memo["reads_every_record"] = all(
            ctx.authz.decide(action, resource, record=False).allowed
            for action, resource in questions)
    return known


# -- lists ------------------------------------------------------------------------------

async def visible_notices(ctx: Context, action: str) -> tuple[ColumnElement[bool], bool]:
    """The SQL filter of the notices `action` may reach, and whether any may be reached."""
    combos = ctx.authz.visible(action, notice_visibility_combinations(ctx.authz.subject),
                               "notice")
    own = await requester_agency(ctx)
    sent_by_requester: ColumnElement[bool] = (
        col(Notice.sender_agency_id) == own.id if own is not None else false())
    clause = visibility_clause(
        combos, {"kind": func.lower(col(Notice.kind)), "status": func.lower(col(Notice.status))},
        region_column=col(Notice.queue_region),
        requester_division=ctx.authz.subject.get("region"),
        constants={"type": "notice", "seal_status": "open"},
        relations={"owner_agency": (own.code if own is not None else "", sent_by_requester)})
    return clause, bool(combos)


async def list_notices(ctx: Context, status: NoticeStatus | None, page: Window, *,
                       counted: bool = True) -> NoticeConnection:
    """The notices the requester may see: a clerk, the queue of the authorities in their
    division; a reporting agency, what it sent."""
    visible, _ = await visible_notices(ctx, Action.NOTICE_LIST)
    where = [visible]
    if status is not None:
        where.append(col(Notice.status) == status.value)
    rows, total = await fetch_page(ctx, Notice, where, page.size, page.after, counted=counted,
                                   before=page.before, backward=page.backward)
    views = [await notice_view(ctx, row) for row in rows]
    views = ctx.authz.page(Action.NOTICE_READ, views, page.size)
    return connection_of(NoticeEdge, NoticeConnection, views, total, page.size, page.backward)


async def read_notice(ctx: Context, id: str) -> NoticeView | None:
    """One notice: its agencies in the row's statement, the authority its own fields name
    read only once the requester may see it (a hidden id runs what a missing one runs)."""
    async def stated(view: NoticeView) -> None:
        if not view.precise:
            view.stated = await stated_authority(ctx, view.notice, view.sender)

    return await read_by_id(  # type: ignore[no-any-return]
        ctx, Notice, Action.NOTICE_READ, "notice", id,
        view=lambda row: notice_view(ctx, row, stated=False),
        agencies=("sender_agency_id", "receiving_authority_id"), permitted=stated)
