"""Cases (DESIGN.md §1.6, CONTRACT.md §4): access to criminal information is bound to a
real case, registered by the organ handling it, handed on as it moves, and closed.

What the registry knows of a case is told to the officials of the organ handling it (and
to auditors), and to nobody else: `case()` answers `null` for a number nobody registered
and for another agency's case alike, and a change asked on either is refused with the same
`BAD_USER_INPUT`. The one exception is `registerCase` with a number already registered:
case numbers are unique in the registry, so that is `CONFLICT` whoever holds the number,
which tells the caller that the number is taken and nothing else (not who handles the
case, not whether it is open, not its parties). Each such attempt is audited with the
number, so that probing shows in the audit trail and in `accessReport`'s `caseNumbers`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, false, func, true
from sqlmodel import col, select
from strawberry.types import Info

from db.locks import CASE_KEYS
from db.models import Agency, CaseParty, CriminalCase, DefenseCounsel
from db.queries.cases import case_relation_query
from db.queries.visibility import visibility_clause
from policies.actions import Action
from policies.attributes import (
    NO_CASE,
    CaseRelation,
    case_attributes,
    case_combinations,
    handles,
)
from policies.cases import ACCUSED_ROLES, CASE_HANDLING_KINDS, MAX_PARTIES
from schema import validation as check
from schema.agencies import AgencyNode
from schema.context import Context
from schema.errors import BadUserInput, Conflict, Forbidden
from schema.fields import authorized
from schema.notices import requester_agency
from schema.pagination import PageInfo, Window, connection_of, fetch_page

# One answer for every case the requester may not act on: missing, another agency's,
# transferred away, closed (CONTRACT.md §6: a record one may not see is absent, not an error
# that differs).
NOT_YOURS = "no open case with this number is handled by your agency"
NOT_YOURS_TO_CLOSE = "no case with this number is handled by your agency"


@strawberry.enum(description=(
    "The stage of criminal proceedings a case is in."))
class CaseStage(Enum):
    INVESTIGATION = "INVESTIGATION"
    PROSECUTION = "PROSECUTION"
    TRIAL = "TRIAL"


@strawberry.enum(description=(
    "A person's part in a case."))
class PartyRole(Enum):
    SUSPECT = "SUSPECT"
    DEFENDANT = "DEFENDANT"
    VICTIM = "VICTIM"
    WITNESS = "WITNESS"


@strawberry.input(description=(
    "A person to add to a case, by identity number."))
class CasePartyInput:
    id_number: str
    role: PartyRole


@strawberry.input(description=(
    "A case to register; the requester's agency handles it."))
class RegisterCaseInput:
    case_number: str
    stage: CaseStage
    parties: list[CasePartyInput]


@dataclass
class CaseView:
    """A case with its policy attributes, computed once: each field is then one memoised
    decision, made with the case number as the decision's "why"."""

    case: CriminalCase
    agency: Agency
    resource: dict[str, Any]

    @property
    def public_id(self) -> str:
        return self.case.public_id

    def authz_resource(self) -> dict[str, Any]:
        return self.resource

    def authz_context(self) -> dict[str, Any]:
        return {"case_number": self.case.case_number}


@dataclass(frozen=True)
class PartyView:
    party: CaseParty
    of: CaseView

    def authz_resource(self) -> CaseView:
        return self.of


@strawberry.type(name="CaseParty", description=(
    "A person in a case."))
class CasePartyNode:
    @authorized(Action.CASE_READ)
    def id_number(self: PartyView) -> str:  # type: ignore[misc]
        return self.party.id_number

    @authorized(Action.CASE_READ)
    def role(self: PartyView) -> PartyRole:  # type: ignore[misc]
        return PartyRole(self.party.role)


@strawberry.type(name="Case", description=(
    "A criminal case and the agency handling it (DESIGN §1.6)."))
class CaseNode:
    @authorized(Action.CASE_READ)
    def case_number(self: CaseView) -> str:  # type: ignore[misc]
        return self.case.case_number

    @authorized(Action.CASE_READ)
    def agency(self: CaseView) -> AgencyNode:  # type: ignore[misc]
        """The organ handling the case now."""
        return self.agency  # type: ignore[return-value]

    @authorized(Action.CASE_READ)
    def stage(self: CaseView) -> CaseStage:  # type: ignore[misc]
        return CaseStage(self.case.stage)

    @authorized(Action.CASE_READ)
    def open(self: CaseView) -> bool:  # type: ignore[misc]
        return self.case.open

    @authorized(Action.CASE_READ)
    async def parties(self: CaseView, info: Info[Context, None]  # type: ignore[misc]
                      ) -> list[CasePartyNode]:
        loader = info.context.loaders.named("case_parties",
                                            lambda ids: _parties_of(info.context, ids))
        rows: list[CaseParty] = await loader.load(self.case.id)
        return [PartyView(r, self) for r in rows]  # type: ignore[misc]

    @authorized(Action.CASE_READ)
    async def counsel(self: CaseView, info: Info[Context, None]  # type: ignore[misc]
                      ) -> list[str]:
        """The lawyers (their `sub`) registered as counsel in this case, each once."""
        loader = info.context.loaders.named("case_counsel",
                                            lambda ids: _counsel_of(info.context, ids))
        return await loader.load(self.case.id)  # type: ignore[no-any-return]

    @authorized(Action.CASE_READ)
    def registered_at(self: CaseView) -> datetime:  # type: ignore[misc]
        return self.case.registered_at

    @authorized(Action.CASE_READ)
    def closed_at(self: CaseView) -> datetime | None:  # type: ignore[misc]
        return self.case.closed_at


