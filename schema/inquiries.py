"""Inquiries (DESIGN.md §1.3): everyone but the registry's own clerks reads criminal
information through a recorded request with a purpose.

What happens to an inquiry is the policies' answer, not code: `inquiry:submit` (may this
requester ask this?), then `inquiry:approve` (decided at once), else `inquiry:refer`
(examined by an officer of an accepting agency, `inquiry:decide`), else rejected. What an
approved inquiry discloses is decided again per record in the inquiry's own context
(purpose, case number, inquiry id, counsel or not), and fixed when it is approved: a
result serves its inquiry alone, and a certificate never changes once issued.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, and_, false, func, not_
from sqlmodel import col, select
from strawberry.types import Info

from db.locks import INQUIRY_KEYS
from db.models import Certificate, Detention, Inquiry, InquiryRecord, Judgment, Offender
from db.queries.visibility import visibility_clause
from policies.actions import Action
from policies.attributes import (
    NO_CASE,
    inquiry_attributes,
    inquiry_visibility_combinations,
    judgment_attributes,
)
from schema import validation as check
from schema.authz import Disclosed
from schema.cases import case_relation
from schema.context import Context
from schema.detentions import DetentionNode, views_of
from schema.errors import BadUserInput, Conflict
from schema.fields import authorized
from schema.lookup import read_by_id
from schema.node import Node
from schema.notices import requester_agency
from schema.pagination import PageInfo, Window, connection_of, fetch_page
from schema.records import JudgmentNode

EXAMINATION_WORKING_DAYS = 3
SOCIETY = frozenset({"EMPLOYMENT", "ENLISTMENT", "CONTINUING_EDUCATION"})
DISCLOSING = frozenset({"CASE_HANDLING", "DEFENSE"})
CERTIFYING = SOCIETY | {"SELF"}


@strawberry.enum(description=(
    "Why an inquiry is made; it decides what the answer may hold (DESIGN §1.3)."))
class Purpose(Enum):
    CASE_HANDLING = "CASE_HANDLING"
    DEFENSE = "DEFENSE"
    EMPLOYMENT = "EMPLOYMENT"
    ENLISTMENT = "ENLISTMENT"
    CONTINUING_EDUCATION = "CONTINUING_EDUCATION"
    SELF = "SELF"
    RECORD_MANAGEMENT = "RECORD_MANAGEMENT"


@strawberry.enum(description=(
    "Where an inquiry stands."))
class InquiryStatus(Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@strawberry.enum(description=(
    "What a certificate is: a no-record certificate, a refusal notice (SELF) or a result "
    "letter (units)."))
class CertificateKind(Enum):
    NO_RECORD_CERTIFICATE = "NO_RECORD_CERTIFICATE"
    REFUSAL_NOTICE = "REFUSAL_NOTICE"
    RESULT_LETTER = "RESULT_LETTER"


@strawberry.input(description=(
    "An inquiry into a person's criminal record, for a stated purpose."))
class SubmitInquiryInput:
    purpose: Purpose
    subject_id_number: str
    case_number: str | None = None
    legal_basis: str | None = None
    consent_reference: str | None = None


@dataclass
class InquiryView:
    inquiry: Inquiry
    subject: dict[str, Any]
    # Found once per request, whichever fields ask: the inquiry's decision context (a DEFENSE
    # one costs a counsel lookup) and the records it disclosed, per record type.
    context: dict[str, Any] | None = field(default=None, repr=False)
    disclosed: dict[str, list[Disclosed]] = field(default_factory=dict, repr=False)
    finding: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def public_id(self) -> str:
        return self.inquiry.public_id

    def authz_resource(self) -> dict[str, Any]:
        return inquiry_attributes(self.inquiry, subject=self.subject)

    async def readable(self, ctx: Context, record_type: str) -> list[Disclosed]:
        """What the inquiry disclosed of `record_type` that the reader may read (a
        `Disclosure`: the records' persons reach their judgments and detentions here)."""
        return await _readable(ctx, self, record_type)


@dataclass
class CertificateView:
    certificate: Certificate
    of: InquiryView

    def authz_resource(self) -> InquiryView:
        return self.of


@strawberry.type(name="Certificate", description=(
    "The certificate or letter an approved inquiry issued."))
class CertificateNode:
    @authorized(Action.INQUIRY_READ)
    def number(self: CertificateView) -> str:  # type: ignore[misc]
        return self.certificate.number

    @authorized(Action.INQUIRY_READ)
    def kind(self: CertificateView) -> CertificateKind:  # type: ignore[misc]
        return CertificateKind(self.certificate.kind)

    @authorized(Action.INQUIRY_READ)
    def has_criminal_record(self: CertificateView) -> bool:  # type: ignore[misc]
        return self.certificate.has_criminal_record

    @authorized(Action.INQUIRY_READ)
    def issued_at(self: CertificateView) -> datetime:  # type: ignore[misc]
        return self.certificate.issued_at


@strawberry.type(name="Inquiry", description=(
    "A request to know a person's criminal record for a purpose, and its decision."))
class InquiryNode(Node):
    @authorized(Action.INQUIRY_READ)
    def id(self: InquiryView) -> strawberry.ID:  # type: ignore[misc]
        return strawberry.ID(self.inquiry.public_id)

    @authorized(Action.INQUIRY_READ)
    def purpose(self: InquiryView) -> Purpose:  # type: ignore[misc]
        return Purpose(self.inquiry.purpose)

    @authorized(Action.INQUIRY_READ)
    def status(self: InquiryView) -> InquiryStatus:  # type: ignore[misc]
        return InquiryStatus(self.inquiry.status)

    @authorized(Action.INQUIRY_READ)
    def requester(self: InquiryView) -> str:  # type: ignore[misc]
        return self.inquiry.requester_sub

    @authorized(Action.INQUIRY_READ)
    async def subject_name(self: InquiryView, info: Info[Context, None]  # type: ignore[misc]
                           ) -> str | None:
        """The person's name, where the inquiry disclosed a record of them: never a hint
        that the registry knows someone it shows nothing of."""
        ctx = info.context
        if self.inquiry.purpose not in DISCLOSING or self.inquiry.status != "APPROVED":
            return None
        readable = await _readable(ctx, self, "judgment")
        if not readable:
            return None
        offender = await ctx.loaders.offender.load(readable[0].offender_id)
        return offender.name if offender is not None else None

    @authorized(Action.INQUIRY_READ)
    def case_number(self: InquiryView) -> str | None:  # type: ignore[misc]
        return self.inquiry.case_number

    @authorized(Action.INQUIRY_READ)
    def legal_basis(self: InquiryView) -> str | None:  # type: ignore[misc]
        return self.inquiry.legal_basis

    @authorized(Action.INQUIRY_READ)
    def consent_reference(self: InquiryView) -> str | None:  # type: ignore[misc]
        return self.inquiry.consent_reference

    @authorized(Action.INQUIRY_READ)
    def submitted_at(self: InquiryView) -> datetime:  # type: ignore[misc]
        return self.inquiry.submitted_at

    @authorized(Action.INQUIRY_READ)
    def due_date(self: InquiryView) -> date | None:  # type: ignore[misc]
        """An examined inquiry is decided within 3 working days of submission."""
        return self.inquiry.due_date

    @authorized(Action.INQUIRY_READ)
    def overdue(self: InquiryView) -> bool:  # type: ignore[misc]
        """Still pending after its 3 working days."""
        return is_overdue(self.inquiry, datetime.now(UTC).date())

    @authorized(Action.INQUIRY_READ)
    def decided_at(self: InquiryView) -> datetime | None:  # type: ignore[misc]
        return self.inquiry.decided_at

    @authorized(Action.INQUIRY_READ)
    def decided_by(self: InquiryView) -> str | None:  # type: ignore[misc]
        return self.inquiry.decided_by

    @authorized(Action.INQUIRY_READ)
    def decision_reason(self: InquiryView) -> str | None:  # type: ignore[misc]
        return self.inquiry.decision_reason

    @authorized(Action.INQUIRY_READ)
    async def certificate(self: InquiryView, info: Info[Context, None]  # type: ignore[misc]
                          ) -> CertificateNode | None:
        """EMPLOYMENT, ENLISTMENT, CONTINUING_EDUCATION, SELF: once approved."""
        found = await info.context.scalar(select(Certificate).where(
            col(Certificate.inquiry_id) == self.inquiry.id))
        return CertificateView(found, self) if found else None  # type: ignore[return-value]

    @authorized(Action.INQUIRY_READ)
    async def records(self: InquiryView, info: Info[Context, None]  # type: ignore[misc]
                      ) -> list[JudgmentNode] | None:
        """CASE_HANDLING, DEFENSE: the judgments disclosed when it was approved, each read
        in this inquiry's context (sealed ones marked `SEALED`)."""
        if self.inquiry.purpose not in DISCLOSING or self.inquiry.status != "APPROVED":
            return None
        return await _readable(info.context, self, "judgment")  # type: ignore[return-value]

    @authorized(Action.INQUIRY_READ)
    async def detentions(self: InquiryView, info: Info[Context, None]  # type: ignore[misc]
                         ) -> list[DetentionNode] | None:
        """CASE_HANDLING: the detention records disclosed when it was approved."""
        if self.inquiry.purpose != "CASE_HANDLING" or self.inquiry.status != "APPROVED":
            return None
        return await _readable(info.context, self, "detention")  # type: ignore[return-value]


@strawberry.type(name="InquiryEdge", description=(
    "An inquiry in a page, with its cursor."))
class InquiryEdge:
    cursor: str
    node: InquiryNode = authorized(Action.INQUIRY_READ, target="value")


@strawberry.type(name="InquiryConnection", description=(
    "A page of inquiries the requester may see (Relay connection)."))
class InquiryConnection:
    edges: list[InquiryEdge]
    page_info: PageInfo
    total_count: int


@dataclass
class VerifiedView:
    certificate: Certificate

    def authz_resource(self) -> dict[str, Any]:
        return {"type": "certificate", "id": self.certificate.number}


@strawberry.type(name="CertificateVerification", description=(
    "What a genuine certificate said when issued."))
class CertificateVerificationNode:
    """That a certificate number is genuine, and what it said: nothing more."""

    @authorized(Action.CERTIFICATE_VERIFY)
    def number(self: VerifiedView) -> str:  # type: ignore[misc]
        return self.certificate.number

    @authorized(Action.CERTIFICATE_VERIFY)
    def kind(self: VerifiedView) -> CertificateKind:  # type: ignore[misc]
        return CertificateKind(self.certificate.kind)

    @authorized(Action.CERTIFICATE_VERIFY)
    def purpose(self: VerifiedView) -> Purpose:  # type: ignore[misc]
        return Purpose(self.certificate.purpose)

    @authorized(Action.CERTIFICATE_VERIFY)
    def has_criminal_record(self: VerifiedView) -> bool:  # type: ignore[misc]
        return self.certificate.has_criminal_record

    @authorized(Action.CERTIFICATE_VERIFY)
    def issued_at(self: VerifiedView) -> datetime:  # type: ignore[misc]
        return self.certificate.issued_at


# -- dates --------------------------------------------------------------------------------

def add_working_days(start: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `start`."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def is_overdue(inquiry: Inquiry, today: date) -> bool:
    return inquiry.status == "PENDING" and inquiry.due_date is not None \
        and today > inquiry.due_date


# -- submitting and deciding --------------------------------------------------------------

def validate_inquiry(data: SubmitInquiryInput) -> dict[str, Any]:
    """The input, cleaned, or `BadUserInput` naming the first bad field. What each purpose
    needs (DESIGN.md §1.3) is checked here; who may ask is the policies' question."""
    purpose = data.purpose.value
    if purpose == "RECORD_MANAGEMENT":
        raise BadUserInput("input.purpose", "registry clerks query records directly, "
                                            "without an inquiry")
    clean: dict[str, Any] = {
        "purpose": purpose,
        "subject_id_number": check.id_number("input.subjectIdNumber", data.subject_id_number),
        "case_number": check.text("input.caseNumber", data.case_number, max_length=100,
                                  required=purpose in DISCLOSING) or None,
        "legal_basis": check.text("input.legalBasis", data.legal_basis, max_length=500,
                                  required=purpose in SOCIETY) or None,
        "consent_reference": check.text("input.consentReference", data.consent_reference,
                                        required=purpose in SOCIETY) or None,
    }
    return clean


async def inquiry_context(ctx: Context, inquiry: Inquiry) -> dict[str, Any]:
    """The decision context of everything done for `inquiry`. `is_counsel` is as it was
    when the inquiry was submitted: what it disclosed is read again as it was approved,
    after the case is transferred or closed too (closing ends new inquiries)."""
    return {"purpose": inquiry.purpose.lower(), "case_number": inquiry.case_number or "",
            "inquiry_id": inquiry.public_id,
            "is_counsel": "yes" if inquiry.is_counsel else "no",
            "is_own_record": "yes" if (ctx.authz.subject.get("id_number") or None)
            == inquiry.subject_id_number else "no"}


async def submit_inquiry(
        info: Info[Context, None],
        input: Annotated[SubmitInquiryInput, strawberry.argument(description=(
            "The inquiry: purpose, the person, and the case, legal basis or consent the "
            "purpose needs."))],
) -> InquiryNode:
    ctx = info.context
    clean = validate_inquiry(input)
    agency = await requester_agency(ctx)
    inquiry = Inquiry(purpose=clean["purpose"], requester_sub=ctx.requester.sub,
                      requester_role=ctx.requester.role,
                      requester_agency_id=agency.id if agency else None,
                      region=agency.region if agency else "",
                      subject_id_number=clean["subject_id_number"],
                      case_number=clean["case_number"], legal_basis=clean["legal_basis"],
                      consent_reference=clean["consent_reference"])
    # The case the number names, related to the requester and the subject (DESIGN.md 1.6):
    # looked up the same way whatever it names, and told to the policies alone.
    case = (await case_relation(ctx, inquiry.case_number or "",
                                person=inquiry.subject_id_number, lawyer=ctx.requester.sub)
            if inquiry.purpose in DISCLOSING else NO_CASE)
    inquiry.is_counsel = inquiry.purpose == "DEFENSE" and case.is_counsel
    context = await inquiry_context(ctx, inquiry)
    resource = inquiry_attributes(inquiry, subject=ctx.authz.subject, case=case)
    ctx.authz.require(Action.INQUIRY_SUBMIT, resource, context=context)
    await ctx.flush(inquiry)
    context["inquiry_id"] = inquiry.public_id
    resource["id"] = inquiry.public_id
    approval = ctx.authz.decide(Action.INQUIRY_APPROVE, resource, context=context)
    if approval.allowed:
        await _approve(ctx, inquiry, context, reason="approved at once by policy")
    elif ctx.authz.decide(Action.INQUIRY_REFER, resource, context=context).allowed:
        inquiry.due_date = add_working_days(inquiry.submitted_at.date(),
                                            EXAMINATION_WORKING_DAYS)
    else:
        _decide(ctx, inquiry, "REJECTED", _refusal(inquiry))
        if inquiry.purpose in DISCLOSING:
            # The requester is told one reason; the audit trail keeps which it was.
            ctx.authz.note(Action.INQUIRY_APPROVE, "deny", "inquiry", [inquiry.public_id],
                           approval.policy_uid or "", approval.policy_version,
                           detail={"case": case.attributes()}, context=context)
    await ctx.flush(inquiry)
    return InquiryView(inquiry, ctx.authz.subject)  # type: ignore[return-value]


# One reason per purpose, whatever the case number names: not registered, another
# agency's, transferred away, closed, the subject not a suspect or defendant in it, the
# lawyer not counsel. Which one it was is for the audit trail (DESIGN.md 1.6).
REFUSALS = {
    "CASE_HANDLING": "no open case under this number that your agency is handling has this "
                     "person as a suspect or defendant",
    "DEFENSE": "no open case under this number has you registered as defense counsel for "
               "this person as a suspect or defendant",
}


def _refusal(inquiry: Inquiry) -> str:
    return REFUSALS.get(inquiry.purpose, "no policy allows this inquiry to be approved")


async def decide_inquiry(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=(
            "The pending Inquiry's id."))],
        approve: Annotated[bool, strawberry.argument(description=(
            "true approves, false rejects."))],
        reason: Annotated[str, strawberry.argument(description=(
            "Why (kept with the inquiry)."))],
) -> InquiryNode:
    """An officer of an accepting agency approves or rejects an examined inquiry."""
    ctx = info.context
    view = await read_inquiry(ctx, str(id))
    if view is None:
        raise BadUserInput("id", "no such inquiry")
    found = view.inquiry
    # Two examiners at once: the second waits here, then sees the first one's decision.
    await ctx.lock(INQUIRY_KEYS, found.public_id, found)
    if found.status != "PENDING":
        raise Conflict(f"the inquiry is {found.status}, already decided", field="id")
    ctx.authz.require(Action.INQUIRY_DECIDE, view.authz_resource())
    why = check.text("reason", reason, max_length=500)
    if approve:
        await _approve(ctx, found, await inquiry_context(ctx, found), reason=why)
    else:
        _decide(ctx, found, "REJECTED", why)
    agency = await requester_agency(ctx)
    found.decider_agency_id = agency.id if agency else None
    await ctx.flush(found)
    return view  # type: ignore[return-value]


