"""Sealing decided again for a whole person whenever something it depends on changes.

A judgment is registered, corrected, or a later judgment arrives: every judgment of the
person is decided with the others (policies.sealing.decide_person_seals), and each that
changes status is an event with its reason (DESIGN.md §1.4).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from db.models import Judgment, Offender, SealEvent
from db.models.base import new_row
from policies.sealing import SealFacts, decide_person_seals
from schema.batch import MISSING
from schema.context import Context

# Audit facts (DESIGN.md §1.5: every seal and unseal), decided by the sealing rules of
# policies/sealing.py, not by an access policy.
SEAL = "judgment:seal"
UNSEAL = "judgment:unseal"


async def redecide_seals(ctx: Context, offender: Offender, *, new: Judgment | None = None,
                         cause: str = "") -> list[Judgment]:
    """Decides every judgment of `offender` again; returns those whose status changed.

    `new` is a judgment being registered in this operation: it gets its first seal event
    whatever its status. `cause` prefixes the reason of the events this change writes
    (e.g. "retrial correction").
    """
    batch = ctx.batch
    judgments: list[Judgment] = (MISSING if batch is None
                                 else batch.judgments_of(offender.id or 0))
    if judgments is MISSING:
        # In the order of their ids: the order of the events and of the ids they name does
        # not depend on where the rows happen to lie (nor on who reads them, schema/batch.py).
        judgments = list(await ctx.scalars(
            select(Judgment).where(col(Judgment.offender_id) == offender.id).order_by(
                col(Judgment.id))))
        if batch is not None:  # a run of import lines that did not read this person's
            judgments = batch.kept_judgments(offender.id or 0, judgments)
    if new is not None and all(j.id != new.id for j in judgments):
        judgments.append(new)
    decisions = decide_person_seals(
        SealFacts(key=j.id or 0, birth_date=offender.birth_date, offense_date=j.offense_date,
                  judgment_date=j.judgment_date, penalty_kind=j.penalty_kind,
                  term_months=j.term_months, verdict=j.verdict)
        for j in judgments)
    changed: list[Judgment] = []
    touched: list[Judgment] = []
    events: list[SealEvent] = []
    now = datetime.now(UTC)
    for judgment in judgments:
        decision = decisions[judgment.id or 0]
        is_new = new is not None and judgment.id == new.id
        if not is_new and decision.status == judgment.seal_status:
            if decision.reason != judgment.seal_reason:
                judgment.seal_reason = decision.reason
                touched.append(judgment)
            continue
        reason = decision.reason if is_new or not cause else f"{cause}: {decision.reason}"
        judgment.seal_status, judgment.seal_reason = decision.status, reason[:200]
        judgment.updated_at = now
        events.append(new_row(SealEvent, judgment_id=judgment.id or 0, status=decision.status,
                                reason=reason[:200]))
        changed.append(judgment)
    if changed or touched:
        await ctx.flush(*changed, *touched, *events)
    sealed = [j.public_id for j in changed if j.seal_status == "sealed"]
    # A judgment registered open was never sealed: that is no unsealing.
    unsealed = [j.public_id for j in changed if j.seal_status == "open"
                and not (new is not None and j.id == new.id)]
    for fact, ids in ((SEAL, sealed), (UNSEAL, unsealed)):
        if ids:
            ctx.authz.note(fact, "permit", "judgment", ids,
                           detail={"decided_by": "sealing rules (DESIGN.md 1.4)"})
    return changed
