"""Policy changes with approval (issue 12, DESIGN.md §1.5, CONTRACT.md §4).

Every policy mutation is a proposal: it is checked (the lock-out guard, policy writing or
approving only for security staff, no policy matching everything), its flips of the policy
test table and what it widens are computed, and it is recorded as a `policy_change` row by
its proposer. With `REGISTRY_POLICY_APPROVERS` = n, the change is applied when n - 1 other
security admins have approved it: at once when n = 1. The proposer never approves their
own change; a rejected change never applies; a change whose policy moved on since it was
proposed (its base version is stale) is a CONFLICT when the last approval arrives, and is
proposed again. The checks run again when a change is applied, against the set as it is
then. Every step is audited.

Changes are serialised by the policy set's lock (db/locks.POLICY_KEYS): two admins
approving one change at the same moment apply it once; the second is told it is decided.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlmodel import col, select
from strawberry.scalars import JSON
from strawberry.types import Info

from db.ids import new_id
from db.locks import POLICY_KEYS
from db.models import Agency, PolicyChange, PolicyRecord
from db.models.base import utcnow
from policies.actions import Action
from policies.admin import (
    ANY_POLICY,
    POLICY_SET,
    SECURITY_STAFF,
    Flip,
    agency_attributes,
    apply_change,
    change_refusal,
    writer_candidates,
)
from policies.admin import consequences as change_consequences
from policies.attributes import resource_attributes
from policies.pdp import Decision, DecisionPoint, PolicyLoadError
from policies.store import (
    delete_policy,
    latest_records,
    point_of,
    policy_set_version,
    save_policy,
)
from schema.context import Context
from schema.errors import BadUserInput, Conflict, Forbidden
from schema.fields import attribute, authorized

MAX_REASON = 1000


@strawberry.enum(description="Where a policy change stands: waiting for approvals, in force, "
                             "or refused by a security admin.")
class PolicyChangeStatus(Enum):
    PENDING = "PENDING"
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"


# --- the checks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a change may not be made: the CONFLICT's reason and message."""

    reason: str
    message: str
    roles: tuple[str, ...] = ()

    def error(self, field: str) -> Conflict:
        extensions: dict[str, Any] = {"field": field, "reason": self.reason}
        if self.roles:
            extensions["roles"] = list(self.roles)
        return Conflict(self.message, **extensions)


def proposed_point(current: DecisionPoint, uid: str, document: dict[str, Any] | None,
                   field: str) -> DecisionPoint:
    try:
        return DecisionPoint(apply_change(current.documents, uid, document), current.version)
    except PolicyLoadError as error:
        raise BadUserInput(field, str(error)) from None


async def refusal_of(ctx: Context, after: DecisionPoint, document: dict[str, Any] | None
                     ) -> Refusal | None:
    """The first rule of DESIGN.md §1.5 the set `after` a change (to `document`) breaks
    (policies/admin.change_refusal), worded for the API's answer."""
    agencies = agency_attributes(await ctx.scalars(select(Agency)))
    candidates = list(writer_candidates(ctx.authz.subject, agencies))
    found = change_refusal([document], after, candidates,
                           approvers_needed=ctx.policy_approvers)
    if found is None:
        return None
    if found.reason == "MATCHES_EVERYTHING":
        return Refusal(found.reason,
                       "a policy whose rules match every subject, resource and action is "
                       "refused: name the roles, resources and actions it is for")
    if found.reason == "LOCKS_OUT_POLICY_WRITERS":
        return Refusal(found.reason,
                       "this change would leave nobody able to write policies"
                       + (" or approve their changes" if ctx.policy_approvers > 1 else ""))
    return Refusal(found.reason,
                   "only security staff write and approve policies; this change would "
                   f"let {', '.join(found.names)}", found.names)


async def consequences(before: DecisionPoint, after: DecisionPoint,
                       changed: list[dict[str, Any] | None]) -> tuple[list[Flip], list[str]]:
    """policies/admin.consequences off the event loop: the table's decisions are CPU work,
    and both points are this request's."""
    return await asyncio.to_thread(change_consequences, before, after, changed)


def flip_entry(flip: Flip) -> dict[str, Any]:
    return {"row": flip.row.name, "section": flip.row.section, "principal": flip.row.principal,
            "action": flip.row.action, "resource": flip.row.resource_name,
            "context": dict(flip.row.context), "before": flip.before.allowed,
            "after": flip.after.allowed, "before_policy": flip.before.policy_uid,
            "after_policy": flip.after.policy_uid, "expected_by_default": flip.row.expected}


# --- proposing, applying ----------------------------------------------------------------