def _decide(ctx: Context, inquiry: Inquiry, status: str, reason: str) -> None:
    inquiry.status = status
    inquiry.decided_at = datetime.now(UTC)
    inquiry.decided_by = ctx.requester.sub
    inquiry.decision_reason = reason


async def _approve(ctx: Context, inquiry: Inquiry, context: dict[str, Any], *,
                   reason: str) -> None:
    """Approves and fixes the result: the records disclosed, or the certificate."""
    _decide(ctx, inquiry, "APPROVED", reason)
    judgments = list(await ctx.scalars(select(Judgment).join(
        Offender, col(Offender.id) == col(Judgment.offender_id)).where(
        col(Offender.id_number) == inquiry.subject_id_number).order_by(col(Judgment.public_id))))
    if inquiry.purpose in DISCLOSING:
        kept: list[InquiryRecord] = []
        for judgment in judgments:
            if ctx.authz.decide(Action.JUDGMENT_READ, judgment_attributes(
                    judgment, ctx.authz.subject), context=context, record=False).allowed:
                kept.append(InquiryRecord(inquiry_id=inquiry.id or 0, record_type="judgment",
                                          record_id=judgment.id or 0))
        if inquiry.purpose == "CASE_HANDLING":
            detentions = await ctx.scalars(select(Detention).where(
                col(Detention.id_number) == inquiry.subject_id_number))
            for view in await views_of(ctx, detentions):
                if ctx.authz.decide(Action.DETENTION_READ, view.authz_resource(),
                                    context=context, record=False).allowed:
                    kept.append(InquiryRecord(inquiry_id=inquiry.id or 0,
                                              record_type="detention",
                                              record_id=view.detention.id or 0))
        await ctx.flush(*kept)
        return
    if inquiry.purpose in CERTIFYING:
        # Only effective guilty court judgments count; the policies leave out sealed ones
        # (they do not exist here), detentions are not judgments, expunged ones are gone.
        found = any(ctx.authz.decide(Action.JUDGMENT_CERTIFY, judgment_attributes(
            j, ctx.authz.subject), context=context, record=False).allowed for j in judgments)
        kind = ("RESULT_LETTER" if inquiry.purpose in SOCIETY
                else "REFUSAL_NOTICE" if found else "NO_RECORD_CERTIFICATE")
        certificate = Certificate(number=new_certificate_number(), inquiry_id=inquiry.id or 0,
                                  kind=kind, purpose=inquiry.purpose, has_criminal_record=found)
        await ctx.flush(certificate)
        ctx.authz.note(Action.INQUIRY_APPROVE, "permit", "certificate", [certificate.number])


