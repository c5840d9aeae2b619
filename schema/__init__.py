"""The GraphQL schema: root types, and the extensions that guard every document."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Annotated

import strawberry
from graphql import GraphQLError
from sqlalchemy import ColumnElement
from sqlmodel import col, select
from strawberry.extensions import DisableIntrospection, SchemaExtension, ValidationCache
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from db.models import Judgment, JudgmentTally, Offender
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
from schema.compliance import AgencyComplianceNode, reporting_compliance
from schema.context import Context
from schema.corrections import correct_judgment
from schema.counsel import register_defense_counsel
from schema.detentions import (
    DetentionNode,
    DetentionPayload,
    close_detention_case,
    register_detention,
    resolve_detention,
)
from schema.documents import DocumentExaminer
from schema.fields import authorized
from schema.inputs import NamedValuesOfCorrectTypeRule
from schema.inquiries import (
    CertificateVerificationNode,
    InquiryConnection,
    InquiryNode,
    InquiryStatus,
    decide_inquiry,
    list_inquiries,
    read_inquiry,
    submit_inquiry,
    verify_certificate,
)
from schema.limits import Limits, max_directives_rule
from schema.lookup import read_by_id
from schema.notices import (
    NoticeConnection,
    NoticeNode,
    NoticePayload,
    NoticeStatus,
    list_notices,
    read_notice,
)
from schema.pagination import asks_for_total
from schema.policies import (
    DecisionNode,
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


@strawberry.input
class OffenderFilter:
    id_number: str | None = None
    name: str | None = None
    residence_region: str | None = None


@strawberry.input
class JudgmentFilter:
    offender_id: strawberry.ID | None = None
    id_number: str | None = None
    seal_status: SealStatus | None = None


@strawberry.type
class Query:
    me: SubjectNode = authorized(Action.ME_READ, resolver=resolve_me)

    @authorized(Action.OFFENDER_READ)
    async def offender(self, info: Info[Context, None], id: strawberry.ID) -> OffenderNode | None:
        return await read_by_id(  # type: ignore[no-any-return]
            info.context, Offender, Action.OFFENDER_READ, "offender", str(id))

    @authorized(Action.OFFENDER_LIST)
    async def offenders(self, info: Info[Context, None], filter: OffenderFilter | None = None,
                        first: int | None = 20, after: str | None = None) -> OffenderConnection:
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
        return await list_offenders(info.context, where, first, after,
                                    counted=asks_for_total(info))

    @authorized(Action.JUDGMENT_READ)
    async def judgment(self, info: Info[Context, None], id: strawberry.ID) -> JudgmentNode | None:
        return await read_by_id(  # type: ignore[no-any-return]
            info.context, Judgment, Action.JUDGMENT_READ, "judgment", str(id))

    @authorized(Action.JUDGMENT_LIST)
    async def judgments(self, info: Info[Context, None], filter: JudgmentFilter | None = None,
                        first: int | None = 20, after: str | None = None) -> JudgmentConnection:
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
        return await list_judgments(info.context, where, first, after,
                                    counted=asks_for_total(info), kept=kept)

    @authorized(Action.NOTICE_READ)
    async def notice(self, info: Info[Context, None], id: strawberry.ID) -> NoticeNode | None:
        return await read_notice(info.context, str(id))  # type: ignore[return-value]

    @authorized(Action.NOTICE_LIST)
    async def notices(self, info: Info[Context, None], status: NoticeStatus | None = None,
                      first: int | None = 20, after: str | None = None) -> NoticeConnection:
        """A clerk: the notices queued for the authorities of their division (status
        UNMATCHED is the exception queue). A reporting agency: the notices it sent."""
        return await list_notices(info.context, status, first, after,
                                  counted=asks_for_total(info))

    @authorized(Action.NOTICE_COMPLIANCE)
    async def reporting_compliance(
            self, info: Info[Context, None],
            from_: Annotated[date, strawberry.argument(name="from")],
            to: date) -> list[AgencyComplianceNode]:
        """Per sending agency, the notices received from `from` to `to` (inclusive): on
        time, late, the median delay in days, and those still unresolved in a queue."""
        return await reporting_compliance(info.context, from_, to)

    detention: DetentionNode | None = authorized(Action.DETENTION_READ,
                                                 resolver=resolve_detention)

    @authorized(Action.INQUIRY_READ)
    async def inquiry(self, info: Info[Context, None], id: strawberry.ID) -> InquiryNode | None:
        return await read_inquiry(info.context, str(id))  # type: ignore[return-value]

    @authorized(Action.INQUIRY_LIST)
    async def inquiries(self, info: Info[Context, None], status: InquiryStatus | None = None,
                        first: int | None = 20, after: str | None = None,
                        overdue: bool | None = None) -> InquiryConnection:
        """Your own inquiries; an examining officer's, those of units in their division;
        an auditor's, all. `overdue: true`: those still pending past their 3 working days."""
        return await list_inquiries(info.context, status, first, after, overdue=overdue,
                                    counted=asks_for_total(info))

    case: CaseNode | None = authorized(Action.CASE_READ, resolver=resolve_case,
                                       description="The case registered under this number, "
                                       "for the officials of the agency handling it and "
                                       "auditors; null when missing or not the requester's, "
                                       "alike.")

    @authorized(Action.CASE_LIST)
    async def cases(self, info: Info[Context, None], open: bool | None = None,
                    first: int | None = 20, after: str | None = None) -> CaseConnection:
        """An official: the cases their agency handles now (`open` to pick open or closed
        ones); an auditor: every case."""
        return await list_cases(info.context, open, first, after,
                                counted=asks_for_total(info))

    @authorized(Action.CERTIFICATE_VERIFY)
    async def verify_certificate(self, info: Info[Context, None], number: str
                                 ) -> CertificateVerificationNode | None:
        """A certificate number checked: what it said, or null where it is not genuine."""
        return await verify_certificate(info.context, number)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ)
    async def policies(self, info: Info[Context, None]) -> list[PolicyNode]:
        """The policies in force, by uid (security staff and auditors, by default)."""
        return await list_policies(info.context)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ)
    async def policy(self, info: Info[Context, None], uid: str) -> PolicyNode | None:
        """The policy in force under `uid`; null when there is none (or deleted)."""
        return await read_policy(info.context, uid)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ)
    async def policy_history(self, info: Info[Context, None], uid: str) -> list[PolicyNode]:
        """Every version of `uid`, newest first, its deletions included."""
        return await policy_history(info.context, uid)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ)
    async def policy_changes(self, info: Info[Context, None],
                             status: PolicyChangeStatus | None = None) -> list[PolicyChangeNode]:
        """Policy changes, newest first (PENDING: those waiting for approvals)."""
        return await list_policy_changes(info.context, status)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ)
    async def explain_access(self, info: Info[Context, None], request: JSON) -> DecisionNode:
        """The decision for a request described as {subject, resource, action, context}
        (attributes of the documented vocabulary): the policies that applied, and which
        one decided."""
        return await explain_access(info.context, request)  # type: ignore[return-value]

    @authorized(Action.POLICY_READ)
    async def preview_policy_change(self, info: Info[Context, None],
                                    policy: JSON | None = None,
                                    delete_uid: str | None = None) -> PolicyPreviewNode:
        """The policy test table decided with the change applied (a policy to create or
        update, or the uid to delete): the decisions that would flip. Nothing changes."""
        return await preview_policy_change(  # type: ignore[return-value]
            info.context, policy, delete_uid)

    @authorized(Action.AUDIT_READ)
    async def audit_events(self, info: Info[Context, None], filter: AuditFilter | None = None,
                           first: int | None = AUDIT_PAGE_SIZE, after: str | None = None
                           ) -> AuditEventConnection:
        """Auditors: the audit trail, newest first, by requester, agency, action, purpose,
        record, outcome and time. Reading it is itself audited."""
        return await list_audit_events(info.context, filter, first, after)

    @authorized(Action.AUDIT_READ)
    async def access_report(self, info: Info[Context, None],
                            from_: Annotated[date, strawberry.argument(name="from")],
                            to: date) -> AccessReportNode:
        """Auditors: misuse signals per requester from `from` to `to` (inclusive, at most
        366 days), and the requesters far above the peers of their role. Audited."""
        return await access_report(info.context, from_, to)


