"""The reporting mechanism (DESIGN.md §1.2).

A court reports each effective judgment; a prison or detention centre reports a release;
a county judicial administration reports the expiry of a community correction period.
Each notice is routed to the registration authority of the person's residence, keyed by
(sender, notice number) for idempotency, timed against its kind's deadline, and, where
it cannot be matched, kept in that authority's exception queue for a clerk to resolve.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from strawberry.types import Info

from db.locks import NOTICE_KEYS
from db.models import Agency, ExecutionEvent, Judgment, Notice, Offender
from db.models.base import new_row
from policies.actions import Action
from policies.ages import age_in_full_years
from schema import validation as check
from schema.batch import MISSING
from schema.context import Context
from schema.errors import BadUserInput, Conflict
from schema.fields import authorized
from schema.matching import (
    IDENTITY,
    NO_AUTHORITY,
    NO_JUDGMENT,
    Problem,
    match_execution,
)
from schema.notices import (
    NoticeNode,
    NoticePayload,
    notice_view,
    queue_for,
    requester_agency,
    set_queue,
    set_timeliness,
)
from schema.records import JudgmentNode, PenaltyKind
from schema.seals import redecide_seals


@strawberry.input(description=(
    "A person as a notice identifies them."))
class PersonInput:
    id_number: str
    name: str
    birth_date: date
    gender: str | None = strawberry.field(
        default=None, description="Free text, up to 16 characters.")
    residence_region: str


@strawberry.input(description=(
    "A crime of a judgment: its name and statute article."))
class CrimeInput:
    name: str
    article: str | None = None


@strawberry.input(description=(
    "The penalty of a judgment."))
class PenaltyInput:
    kind: PenaltyKind
    term_months: int | None = None
    probation_months: int | None = None
    supplementary: list[str] | None = None
    fine_amount: str | None = None


@strawberry.input(description=(
    "A court's notice of an effective judgment."))
class ReportJudgmentInput:
    notice_number: str
    judgment_number: str
    prosecutor: str
    judgment_date: date
    effective_date: date
    offense_date: date
    defendant: PersonInput
    crimes: list[CrimeInput]
    penalty: PenaltyInput


@strawberry.input(description=(
    "A prison's notice that a convicted person was released."))
class ReportReleaseInput:
    """A Notice of Released Persons. `name`, `birthDate` and `residenceRegion` are
    optional: given, the identity is checked against the registry, and the residence
    routes a notice about a person the registry does not know."""

    notice_number: str
    judgment_number: str
    id_number: str
    release_date: date
    name: str | None = None
    birth_date: date | None = None
    residence_region: str | None = None


@strawberry.input(description=(
    "A judicial administration's notice that community correction ended."))
class ReportCorrectionExpiryInput:
    """A Notice of Expiration of Correction Period for Community Prisoners."""

    notice_number: str
    judgment_number: str
    id_number: str
    expiry_date: date
    name: str | None = None
    birth_date: date | None = None
    residence_region: str | None = None


@strawberry.type(description=(
    "The notice registered, and the judgment where the requester may read it back."))
class ReportJudgmentPayload:
    judgment: JudgmentNode | None = authorized(Action.JUDGMENT_READ, target="value")
    notice: NoticeNode = authorized(Action.NOTICE_READ, target="value")


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON of an input: the same notice sent again hashes alike."""
    return hashlib.sha256(json.dumps(_plain(value), sort_keys=True,
                                     separators=(",", ":")).encode()).hexdigest()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        # What `asdict` gives, without its deep copy of every value.
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def validate_report(data: ReportJudgmentInput, today: date) -> dict[str, Any]:
    """The input, cleaned, or `BadUserInput` naming the first bad field."""
    person = data.defendant
    clean: dict[str, Any] = {
        "notice_number": check.text("input.noticeNumber", data.notice_number, max_length=100),
        "judgment_number": check.text("input.judgmentNumber", data.judgment_number,
                                      max_length=100),
        "prosecutor": check.text("input.prosecutor", data.prosecutor),
        "id_number": check.id_number("input.defendant.idNumber", person.id_number),
        "name": check.text("input.defendant.name", person.name),
        "gender": check.text("input.defendant.gender", person.gender, max_length=16,
                             required=False) or None,
        "region": check.region("input.defendant.residenceRegion", person.residence_region),
        "birth_date": person.birth_date,
    }
    check.not_after("input.defendant.birthDate", person.birth_date, today, "today")
    check.not_after("input.effectiveDate", data.effective_date, today, "today")
    check.not_after("input.judgmentDate", data.judgment_date, data.effective_date,
                    "the effective date")
    check.not_after("input.offenseDate", data.offense_date, data.judgment_date,
                    "the judgment date")
    if data.offense_date <= person.birth_date:
        raise BadUserInput("input.offenseDate", "must be after the defendant's birth date")
    if age_in_full_years(person.birth_date, data.offense_date) < 14:
        raise BadUserInput("input.offenseDate",
                           "the defendant was under 14, the age of criminal responsibility")
    if not data.crimes:
        raise BadUserInput("input.crimes", "at least one crime is required")
    if len(data.crimes) > 50:
        raise BadUserInput("input.crimes", "at most 50 crimes")
    clean["crimes"] = [
        {"name": check.text(f"input.crimes[{i}].name", c.name),
         "article": check.text(f"input.crimes[{i}].article", c.article, max_length=100,
                               required=False) or None}
        for i, c in enumerate(data.crimes)]
    penalty = data.penalty
    check.penalty_term("input.penalty", penalty.kind.value, penalty.term_months,
                       penalty.probation_months)
    clean["supplementary"] = [
        check.text(f"input.penalty.supplementary[{i}]", s, max_length=100)
        for i, s in enumerate(penalty.supplementary or [])]
    if penalty.kind is PenaltyKind.SUPPLEMENTARY_ONLY and not clean["supplementary"] \
            and penalty.fine_amount is None:
        raise BadUserInput("input.penalty.supplementary",
                           "is required when the penalty is supplementary only")
    clean["fine_amount"] = check.fine_amount("input.penalty.fineAmount", penalty.fine_amount)
    return clean




