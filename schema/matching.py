"""Matching a release or expiry notice to a judgment (DESIGN.md §1.2), and why one cannot be.

Each reason has a code, written in the audit trail for auditors, and words, for the clerks
who work the queue; whoever else reads the notice reads one generic reason
(schema/notices.py). A judgment the sender may not read that is sealed does not exist for
the sender (DESIGN.md §1.4): a notice that matches it waits for a clerk like one that
matches nothing, and its sender cannot tell the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, select

from db.models import Judgment, Offender
from policies.actions import Action
from schema.context import Context
from schema.notices import NO_AUTHORITY as NO_AUTHORITY_REASON


@dataclass(frozen=True)
class Problem:
    """Why a notice could not be matched: `code` for the audit trail, `reason` for clerks."""

    code: str
    reason: str


NO_AUTHORITY = Problem("no_authority", NO_AUTHORITY_REASON)
NO_JUDGMENT = Problem("no_judgment", "no judgment with this number is registered")
IDENTITY = Problem("identity_disagrees", "identity fields disagree with the registry")
AMBIGUOUS = Problem("ambiguous",
                    "the judgment number matches more than one judgment of this person")
SEALED = Problem("sealed", "the notice matches a sealed judgment that its sender may not "
                           "read: a clerk matches it")


def before_effective(kind: str) -> Problem:
    what = "release" if kind == "RELEASE" else "expiry"
    return Problem("before_effective", f"the {what} date is before the judgment took effect")


async def match_execution(ctx: Context, offender: Offender | None, clean: dict[str, Any],
                          birth_date: date | None, event_date: date, kind: str
                          ) -> tuple[Judgment | None, Problem | None]:
    """The judgment an execution notice is about, or why none can be told.

    Every path runs the same statement (the judgments of that number): how long an answer
    takes does not tell which of these it was."""
    candidates = list(await ctx.scalars(select(Judgment).where(
        col(Judgment.judgment_number) == clean["judgment_number"])))
    if not candidates:
        return None, NO_JUDGMENT
    mine = [j for j in candidates if offender is not None and j.offender_id == offender.id]
    if not mine:
        return None, IDENTITY
    if len(mine) > 1:
        return None, AMBIGUOUS
    assert offender is not None
    if (clean["name"] is not None and clean["name"] != offender.name) or (
            birth_date is not None and birth_date != offender.birth_date):
        return None, IDENTITY
    judgment = mine[0]
    if event_date < judgment.effective_date:
        return None, before_effective(kind)
    if judgment.seal_status == "sealed" and not ctx.authz.decide(
            Action.JUDGMENT_READ, ctx.authz.attributes_of(judgment), record=False).allowed:
        # Registering it would tell the sender that the judgment exists. The registry asks
        # (no audit event): the sender attempted no read.
        return None, SEALED
    return judgment, None
