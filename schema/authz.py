"""The authorizer: the decision point bound to one requester for one request.

Resolvers call `require`/`can`/`check_object` and nothing else (STYLE.md §3). Every
decision is remembered for the audit trail of the operation (DESIGN.md §1.5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from db.models import Agency, Judgment, Offender
from db.rows import is_row_of
from policies.attributes import (
    REQUEST_CONTEXT,
    judgment_attributes,
    offender_attributes,
    resource_attributes,
)
from policies.pdp import Decision
from schema.errors import Forbidden

# DESIGN.md §1.5 audits every read of criminal information, every denied attempt and every
# change. The requester's own identity and the public agency directory are not criminal
# information: reading them is not an audit event (being denied them still is).
NOT_CRIMINAL_INFORMATION = frozenset({"subject", "agency"})

DISABLED = Decision(allowed=True, policy_uid="authorization-disabled", policy_version=0,
                    reason="authorization disabled (benchmark)", applicable=())


class DecisionSource(Protocol):
    def decide(self, subject: Mapping[str, Any], resource: Mapping[str, Any], action: str,
               context: Mapping[str, Any]) -> Decision: ...


class HasResource(Protocol):
    def authz_resource(self) -> Any: ...


@dataclass
class AuditEntry:
    action: str
    outcome: str
    resource_type: str
    policy_uid: str
    policy_version: int
    resource_ids: list[str] = field(default_factory=list)
    sealed_ids: list[str] = field(default_factory=list)
    # Why: the context the decision was made in (an inquiry's purpose, case and id).
    purpose: str = ""
    inquiry_id: str = ""
    case_number: str = ""
    # Facts of a write that are not ids (e.g. the version a policy change wrote).
    detail: dict[str, Any] = field(default_factory=dict)


class Disclosure(Protocol):
    """What an inquiry disclosed (schema.inquiries.InquiryView): its records of one type that
    the reader may read, each decided in the inquiry's context."""

    async def readable(self, ctx: Any, record_type: str) -> list[Disclosed]: ...


class Disclosed:
    """A record as an inquiry disclosed it: read as the record, decided in the inquiry's
    context (CASE_HANDLING reads sealed records; nobody else through this inquiry does).

    What is reached from it is read in that context too, all the way down (CONTRACT.md §4):
    its person (`alike`), and the person's judgments and detentions, which are then those
    the same inquiry disclosed (`disclosed_by`), never a fresh look at the registry.
    """

    def __init__(self, record: Any, context: dict[str, Any], disclosed_by: Disclosure) -> None:
        self._record = record
        self._context = context
        self.disclosed_by = disclosed_by

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)

    def authz_resource(self) -> Any:
        return self._record

    def authz_context(self) -> dict[str, Any]:
        return self._context

    def alike(self, record: Any) -> Disclosed:
        """`record` (reached from this one) as disclosed by the same inquiry."""
        return Disclosed(record, self._context, self.disclosed_by)


def read_alike(parent: Any, record: Any) -> Any:
    """`record`, reached from `parent`, read as `parent` is: in the inquiry that disclosed
    `parent`, if one did."""
    return parent.alike(record) if isinstance(parent, Disclosed) else record


# Per class: (has `authz_context`, has `authz_resource`). Asked of the class, not the
# object: a record (a sqlmodel instance) answers a missing attribute through pydantic's
# `__getattr__` by raising, which cost a tenth of a page's time when asked per field.
_VIEW_KINDS: dict[type, tuple[bool, bool]] = {}


def _view_kind(cls: type) -> tuple[bool, bool]:
    kind = _VIEW_KINDS.get(cls)
    if kind is None:
        kind = _VIEW_KINDS[cls] = (callable(getattr(cls, "authz_context", None)),
                                   callable(getattr(cls, "authz_resource", None)))
    return kind


def _context_key(context: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if context is None:
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in context.items()))


