"""Reporting: a court reports an effective judgment (DESIGN.md §1.2)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from strawberry.types import Info

from db.models import Agency, Judgment, Notice, Offender
from policies.actions import Action
from policies.ages import age_in_full_years
from policies.attributes import in_division
from policies.routing import route_to_authority
from schema import validation as check
from schema.agencies import AgencyNode
from schema.context import Context
from schema.errors import BadUserInput, Conflict
from schema.fields import authorized
from schema.records import JudgmentNode, PenaltyKind
from schema.seals import redecide_seals

REPORTING_DEADLINE_DAYS = 30


@strawberry.input
class PersonInput:
    id_number: str
    name: str
    birth_date: date
    gender: str | None = None
    residence_region: str


@strawberry.input
class CrimeInput:
    name: str
    article: str | None = None


@strawberry.input
class PenaltyInput:
    kind: PenaltyKind
    term_months: int | None = None
    probation_months: int | None = None
    supplementary: list[str] | None = None
    fine_amount: str | None = None


@strawberry.input
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


@strawberry.enum
class NoticeStatus(Enum):
    REGISTERED = "REGISTERED"
    UNMATCHED = "UNMATCHED"
    RESOLVED = "RESOLVED"
    REJECTED = "REJECTED"


@dataclass
class NoticeView:
    notice: Notice
    sender: Agency
    receiver: Agency | None
    requester_region: str

    def authz_resource(self) -> dict[str, Any]:
        region = str(self.notice.payload.get("region", ""))
        return {"type": "notice", "id": self.notice.public_id, "owner_agency": self.sender.code,
                "region": region, "status": self.notice.status.lower(),
                "in_requester_division": "yes" if in_division(self.requester_region, region)
                else "no"}


@strawberry.type(name="Notice")
class NoticeNode:
    @authorized(Action.NOTICE_READ)
    def id(self: NoticeView) -> strawberry.ID:  # type: ignore[misc]
        return strawberry.ID(self.notice.public_id)

    @authorized(Action.NOTICE_READ)
    def kind(self: NoticeView) -> str:  # type: ignore[misc]
        return self.notice.kind

    @authorized(Action.NOTICE_READ)
    def notice_number(self: NoticeView) -> str:  # type: ignore[misc]
        return self.notice.notice_number

    @authorized(Action.NOTICE_READ)
    def status(self: NoticeView) -> NoticeStatus:  # type: ignore[misc]
        return NoticeStatus(self.notice.status)

    @authorized(Action.NOTICE_READ)
    def receiving_authority(self: NoticeView) -> AgencyNode | None:  # type: ignore[misc]
        return self.receiver  # type: ignore[return-value]

    @authorized(Action.NOTICE_READ)
    def late(self: NoticeView) -> bool:  # type: ignore[misc]
        return self.notice.late

    @authorized(Action.NOTICE_READ)
    def reason(self: NoticeView) -> str | None:  # type: ignore[misc]
        return self.notice.reason


@strawberry.type
class ReportJudgmentPayload:
    judgment: JudgmentNode | None = authorized(Action.JUDGMENT_READ, target="value")
    notice: NoticeNode = authorized(Action.NOTICE_READ, target="value")


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON of an input: the same notice sent again hashes alike."""
    return hashlib.sha256(json.dumps(_plain(value), sort_keys=True,
                                     separators=(",", ":")).encode()).hexdigest()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
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