@strawberry.type(name="CaseEdge", description=(
    "A case in a page, with its cursor."))
class CaseEdge:
    cursor: str
    node: CaseNode = authorized(Action.CASE_READ, target="value")


@strawberry.type(name="CaseConnection", description=(
    "A page of cases the requester may see (Relay connection)."))
class CaseConnection:
    edges: list[CaseEdge]
    page_info: PageInfo
    total_count: int


async def _parties_of(ctx: Context, case_ids: Sequence[int]) -> list[list[CaseParty]]:
    rows = await ctx.scalars(select(CaseParty).where(col(CaseParty.case_id).in_(case_ids))
                             .order_by(col(CaseParty.id)))
    found: dict[int, list[CaseParty]] = defaultdict(list)
    for row in rows:
        found[row.case_id].append(row)
    return [found.get(i, []) for i in case_ids]


async def _counsel_of(ctx: Context, case_ids: Sequence[int]) -> list[list[str]]:
    rows: Sequence[Any] = (await ctx.execute(select(
        DefenseCounsel.case_id, DefenseCounsel.lawyer_sub).where(
        col(DefenseCounsel.case_id).in_(case_ids)).order_by(col(DefenseCounsel.id)))).all()
    found: dict[int, list[str]] = defaultdict(list)
    for case_id, lawyer in rows:
        if lawyer not in found[case_id]:
            found[case_id].append(lawyer)
    return [found.get(i, []) for i in case_ids]


# -- the case a number names --------------------------------------------------------------

def _why(number: str) -> dict[str, str]:
    return {"case_number": number}


def _missing() -> dict[str, Any]:
    """The attributes of a case nobody registered: handled by nobody."""
    return {"type": "case", "id": "*", "stage": "", "status": "none", "seal_status": "open",
            "owner_agency": "", "handled_by_requester": "no"}


async def _case_view(ctx: Context, number: str) -> CaseView | None:
    """The case registered under `number` with the organ handling it, in one statement
    whether or not there is one."""
    row: Any = (await ctx.execute(select(CriminalCase, Agency).join(
        Agency, col(Agency.id) == col(CriminalCase.agency_id)).where(
        col(CriminalCase.case_number) == number))).first()
    if row is None:
        return None
    case, agency = row
    return view_of(ctx, case, agency)


def view_of(ctx: Context, case: CriminalCase, agency: Agency) -> CaseView:
    return CaseView(case, agency, case_attributes(case, handling_agency=agency.code,
                                                  subject=ctx.authz.subject))


async def case_relation(ctx: Context, case_number: str, *, person: str,
                        lawyer: str = "") -> CaseRelation:
    """`case_number` related to the requester and to `person` (an inquiry's subject, the
    suspect counsel is registered for): always the requester's agency and one statement,
    so that the answer costs the same whatever the number names."""
    agency = await requester_agency(ctx)
    row: Any = (await ctx.execute(case_relation_query(
        case_number, person=person, lawyer=lawyer, accused_roles=ACCUSED_ROLES))).first()
    if row is None:
        return NO_CASE
    case_id, agency_id, is_open, accused, counsel = row
    return CaseRelation(status="open" if is_open else "closed",
                        handled_by_requester=agency is not None and agency.id == agency_id,
                        subject_is_accused=bool(accused), is_counsel=bool(counsel),
                        case_id=case_id)


def _may_ever(ctx: Context, action: str, extras: Sequence[dict[str, str]] = ({},)) -> None:
    """FORBIDDEN for a requester whom no policy lets do `action` to any case at all, before
    the case number is looked up: the answer then says nothing about it."""
    combinations = [{**c, **extra} for c in case_combinations() for extra in extras]
    if not ctx.authz.visible(action, combinations, "case"):
        raise Forbidden()


# -- reading ------------------------------------------------------------------------------

