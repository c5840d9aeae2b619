"""The exception queue (DESIGN.md §1.2): a notice that could not be matched waits for a
registry clerk of the receiving authority, who resolves it (matches it to a judgment, or
registers a queued judgment) or rejects it with a reason. Nothing is dropped: the notice
is kept either way, with who, when and why.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import strawberry
from sqlmodel import col, select
from strawberry.types import Info

from db.locks import NOTICE_KEYS
from db.models import ExecutionEvent, Judgment, Notice, Offender
from policies.actions import Action
from policies.pdp import Decision
from schema import validation as check
from schema.context import Context
from schema.errors import BadUserInput, Conflict
from schema.lookup import read_by_id
from schema.notices import (
    NoticePayload,
    authority_for,
    notice_view,
    read_notice,
    requester_agency,
)
from schema.records import PenaltyKind
from schema.reporting import (
    EXECUTION_KINDS,
    CrimeInput,
    PenaltyInput,
    PersonInput,
    ReportJudgmentInput,
    register_judgment,
    save,
    validate_report,
)


async def resolve_notice(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=(
            "The queued Notice's id."))],
        reason: Annotated[str, strawberry.argument(description=(
            "Why it is matched so (audited)."))],
        judgment_id: Annotated[strawberry.ID | None, strawberry.argument(description=(
            "The Judgment the notice belongs to; null: a judgment notice registered for "
            "the person its identity number names."))] = None,
) -> NoticePayload:
    """A clerk matches a queued notice: a release or expiry to a judgment (`judgmentId`);
    a judgment notice is registered from its content for the person the registry knows
    by that identity number, or, with `judgmentId`, matched to a judgment already
    registered."""
    ctx = info.context
    notice, permit = await _queued_notice(ctx, str(id))
    why = check.text("reason", reason, max_length=500)
    judgment: Judgment | None = None
    if judgment_id is not None:
        judgment = await _readable_judgment(ctx, str(judgment_id))
        if notice.event_date is not None and notice.kind != "JUDGMENT" \
                and notice.event_date < judgment.effective_date:
            raise BadUserInput("judgmentId", "that judgment took effect after the notice's date")
    elif notice.kind != "JUDGMENT":
        raise BadUserInput("judgmentId", f"is required to match a {notice.kind} notice")
    else:
        judgment = await _register_from_notice(ctx, notice)
    assert judgment is not None
    if notice.kind in EXECUTION_KINDS and notice.event_date is not None:
        await save(ctx, ExecutionEvent(judgment_id=judgment.id or 0,
                                        kind=EXECUTION_KINDS[notice.kind],
                                        date=notice.event_date, notice_id=notice.id))
    notice.judgment_id = judgment.id
    _close(ctx, notice, "RESOLVED", why)
    await save(ctx, notice)
    ctx.authz.note(Action.NOTICE_RESOLVE, "permit", "notice", [judgment.public_id],
                   permit.policy_uid or "", permit.policy_version)
    return NoticePayload(notice=await notice_view(ctx, notice))  # type: ignore[arg-type]


async def reject_notice(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=(
            "The queued Notice's id."))],
        reason: Annotated[str, strawberry.argument(description=(
            "Why it is rejected (kept with the notice)."))],
) -> NoticePayload:
    """A clerk rejects a queued notice with a reason; it is kept, never deleted."""
    ctx = info.context
    notice, _ = await _queued_notice(ctx, str(id))  # the permit is audited with the id
    _close(ctx, notice, "REJECTED", check.text("reason", reason, max_length=500))
    await save(ctx, notice)
    return NoticePayload(notice=await notice_view(ctx, notice))  # type: ignore[arg-type]


async def _queued_notice(ctx: Context, id: str) -> tuple[Notice, Decision]:
    """The UNMATCHED notice `id` that the requester may resolve.

    A notice the requester may not read is answered exactly as a missing one; one they may
    read but not resolve (their own, as its sender) is FORBIDDEN.
    """
    view = await read_notice(ctx, id)
    if view is None:
        raise BadUserInput("id", "no such notice in your queue")
    found = view.notice
    # Two clerks at once: the second waits here, then sees what the first did.
    await ctx.lock(NOTICE_KEYS, f"{found.sender_agency_id}:{found.notice_number}", found)
    # The requester may read its status, so saying it is not queued reveals nothing.
    if found.status != "UNMATCHED":
        raise Conflict(f"the notice is {found.status}, not waiting in the queue", field="id")
    return found, ctx.authz.require(Action.NOTICE_RESOLVE, view.authz_resource())


async def _readable_judgment(ctx: Context, id: str) -> Judgment:
    found = await read_by_id(ctx, Judgment, Action.JUDGMENT_READ, "judgment", id)
    if found is None:
        raise BadUserInput("judgmentId", "no such judgment")
    return found  # type: ignore[no-any-return]


async def _register_from_notice(ctx: Context, notice: Notice) -> Judgment:
    """Registers a queued judgment notice as the court sent it. The person is the one the
    registry knows by the identity number (the clerk judged the differing fields a slip;
    a correction can follow); unknown, the person is created from the notice."""
    input = judgment_input_from(notice.payload["input"])
    court = await ctx.loaders.agency.load(notice.sender_agency_id)
    assert court is not None
    clean = validate_report(input, notice.created_at.date())
    offender = await ctx.scalar(
        select(Offender).where(col(Offender.id_number) == clean["id_number"]))
    region = offender.residence_region if offender is not None else clean["region"]
    authority = await authority_for(ctx, region) or await requester_agency(ctx)
    assert authority is not None
    try:
        return await register_judgment(ctx, court, authority, offender, clean, input)
    except Conflict:
        raise Conflict("the court already registered this judgment number; resolve with "
                       "judgmentId", field="id") from None


def judgment_input_from(plain: dict[str, Any]) -> ReportJudgmentInput:
    """A ReportJudgmentInput from the JSON a notice keeps (`_plain` of the input)."""
    person = plain["defendant"]
    penalty = plain["penalty"]
    return ReportJudgmentInput(
        notice_number=plain["notice_number"], judgment_number=plain["judgment_number"],
        prosecutor=plain["prosecutor"],
        judgment_date=date.fromisoformat(plain["judgment_date"]),
        effective_date=date.fromisoformat(plain["effective_date"]),
        offense_date=date.fromisoformat(plain["offense_date"]),
        defendant=PersonInput(id_number=person["id_number"], name=person["name"],
                              birth_date=date.fromisoformat(person["birth_date"]),
                              gender=person.get("gender"),
                              residence_region=person["residence_region"]),
        crimes=[CrimeInput(name=c["name"], article=c.get("article")) for c in plain["crimes"]],
        penalty=PenaltyInput(kind=PenaltyKind(penalty["kind"]),
                             term_months=penalty.get("term_months"),
                             probation_months=penalty.get("probation_months"),
                             supplementary=penalty.get("supplementary"),
                             fine_amount=penalty.get("fine_amount")))


def _close(ctx: Context, notice: Notice, status: str, why: str) -> None:
    notice.status = status
    notice.resolved_by = ctx.requester.sub
    notice.resolved_at = datetime.now(UTC)
    notice.resolution = why