# -- judgments ----------------------------------------------------------------------------

async def report_judgment(
        info: Info[Context, None],
        input: Annotated[ReportJudgmentInput, strawberry.argument(description=(
            "The judgment as the court's notice states it."))],
) -> ReportJudgmentPayload:
    ctx = info.context
    sender = await requester_agency(ctx)
    ctx.authz.require(Action.JUDGMENT_REPORT, {"type": "judgment", "id": "*",
                                               "owner_agency": sender.code if sender else ""})
    assert sender is not None  # a permit for judgment:report needs an agency (policy)
    today = datetime.now(UTC).date()
    clean = validate_report(input, today)
    digest = content_hash(input)
    previous = await _previous(ctx, sender, clean["notice_number"], digest)
    if previous is not None:
        return await _judgment_payload(ctx, previous)

    offender = await person(ctx, clean["id_number"])
    # Received where the registry keeps the person's records: the residence it holds for a
    # person it knows, the residence the court states for one it does not.
    region = offender.residence_region if offender is not None else clean["region"]
    notice = _new_notice(ctx, "JUDGMENT", sender, clean["notice_number"], digest, input, region)
    set_timeliness(ctx, notice, input.effective_date, today)
    authority, no_authority = await queue_for(ctx, region, sender)
    set_queue(notice, authority)
    problem = NO_AUTHORITY if no_authority else None
    if problem is None and offender is not None and (
            offender.name != clean["name"] or offender.birth_date != clean["birth_date"]):
        problem = IDENTITY
    if problem is not None:
        await _queued(ctx, notice, problem, Action.JUDGMENT_REPORT)
        return await _judgment_payload(ctx, notice)

    assert authority is not None
    judgment = await register_judgment(ctx, sender, authority, offender, clean, input)
    notice.judgment_id = judgment.id
    await save(ctx, notice)
    ctx.notice_outcome = "registered"
    ctx.authz.note(Action.JUDGMENT_REPORT, "permit", "judgment",
                   [judgment.public_id, notice.public_id])
    return await _judgment_payload(ctx, notice, judgment)


