"""Defense-counsel registrations (CONTRACT.md §3, §4): the organ handling a case registers
a lawyer (by `sub`) as counsel of a suspect or defendant in it. A lawyer's cases come from
here, never from the token: `is_counsel` is what a DEFENSE inquiry's `is_counsel` rests on.

The registry has no user table, so any non-empty `sub` may be named as the lawyer.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from strawberry.types import Info

from db.models import DefenseCounsel
from db.models.base import utcnow
from policies.actions import Action
from policies.attributes import resource_attributes
from schema import validation as check
from schema.context import Context
from schema.errors import Forbidden

_TRIPLE = ("case_number", "lawyer_sub", "suspect_id_number")


async def is_counsel(ctx: Context, case_number: str, lawyer_sub: str,
                     suspect_id_number: str) -> bool:
    """Is `lawyer_sub` registered counsel in this case for this suspect? The values are
    compared as `registerDefenseCounsel` stores them (trimmed, the identity number upper
    case); anything else, an empty value included, is not counsel."""
    found = await ctx.scalar(select(DefenseCounsel.id).where(
        col(DefenseCounsel.case_number) == case_number.strip(),
        col(DefenseCounsel.lawyer_sub) == lawyer_sub.strip(),
        col(DefenseCounsel.suspect_id_number) == suspect_id_number.strip().upper()))
    return found is not None


async def register_defense_counsel(info: Info[Context, None], case_number: str, lawyer: str,
                                   suspect_id_number: str) -> bool:
    """True once the triple is registered, whether by this call or an earlier one."""
    ctx = info.context
    requester = ctx.requester
    decision = ctx.authz.require(Action.COUNSEL_REGISTER, resource_attributes(
        "counsel", id="*",
        counsel_is_requester="yes" if lawyer.strip() == requester.sub else "no"))
    code = requester.agency_code
    agency = await ctx.loaders.agency_by_code.load(code) if code else None
    if agency is None or agency.id is None:
        raise Forbidden("defense counsel is registered by the organ handling the case")
    values = {
        "case_number": check.text("caseNumber", case_number, max_length=100),
        "lawyer_sub": check.text("lawyer", lawyer, max_length=200),
        "suspect_id_number": check.id_number("suspectIdNumber", suspect_id_number),
    }
    # One statement, so a concurrent duplicate neither fails on the unique constraint
    # (an aborted PostgreSQL transaction would lose the audit event with it) nor stores a
    # second row: the later insert waits for the earlier to commit, then does nothing.
    dialect = postgresql if ctx.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(DefenseCounsel).values(
        **values, registered_by=requester.sub, registered_by_agency_id=agency.id,
        created_at=utcnow()).on_conflict_do_nothing(index_elements=list(_TRIPLE))
    inserted = (await ctx.execute(statement)).rowcount == 1  # type: ignore[attr-defined]
    if inserted:
        ctx.wrote = True
    row_id = await ctx.scalar(select(DefenseCounsel.id).where(
        *(col(getattr(DefenseCounsel, name)) == values[name] for name in _TRIPLE)))
    # The counsel row's opaque id: never the lawyer's sub or the suspect's identity number.
    ctx.authz.note(Action.COUNSEL_REGISTER, "permit", "counsel", [f"cns_{row_id}"],
                   decision.policy_uid or "", decision.policy_version)
    return True