@strawberry.type
class Mutation:
    report_judgment: ReportJudgmentPayload = authorized(Action.JUDGMENT_REPORT,
                                                        resolver=report_judgment)
    report_release: NoticePayload = authorized(Action.NOTICE_REPORT, resolver=report_release)
    report_correction_expiry: NoticePayload = authorized(Action.NOTICE_REPORT,
                                                         resolver=report_correction_expiry)
    resolve_notice: NoticePayload = authorized(Action.NOTICE_RESOLVE, resolver=resolve_notice)
    reject_notice: NoticePayload = authorized(Action.NOTICE_RESOLVE, resolver=reject_notice)
    submit_inquiry: InquiryNode = authorized(Action.INQUIRY_SUBMIT, resolver=submit_inquiry)
    decide_inquiry: InquiryNode = authorized(Action.INQUIRY_DECIDE, resolver=decide_inquiry)
    correct_judgment: ReportJudgmentPayload = authorized(Action.JUDGMENT_CORRECT,
                                                         resolver=correct_judgment)
    register_detention: DetentionPayload = authorized(Action.DETENTION_REGISTER,
                                                      resolver=register_detention)
    close_detention_case: DetentionPayload = authorized(Action.DETENTION_CLOSE,
                                                        resolver=close_detention_case)
    register_defense_counsel: bool = authorized(Action.COUNSEL_REGISTER,
                                                resolver=register_defense_counsel)
    register_case: CaseNode = authorized(Action.CASE_REGISTER, resolver=register_case)
    add_case_party: CaseNode = authorized(Action.CASE_ADD_PARTY, resolver=add_case_party)
    transfer_case: CaseNode = authorized(Action.CASE_TRANSFER, resolver=transfer_case)
    close_case: CaseNode = authorized(Action.CASE_CLOSE, resolver=close_case)
    create_policy: PolicyNode = authorized(Action.POLICY_WRITE, resolver=create_policy)
    update_policy: PolicyNode = authorized(Action.POLICY_WRITE, resolver=update_policy)
    delete_policy: bool = authorized(Action.POLICY_WRITE, resolver=delete_policy_by_uid)
    rollback_policy: PolicyNode = authorized(Action.POLICY_WRITE, resolver=rollback_policy)
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
    # examiner parses each query text once and refuses a document over the limits before
    # any validation rule (schema/documents.py); the rules are built once here, since
    # ValidationCache keys on the rule classes.
    examiner = DocumentExaminer(limits, rules=[max_directives_rule(limits.max_directives),
                                               NamedValuesOfCorrectTypeRule])
    extensions: list[Callable[[], SchemaExtension]] = [
        examiner.extension,
        lambda: ValidationCache(maxsize=256),
    ]
    if production:
        extensions.append(DisableIntrospection)
    schema = RegistrySchema(query=Query, mutation=Mutation, extensions=extensions,
                            config=StrawberryConfig(auto_camel_case=True),
                            scalar_overrides=SCALARS)
    schema.examiner = examiner
    return schema


@functools.lru_cache(maxsize=8)
def shared_schema(limits: Limits = Limits(), *, production: bool = False) -> RegistrySchema:
    """One schema per limits and mode in a process: building one takes ~30 ms, and it holds
    no state of an application's (its document cache depends on the limits alone)."""
    return build_schema(limits, production=production)