async def register_judgment(ctx: Context, court: Agency, authority: Agency,
                             offender: Offender | None, clean: dict[str, Any],
                             input: ReportJudgmentInput) -> Judgment:
    """A validated report becomes a judgment of `offender` (created from the report when
    the registry does not know the person), sealed or not with the person's others."""
    key = (court.id or 0, clean["judgment_number"])
    duplicate = MISSING if ctx.batch is None else ctx.batch.numbers.get(key, MISSING)
    if duplicate is MISSING:
        duplicate = await ctx.scalar(select(Judgment.id).where(
            col(Judgment.court_agency_id) == court.id,
            col(Judgment.judgment_number) == clean["judgment_number"]))
        if ctx.batch is not None:
            ctx.batch.numbers[key] = duplicate
    if duplicate is not None:
        raise Conflict("this court already reported that judgment number under another notice",
                       field="input.judgmentNumber")
    if offender is None:
        offender = new_row(Offender, id_number=clean["id_number"], name=clean["name"],
                           birth_date=clean["birth_date"], gender=clean["gender"],
                           residence_region=clean["region"])
        await save(ctx, offender)
    judgment = new_row(
        Judgment, offender_id=offender.id or 0, court_agency_id=court.id or 0,
        authority_agency_id=authority.id,
        judgment_number=clean["judgment_number"], prosecutor=clean["prosecutor"],
        judgment_date=input.judgment_date, effective_date=input.effective_date,
        offense_date=input.offense_date,
        age_at_offense=age_in_full_years(offender.birth_date, input.offense_date),
        region=offender.residence_region, crimes=clean["crimes"],
        penalty_kind=input.penalty.kind.value, term_months=input.penalty.term_months,
        probation_months=input.penalty.probation_months, supplementary=clean["supplementary"],
        fine_amount=clean["fine_amount"])
    await save(ctx, judgment)
    # Sealed or not, decided with the person's other judgments: a later judgment may unseal
    # an earlier one (DESIGN.md §1.4).
    await redecide_seals(ctx, offender, new=judgment, cause="later judgment registered")
    return judgment


# -- releases and correction expiries -------------------------------------------------------

EXECUTION_KINDS = {"RELEASE": "RELEASED", "CORRECTION_EXPIRY": "CORRECTION_EXPIRED"}


async def report_release(
        info: Info[Context, None],
        input: Annotated[ReportReleaseInput, strawberry.argument(description=(
            "The release as the prison's notice states it."))],
) -> NoticePayload:
    return await _report_execution(info.context, "RELEASE", input, input.release_date,
                                   "input.releaseDate")


async def report_correction_expiry(
        info: Info[Context, None],
        input: Annotated[ReportCorrectionExpiryInput, strawberry.argument(description=(
            "The end of community correction as the notice states it."))],
) -> NoticePayload:
    return await _report_execution(info.context, "CORRECTION_EXPIRY", input,
                                   input.expiry_date, "input.expiryDate")


def validate_execution(data: ReportReleaseInput | ReportCorrectionExpiryInput,
                       event_date: date, date_field: str, today: date) -> dict[str, Any]:
    """The input, cleaned, or `BadUserInput` naming the first bad field."""
    clean: dict[str, Any] = {
        "notice_number": check.text("input.noticeNumber", data.notice_number, max_length=100),
        "judgment_number": check.text("input.judgmentNumber", data.judgment_number,
                                      max_length=100),
        "id_number": check.id_number("input.idNumber", data.id_number),
        "name": check.text("input.name", data.name, required=False) or None,
        "region": (check.region("input.residenceRegion", data.residence_region)
                   if data.residence_region is not None else None),
    }
    check.not_after(date_field, event_date, today, "today")
    if data.birth_date is not None:
        check.not_after("input.birthDate", data.birth_date, event_date, "the notice's date")
    return clean


async def _report_execution(ctx: Context, kind: str,
                            input: ReportReleaseInput | ReportCorrectionExpiryInput,
                            event_date: date, date_field: str) -> NoticePayload:
    sender = await requester_agency(ctx)
    ctx.authz.require(Action.NOTICE_REPORT, {"type": "notice", "id": "*", "kind": kind.lower(),
                                             "owner_agency": sender.code if sender else ""})
    assert sender is not None  # a permit for notice:report needs an agency (policy)
    today = datetime.now(UTC).date()
    clean = validate_execution(input, event_date, date_field, today)
    digest = content_hash(input)
    previous = await _previous(ctx, sender, clean["notice_number"], digest)
    if previous is not None:
        return NoticePayload(notice=await notice_view(ctx, previous))  # type: ignore[arg-type]

    offender = await person(ctx, clean["id_number"])
    judgment, problem = await match_execution(ctx, offender, clean, input.birth_date,
                                              event_date, kind)
    # Received where the registry keeps the person's records (the residence it holds), so
    # that a clerk who may read them finds it; for a person it does not know, where the
    # notice says the person lives. Its sender is shown neither (schema/notices.py).
    region = offender.residence_region if offender is not None else clean["region"]
    notice = _new_notice(ctx, kind, sender, clean["notice_number"], digest, input, region)
    set_timeliness(ctx, notice, event_date, today)
    authority, no_authority = await queue_for(ctx, region, sender)
    set_queue(notice, authority)
    problem = problem or (NO_AUTHORITY if no_authority else None)
    if problem is not None or judgment is None:
        await _queued(ctx, notice, problem or NO_JUDGMENT, Action.NOTICE_REPORT)
        return NoticePayload(notice=await notice_view(ctx, notice))  # type: ignore[arg-type]

    notice.judgment_id = judgment.id
    await save(ctx, notice)
    await save(ctx, new_row(ExecutionEvent, judgment_id=judgment.id or 0,
                            kind=EXECUTION_KINDS[kind], date=event_date, notice_id=notice.id))
    ctx.notice_outcome = "registered"
    ctx.authz.note(Action.NOTICE_REPORT, "permit", "notice",
                   [notice.public_id, judgment.public_id])
    return NoticePayload(notice=await notice_view(ctx, notice))  # type: ignore[arg-type]