async def lock_set(ctx: Context) -> dict[str, PolicyRecord]:
    """Holds the whole set until the transaction ends; the policies in force, by uid."""
    await ctx.lock(POLICY_KEYS, POLICY_SET)
    async with ctx.db_lock:
        return {r.uid: r for r in await latest_records(ctx.session)}


async def newest_rows(ctx: Context) -> list[PolicyRecord]:
    """The newest row per uid, deletions included: the set as this transaction sees it."""
    async with ctx.db_lock:
        return await latest_records(ctx.session, include_deleted=True)


@dataclass
class Proposed:
    change: PolicyChange
    # The policy row written, when the change was applied and wrote one.
    record: PolicyRecord | None


async def propose(ctx: Context, *, verb: str, kind: str, uid: str,
                  document: dict[str, Any] | None, field: str, decision: Decision) -> Proposed:
    """With the set locked (lock_set): check the change, record it, and apply it when no
    other admin's approval is needed. Audited as `policy:<verb>`."""
    rows = await newest_rows(ctx)
    before = point_of(rows)
    last = next((r for r in rows if r.uid == uid), None)
    old = last.document if last is not None and not last.deleted else None
    after = proposed_point(before, uid, document, field)
    refusal = await refusal_of(ctx, after, document)
    if refusal is not None:
        raise refusal.error(field)
    found, widens = await consequences(before, after, [old, document])
    change = PolicyChange(
        public_id=new_id("pch"), uid=uid, kind=kind, status=PolicyChangeStatus.PENDING.value,
        document=document, base_version=last.version if last is not None else 0,
        proposed_by=ctx.requester.sub, approvals=[],
        approvals_needed=ctx.policy_approvers - 1, widens=widens,
        flips=[flip_entry(f) for f in found])
    await ctx.flush(change)
    record = await _apply(ctx, change) if change.approvals_needed <= 0 else None
    ctx.authz.note(f"policy:{verb}", "permit", "policy", [uid], decision.policy_uid or "",
                   decision.policy_version, detail={
                       "change": change.public_id, "status": change.status,
                       "widens": widens,
                       "written_version": record.version if record is not None else None})
    if record is None and change.status == PolicyChangeStatus.PENDING.value:
        # The answer is the policy as it will be: say that it is not yet, and where to look.
        ctx.response_extensions["policyChange"] = {
            "id": change.public_id, "status": change.status,
            "approvalsNeeded": change.approvals_needed}
    return Proposed(change, record)


async def _apply(ctx: Context, change: PolicyChange) -> PolicyRecord | None:
    """Writes the change's policy row (none for a deletion) and marks it APPLIED."""
    async with ctx.db_lock:
        if change.document is None:
            await delete_policy(ctx.session, change.uid, author=change.proposed_by)
            record = None
        else:
            record = await save_policy(ctx.session, dict(change.document),
                                       author=change.proposed_by)
    async with ctx.db_lock:
        version = await policy_set_version(ctx.session)
    change.status = PolicyChangeStatus.APPLIED.value
    change.decided_at = utcnow()
    change.applied_row = version
    await ctx.flush(change)
    ctx.policy_changed = True
    return record


def pending_view(change: PolicyChange, version: int) -> PolicyRecord:
    """The policy as it will be once the change is applied (never added to the session)."""
    assert change.document is not None
    return PolicyRecord(id=0, uid=change.uid, version=version, document=dict(change.document),
                        deleted=False, author=change.proposed_by, created_at=change.proposed_at)


# --- approving, rejecting ---------------------------------------------------------------


def _may_decide(ctx: Context, verb: str, resource: dict[str, Any]) -> Decision:
    """`policy:approve` decides approving and rejecting alike; the audit trail names which
    of the two was asked (`policy:approve` or `policy:reject`)."""
    decision = ctx.authz.decide(Action.POLICY_APPROVE, resource, record=False)
    # Noted now, so that a refusal further on (CONFLICT, OWN_CHANGE) is in the trail too.
    ctx.authz.note(verb, "permit" if decision.allowed else "deny", "policy",
                   [str(resource.get("id", ""))], decision.policy_uid or "",
                   decision.policy_version)
    if not decision.allowed:
        raise Forbidden()
    return decision


