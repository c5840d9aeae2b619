"""The GraphQL schema: root types, and the extensions that guard every document."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from sqlalchemy import ColumnElement
from sqlmodel import col, select
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from db.models import Judgment, JudgmentTally, Offender
from db.rows import row_type
from policies.actions import Action
from schema import validation as check
from schema.access_report import AccessReportNode, access_report
from schema.agencies import SubjectNode, resolve_me
from schema.audit import AUDIT_PAGE_SIZE, AuditEventConnection, AuditFilter, list_audit_events
from schema.cases import (
    CaseConnection,
    CaseNode,
    add_case_party,
    close_case,
    list_cases,
    register_case,
    resolve_case,
    transfer_case,
)
from schema.compliance import AGENCY_CURSOR, AgencyComplianceConnection, reporting_compliance
from schema.context import Context
from schema.corrections import correct_judgment
from schema.counsel import register_defense_counsel
from schema.detentions import (
    DetentionNode,
    DetentionPayload,
    DetentionView,
    close_detention_case,
    read_detention,
    register_detention,
    resolve_detention,
)
from schema.documents import DocumentExaminer
from schema.fields import authorized, compile_authorization
from schema.inputs import NamedValuesOfCorrectTypeRule
from schema.inquiries import (
    CertificateVerificationNode,
    InquiryConnection,
    InquiryNode,
    InquiryStatus,
    InquiryView,
    decide_inquiry,
    list_inquiries,
    read_inquiry,
    submit_inquiry,
    verify_certificate,
)
from schema.limits import Limits, max_directives_rule
from schema.lookup import read_by_id
from schema.node import NODE_TYPES, Node
from schema.notices import (
    NoticeConnection,
    NoticeNode,
    NoticePayload,
    NoticeStatus,
    NoticeView,
    list_notices,
    read_notice,
)
from schema.pagination import (
    After,
    Before,
    First,
    Last,
    Window,
    asks_for_total,
    decode_sequence_cursor,
    window,
)
from schema.policies import (
    POLICY_VERSION_CURSOR,
    DecisionNode,
    PolicyConnection,
    PolicyNode,
    PolicyPreviewNode,
    create_policy,
    delete_policy_by_uid,
    explain_access,
    list_policies,
    policy_history,
    preview_policy_change,
    read_policy,
    rollback_policy,
    update_policy,
)
from schema.policy_changes import (
    PolicyChangeNode,
    PolicyChangeStatus,
    approve_policy_change,
    list_policy_changes,
    reject_policy_change,
)
from schema.queue import reject_notice, resolve_notice
from schema.records import (
    JudgmentConnection,
    JudgmentNode,
    OffenderConnection,
    OffenderNode,
    SealStatus,
    list_judgments,
    list_offenders,
)
from schema.reporting import (
    ReportJudgmentPayload,
    report_correction_expiry,
    report_judgment,
    report_release,
)
from schema.scalars import SCALARS

# The arguments many root fields share. `first` and `after`: README "Lists are Relay
# connections"; CONTRACT.md §4 fixes `first` as `Int = 20` (`auditEvents`: 50).
From = Annotated[date, strawberry.argument(name="from", description="The window's first day.")]
To = Annotated[date, strawberry.argument(description="The window's last day (inclusive).")]
PolicyUid = Annotated[str, strawberry.argument(description="The policy's uid.")]


NODE_TYPES.update({Judgment: "Judgment", Offender: "Offender", NoticeView: "Notice",
                   InquiryView: "Inquiry", DetentionView: "Detention",
                   row_type(Judgment): "Judgment", row_type(Offender): "Offender"})


async def read_node(ctx: Context, id: str) -> Any | None:
    """The record `id` names, by its prefix, read exactly as its typed lookup reads it (the
    same statements, the same audited decision, `None` for missing and hidden alike). An id
    of no known prefix is looked up as a judgment's: missing, and answered and audited as
    any missing id."""
    kind = id.split("_", 1)[0]
    if kind == "ofd":
        return await read_by_id(ctx, Offender, Action.OFFENDER_READ, "offender", id)
    if kind == "ntc":
        return await read_notice(ctx, id)
    if kind == "inq":
        return await read_inquiry(ctx, id)
    if kind == "dtn":
        return await read_detention(ctx, id)
    return await read_by_id(ctx, Judgment, Action.JUDGMENT_READ, "judgment", id)


def _window(info: Info[Context, None], first: int | None, after: str | None,
            last: int | None, before: str | None) -> Window:
    return window(info, first, after, last, before, info.context.max_page_size)


@strawberry.input(description=(
    "Narrows offenders: every field given must match exactly."))
class OffenderFilter:
    id_number: str | None = strawberry.field(default=None, description="An identity number.")
    name: str | None = strawberry.field(default=None, description="The full name.")
    residence_region: str | None = strawberry.field(
        default=None, description="A 6-digit administrative division code.")


@strawberry.input(description=(
    "Narrows judgments: every field given must match exactly."))
class JudgmentFilter:
    offender_id: strawberry.ID | None = strawberry.field(default=None,
                                                         description="An Offender's id.")
    id_number: str | None = strawberry.field(default=None,
                                             description="The offender's identity number.")
    seal_status: SealStatus | None = None


@strawberry.type(description=(
    "Reads. Every field asks the policy decision point; a record the requester may not see "
    "is null or absent, exactly like a missing one."))
class Query:
    me: SubjectNode = authorized(
        Action.ME_READ, resolver=resolve_me,
        description="The requester as the token and the agency table describe them.")

    @authorized(Action.JUDGMENT_READ, description=(
        "Any record with an opaque id (Relay): a Judgment, Offender, Notice, Inquiry or "
        "Detention, read and audited as its own lookup reads it; null when missing or not "
        "permitted, alike."))
    async def node(self, info: Info[Context, None],
                   id: Annotated[strawberry.ID, strawberry.argument(
                       description="The record's id, as any `id` field gave it.")]
                   ) -> Node | None:
        return await read_node(info.context, str(id))  # type: ignore[no-any-return]

    @authorized(Action.OFFENDER_READ, description=(
        "An offender; null when missing or not permitted, alike."))
    async def offender(self, info: Info[Context, None],
                       id: Annotated[strawberry.ID, strawberry.argument(
                           description="The Offender's id.")]) -> OffenderNode | None:
        return await read_by_id(  # type: ignore[no-any-return]
            info.context, Offender, Action.OFFENDER_READ, "offender", str(id))

    @authorized(Action.OFFENDER_LIST, description=(
        "The offenders the requester may see, by id; hidden ones are not counted."))
    async def offenders(self, info: Info[Context, None],
                        filter: Annotated[OffenderFilter | None, strawberry.argument(
                            description="Only the offenders matching it.")] = None,
                        first: First = 20, after: After = None,
                        last: Last = None, before: Before = None) -> OffenderConnection:
        where: list[ColumnElement[bool]] = []
        if filter is not None:
            if filter.id_number is not None:
                where.append(col(Offender.id_number) ==
                             check.id_number("filter.idNumber", filter.id_number))
            if filter.name is not None:
                where.append(col(Offender.name) == check.text("filter.name", filter.name))
            if filter.residence_region is not None:
                where.append(col(Offender.residence_region) ==
                             check.region("filter.residenceRegion", filter.residence_region))
        return await list_offenders(info.context, where, _window(info, first, after, last, before),
                                    counted=asks_for_total(info))

    @authorized(Action.JUDGMENT_READ, description=(
        "A judgment; null when missing or not permitted (a sealed one included), alike."))
    async def judgment(self, info: Info[Context, None],
                       id: Annotated[strawberry.ID, strawberry.argument(
                           description="The Judgment's id.")]) -> JudgmentNode | None:
        return await read_by_id(  # type: ignore[no-any-return]
            info.context, Judgment, Action.JUDGMENT_READ, "judgment", str(id))

    @authorized(Action.JUDGMENT_LIST, description=(
        "The judgments the requester may see, by id; hidden ones are not counted."))
    async def judgments(self, info: Info[Context, None],
                        filter: Annotated[JudgmentFilter | None, strawberry.argument(
                            description="Only the judgments matching it.")] = None,
                        first: First = 20, after: After = None,
                        last: Last = None, before: Before = None) -> JudgmentConnection:
        where: list[ColumnElement[bool]] = []
        # The same filters on judgment_tally, while every filter has a form there.
        kept: list[ColumnElement[bool]] | None = []
        if filter is not None:
            if filter.offender_id is not None or filter.id_number is not None:
                kept = None  # one person's judgments: few to count
            if filter.offender_id is not None:
                where.append(col(Judgment.offender_id).in_(
                    select(Offender.id).where(col(Offender.public_id) == str(filter.offender_id))))
            if filter.id_number is not None:
                number = check.id_number("filter.idNumber", filter.id_number)
                where.append(col(Judgment.offender_id).in_(
                    select(Offender.id).where(col(Offender.id_number) == number)))
            if filter.seal_status is not None:
                where.append(col(Judgment.seal_status) == filter.seal_status.value)
                if kept is not None:
                    kept.append(col(JudgmentTally.seal_status) == filter.seal_status.value)
        return await list_judgments(info.context, where, _window(info, first, after, last, before),
                                    counted=asks_for_total(info), kept=kept)

    @authorized(Action.NOTICE_READ, description=(
        "A notice; null when missing or not permitted, alike."))
    async def notice(self, info: Info[Context, None],
                     id: Annotated[strawberry.ID, strawberry.argument(
                         description="The Notice's id.")]) -> NoticeNode | None:
        return await read_notice(info.context, str(id))  # type: ignore[return-value]

    @authorized(Action.NOTICE_LIST, description=(
        "A clerk: the notices queued for the authorities of their division (status "
        "UNMATCHED is the exception queue). A reporting agency: the notices it sent."))
    async def notices(self, info: Info[Context, None],
                      status: Annotated[NoticeStatus | None, strawberry.argument(
                          description="Only the notices in this status.")] = None,
                      first: First = 20, after: After = None,
                        last: Last = None, before: Before = None) -> NoticeConnection:
        return await list_notices(info.context, status, _window(info, first, after, last, before),
                                  counted=asks_for_total(info))

    @authorized(Action.NOTICE_COMPLIANCE, description=(
        "Per sending agency, the notices received from `from` to `to` (inclusive): on time, "
        "late, the median delay in days, and those still unresolved in a queue."))
    async def reporting_compliance(self, info: Info[Context, None], from_: From, to: To,
                                   first: First = 20, after: After = None,
                                   last: Last = None, before: Before = None
                                   ) -> AgencyComplianceConnection:
        return await reporting_compliance(
            info.context, from_, to,
            window(info, first, after, last, before, info.context.max_page_size,
                   decode=AGENCY_CURSOR),
            asks_for_total(info))

    detention: DetentionNode | None = authorized(
        Action.DETENTION_READ, resolver=resolve_detention,
        description="A detention; null when missing or not permitted, alike.")

    @authorized(Action.INQUIRY_READ, description=(
        "An inquiry; null when missing or not permitted, alike."))
    async def inquiry(self, info: Info[Context, None],
                      id: Annotated[strawberry.ID, strawberry.argument(
                          description="The Inquiry's id.")]) -> InquiryNode | None:
        return await read_inquiry(info.context, str(id))  # type: ignore[return-value]

    @authorized(Action.INQUIRY_LIST, description=(
        "Your own inquiries; an examining officer's, those of units in their division; an "
        "auditor's, all."))
    async def inquiries(self, info: Info[Context, None],
                        status: Annotated[InquiryStatus | None, strawberry.argument(
                            description="Only the inquiries in this status.")] = None,
                        first: First = 20, after: After = None,
                        last: Last = None, before: Before = None,
                        overdue: Annotated[bool | None, strawberry.argument(
                            description="true: only those still pending past their 3 working "
                                        "days; false: only the others.")] = None,
                        ) -> InquiryConnection:
        return await list_inquiries(info.context, status, _window(info, first, after, last, before),
                                    overdue=overdue,
                                    counted=asks_for_total(info))

    case: CaseNode | None = authorized(Action.CASE_READ, resolver=resolve_case,
                                       description="The case registered under this number, "
                                       "for the officials of the agency handling it and "
                                       "auditors; null when missing or not the requester's, "
                                       "alike.")

    @authorized(Action.CASE_LIST, description=(
        "An official: the cases their agency handles now; an auditor: every case."))
    async def cases(self, info: Info[Context, None],
                    open: Annotated[bool | None, strawberry.argument(
                        description="true: only open cases; false: only closed ones.")] = None,
                    first: First = 20, after: After = None,
                        last: Last = None, before: Before = None) -> CaseConnection:
        return await list_cases(info.context, open, _window(info, first, after, last, before),
                                counted=asks_for_total(info))

    @authorized(Action.CERTIFICATE_VERIFY, description=(
        "A certificate number checked: what it said, or null where it is not genuine."))
    async def verify_certificate(self, info: Info[Context, None],
                                 number: Annotated[str, strawberry.argument(
                                     description="The number printed on the certificate.")]
                                 ) -> CertificateVerificationNode | None:
        return await verify_certificate(info.context, number)  # type: ignore[return-value]

    # `policies` and `policyChanges` are plain lists, as is Offender.detentions: CONTRACT.md
    # §4 fixes them so (a policy set is some dozens of policies).
    @authorized(Action.POLICY_READ, description=(
        "The policies in force, by uid (security staff and auditors, by default)."))
    async def policies(self, info: Info[Context, None]) -> list[PolicyNode]:
        return await list_policies(info.context)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ, description=(
        "The policy in force under `uid`; null when there is none (or deleted)."))
    async def policy(self, info: Info[Context, None], uid: PolicyUid) -> PolicyNode | None:
        return await read_policy(info.context, uid)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ, description=(
        "Every version of `uid`, newest first, its deletions included."))
    async def policy_history(self, info: Info[Context, None], uid: PolicyUid,
                             first: First = 20, after: After = None,
                             last: Last = None, before: Before = None) -> PolicyConnection:
        return await policy_history(
            info.context, uid,
            window(info, first, after, last, before, info.context.max_page_size,
                   decode=POLICY_VERSION_CURSOR),
            asks_for_total(info))

    @authorized(Action.POLICY_READ, description=(
        "Policy changes, newest first (PENDING: those waiting for approvals)."))
    async def policy_changes(self, info: Info[Context, None],
                             status: Annotated[PolicyChangeStatus | None, strawberry.argument(
                                 description="Only the changes in this status.")] = None,
                             ) -> list[PolicyChangeNode]:
        return await list_policy_changes(info.context, status)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ, description=(
        "The decision for a request described as {subject, resource, action, context} "
        "(attributes of the documented vocabulary): the policies that applied, and which one "
        "decided."))
    async def explain_access(self, info: Info[Context, None],
                             request: Annotated[JSON, strawberry.argument(
                                 description="{subject, resource, action, context}, each an "
                                             "object of attributes (CONTRACT.md §5).")]
                             ) -> DecisionNode:
        return await explain_access(info.context, request)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ, description=(
        "The policy test table decided with the change applied (a policy to create or "
        "update, or the uid to delete): the decisions that would flip. Nothing changes."))
    async def preview_policy_change(self, info: Info[Context, None],
                                    policy: Annotated[JSON | None, strawberry.argument(
                                        description="A policy document to create or update "
                                                    "(an object, or a JSON string).")] = None,
                                    delete_uid: Annotated[str | None, strawberry.argument(
                                        description="The uid of a policy to delete instead.")
                                    ] = None) -> PolicyPreviewNode:
        return await preview_policy_change(  # type: ignore[return-value]
            info.context, policy, delete_uid)

    @authorized(Action.AUDIT_READ, description=(
        "Auditors: the audit trail, newest first, by requester, agency, action, purpose, "
        "record, outcome and time. Reading it is itself audited."))
    async def audit_events(self, info: Info[Context, None],
                           filter: Annotated[AuditFilter | None, strawberry.argument(
                               description="Only the events matching it.")] = None,
                           first: Annotated[int | None, strawberry.argument(
                               description="Rows in the page, 0 to 100; null or absent: 50.")
                           ] = AUDIT_PAGE_SIZE,
                           after: After = None, last: Last = None,
                           before: Before = None) -> AuditEventConnection:
        return await list_audit_events(info.context, filter, window(
            info, first, after, last, before, info.context.max_page_size,
            default=AUDIT_PAGE_SIZE, decode=decode_sequence_cursor))

    @authorized(Action.AUDIT_READ, description=(
        "Auditors: misuse signals per requester from `from` to `to` (inclusive, at most 366 "
        "days), and the requesters far above the peers of their role. Audited."))
    async def access_report(self, info: Info[Context, None], from_: From,
                            to: To) -> AccessReportNode:
        return await access_report(info.context, from_, to)


@strawberry.type(description=(
    "Changes. Each runs in one transaction with its audit events; bad input is "
    "BAD_USER_INPUT naming the field (extensions.field) and changes nothing."))
class Mutation:
    report_judgment: ReportJudgmentPayload = authorized(
        Action.JUDGMENT_REPORT, resolver=report_judgment, description=(
            "A court reports an effective judgment; the notice is registered, or queued "
            "UNMATCHED when the person cannot be matched."))
    report_release: NoticePayload = authorized(
        Action.NOTICE_REPORT, resolver=report_release, description=(
            "A prison reports that a convicted person was released."))
    report_correction_expiry: NoticePayload = authorized(
        Action.NOTICE_REPORT, resolver=report_correction_expiry, description=(
            "A judicial administration reports that community correction ended."))
    resolve_notice: NoticePayload = authorized(
        Action.NOTICE_RESOLVE, resolver=resolve_notice, description=(
            "A clerk matches a notice of the exception queue, to a judgment or a person."))
    reject_notice: NoticePayload = authorized(
        Action.NOTICE_RESOLVE, resolver=reject_notice, description=(
            "A clerk rejects a notice of the exception queue; it is kept, never deleted."))
    submit_inquiry: InquiryNode = authorized(
        Action.INQUIRY_SUBMIT, resolver=submit_inquiry, description=(
            "Asks for a person's criminal record for a purpose; the purpose decides who may "
            "ask and what the answer holds."))
    decide_inquiry: InquiryNode = authorized(
        Action.INQUIRY_DECIDE, resolver=decide_inquiry, description=(
            "An officer of an accepting agency approves or rejects a pending inquiry."))
    correct_judgment: ReportJudgmentPayload = authorized(
        Action.JUDGMENT_CORRECT, resolver=correct_judgment, description=(
            "The court corrects a judgment (or reports a retrial); the previous version stays "
            "in its history."))
    register_detention: DetentionPayload = authorized(
        Action.DETENTION_REGISTER, resolver=register_detention, description=(
            "The requester's agency registers a detention it holds a person in."))
    close_detention_case: DetentionPayload = authorized(
        Action.DETENTION_CLOSE, resolver=close_detention_case, description=(
            "Closes a detention's case; dismissed, a criminal detention is expunged."))
    register_defense_counsel: bool = authorized(
        Action.COUNSEL_REGISTER, resolver=register_defense_counsel, description=(
            "The agency handling a case registers a lawyer as counsel of a suspect or "
            "defendant; true once registered (now or before)."))
    register_case: CaseNode = authorized(
        Action.CASE_REGISTER, resolver=register_case, description=(
            "Registers a case that the requester's agency handles from now on."))
    add_case_party: CaseNode = authorized(
        Action.CASE_ADD_PARTY, resolver=add_case_party, description=(
            "Adds a person to a case the requester's agency handles."))
    transfer_case: CaseNode = authorized(
        Action.CASE_TRANSFER, resolver=transfer_case, description=(
            "Hands a case on to another case-handling agency; the answer is the case as "
            "handed on."))
    close_case: CaseNode = authorized(
        Action.CASE_CLOSE, resolver=close_case, description=(
            "Closes a case: no inquiry is answered under it any more."))
    create_policy: PolicyNode = authorized(
        Action.POLICY_WRITE, resolver=create_policy, description=(
            "Adds a policy (or records the change for approval, CONTRACT.md §4); answers the "
            "policy as it is or will be."))
    update_policy: PolicyNode = authorized(
        Action.POLICY_WRITE, resolver=update_policy, description=(
            "A new version of a policy (or the change recorded for approval)."))
    delete_policy: bool = authorized(
        Action.POLICY_WRITE, resolver=delete_policy_by_uid, description=(
            "Deletes a policy in force (or records the deletion for approval); false when "
            "there is none."))
    rollback_policy: PolicyNode = authorized(
        Action.POLICY_WRITE, resolver=rollback_policy, description=(
            "A new version of a policy with an earlier version's document (or the change "
            "recorded for approval)."))
    approve_policy_change: PolicyChangeNode = authorized(
        Action.POLICY_APPROVE, resolver=approve_policy_change,
        description="Approves a policy change another security admin proposed; the last "
                    "approval needed applies it.")
    reject_policy_change: PolicyChangeNode = authorized(
        Action.POLICY_APPROVE, resolver=reject_policy_change,
        description="Rejects a pending policy change (its proposer may withdraw it): it "
                    "never applies.")


class RegistrySchema(strawberry.Schema):
    # What the API prices an operation with before running it (api/graphql.py).
    examiner: DocumentExaminer

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        """Strawberry's default logs each error with its message and traceback, which can
        carry input values; api/graphql.py logs request ids and codes instead."""


def build_schema(limits: Limits = Limits(), *, production: bool = False) -> RegistrySchema:
    # Factories, not instances: strawberry builds a fresh extension per request. The
    # examiner parses each query text once, refuses a document over the limits before any
    # validation rule, and validates each document once (schema/documents.py); the rules
    # are built once here, since its validation cache keys on the rule classes.
    # In production introspection is refused by the rule strawberry's DisableIntrospection
    # adds, among the examiner's: an extension more would cost its hooks on every request.
    rules = [max_directives_rule(limits.max_directives), NamedValuesOfCorrectTypeRule,
             *([NoSchemaIntrospectionCustomRule] if production else [])]
    examiner = DocumentExaminer(limits, rules=rules)
    extensions: list[Callable[[], SchemaExtension]] = [examiner.extension]
    schema = RegistrySchema(query=Query, mutation=Mutation, extensions=extensions,
                            config=StrawberryConfig(auto_camel_case=True),
                            scalar_overrides=SCALARS)
    schema.examiner = examiner
    compile_authorization(schema)
    return schema


@functools.lru_cache(maxsize=8)
def shared_schema(limits: Limits = Limits(), *, production: bool = False) -> RegistrySchema:
    """One schema per limits and mode in a process: building one takes ~30 ms, and it holds
    no state of an application's (its document cache depends on the limits alone)."""
    return build_schema(limits, production=production)