async def resolve_case(
        info: Info[Context, None],
        case_number: Annotated[str, strawberry.argument(description=(
            "The case number, unique in the registry."))],
) -> CaseNode | None:
    """The case, or `None` whether it is missing or not the requester's (alike)."""
    ctx = info.context
    number = check.text("caseNumber", case_number, max_length=100)
    view = await _case_view(ctx, number)
    if view is None:
        # Asked all the same: the attempt is audited, and answered as any refused one.
        ctx.authz.decide(Action.CASE_READ, _missing(), context=_why(number))
        return None
    return view if ctx.authz.check_object(Action.CASE_READ, view) else None  # type: ignore[return-value]


async def list_cases(ctx: Context, open: bool | None, page: Window, *,
                     counted: bool = True) -> CaseConnection:
    """An official: the cases their agency handles now; an auditor: all. Filtered in SQL by
    the combinations the policies allow (`handled_by_requester` is the case's agency)."""
    combos = ctx.authz.visible(Action.CASE_LIST, case_combinations(), "case")
    agency = await requester_agency(ctx)
    mine: ColumnElement[bool] = (col(CriminalCase.agency_id) == agency.id
                                 if agency is not None and agency.id is not None else false())
    where = [visibility_clause(
        combos, {"stage": func.lower(col(CriminalCase.stage))}, region_column=None,
        requester_division=None, constants={"type": "case", "seal_status": "open"},
        relations={"handled_by_requester": ("yes", mine),
                   "status": ("open", col(CriminalCase.open) == true())})]
    if open is not None:
        where.append(col(CriminalCase.open) == open)
    rows, total = await fetch_page(ctx, CriminalCase, where, page.size, page.after,
                                   counted=counted, before=page.before,
                                   backward=page.backward)
    agencies: list[Agency | None] = await ctx.loaders.agency.load_many(
        [r.agency_id for r in rows])
    views = [view_of(ctx, r, a) for r, a in zip(rows, agencies, strict=True) if a is not None]
    views = ctx.authz.page(Action.CASE_READ, views, page.size)
    return connection_of(CaseEdge, CaseConnection, views, total, page.size, page.backward)


# -- registering and changing -------------------------------------------------------------

def _party(field: str, party: CasePartyInput) -> tuple[str, str]:
    return check.id_number(f"{field}.idNumber", party.id_number), party.role.value


def _parties(field: str, parties: list[CasePartyInput]) -> list[tuple[str, str]]:
    if len(parties) > MAX_PARTIES:
        raise BadUserInput(field, f"must name at most {MAX_PARTIES} parties")
    found: list[tuple[str, str]] = []
    for i, party in enumerate(parties):
        value = _party(f"{field}[{i}]", party)
        if value not in found:  # the same person in the same role twice is once
            found.append(value)
    return found


async def register_case(
        info: Info[Context, None],
        input: Annotated[RegisterCaseInput, strawberry.argument(description=(
            "The case number, its stage and its parties."))],
) -> CaseNode:
    """A case the requester's agency handles from now on, with its parties."""
    ctx = info.context
    agency = await requester_agency(ctx)
    stage = input.stage.value.lower()
    new = {"type": "case", "id": "*", "stage": stage, "status": "open", "seal_status": "open",
           "owner_agency": agency.code if agency else "",
           "handled_by_requester": "yes" if agency and handles(ctx.authz.subject, agency.code)
           else "no"}
    if not ctx.authz.visible(Action.CASE_REGISTER, [new], "case"):
        raise Forbidden()
    if agency is None or agency.id is None:
        raise Forbidden("a case is registered by the organ handling it")
    number = check.text("input.caseNumber", input.case_number, max_length=100)
    parties = _parties("input.parties", input.parties)
    decision = ctx.authz.require(Action.CASE_REGISTER, new, context=_why(number))
    await ctx.lock(CASE_KEYS, number)
    taken = await ctx.scalar(select(CriminalCase.id).where(
        col(CriminalCase.case_number) == number))
    if taken is not None:
        # Whoever holds it, and whatever its state: the same answer, and nothing changes.
        raise Conflict("a case with this number is already registered",
                       field="input.caseNumber")
    case = CriminalCase(case_number=number, agency_id=agency.id, stage=input.stage.value,
                        registered_by=ctx.requester.sub)
    await ctx.flush(case)
    await ctx.flush(*[CaseParty(case_id=case.id or 0, id_number=n, role=role,
                                added_by=ctx.requester.sub) for n, role in parties])
    ctx.authz.note(Action.CASE_REGISTER, "permit", "case", [case.public_id],
                   decision.policy_uid or "", decision.policy_version,
                   detail={"stage": case.stage, "parties": len(parties)})
    return view_of(ctx, case, agency)  # type: ignore[return-value]