class Authorizer:
    def __init__(self, decision_point: DecisionSource | None, subject: Mapping[str, Any], *,
                 context: Mapping[str, Any] | None = None) -> None:
        # decision_point None = authorization switched off (benchmarks only; refused in
        # production by Settings).
        self._pdp = decision_point
        self.subject = dict(subject)
        self.context: dict[str, Any] = dict(context or REQUEST_CONTEXT)
        self._memo: dict[tuple[str, int, tuple[tuple[str, str], ...]], bool] = {}
        self._keep: list[Any] = []  # objects memoised by id() stay alive for the request
        self._audit: dict[tuple[str, str, str, str, str], AuditEntry] = {}
        self.asked = 0  # decisions made; root fields check that their resolver asked
        # Decisions the decision point made, by outcome (the metrics, api/metrics.py).
        self.permits = 0
        self.denials = 0

    # -- deciding ---------------------------------------------------------------------
    def decide(self, action: str, resource: Mapping[str, Any], *, record: bool = True,
               context: Mapping[str, Any] | None = None) -> Decision:
        """`context` replaces the request's (purpose none) for a decision made on behalf of
        an inquiry: its purpose, case number, id and whether the requester is counsel."""
        self.asked += 1
        used = self.context if context is None else {**self.context, **context}
        if self._pdp is None:
            decision = DISABLED
        else:
            decision = self._pdp.decide(self.subject, resource, str(action), used)
        if decision.allowed:
            self.permits += 1
        else:
            self.denials += 1
        if record:
            self._record(str(action), resource, decision, used)
        return decision

    def can(self, action: str, resource: Mapping[str, Any], *,
            context: Mapping[str, Any] | None = None) -> bool:
        return self.decide(action, resource, context=context).allowed

    def require(self, action: str, resource: Mapping[str, Any], *,
                context: Mapping[str, Any] | None = None) -> Decision:
        decision = self.decide(action, resource, context=context)
        if not decision.allowed:
            raise Forbidden()
        return decision

    def check_object(self, action: str, obj: Any, *, record: bool = True) -> bool:
        """May the requester do `action` on this object? Asked once per object per request.

        A view object (a judgment's penalty, a crime) stands for the record it came from; a
        view with `authz_context()` (a record disclosed by an inquiry) is decided in that
        context, not the request's. `record=False`: decided but not put in the audit trail
        nor remembered (a page's look-ahead row, which is never shown).
        """
        context: Mapping[str, Any] | None = None
        for _ in range(4):  # a view of a view of a record, at most
            has_context, is_view = _view_kind(type(obj))
            if has_context and context is None:
                context = obj.authz_context()
            if not is_view:
                break
            obj = obj.authz_resource()
        key = (action, id(obj), _context_key(context))
        # A remembered answer is still an answer: counting it keeps the root-field guard
        # from telling an existing (decided) record from a missing one.
        self.asked += 1
        allowed = self._memo.get(key)
        if allowed is None:
            allowed = self.decide(action, self.attributes_of(obj), context=context,
                                  record=record).allowed
            if record:
                self._memo[key] = allowed
                self._keep.append(obj)
        return allowed

    def page(self, action: str, rows: Sequence[Any], size: int) -> list[Any]:
        """The rows of a page the requester may see, in order, each decided: up to `size`
        shown rows, decided and audited, then the first permitted row after them, the
        look-ahead that tells whether more follow, decided but not audited (it is not
        shown, and the trail lists what was read)."""
        shown: list[Any] = []
        for row in rows:
            if len(shown) < size:
                if self.check_object(action, row):
                    shown.append(row)
            elif self.check_object(action, row, record=False):
                shown.append(row)
                break
        return shown

    def visible(self, action: str, combinations: Iterable[Mapping[str, str]],
                type_: str) -> list[Mapping[str, str]]:
        """The combinations of few-valued attributes under which rows may be seen.

        Not audited: these are hypothetical resources; the rows actually returned are
        decided (and audited) one by one through `check_object`.
        """
        allowed: list[Mapping[str, str]] = []
        denial: tuple[Mapping[str, Any], Decision] | None = None
        for combination in combinations:
            resource = {"type": type_, "id": "*", **combination}
            decision = self.decide(action, resource, record=False)
            if decision.allowed:
                allowed.append(combination)
            elif denial is None:
                denial = (resource, decision)
        if not allowed and denial is not None:
            # Nothing of this kind is visible at all: a denied attempt, and audited as one.
            self._record(str(action), denial[0], denial[1])
        return allowed

    # -- attributes -------------------------------------------------------------------
    def attributes_of(self, obj: Any) -> Mapping[str, Any]:
        if isinstance(obj, Judgment) or is_row_of(obj, Judgment):
            return judgment_attributes(obj, self.subject)
        if isinstance(obj, Offender) or is_row_of(obj, Offender):
            return offender_attributes(obj, self.subject)
        if isinstance(obj, Agency) or is_row_of(obj, Agency):
            return resource_attributes("agency", id=obj.code, region=obj.region)
        if isinstance(obj, Mapping):
            return obj
        raise TypeError(f"no policy attributes for {type(obj).__name__}")

    # -- audit ------------------------------------------------------------------------
    def _record(self, action: str, resource: Mapping[str, Any], decision: Decision,
                context: Mapping[str, Any] | None = None) -> None:
        outcome = "permit" if decision.allowed else "deny"
        type_ = str(resource.get("type", ""))
        if decision.allowed and type_ in NOT_CRIMINAL_INFORMATION:
            return
        why = context if context is not None else self.context
        inquiry_id = str(why.get("inquiry_id", ""))
        key = (action, outcome, type_, decision.policy_uid or "", inquiry_id)
        entry = self._audit.get(key)
        if entry is None:
            entry = self._audit[key] = AuditEntry(
                action, outcome, type_, decision.policy_uid or "", decision.policy_version,
                purpose=str(why.get("purpose", "")), inquiry_id=inquiry_id,
                case_number=str(why.get("case_number", "")))
        rid = str(resource.get("id", ""))
        if rid and rid != "*" and rid not in entry.resource_ids:
            entry.resource_ids.append(rid)
            if decision.allowed and resource.get("seal_status") == "sealed":
                entry.sealed_ids.append(rid)

    def audit_entries(self) -> list[AuditEntry]:
        return list(self._audit.values())

    def note(self, action: str, outcome: str, resource_type: str, ids: Iterable[str],
             policy_uid: str = "", policy_version: int = 0,
             detail: Mapping[str, Any] | None = None,
             context: Mapping[str, Any] | None = None) -> None:
        """Records a fact the decisions alone do not show (a write's created ids, why an
        inquiry was refused); `context` names the inquiry a decision was made for."""
        why = self.context if context is None else {**self.context, **context}
        key = (action, outcome, resource_type, policy_uid, str(why.get("inquiry_id", "")))
        entry = self._audit.setdefault(key, AuditEntry(
            action, outcome, resource_type, policy_uid, policy_version,
            purpose=str(why.get("purpose", "")), inquiry_id=str(why.get("inquiry_id", "")),
            case_number=str(why.get("case_number", ""))))
        entry.resource_ids.extend(i for i in ids if i not in entry.resource_ids)
        for name, value in (detail or {}).items():
            # One operation may note the same fact for several records: mappings merge.
            known = entry.detail.get(name)
            entry.detail[name] = ({**known, **value} if isinstance(known, dict)
                                  and isinstance(value, dict) else value)
