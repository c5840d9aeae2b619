"""Defense-counsel registrations (CONTRACT.md §3, §4; DESIGN.md §1.6): an official of the
organ handling an open registered case registers a lawyer (by `sub`) as counsel of a
suspect or defendant in it. A lawyer's cases come from here, never from the token, and a
DEFENSE inquiry's `is_counsel` rests on a registration bound to the case it names.

The registry has no user table, so any non-empty `sub` may be named as the lawyer.
A registration made before cases were registered (migration 0008) has no case: it grants
no new DEFENSE inquiry until the organ handling the case registers the case, then the
lawyer again.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from strawberry.types import Info

from db.locks import CASE_KEYS
from db.models import DefenseCounsel
from db.models.base import utcnow
from policies.actions import Action
from policies.attributes import counsel_attributes, counsel_combinations
from schema import validation as check
from schema.cases import case_relation
from schema.context import Context
from schema.errors import BadUserInput, Forbidden
from schema.notices import requester_agency

_KEY = ("case_id", "lawyer_sub", "suspect_id_number")
# Missing, another agency's, closed, or the person not accused in it: one answer.
NOT_YOURS = ("no open case with this number that your agency handles has this person as a "
             "suspect or defendant")


async def register_defense_counsel(
        info: Info[Context, None],
        case_number: Annotated[str, strawberry.argument(description=(
            "The case, handled by the requester's agency."))],
        lawyer: Annotated[str, strawberry.argument(description=(
            "The lawyer's sub."))],
        suspect_id_number: Annotated[str, strawberry.argument(description=(
            "The identity number of the suspect or defendant the lawyer defends."))],
) -> bool:
    """True once the registration exists, whether by this call or an earlier one."""
    ctx = info.context
    requester = ctx.requester
    themselves = lawyer.strip() == requester.sub
    # May this requester register counsel in any case at all (and name this lawyer)?
    # Asked before the case number is looked up, so the refusal says nothing about it.
    if not ctx.authz.visible(Action.COUNSEL_REGISTER,
                             counsel_combinations(counsel_is_requester=themselves), "counsel"):
        raise Forbidden()
    agency = await requester_agency(ctx)
    if agency is None or agency.id is None:
        raise Forbidden("defense counsel is registered by the organ handling the case")
    values = {
        "case_number": check.text("caseNumber", case_number, max_length=100),
        "lawyer_sub": check.text("lawyer", lawyer, max_length=200),
        "suspect_id_number": check.id_number("suspectIdNumber", suspect_id_number),
    }
    await ctx.lock(CASE_KEYS, values["case_number"])
    relation = await case_relation(ctx, values["case_number"],
                                   person=values["suspect_id_number"])
    decision = ctx.authz.decide(
        Action.COUNSEL_REGISTER,
        counsel_attributes(relation, counsel_is_requester=themselves),
        context={"case_number": values["case_number"]})
    if not decision.allowed or relation.case_id is None:
        # The official is told one reason; the audit trail keeps which it was.
        ctx.authz.note(Action.COUNSEL_REGISTER, "deny", "counsel", [],
                       decision.policy_uid or "", decision.policy_version,
                       detail={"case": relation.attributes()},
                       context={"case_number": values["case_number"]})
        raise BadUserInput("caseNumber", NOT_YOURS)
    # One statement, so a concurrent duplicate neither fails on the unique constraint
    # (an aborted PostgreSQL transaction would lose the audit event with it) nor stores a
    # second row: the later insert waits for the earlier to commit, then does nothing.
    dialect = postgresql if ctx.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(DefenseCounsel).values(
        **values, case_id=relation.case_id, registered_by=requester.sub,
        registered_by_agency_id=agency.id, created_at=utcnow()
    ).on_conflict_do_nothing(index_elements=list(_KEY))
    inserted = (await ctx.execute(statement)).rowcount == 1  # type: ignore[attr-defined]
    if inserted:
        ctx.wrote = True
    row_id = await ctx.scalar(select(DefenseCounsel.id).where(
        col(DefenseCounsel.case_id) == relation.case_id,
        col(DefenseCounsel.lawyer_sub) == values["lawyer_sub"],
        col(DefenseCounsel.suspect_id_number) == values["suspect_id_number"]))
    # The counsel row's opaque id: never the lawyer's sub or the suspect's identity number.
    ctx.authz.note(Action.COUNSEL_REGISTER, "permit", "counsel", [f"cns_{row_id}"],
                   decision.policy_uid or "", decision.policy_version)
    return True