def new_certificate_number() -> str:
    """CRC-2026-XXXX-XXXX-XXXX: 60 random bits, not guessable, unique by the table."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"CRC-{datetime.now(UTC).year}-{body[:4]}-{body[4:8]}-{body[8:]}"


async def _readable(ctx: Context, view: InquiryView, record_type: str) -> list[Disclosed]:
    """What the inquiry disclosed of `record_type` that the reader may read, each decided in
    the inquiry's context."""
    # Fields of every record under `records` ask at once (their persons' judgments and
    # detentions): the first finds them, the others wait for it instead of asking again.
    async with view.finding:
        if view.context is None:
            view.context = await inquiry_context(ctx, view.inquiry)
        if record_type not in view.disclosed:
            rows = await _disclosed(ctx, view, record_type)
            if record_type == "detention":
                rows = await views_of(ctx, rows)
            view.disclosed[record_type] = [Disclosed(r, view.context, view) for r in rows]
    action = Action.JUDGMENT_READ if record_type == "judgment" else Action.DETENTION_READ
    return [d for d in view.disclosed[record_type] if ctx.authz.check_object(action, d)]


async def _disclosed(ctx: Context, view: InquiryView, record_type: str) -> list[Any]:
    """The records the inquiry disclosed that still exist, and still are the subject's: a
    record id alone could have been reused (SQLite reuses the highest rowid after a delete,
    e.g. of an expunged detention), so each is matched on the person too."""
    subject = view.inquiry.subject_id_number
    disclosed = select(InquiryRecord.record_id).where(
        col(InquiryRecord.inquiry_id) == view.inquiry.id,
        col(InquiryRecord.record_type) == record_type)
    query: Any
    if record_type == "judgment":
        query = select(Judgment).join(Offender, col(Offender.id) == col(Judgment.offender_id)) \
            .where(col(Judgment.id).in_(disclosed), col(Offender.id_number) == subject) \
            .order_by(col(Judgment.public_id))
    else:
        query = select(Detention).where(col(Detention.id).in_(disclosed),
                                        col(Detention.id_number) == subject) \
            .order_by(col(Detention.public_id))
    return list(await ctx.scalars(query))


