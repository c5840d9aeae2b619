"""Detention records (DESIGN.md §1.1): registered by the detaining public security organ,
never a criminal record.

A detention keeps its own copy of the person's basic information: the person is not made
an `offender`, and `Offender.detentions` joins on the identity number. A criminal detention
whose case is dismissed is expunged: its row is deleted and only the audit trail keeps the
fact that it existed. An administrative detention is sealed (policies decide who reads it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from strawberry.types import Info

from db.models import Agency, Detention, InquiryRecord
from policies.actions import Action
from policies.attributes import (
    detention_attributes,
    detention_close_combinations,
    resource_attributes,
)
from schema import validation as check
from schema.agencies import AgencyNode
from schema.context import Context
from schema.errors import BadUserInput, Conflict, Forbidden
from schema.fields import authorized
from schema.lookup import read_by_id
from schema.node import Node

if TYPE_CHECKING:
    # Lazy in the schema: schema.reporting imports schema.records, which imports this.
    from schema.reporting import PersonInput


@strawberry.enum(description=(
    "Criminal detention (a criminal case) or administrative detention."))
class DetentionKind(Enum):
    CRIMINAL = "CRIMINAL"
    ADMINISTRATIVE = "ADMINISTRATIVE"


@strawberry.enum(description=(
    "Whether a detention case is still open."))
class DetentionStatus(Enum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class DetentionView:
    """A detention with its policy attributes, computed once (they need the registering
    agency's code): every field of the record is then one memoised decision."""

    detention: Detention
    agency: Agency | None
    resource: dict[str, Any]

    def authz_resource(self) -> dict[str, Any]:
        return self.resource


@strawberry.type(name="Detention", description=(
    "A detention registered by the agency holding the person."))
class DetentionNode(Node):
    """A detention record (DESIGN.md §1.1): never a criminal record."""

    @authorized(Action.DETENTION_READ)
    def id(self: DetentionView) -> strawberry.ID:  # type: ignore[misc]
        return strawberry.ID(self.detention.public_id)

    @authorized(Action.DETENTION_READ)
    def kind(self: DetentionView) -> DetentionKind:  # type: ignore[misc]
        return DetentionKind(self.detention.kind)

    @authorized(Action.DETENTION_READ)
    def case_number(self: DetentionView) -> str:  # type: ignore[misc]
        return self.detention.case_number

    @authorized(Action.DETENTION_READ)
    def start_date(self: DetentionView) -> date:  # type: ignore[misc]
        return self.detention.start_date

    @authorized(Action.DETENTION_READ)
    def end_date(self: DetentionView) -> date | None:  # type: ignore[misc]
        return self.detention.end_date

    @authorized(Action.DETENTION_READ)
    def status(self: DetentionView) -> DetentionStatus:  # type: ignore[misc]
        return DetentionStatus(self.detention.status)

    @authorized(Action.DETENTION_READ)
    def agency(self: DetentionView) -> AgencyNode | None:  # type: ignore[misc]
        """The agency that registered the detention."""
        return self.agency  # type: ignore[return-value]


@strawberry.type(description=(
    "The detention changed, where the requester may read it back."))
class DetentionPayload:
    detention: DetentionNode | None = authorized(Action.DETENTION_READ, target="value")


@strawberry.input(description=(
    "A detention to register."))
class RegisterDetentionInput:
    kind: DetentionKind
    case_number: str
    person: Annotated[PersonInput, strawberry.lazy("schema.reporting")]
    start_date: date
    end_date: date | None = None


# -- reading ---------------------------------------------------------------------------


async def views_of(ctx: Context, rows: Sequence[Detention]) -> list[DetentionView]:
    agencies: list[Agency | None] = await ctx.loaders.agency.load_many(
        [r.agency_id for r in rows])
    return [DetentionView(row, agency, detention_attributes(
        row, owner_agency=agency.code if agency else "", subject=ctx.authz.subject))
        for row, agency in zip(rows, agencies, strict=True)]


async def resolve_detention(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=(
            "The Detention's id."))],
) -> DetentionNode | None:
    """One detention, or `None` whether it is missing or not permitted (alike)."""
    return await read_detention(info.context, str(id))  # type: ignore[return-value]


async def read_detention(ctx: Context, id: str) -> DetentionView | None:
    async def view(row: Detention) -> DetentionView:
        [found] = await views_of(ctx, [row])
        return found

    return await read_by_id(  # type: ignore[no-any-return]
        ctx, Detention, Action.DETENTION_READ, "detention", id, view=view,
        agencies=("agency_id",))


async def detentions_of(ctx: Context, id_number: str) -> list[DetentionView]:
    """The person's detentions that the requester may read (`Offender.detentions`)."""
    loader = ctx.loaders.named("detentions_by_id_number",
                               lambda keys: _detentions_by_id_number(ctx, keys))
    return await loader.load(id_number)  # type: ignore[no-any-return]


async def _detentions_by_id_number(ctx: Context, id_numbers: Sequence[str]
                                   ) -> list[list[DetentionView]]:
    """For a whole page of people: one query, and one for the agencies it names."""
    rows = await ctx.scalars(select(Detention).where(col(Detention.id_number).in_(id_numbers))
                             .order_by(col(Detention.start_date), col(Detention.public_id)))
    found: dict[str, list[DetentionView]] = defaultdict(list)
    for view in await views_of(ctx, rows):
        if ctx.authz.check_object(Action.DETENTION_READ, view):
            found[view.detention.id_number].append(view)
    return [found.get(n, []) for n in id_numbers]