# -- shared -----------------------------------------------------------------------------

async def _previous(ctx: Context, sender: Agency, number: str, digest: str) -> Notice | None:
    """The notice already registered under (sender, number), if any: the same content is a
    replay (same answer), other content a CONFLICT. Concurrent senders of one key are
    serialised here, so a notice sent twice at once is registered once."""
    batch = ctx.batch
    previous: Notice | None = (MISSING if batch is None
                               else batch.notices.get((sender.id or 0, number), MISSING))
    if previous is MISSING:
        await ctx.lock(NOTICE_KEYS, f"{sender.id}:{number}")
        previous = await ctx.scalar(select(Notice).where(
            col(Notice.sender_agency_id) == sender.id, col(Notice.notice_number) == number))
        if batch is not None:  # locked now, as the batch locks the keys it read
            batch.notices[(sender.id or 0, number)] = batch.keep(previous)
    if previous is None:
        return None
    if previous.content_hash != digest:
        raise Conflict("this notice number was already used with different content",
                       field="input.noticeNumber")
    ctx.notice_outcome = "duplicate"
    return previous


def _new_notice(ctx: Context, kind: str, sender: Agency, number: str, digest: str,
                input: Any, region: str | None) -> Notice:
    """A notice as received: who sent it, and `region`, the residence that routed it (kept
    so that an authority added later takes it over, api/seed.adopt_unrouted_notices)."""
    return new_row(Notice, kind=kind, sender_agency_id=sender.id or 0, sender_sub=ctx.requester.sub,
                  sender_role=ctx.requester.role, notice_number=number, content_hash=digest,
                  payload={"region": region, "input": _plain(input)})


async def _queued(ctx: Context, notice: Notice, problem: Problem, action: str) -> Notice:
    """Not dropped: the notice waits in the receiving authority's exception queue. Why is
    for the clerks of that queue and, by its code in the audit trail, for auditors."""
    notice.status, notice.reason = "UNMATCHED", problem.reason
    await save(ctx, notice)
    ctx.notice_outcome = "queued"
    ctx.authz.note(action, "permit", "notice", [notice.public_id],
                   detail={"unmatched": {notice.public_id: problem.code}})
    return notice


async def person(ctx: Context, id_number: str) -> Offender | None:
    """The person of an identity number (cleaned), if the registry knows them."""
    batch = ctx.batch
    offender: Offender | None = MISSING if batch is None else batch.offenders.get(
        id_number, MISSING)
    if offender is MISSING:
        offender = await ctx.scalar(select(Offender).where(col(Offender.id_number) == id_number))
        if batch is not None:
            batch.offenders[id_number] = batch.keep(offender)
    return offender


async def save(ctx: Context, *objects: Any) -> None:
    try:
        await ctx.flush(*objects)
    except IntegrityError:
        # A concurrent request registered the same person first.
        raise Conflict("a concurrent report changed the same records; send it again") from None


async def _judgment_payload(ctx: Context, notice: Notice, judgment: Judgment | None = None
                            ) -> ReportJudgmentPayload:
    if judgment is None and notice.judgment_id is not None:
        judgment = (None if ctx.batch is None
                    else ctx.batch.judgments.get(notice.judgment_id))
        if judgment is None:
            judgment = await ctx.scalar(select(Judgment).where(
                col(Judgment.id) == notice.judgment_id))
            if ctx.batch is not None:
                ctx.batch.judgments[notice.judgment_id] = ctx.batch.keep(judgment)
    view = await notice_view(ctx, notice)
    return ReportJudgmentPayload(judgment=judgment, notice=view)  # type: ignore[arg-type]