async def _own_case(ctx: Context, action: str, number: str, message: str,
                    extra: dict[str, str] | None = None) -> tuple[CaseView, Any]:
    """The case under `number`, locked for this operation, if the requester may do `action`
    to it; otherwise `BAD_USER_INPUT` on caseNumber, the same for every reason."""
    await ctx.lock(CASE_KEYS, number)
    view = await _case_view(ctx, number)
    resource = {**(view.resource if view is not None else _missing()), **(extra or {})}
    decision = ctx.authz.decide(action, resource, context=_why(number))
    if view is None or not decision.allowed:
        raise BadUserInput("caseNumber", message)
    return view, decision


async def add_case_party(
        info: Info[Context, None],
        case_number: Annotated[str, strawberry.argument(description=(
            "The case, handled by the requester's agency."))],
        party: Annotated[CasePartyInput, strawberry.argument(description=(
            "The person and their part in the case."))],
) -> CaseNode:
    ctx = info.context
    _may_ever(ctx, Action.CASE_ADD_PARTY)
    number = check.text("caseNumber", case_number, max_length=100)
    id_number, role = _party("party", party)
    view, decision = await _own_case(ctx, Action.CASE_ADD_PARTY, number, NOT_YOURS)
    case_id = view.case.id or 0
    present = await ctx.scalar(select(CaseParty.id).where(
        col(CaseParty.case_id) == case_id, col(CaseParty.id_number) == id_number,
        col(CaseParty.role) == role))
    if present is None:
        await ctx.flush(CaseParty(case_id=case_id, id_number=id_number, role=role,
                                  added_by=ctx.requester.sub))
    ctx.authz.note(Action.CASE_ADD_PARTY, "permit", "case", [view.case.public_id],
                   decision.policy_uid or "", decision.policy_version,
                   detail={"role": role})
    return view  # type: ignore[return-value]


async def transfer_case(
        info: Info[Context, None],
        case_number: Annotated[str, strawberry.argument(description=(
            "The case, handled by the requester's agency."))],
        to_agency: Annotated[str, strawberry.argument(description=(
            "The code of the case-handling agency that takes it over."))],
        stage: Annotated[CaseStage, strawberry.argument(description=(
            "The stage the case enters with it."))],
) -> CaseNode:
    """Hands the case on: from now on `toAgency` handles it, and the transferring agency's
    officials no longer read it nor inquire under it. The answer is their last read of it,
    as handed on."""
    ctx = info.context
    _may_ever(ctx, Action.CASE_TRANSFER, [{"receiving_agency_kind": kind.lower()}
                                          for kind in sorted(CASE_HANDLING_KINDS)])
    number = check.text("caseNumber", case_number, max_length=100)
    code = check.text("toAgency", to_agency, max_length=64)
    target = await ctx.loaders.agency_by_code.load(code)
    if target is None or target.id is None or target.kind not in CASE_HANDLING_KINDS:
        raise BadUserInput("toAgency", "is not the code of a case-handling agency (a court, "
                                       "procuratorate, public or state security organ)")
    if target.code == ctx.requester.agency_code:
        raise BadUserInput("toAgency", "must be another agency than yours")
    view, decision = await _own_case(
        ctx, Action.CASE_TRANSFER, number, NOT_YOURS,
        {"receiving_agency": target.code, "receiving_agency_kind": target.kind.lower()})
    handed_from = view.agency.code
    view.case.agency_id, view.case.stage = target.id, stage.value
    await ctx.flush(view.case)
    ctx.authz.note(Action.CASE_TRANSFER, "permit", "case", [view.case.public_id],
                   decision.policy_uid or "", decision.policy_version,
                   detail={"from_agency": handed_from, "to_agency": target.code,
                           "stage": stage.value})
    return CaseView(view.case, target, view.resource)  # type: ignore[return-value]


async def close_case(
        info: Info[Context, None],
        case_number: Annotated[str, strawberry.argument(description=(
            "The case, handled by the requester's agency."))],
) -> CaseNode:
    """Ends every access bound to the case: no CASE_HANDLING or DEFENSE inquiry is answered
    under it any more. Closing a closed case changes nothing."""
    ctx = info.context
    _may_ever(ctx, Action.CASE_CLOSE)
    number = check.text("caseNumber", case_number, max_length=100)
    view, decision = await _own_case(ctx, Action.CASE_CLOSE, number, NOT_YOURS_TO_CLOSE)
    if view.case.open:
        view.case.open = False
        view.case.closed_at, view.case.closed_by = datetime.now(UTC), ctx.requester.sub
        await ctx.flush(view.case)
    ctx.authz.note(Action.CASE_CLOSE, "permit", "case", [view.case.public_id],
                   decision.policy_uid or "", decision.policy_version)
    return view_of(ctx, view.case, view.agency)  # type: ignore[return-value]