# -- registering and closing -----------------------------------------------------------


def validate_detention(data: RegisterDetentionInput, today: date) -> dict[str, Any]:
    """The input, cleaned, or `BadUserInput` naming the first bad field."""
    person = data.person
    clean: dict[str, Any] = {
        "case_number": check.text("input.caseNumber", data.case_number, max_length=100),
        "id_number": check.id_number("input.person.idNumber", person.id_number),
        "name": check.text("input.person.name", person.name),
        "gender": check.text("input.person.gender", person.gender, max_length=16,
                             required=False) or None,
        "region": check.region("input.person.residenceRegion", person.residence_region),
    }
    check.not_after("input.person.birthDate", person.birth_date, today, "today")
    check.not_after("input.startDate", data.start_date, today, "today")
    if data.start_date < person.birth_date:
        raise BadUserInput("input.startDate", "must not be before the person's birth date")
    if data.end_date is not None and data.end_date < data.start_date:
        raise BadUserInput("input.endDate", "must not be before the start date")
    return clean


async def register_detention(
        info: Info[Context, None],
        input: Annotated[RegisterDetentionInput, strawberry.argument(description=(
            "The detention and the person detained."))],
) -> DetentionPayload:
    ctx = info.context
    code = ctx.requester.agency_code
    agency = await ctx.loaders.agency_by_code.load(code) if code else None
    decision = ctx.authz.require(Action.DETENTION_REGISTER, resource_attributes(
        "detention", id="*", kind=input.kind.value.lower(),
        owner_agency=agency.code if agency else ""))
    if agency is None or agency.id is None:
        raise Forbidden("a detention is registered by the detaining agency")
    clean = validate_detention(input, datetime.now(UTC).date())
    same = await ctx.scalar(select(Detention.id).where(
        col(Detention.agency_id) == agency.id, col(Detention.kind) == input.kind.value,
        col(Detention.case_number) == clean["case_number"],
        col(Detention.id_number) == clean["id_number"]))
    if same is not None:
        raise _already_registered()
    detention = Detention(kind=input.kind.value, agency_id=agency.id,
                          birth_date=input.person.birth_date, start_date=input.start_date,
                          end_date=input.end_date, **clean)
    try:
        await ctx.flush(detention)
    except IntegrityError:
        # A concurrent request registered the same detention first.
        raise _already_registered() from None
    ctx.authz.note(Action.DETENTION_REGISTER, "permit", "detention", [detention.public_id],
                   decision.policy_uid or "", decision.policy_version)
    [view] = await views_of(ctx, [detention])
    return DetentionPayload(detention=view)  # type: ignore[arg-type]


def _already_registered() -> Conflict:
    return Conflict("this agency already registered this detention of this person under "
                    "this case number", field="input.caseNumber")


async def close_detention_case(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=(
            "The Detention's id."))],
        dismissed: Annotated[bool, strawberry.argument(description=(
            "true when the case was dismissed: a criminal detention is then expunged."))],
) -> DetentionPayload:
    """Closes a detention's case. Dismissed, a criminal detention is expunged: deleted, and
    kept only as the audit fact `detention:expunge` with its id."""
    ctx = info.context
    if not ctx.authz.visible(Action.DETENTION_CLOSE,
                             detention_close_combinations(ctx.authz.subject), "detention"):
        raise Forbidden()  # may close no detention at all, whatever the id
    public_id = check.text("id", str(id), max_length=40)
    row = await ctx.scalar(select(Detention).where(col(Detention.public_id) == public_id))
    view = (await views_of(ctx, [row]))[0] if row is not None else None
    decision = ctx.authz.decide(Action.DETENTION_CLOSE, view.resource if view is not None
                                else resource_attributes("detention", id=public_id))
    if row is None or not decision.allowed:
        # Missing and not permitted look alike (CONTRACT.md §6).
        raise BadUserInput("id", "no detention with this id that you may close")
    if dismissed:
        if row.kind == DetentionKind.ADMINISTRATIVE.value:
            raise BadUserInput("dismissed", "an administrative detention is a penalty, not a "
                                            "case: it cannot be dismissed")
        async with ctx.db_lock:
            # Gone from every result: from the inquiries that disclosed it too.
            await ctx.session.execute(delete(InquiryRecord).where(
                col(InquiryRecord.record_type) == "detention",
                col(InquiryRecord.record_id) == row.id))
            await ctx.session.delete(row)
        await ctx.flush()
        ctx.authz.note(Action.DETENTION_EXPUNGE, "permit", "detention", [public_id],
                       decision.policy_uid or "", decision.policy_version)
        return DetentionPayload(detention=None)
    if row.status != DetentionStatus.CLOSED.value:
        now = datetime.now(UTC)
        row.status, row.closed_at = DetentionStatus.CLOSED.value, now
        row.end_date = row.end_date or now.date()
        await ctx.flush(row)
    [view] = await views_of(ctx, [row])
    return DetentionPayload(detention=view)  # type: ignore[arg-type]