async def report_judgment(info: Info[Context, None], input: ReportJudgmentInput
                          ) -> ReportJudgmentPayload:
    ctx = info.context
    sender = await _requester_agency(ctx)
    ctx.authz.require(Action.JUDGMENT_REPORT, {"type": "judgment", "id": "*",
                                               "owner_agency": sender.code if sender else ""})
    assert sender is not None  # a permit for judgment:report needs an agency (policy)
    today = datetime.now(UTC).date()
    clean = validate_report(input, today)
    digest = content_hash(input)

    previous = await ctx.scalar(select(Notice).where(
        col(Notice.sender_agency_id) == sender.id,
        col(Notice.notice_number) == clean["notice_number"]))
    if previous is not None:
        if previous.content_hash != digest:
            raise Conflict("this notice number was already used with different content",
                           field="input.noticeNumber")
        return await _payload(ctx, previous, sender)

    notice = Notice(kind="JUDGMENT", sender_agency_id=sender.id or 0,
                    notice_number=clean["notice_number"], content_hash=digest,
                    payload={"region": clean["region"], "input": _plain(input)},
                    late=input.effective_date + timedelta(days=REPORTING_DEADLINE_DAYS) < today)
    authority = await _route(ctx, clean["region"])
    notice.receiving_authority_id = authority.id if authority else None
    offender = await ctx.scalar(
        select(Offender).where(col(Offender.id_number) == clean["id_number"]))

    problem = None
    if authority is None:
        problem = "no registration authority covers the residence region"
    elif offender is not None and (offender.name != clean["name"]
                                   or offender.birth_date != clean["birth_date"]):
        problem = "identity fields disagree with the registry"
    if problem is not None:
        # Not dropped: it waits in the receiving authority's exception queue.
        notice.status, notice.reason = "UNMATCHED", problem
        await _save(ctx, notice)
        ctx.authz.note(Action.JUDGMENT_REPORT, "permit", "notice", [notice.public_id])
        return await _payload(ctx, notice, sender)

    duplicate = await ctx.scalar(select(Judgment.id).where(
        col(Judgment.court_agency_id) == sender.id,
        col(Judgment.judgment_number) == clean["judgment_number"]))
    if duplicate is not None:
        raise Conflict("this court already reported that judgment number under another notice",
                       field="input.judgmentNumber")

    if offender is None:
        offender = Offender(id_number=clean["id_number"], name=clean["name"],
                            birth_date=clean["birth_date"], gender=clean["gender"],
                            residence_region=clean["region"])
        await _save(ctx, offender)
    judgment = Judgment(
        offender_id=offender.id or 0, court_agency_id=sender.id or 0,
        authority_agency_id=authority.id if authority else None,
        judgment_number=clean["judgment_number"], prosecutor=clean["prosecutor"],
        judgment_date=input.judgment_date, effective_date=input.effective_date,
        offense_date=input.offense_date,
        age_at_offense=age_in_full_years(offender.birth_date, input.offense_date),
        region=offender.residence_region, crimes=clean["crimes"],
        penalty_kind=input.penalty.kind.value, term_months=input.penalty.term_months,
        probation_months=input.penalty.probation_months, supplementary=clean["supplementary"],
        fine_amount=clean["fine_amount"])
    await _save(ctx, judgment)
    # Sealed or not, decided with the person's other judgments: a later judgment may unseal
    # an earlier one (DESIGN.md §1.4).
    await redecide_seals(ctx, offender, new=judgment, cause="later judgment registered")
    notice.judgment_id = judgment.id
    await _save(ctx, notice)
    ctx.authz.note(Action.JUDGMENT_REPORT, "permit", "judgment",
                   [judgment.public_id, notice.public_id])
    return await _payload(ctx, notice, sender, judgment)


async def _requester_agency(ctx: Context) -> Agency | None:
    code = ctx.requester.agency_code
    return await ctx.loaders.agency_by_code.load(code) if code else None


async def _route(ctx: Context, region: str) -> Agency | None:
    authorities = await ctx.scalars(
        select(Agency).where(col(Agency.kind) == "REGISTRATION_AUTHORITY"))
    code = route_to_authority(region, [(a.code, a.region) for a in authorities])
    return next((a for a in authorities if a.code == code), None)


async def _save(ctx: Context, *objects: Any) -> None:
    try:
        await ctx.flush(*objects)
    except IntegrityError:
        # A concurrent request registered the same notice or person first.
        raise Conflict("a concurrent report changed the same records; send it again") from None


async def _payload(ctx: Context, notice: Notice, sender: Agency,
                   judgment: Judgment | None = None) -> ReportJudgmentPayload:
    if judgment is None and notice.judgment_id is not None:
        judgment = await ctx.scalar(select(Judgment).where(col(Judgment.id) == notice.judgment_id))
    receiver = (await ctx.loaders.agency.load(notice.receiving_authority_id)
                if notice.receiving_authority_id else None)
    view = NoticeView(notice, sender, receiver, str(ctx.authz.subject.get("region", "")))
    return ReportJudgmentPayload(judgment=judgment, notice=view)  # type: ignore[arg-type]
