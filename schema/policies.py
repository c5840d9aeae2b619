"""Policy administration (issue 5): security staff read, change, roll back, preview and
explain the access policies while the service runs.

Every change is one more row of the append-only policy table (policies/store.py): the
previous versions stay, and `policyHistory` shows them. A change is validated (the path
inside the document is named in `BAD_USER_INPUT`), then proposed (schema/policy_changes.py:
refused when it would leave nobody able to write policies, hand policy writing to anyone
but security staff, or match everything; applied once enough other security admins
approve it), committed with its audit event, and then in force: at once in this process,
and within `policy_poll_seconds` in every other (DESIGN.md §2).

Changes are serialised by one lock on the whole set: the lock-out guard judges the set
as it is in the database, so two admins each deleting one of two writer policies at the
same moment cannot both pass it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import func
from sqlmodel import col, select
from strawberry.scalars import JSON
from strawberry.types import Info

from db.models import PolicyRecord
from policies.actions import Action
from policies.admin import ANY_POLICY, RequestProblem, parse_request
from policies.attributes import resource_attributes
from policies.pdp import PolicyProblem, validate_policy
from policies.store import last_row, latest_records, point_of
from policies.table import TABLE
from schema.context import Context
from schema.errors import BadUserInput, Conflict
from schema.fields import attribute, authorized
from schema.pagination import (
    PageInfo,
    Window,
    connection_of,
    encode_tagged_cursor,
    number_cursor,
)
from schema.policy_changes import (
    DecisionFlipNode,
    FlipView,
    consequences,
    flip_entry,
    lock_set,
    newest_rows,
    pending_view,
    propose,
    proposed_point,
    refusal_of,
)

MAX_POLICY_BYTES = 64 * 1024


# --- types ------------------------------------------------------------------------------


@dataclass
class PolicyView:
    record: PolicyRecord

    def authz_resource(self) -> dict[str, Any]:
        return resource_attributes("policy", id=self.record.uid)


@strawberry.enum(description=(
    "What a policy does to the requests it applies to (py-abac's own lower-case words); "
    "deny overrides allow."))
class PolicyEffect(Enum):
    allow = "allow"
    deny = "deny"


@strawberry.enum(description=(
    "What a policy change does to one policy. PolicyChange.kind carries the same words as a "
    "String (CONTRACT.md §4 fixes it)."))
class PolicyChangeKind(Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    ROLLBACK = "ROLLBACK"


def _effect(self: PolicyView) -> PolicyEffect:
    return PolicyEffect(self.record.document["effect"])


def _change(self: PreviewView) -> PolicyChangeKind:
    return PolicyChangeKind(self.change)


def _document(name: str) -> Any:
    def resolve(self: PolicyView) -> Any:
        return str(self.record.document.get(name, ""))
    return resolve


@strawberry.type(name="Policy", description=(
    "A version of an access-control policy (a py-abac document), in force or historical."))
class PolicyNode:
    uid: str = authorized(Action.POLICY_READ, resolver=attribute("uid", of="record"))
    version: int = authorized(Action.POLICY_READ, resolver=attribute("version", of="record"),
                              description="This policy's version: 1, 2, ... per uid.")
    set_version: int = authorized(
        Action.POLICY_READ, resolver=attribute("id", of="record"),
        description="The policy set's version once this row was written: the "
                    "policyVersion that audit events and decisions carry. 0 in the answer "
                    "to a change that waits for approval (extensions.policyChange).")
    description: str = authorized(Action.POLICY_READ, resolver=_document("description"))
    effect: PolicyEffect = authorized(Action.POLICY_READ, resolver=_effect)
    document: JSON = authorized(Action.POLICY_READ, resolver=attribute("document", of="record"))
    deleted: bool = authorized(Action.POLICY_READ, resolver=attribute("deleted", of="record"))
    author: str = authorized(Action.POLICY_READ, resolver=attribute("author", of="record"))
    created_at: datetime = authorized(Action.POLICY_READ,
                                      resolver=attribute("created_at", of="record"))


# A version's cursor holds its version number (unique per uid), under a tag of its own.
POLICY_VERSION_TAG = "pv"
POLICY_VERSION_CURSOR = number_cursor(POLICY_VERSION_TAG)


def _version_cursor(view: PolicyView) -> str:
    return encode_tagged_cursor(POLICY_VERSION_TAG, view.record.version)


@strawberry.type(name="PolicyEdge", description=(
    "A version of a policy in a page, with its cursor."))
class PolicyEdge:
    cursor: str
    node: PolicyNode = authorized(Action.POLICY_READ, target="value")


@strawberry.type(name="PolicyConnection", description=(
    "A page of a policy's versions, newest first (Relay connection). `policies` and "
    "`policyChanges` stay plain lists: CONTRACT.md §4 fixes them so."))
class PolicyConnection:
    edges: list[PolicyEdge]
    page_info: PageInfo
    total_count: int


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


@strawberry.type(name="Decision", description=(
    "An access decision explained: the policies that applied and the one that decided."))
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
class PreviewView:
    change: str
    uid: str
    rows_run: int
    flips: list[FlipView]
    locks_out_policy_writers: bool
    widens: list[str]
    refused_because: str | None

    def authz_resource(self) -> dict[str, Any]:
        return dict(ANY_POLICY)


@strawberry.type(name="PolicyPreview", description=(
    "What a policy change would do, decided against the policy test table; nothing changes."))
class PolicyPreviewNode:
    change: PolicyChangeKind = authorized(Action.POLICY_READ, resolver=_change,
                                          description="CREATE, UPDATE or DELETE.")
    uid: str = authorized(Action.POLICY_READ, resolver=attribute("uid"))
    rows_run: int = authorized(Action.POLICY_READ, resolver=attribute("rows_run"))
    flips: list[DecisionFlipNode] = authorized(Action.POLICY_READ, resolver=attribute("flips"))
    locks_out_policy_writers: bool = authorized(
        Action.POLICY_READ, resolver=attribute("locks_out_policy_writers"),
        description="True when the change would leave nobody able to write policies: "
                    "committing it would be refused.")
    widens: list[str] = authorized(
        Action.POLICY_READ, resolver=attribute("widens"),
        description="\"role: action\" for each action on criminal information the change "
                    "newly allows a role, as PolicyChange.widens.")
    refused_because: str | None = authorized(
        Action.POLICY_READ, resolver=attribute("refused_because"),
        description="The CONFLICT reason the change would be refused with "
                    "(LOCKS_OUT_POLICY_WRITERS, POLICY_ADMINISTRATION_BEYOND_SECURITY_STAFF, "
                    "MATCHES_EVERYTHING); null when it may be proposed.")


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


async def policy_history(ctx: Context, uid: str, page: Window, counted: bool
                         ) -> PolicyConnection:
    """The versions of `uid`, newest first, deletions included: keyset on the version (unique
    per uid), so `after` is older and `before` newer, as in the audit trail."""
    ctx.authz.require(Action.POLICY_READ, resource_attributes("policy", id=uid[:200]))
    where = [col(PolicyRecord.uid) == uid]
    total: int | None = None
    if counted:
        total = int(await ctx.scalar(select(func.count()).select_from(PolicyRecord)
                                     .where(*where)) or 0)
    rows: list[PolicyRecord] = []
    if total != 0:
        if page.after is not None:
            where.append(col(PolicyRecord.version) < page.after)
        if page.before is not None:
            where.append(col(PolicyRecord.version) > page.before)
        order = col(PolicyRecord.version) if page.backward else col(PolicyRecord.version).desc()
        rows = list(await ctx.scalars(select(PolicyRecord).where(*where).order_by(order)
                                      .limit(page.size + 1)))
    views = [PolicyView(r) for r in rows[:page.size]]
    shown = [v for v in views if ctx.authz.check_object(Action.POLICY_READ, v)]
    return connection_of(PolicyEdge, PolicyConnection, shown, total, page.size, page.backward,
                         cursor=_version_cursor, more=len(rows) > page.size)


async def explain_access(ctx: Context, request: Any) -> DecisionView:
    ctx.authz.require(Action.POLICY_READ, dict(ANY_POLICY))
    try:
        subject, resource, action, context = parse_request(request)
    except RequestProblem as problem:
        path = problem.problem.path
        raise BadUserInput(f"request.{path}" if path else "request",
                           problem.problem.message) from None
    point = point_of(await newest_rows(ctx))
    decision = point.decide(subject, resource, action, context)
    return DecisionView(decision.allowed, decision.policy_uid, list(decision.applicable),
                        decision.policy_version, decision.reason,
                        {"subject": subject, "resource": resource, "action": action,
                         "context": context})


# --- the set as it is, and as it would be -----------------------------------------------


async def preview_policy_change(ctx: Context, policy: Any, delete_uid: str | None
                                ) -> PreviewView:
    ctx.authz.require(Action.POLICY_READ, dict(ANY_POLICY))
    if (policy is None) == (delete_uid is None):
        raise BadUserInput("policy", "give either policy (to create or update) or deleteUid")
    records = await newest_rows(ctx)
    before = point_of(records)
    in_force = {r.uid: r for r in records if not r.deleted}
    if delete_uid is not None:
        if delete_uid not in in_force:
            raise BadUserInput("deleteUid", "no such policy")
        uid, document, change = delete_uid, None, "DELETE"
    else:
        document = policy_document("policy", policy)
        uid = document["uid"]
        change = "UPDATE" if uid in in_force else "CREATE"
    old = in_force[uid].document if uid in in_force else None
    after = proposed_point(before, uid, document, "policy")
    refusal = await refusal_of(ctx, after, document)
    changed, widens = await consequences(before, after, [old, document])
    found = [FlipView(**flip_entry(f)) for f in changed]
    return PreviewView(change, uid, len(TABLE), found,
                       refusal is not None and refusal.reason == "LOCKS_OUT_POLICY_WRITERS",
                       widens, refusal.reason if refusal is not None else None)


# --- changing ---------------------------------------------------------------------------
#
# Each mutation checks who asks and what is asked, then proposes the change
# (schema/policy_changes.py): applied at once when no other admin's approval is needed,
# else recorded as PENDING and answered with the policy as it will be once applied.


async def create_policy(
        info: Info[Context, None],
        policy: Annotated[JSON, strawberry.argument(description=(
            "A py-abac policy document (an object, or a JSON string), CONTRACT.md §5."))],
) -> PolicyNode:
    ctx = info.context
    decision = ctx.authz.require(Action.POLICY_WRITE,
                                 resource_attributes("policy", id=_uid_of(policy)))
    document = policy_document("policy", policy)
    uid = document["uid"]
    if uid in await lock_set(ctx):
        raise Conflict("a policy with this uid exists: use updatePolicy", field="policy.uid")
    proposed = await propose(ctx, verb="create", kind="CREATE", uid=uid, document=document,
                             field="policy", decision=decision)
    if proposed.record is not None:
        return PolicyView(proposed.record)  # type: ignore[return-value]
    return PolicyView(pending_view(proposed.change, proposed.change.base_version + 1)
                      )  # type: ignore[return-value]


async def update_policy(
        info: Info[Context, None],
        uid: Annotated[str, strawberry.argument(description=(
            "The policy's uid."))],
        policy: Annotated[JSON, strawberry.argument(description=(
            "The new document; it may leave out the uid."))],
        expected_version: Annotated[int | None, strawberry.argument(description=(
            "The version the admin read: another one is a CONFLICT."))] = None,
) -> PolicyNode:
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
    current = (await lock_set(ctx)).get(uid)
    if current is None:
        raise BadUserInput("uid", "no such policy (createPolicy makes one)")
    if expected_version is not None and current.version != expected_version:
        raise Conflict(f"policy {uid} is at version {current.version}, not {expected_version}",
                       field="expectedVersion")
    if current.document == document:
        return PolicyView(current)  # type: ignore[return-value]  # nothing to change
    proposed = await propose(ctx, verb="update", kind="UPDATE", uid=uid, document=document,
                             field="policy", decision=decision)
    if proposed.record is not None:
        return PolicyView(proposed.record)  # type: ignore[return-value]
    return PolicyView(pending_view(proposed.change, current.version + 1)
                      )  # type: ignore[return-value]


async def delete_policy_by_uid(
        info: Info[Context, None],
        uid: Annotated[str, strawberry.argument(description=(
            "The policy's uid."))],
) -> bool:
    """False when there is no such policy in force; true when it is deleted, or its
    deletion is recorded for approval."""
    ctx = info.context
    decision = ctx.authz.require(Action.POLICY_WRITE, resource_attributes("policy", id=uid[:200]))
    if uid not in await lock_set(ctx):
        return False
    await propose(ctx, verb="delete", kind="DELETE", uid=uid, document=None, field="uid",
                  decision=decision)
    return True


async def rollback_policy(
        info: Info[Context, None],
        uid: Annotated[str, strawberry.argument(description=(
            "The policy's uid."))],
        version: Annotated[int, strawberry.argument(description=(
            "The version whose document comes back."))],
) -> PolicyNode:
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
    current = (await lock_set(ctx)).get(uid)
    if current is not None and current.document == old.document:
        return PolicyView(current)  # type: ignore[return-value]  # already in force
    proposed = await propose(ctx, verb="rollback", kind="ROLLBACK", uid=uid,
                             document=dict(old.document), field="version", decision=decision)
    if proposed.record is not None:
        return PolicyView(proposed.record)  # type: ignore[return-value]
    return PolicyView(pending_view(proposed.change, proposed.change.base_version + 1)
                      )  # type: ignore[return-value]