async def _change_to_decide(ctx: Context, id_: str, verb: str
                            ) -> tuple[PolicyChange, Decision]:
    """The change `id_` once the requester may approve its policy (FORBIDDEN alike for a
    missing change and a forbidden one, to whoever may not approve), read again with the
    set locked: a concurrent decision of it has committed by then."""
    change = await ctx.scalar(select(PolicyChange).where(col(PolicyChange.public_id) == id_))
    if change is None:
        _may_decide(ctx, verb, dict(ANY_POLICY))
        raise BadUserInput("id", "no such policy change")
    decision = _may_decide(ctx, verb, resource_attributes("policy", id=change.uid))
    if ctx.requester.role != SECURITY_STAFF:
        ctx.authz.note(verb, "deny", "policy", [change.uid], detail={"role": "not security staff"})
        raise Forbidden()
    await ctx.lock(POLICY_KEYS, POLICY_SET, change)
    if change.status != PolicyChangeStatus.PENDING.value:
        raise Conflict(f"this change is already {change.status}", field="id",
                       reason="CHANGE_DECIDED")
    return change, decision


async def approve_policy_change(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=(
            "The pending PolicyChange's id."))],
) -> PolicyChangeNode:
    """Another security admin's approval; the last one needed applies the change."""
    ctx = info.context
    change, decision = await _change_to_decide(ctx, str(id), "policy:approve")
    sub = ctx.requester.sub
    if sub == change.proposed_by:
        error = Forbidden("the proposer of a change cannot approve it: another security "
                          "admin must")
        error.extensions.update(field="id", reason="OWN_CHANGE")
        raise error
    if any(a.get("sub") == sub for a in change.approvals):
        raise Conflict("you have approved this change already: another security admin must",
                       field="id", reason="ALREADY_APPROVED")
    change.approvals = [*change.approvals, {"sub": sub, "at": utcnow().isoformat()}]
    record = None
    # The setting may have been raised since the change was proposed: the higher count holds.
    if len(change.approvals) >= max(change.approvals_needed, ctx.policy_approvers - 1):
        record = await _apply_approved(ctx, change)
    await ctx.flush(change)
    ctx.authz.note("policy:approve", "permit", "policy", [change.uid],
                   decision.policy_uid or "", decision.policy_version, detail={
                       "change": change.public_id, "status": change.status,
                       "approvals": len(change.approvals), "widens": change.widens,
                       "written_version": record.version if record is not None else None})
    return PolicyChangeView(change)  # type: ignore[return-value]


async def _apply_approved(ctx: Context, change: PolicyChange) -> PolicyRecord | None:
    rows = await newest_rows(ctx)
    last = next((r for r in rows if r.uid == change.uid), None)
    now = last.version if last is not None else 0
    if now != change.base_version:
        raise Conflict(f"policy {change.uid} is at version {now}, not {change.base_version} "
                       "as when this change was proposed: reject it and propose it again",
                       field="id", reason="STALE_CHANGE")
    document = dict(change.document) if change.document is not None else None
    after = proposed_point(point_of(rows), change.uid, document, "id")
    refusal = await refusal_of(ctx, after, document)
    if refusal is not None:
        raise refusal.error("id")
    return await _apply(ctx, change)


async def reject_policy_change(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=(
            "The pending PolicyChange's id."))],
        reason: Annotated[str, strawberry.argument(description=(
            "Why it is rejected (kept with the change)."))],
) -> PolicyChangeNode:
    """A security admin's refusal (the proposer's withdrawal included): it never applies."""
    ctx = info.context
    change, decision = await _change_to_decide(ctx, str(id), "policy:reject")
    text = reason.strip()
    if not text:
        raise BadUserInput("reason", "say why the change is rejected")
    if len(text) > MAX_REASON:
        raise BadUserInput("reason", f"at most {MAX_REASON} characters")
    change.status = PolicyChangeStatus.REJECTED.value
    change.decided_at = utcnow()
    change.decided_by = ctx.requester.sub
    change.reason = text
    await ctx.flush(change)
    ctx.authz.note("policy:reject", "permit", "policy", [change.uid],
                   decision.policy_uid or "", decision.policy_version,
                   detail={"change": change.public_id, "reason": text[:200]})
    return PolicyChangeView(change)  # type: ignore[return-value]


async def list_policy_changes(ctx: Context, status: PolicyChangeStatus | None
                              ) -> list[PolicyChangeView]:
    ctx.authz.require(Action.POLICY_READ, dict(ANY_POLICY))
    statement = select(PolicyChange).order_by(col(PolicyChange.id).desc())
    if status is not None:
        statement = statement.where(col(PolicyChange.status) == status.value)
    return [PolicyChangeView(c) for c in await ctx.scalars(statement)]


# --- types ------------------------------------------------------------------------------


@dataclass
class FlipView:
    row: str
    section: str
    principal: str
    action: str
    resource: str
    context: dict[str, Any]
    before: bool
    after: bool
    before_policy: str | None
    after_policy: str | None
    expected_by_default: bool

    def authz_resource(self) -> dict[str, Any]:
        return dict(ANY_POLICY)


