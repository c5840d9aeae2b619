"""The registry's tables. Import every model here so that metadata and Alembic see them."""

from db.models.agencies import Agency
from db.models.audit import AuditChainState, AuditCheckpoint, AuditEvent
from db.models.cases import CaseParty, CriminalCase
from db.models.clients import Client
from db.models.grants import AuthorizationCode, Grant, RefreshToken
from db.models.inquiries import Certificate, DefenseCounsel, Inquiry, InquiryRecord
from db.models.notices import Notice
from db.models.people import Offender
from db.models.policies import PolicyChange, PolicyRecord
from db.models.records import (
    Detention,
    ExecutionEvent,
    Judgment,
    JudgmentTally,
    JudgmentVersion,
    SealEvent,
)
from db.models.users import RegistryUser

__all__ = [
    "Agency",
    "AuditChainState",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthorizationCode",
    "CaseParty",
    "Certificate",
    "Client",
    "CriminalCase",
    "DefenseCounsel",
    "Detention",
    "ExecutionEvent",
    "Grant",
    "Inquiry",
    "InquiryRecord",
    "Judgment",
    "JudgmentTally",
    "JudgmentVersion",
    "Notice",
    "Offender",
    "PolicyChange",
    "PolicyRecord",
    "RefreshToken",
    "RegistryUser",
    "SealEvent",
]