# -- reading ------------------------------------------------------------------------------

async def read_inquiry(ctx: Context, id: str) -> InquiryView | None:
    async def view(row: Inquiry) -> InquiryView:
        return InquiryView(row, ctx.authz.subject)

    return await read_by_id(  # type: ignore[no-any-return]
        ctx, Inquiry, Action.INQUIRY_READ, "inquiry", id, view=view)


async def list_inquiries(ctx: Context, status: InquiryStatus | None, page: Window, *,
                         overdue: bool | None = None,
                         counted: bool = True) -> InquiryConnection:
    """The requester's own inquiries; for an examining officer, those of their division;
    for auditors, all."""
    combos = ctx.authz.visible(Action.INQUIRY_LIST,
                               inquiry_visibility_combinations(ctx.authz.subject), "inquiry")
    own: ColumnElement[bool] = (col(Inquiry.requester_sub) == ctx.requester.sub
                                if ctx.requester.sub else false())
    where = [visibility_clause(
        combos, {"purpose": func.lower(col(Inquiry.purpose)),
                 "status": func.lower(col(Inquiry.status))},
        region_column=col(Inquiry.region), requester_division=ctx.authz.subject.get("region"),
        constants={"type": "inquiry", "seal_status": "open"},
        relations={"requester": (ctx.requester.sub, own)})]
    if status is not None:
        where.append(col(Inquiry.status) == status.value)
    if overdue is not None:
        # Never NULL (a due date is set on every pending inquiry): NOT is then exact.
        late = and_(col(Inquiry.status) == "PENDING", col(Inquiry.due_date).is_not(None),
                    col(Inquiry.due_date) < datetime.now(UTC).date())
        where.append(late if overdue else not_(late))
    rows, total = await fetch_page(ctx, Inquiry, where, page.size, page.after,
                                   counted=counted, before=page.before,
                                   backward=page.backward)
    views = [InquiryView(r, ctx.authz.subject) for r in rows]
    views = ctx.authz.page(Action.INQUIRY_READ, views, page.size)
    return connection_of(InquiryEdge, InquiryConnection, views, total, page.size,
                         page.backward)


async def verify_certificate(ctx: Context, number: str) -> VerifiedView | None:
    """A recipient checks a certificate number: `None` where it is not genuine."""
    cleaned = check.text("number", number, max_length=40)
    found = await ctx.scalar(select(Certificate).where(col(Certificate.number) == cleaned))
    if found is None:
        ctx.authz.decide(Action.CERTIFICATE_VERIFY, {"type": "certificate", "id": cleaned})
        return None
    view = VerifiedView(found)
    return view if ctx.authz.check_object(Action.CERTIFICATE_VERIFY, view) else None