@strawberry.type(name="DecisionFlip", description=(
    "A row of the policy test table whose decision a change flips."))
class DecisionFlipNode:
    row: str = authorized(Action.POLICY_READ, resolver=attribute("row"),
                          description="The row of the policy test table, read as a rule.")
    section: str = authorized(Action.POLICY_READ, resolver=attribute("section"))
    principal: str = authorized(Action.POLICY_READ, resolver=attribute("principal"))
    action: str = authorized(Action.POLICY_READ, resolver=attribute("action"))
    resource: str = authorized(Action.POLICY_READ, resolver=attribute("resource"))
    context: JSON = authorized(Action.POLICY_READ, resolver=attribute("context"))
    before: bool = authorized(Action.POLICY_READ, resolver=attribute("before"))
    after: bool = authorized(Action.POLICY_READ, resolver=attribute("after"))
    before_policy: str | None = authorized(Action.POLICY_READ, resolver=attribute("before_policy"))
    after_policy: str | None = authorized(Action.POLICY_READ, resolver=attribute("after_policy"))
    expected_by_default: bool = authorized(
        Action.POLICY_READ, resolver=attribute("expected_by_default"),
        description="The decision the default policy set gives this row.")




@dataclass
class PolicyChangeView:
    change: PolicyChange

    def authz_resource(self) -> dict[str, Any]:
        return resource_attributes("policy", id=self.change.uid)

    def approved_by(self) -> list[str]:
        return [str(a.get("sub", "")) for a in self.change.approvals]

    def flip_views(self) -> list[FlipView]:
        return [FlipView(**entry) for entry in self.change.flips]


def _status(self: PolicyChangeView) -> PolicyChangeStatus:
    return PolicyChangeStatus(self.change.status)


@strawberry.type(name="PolicyChange", description=(
    "A change of one policy, proposed by a security admin and applied once enough other "
    "security admins approve it (REGISTRY_POLICY_APPROVERS)."))
class PolicyChangeNode:
    id: strawberry.ID = authorized(Action.POLICY_READ, resolver=attribute("public_id", of="change"))
    uid: str = authorized(Action.POLICY_READ, resolver=attribute("uid", of="change"))
    kind: str = authorized(Action.POLICY_READ, resolver=attribute("kind", of="change"),
                           description="CREATE, UPDATE, DELETE or ROLLBACK (a String: "
                                       "CONTRACT.md §4 fixes the type; PolicyChangeKind "
                                       "names the same words).")
    status: PolicyChangeStatus = authorized(Action.POLICY_READ, resolver=_status)
    proposed_by: str = authorized(Action.POLICY_READ,
                                  resolver=attribute("proposed_by", of="change"))
    proposed_at: datetime = authorized(Action.POLICY_READ,
                                       resolver=attribute("proposed_at", of="change"))
    approved_by: list[str] = authorized(
        Action.POLICY_READ, resolver=lambda self: self.approved_by(),
        description="The security admins who approved it, in order; never the proposer.")
    approvals_needed: int = authorized(
        Action.POLICY_READ, resolver=attribute("approvals_needed", of="change"),
        description="Approvals by other security admins the change needed when proposed "
                    "(REGISTRY_POLICY_APPROVERS - 1); 0: applied at once.")
    base_version: int = authorized(
        Action.POLICY_READ, resolver=attribute("base_version", of="change"),
        description="The policy's newest version when the change was proposed (0: new). "
                    "If the policy has moved on when the last approval arrives, the "
                    "approval is a CONFLICT (STALE_CHANGE): propose the change again.")
    decided_at: datetime | None = authorized(Action.POLICY_READ,
                                             resolver=attribute("decided_at", of="change"))
    decided_by: str | None = authorized(
        Action.POLICY_READ, resolver=attribute("decided_by", of="change"),
        description="Who rejected it (an applied change was decided by its approvals).")
    reason: str | None = authorized(Action.POLICY_READ, resolver=attribute("reason", of="change"),
                                    description="Why it was rejected.")
    policy: JSON | None = authorized(
        Action.POLICY_READ, resolver=attribute("document", of="change"),
        description="The policy document as the change makes it; null for a deletion.")
    widens: list[str] = authorized(
        Action.POLICY_READ, resolver=attribute("widens", of="change"),
        description="\"role: action\" for each action on criminal information the change "
                    "newly allows a role (policies/admin.py says how it is found).")
    flips: list[DecisionFlipNode] = authorized(
        Action.POLICY_READ, resolver=lambda self: self.flip_views(),
        description="The rows of the policy test table the change flips, as proposed.")
