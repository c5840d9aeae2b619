"""Policy administration (issue 5): security staff read, change, roll back, preview and
explain the access policies while the service runs.

Every change is one more row of the append-only policy table (policies/store.py): the
previous versions stay, and `policyHistory` shows them. A change is validated (the path
inside the document is named in `BAD_USER_INPUT`), refused when it would leave nobody
able to write policies, committed with its audit event, and then in force: at once in
this process, and within `policy_poll_seconds` in every other (DESIGN.md §2).

Changes are serialised by one lock on the whole set: the lock-out guard judges the set
as it is in the database, so two admins each deleting one of two writer policies at the
same moment cannot both pass it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from sqlmodel import col, select
from strawberry.scalars import JSON
from strawberry.types import Info

from db.locks import POLICY_KEYS
from db.models import Agency, PolicyRecord
from policies.actions import Action
from policies.admin import (
    ANY_POLICY,
    POLICY_SET,
    RequestProblem,
    agency_attributes,
    apply_change,
    flips,
    parse_request,
    someone_can_write,
    writer_candidates,
)
from policies.attributes import resource_attributes
from policies.pdp import DecisionPoint, PolicyLoadError, PolicyProblem, validate_policy
from policies.store import delete_policy, last_row, latest_records, point_of, save_policy
from policies.table import TABLE
from schema.context import Context
from schema.errors import BadUserInput, Conflict
from schema.fields import attribute, authorized

MAX_POLICY_BYTES = 64 * 1024


# --- types ------------------------------------------------------------------------------


@dataclass
class PolicyView:
    record: PolicyRecord

    def authz_resource(self) -> dict[str, Any]:
        return resource_attributes("policy", id=self.record.uid)


def _document(name: str) -> Any:
    def resolve(self: PolicyView) -> Any:
        return str(self.record.document.get(name, ""))
    return resolve


@strawberry.type(name="Policy")
class PolicyNode:
    uid: str = authorized(Action.POLICY_READ, resolver=attribute("uid", of="record"))
    version: int = authorized(Action.POLICY_READ, resolver=attribute("version", of="record"),
                              description="This policy's version: 1, 2, ... per uid.")
    set_version: int = authorized(
        Action.POLICY_READ, resolver=attribute("id", of="record"),
        description="The policy set's version once this row was written: the "
                    "policyVersion that audit events and decisions carry.")
    description: str = authorized(Action.POLICY_READ, resolver=_document("description"))
    effect: str = authorized(Action.POLICY_READ, resolver=_document("effect"))
    document: JSON = authorized(Action.POLICY_READ, resolver=attribute("document", of="record"))
    deleted: bool = authorized(Action.POLICY_READ, resolver=attribute("deleted", of="record"))
    author: str = authorized(Action.POLICY_READ, resolver=attribute("author", of="record"))
    created_at: datetime = authorized(Action.POLICY_READ,
                                      resolver=attribute("created_at", of="record"))


@dataclass
class DecisionView:
    """A decision about a described or a table request: policy information, not a record."""

    allowed: bool
    deciding_policy: str | None
    applicable_policies: list[str]
    policy_version: int
    reason: str
    request: dict[str, Any]

    def authz_resource(self) -> dict[str, Any]:
        return dict(ANY_POLICY)


@strawberry.type(name="Decision")
class DecisionNode:
    allowed: bool = authorized(Action.POLICY_READ, resolver=attribute("allowed"))
    deciding_policy: str | None = authorized(
        Action.POLICY_READ, resolver=attribute("deciding_policy"),
        description="The policy that decided: the first deny that applied, else the first "
                    "allow; null when none applied (default deny).")
    applicable_policies: list[str] = authorized(Action.POLICY_READ,
                                                resolver=attribute("applicable_policies"))
    policy_version: int = authorized(Action.POLICY_READ, resolver=attribute("policy_version"))
    reason: str = authorized(Action.POLICY_READ, resolver=attribute("reason"))
    request: JSON = authorized(
        Action.POLICY_READ, resolver=attribute("request"),
        description="The request as decided: what was described, and every attribute the "
                    "service always sends filled in (empty where not described).")


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


@strawberry.type(name="DecisionFlip")
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
class PreviewView:
    change: str
    uid: str
    rows_run: int
    flips: list[FlipView]
    locks_out_policy_writers: bool

    def authz_resource(self) -> dict[str, Any]:
        return dict(ANY_POLICY)


@strawberry.type(name="PolicyPreview")
class PolicyPreviewNode:
    change: str = authorized(Action.POLICY_READ, resolver=attribute("change"),
                             description="CREATE, UPDATE or DELETE.")
    uid: str = authorized(Action.POLICY_READ, resolver=attribute("uid"))
    rows_run: int = authorized(Action.POLICY_READ, resolver=attribute("rows_run"))
    flips: list[DecisionFlipNode] = authorized(Action.POLICY_READ, resolver=attribute("flips"))
    locks_out_policy_writers: bool = authorized(
        Action.POLICY_READ, resolver=attribute("locks_out_policy_writers"),
        description="True when the change would leave nobody able to write policies: "
                    "committing it would be refused.")


# --- input ------------------------------------------------------------------------------


def _bad_policy(field: str, problems: list[PolicyProblem]) -> BadUserInput:
    first = problems[0]
    error = BadUserInput(f"{field}.{first.path}" if first.path else field, first.message)
    error.extensions["problems"] = [
        {"field": f"{field}.{p.path}" if p.path else field, "message": p.message}
        for p in problems]
    return error


def policy_document(field: str, value: Any) -> dict[str, Any]:
    """A valid policy document from the `policy` argument (an object, or a JSON string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except RecursionError:
            raise BadUserInput(field, "not valid JSON: nested too deeply") from None
        except ValueError as error:
            raise BadUserInput(field, f"not valid JSON: {error}") from None
    try:
        size = len(json.dumps(value))
    except (RecursionError, ValueError):
        raise BadUserInput(field, "not valid JSON: nested too deeply") from None
    if size > MAX_POLICY_BYTES:
        raise BadUserInput(field, f"a policy is at most {MAX_POLICY_BYTES // 1024} KB")
    try:
        problems = validate_policy(value)
    except RecursionError:
        raise BadUserInput(field, "nested too deeply") from None
    if problems:
        raise _bad_policy(field, problems)
    assert isinstance(value, dict)
    return value


def _uid_of(value: Any) -> str:
    """The uid a `policy` argument names, for the authorization asked before validating."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return "*"
    uid = value.get("uid") if isinstance(value, dict) else None
    return uid[:200] if isinstance(uid, str) and uid else "*"


# --- reading ----------------------------------------------------------------------------


async def list_policies(ctx: Context) -> list[PolicyView]:
    ctx.authz.require(Action.POLICY_READ, dict(ANY_POLICY))
    async with ctx.db_lock:
        records = await latest_records(ctx.session)
    return [PolicyView(r) for r in records]


async def read_policy(ctx: Context, uid: str) -> PolicyView | None:
    """The policy in force under `uid`, or null (missing, deleted or not permitted alike)."""
    async with ctx.db_lock:
        found = await last_row(ctx.session, uid)
    if found is None or found.deleted:
        ctx.authz.decide(Action.POLICY_READ, resource_attributes("policy", id=uid[:200]))
        return None
    view = PolicyView(found)
    return view if ctx.authz.check_object(Action.POLICY_READ, view) else None


async def policy_history(ctx: Context, uid: str) -> list[PolicyView]:
    """Every version of `uid`, newest first, deletions included."""
    ctx.authz.require(Action.POLICY_READ, resource_attributes("policy", id=uid[:200]))
    rows = await ctx.scalars(select(PolicyRecord).where(col(PolicyRecord.uid) == uid)
                             .order_by(col(PolicyRecord.version).desc()))
    return [PolicyView(r) for r in rows]


async def explain_access(ctx: Context, request: Any) -> DecisionView:
    ctx.authz.require(Action.POLICY_READ, dict(ANY_POLICY))
    try:
        subject, resource, action, context = parse_request(request)
    except RequestProblem as problem:
        path = problem.problem.path
        raise BadUserInput(f"request.{path}" if path else "request",
                           problem.problem.message) from None
    async with ctx.db_lock:
        point = point_of(await _records(ctx))
    decision = point.decide(subject, resource, action, context)
    return DecisionView(decision.allowed, decision.policy_uid, list(decision.applicable),
                        decision.policy_version, decision.reason,
                        {"subject": subject, "resource": resource, "action": action,
                         "context": context})


# --- the set as it is, and as it would be -----------------------------------------------


async def _records(ctx: Context) -> list[PolicyRecord]:
    """The newest row per uid, deletions included: the set as this transaction sees it."""
    return await latest_records(ctx.session, include_deleted=True)


def _proposed(current: DecisionPoint, uid: str, document: dict[str, Any] | None,
              field: str) -> DecisionPoint:
    try:
        return DecisionPoint(apply_change(current.documents, uid, document), current.version)
    except PolicyLoadError as error:
        raise BadUserInput(field, str(error)) from None


async def _locks_out(ctx: Context, point: DecisionPoint) -> bool:
    if someone_can_write(point, writer_candidates(ctx.authz.subject, [])):
        return False
    agencies = agency_attributes(await ctx.scalars(select(Agency)))
    return not someone_can_write(point, writer_candidates(ctx.authz.subject, agencies))


async def preview_policy_change(ctx: Context, policy: Any, delete_uid: str | None
                                ) -> PreviewView:
    ctx.authz.require(Action.POLICY_READ, dict(ANY_POLICY))
    if (policy is None) == (delete_uid is None):
        raise BadUserInput("policy", "give either policy (to create or update) or deleteUid")
    async with ctx.db_lock:
        records = await _records(ctx)
        before = point_of(records)
        in_force = {r.uid for r in records if not r.deleted}
        if delete_uid is not None:
            if delete_uid not in in_force:
                raise BadUserInput("deleteUid", "no such policy")
            uid, document, change = delete_uid, None, "DELETE"
        else:
            document = policy_document("policy", policy)
            uid = document["uid"]
            change = "UPDATE" if uid in in_force else "CREATE"
        after = _proposed(before, uid, document, "policy")
    locked_out = await _locks_out(ctx, after)  # takes db_lock itself, when it reads
    # Two passes over the table are a few hundred ms of CPU: off the event loop, so other
    # requests of this process are served meanwhile (both points are this request's own).
    changed = await asyncio.to_thread(flips, before, after)
    found = [FlipView(
        row=f.row.name, section=f.row.section, principal=f.row.principal,
        action=f.row.action, resource=f.row.resource_name, context=dict(f.row.context),
        before=f.before.allowed, after=f.after.allowed, before_policy=f.before.policy_uid,
        after_policy=f.after.policy_uid, expected_by_default=f.row.expected)
        for f in changed]
    return PreviewView(change, uid, len(TABLE), found, locked_out)


# --- changing ---------------------------------------------------------------------------

async def _lock_set(ctx: Context) -> dict[str, PolicyRecord]:
    """Holds the whole set until the transaction ends; the policies in force, by uid."""
    await ctx.lock(POLICY_KEYS, POLICY_SET)
    async with ctx.db_lock:
        return {r.uid: r for r in await latest_records(ctx.session)}


async def _commit_change(ctx: Context, verb: str, uid: str, document: dict[str, Any] | None,
                         *, field: str, policy_uid: str | None, policy_version: int
                         ) -> PolicyRecord | None:
    """With the set locked: refuse a lock-out, then add the row and note the audit fact.
    Returns the new row (None for a deletion, or when nothing changed)."""
    async with ctx.db_lock:
        after = _proposed(point_of(await _records(ctx)), uid, document, field)
    if await _locks_out(ctx, after):
        raise Conflict("this change would leave nobody able to write policies",
                       field=field, reason="LOCKS_OUT_POLICY_WRITERS")
    async with ctx.db_lock:
        if document is None:
            changed = await delete_policy(ctx.session, uid, author=ctx.requester.sub)
            record = None
        else:
            record = await save_policy(ctx.session, document, author=ctx.requester.sub)
            changed = record is not None
    if changed:
        ctx.wrote = True
        ctx.policy_changed = True
        ctx.authz.note(f"policy:{verb}", "permit", "policy", [uid], policy_uid or "",
                       policy_version, detail={
                           "written_version": record.version if record is not None else None})
    return record


async def create_policy(info: Info[Context, None], policy: JSON) -> PolicyNode:
    ctx = info.context
    decision = ctx.authz.require(Action.POLICY_WRITE,
                                 resource_attributes("policy", id=_uid_of(policy)))
    document = policy_document("policy", policy)
    uid = document["uid"]
    if uid in await _lock_set(ctx):
        raise Conflict("a policy with this uid exists: use updatePolicy", field="policy.uid")
    record = await _commit_change(ctx, "create", uid, document, field="policy",
                                  policy_uid=decision.policy_uid,
                                  policy_version=decision.policy_version)
    assert record is not None  # a uid not in force always gets a new row
    return PolicyView(record)  # type: ignore[return-value]


async def update_policy(info: Info[Context, None], uid: str, policy: JSON,
                        expected_version: int | None = None) -> PolicyNode:
    """`policy` may leave out the uid; `expectedVersion` refuses (CONFLICT) an update of a
    version other than the one the admin read."""
    ctx = info.context
    decision = ctx.authz.require(Action.POLICY_WRITE, resource_attributes("policy", id=uid[:200]))
    given: Any = policy
    if isinstance(given, dict) and "uid" not in given:
        given = {"uid": uid, **given}
    document = policy_document("policy", given)
    if document["uid"] != uid:
        raise BadUserInput("policy.uid", "must equal uid (a policy keeps its uid)")
    current = (await _lock_set(ctx)).get(uid)
    if current is None:
        raise BadUserInput("uid", "no such policy (createPolicy makes one)")
    if expected_version is not None and current.version != expected_version:
        raise Conflict(f"policy {uid} is at version {current.version}, not {expected_version}",
                       field="expectedVersion")
    record = await _commit_change(ctx, "update", uid, document, field="policy",
                                  policy_uid=decision.policy_uid,
                                  policy_version=decision.policy_version)
    return PolicyView(record or current)  # type: ignore[return-value]


async def delete_policy_by_uid(info: Info[Context, None], uid: str) -> bool:
    """False when there is no such policy in force."""
    ctx = info.context
    decision = ctx.authz.require(Action.POLICY_WRITE, resource_attributes("policy", id=uid[:200]))
    if uid not in await _lock_set(ctx):
        return False
    await _commit_change(ctx, "delete", uid, None, field="uid",
                         policy_uid=decision.policy_uid, policy_version=decision.policy_version)
    return True


async def rollback_policy(info: Info[Context, None], uid: str, version: int) -> PolicyNode:
    """A new version of `uid` with the document of `version` (a deleted policy comes back)."""
    ctx = info.context
    decision = ctx.authz.require(Action.POLICY_WRITE, resource_attributes("policy", id=uid[:200]))
    old = await ctx.scalar(select(PolicyRecord).where(col(PolicyRecord.uid) == uid,
                                                      col(PolicyRecord.version) == version))
    if old is None:
        raise BadUserInput("version", f"policy {uid} has no version {version}")
    if old.deleted:
        raise BadUserInput("version", f"version {version} of {uid} is its deletion: "
                                      "use deletePolicy")
    problems = validate_policy(old.document)
    if problems:
        # Written under an older vocabulary: it would not be accepted today.
        raise _bad_policy("version", problems)
    current = (await _lock_set(ctx)).get(uid)
    record = await _commit_change(ctx, "rollback", uid, dict(old.document), field="version",
                                  policy_uid=decision.policy_uid,
                                  policy_version=decision.policy_version)
    result = record or current
    assert result is not None  # unchanged means the same document is in force
    return PolicyView(result)  # type: ignore[return-value]
