"""Inquiries, what they disclosed, certificates, and defense-counsel registrations
(DESIGN.md §1.3)."""

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from db.ids import new_id
from db.models.base import utcnow


class Inquiry(SQLModel, table=True):
    """A recorded request: who asked, about whom, for what purpose, and the decision."""

    __tablename__ = "inquiry"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: new_id("inq"), max_length=40, unique=True)
    purpose: str = Field(max_length=32, index=True)
    status: str = Field(default="PENDING", max_length=16, index=True)
    requester_sub: str = Field(max_length=200, index=True)
    requester_role: str = Field(max_length=40)
    requester_agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    # The division of the requester's agency ("" for an individual): where it is examined.
    region: str = Field(default="", max_length=6, index=True)
    subject_id_number: str = Field(max_length=18, index=True)
    case_number: str | None = Field(default=None, max_length=100)
    # DEFENSE: whether the requester was registered counsel for the subject in the case when
    # the inquiry was submitted (the context `is_counsel` it was decided and is read in).
    is_counsel: bool = False
    legal_basis: str | None = Field(default=None, max_length=500)
    consent_reference: str | None = Field(default=None, max_length=200)
    submitted_at: datetime = Field(default_factory=utcnow)
    # An examined inquiry is due within 3 working days of submission.
    due_date: date | None = None
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=200)
    decider_agency_id: int | None = Field(default=None, foreign_key="agency.id")
    decision_reason: str | None = Field(default=None, max_length=500)


class InquiryRecord(SQLModel, table=True):
    """A record an approved inquiry disclosed, fixed when it was approved: the result
    serves that inquiry alone (DESIGN.md §1.3)."""

    __tablename__ = "inquiry_record"
    __table_args__ = (UniqueConstraint("inquiry_id", "record_type", "record_id"),)

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: int = Field(foreign_key="inquiry.id", index=True)
    record_type: str = Field(max_length=16)  # judgment | detention
    record_id: int


class Certificate(SQLModel, table=True):
    """A certificate or result letter, frozen when issued; its number is what a recipient
    verifies."""

    __tablename__ = "certificate"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    inquiry_id: int = Field(foreign_key="inquiry.id", unique=True)
    kind: str = Field(max_length=32)  # NO_RECORD_CERTIFICATE | REFUSAL_NOTICE | RESULT_LETTER
    purpose: str = Field(max_length=32)
    has_criminal_record: bool
    issued_at: datetime = Field(default_factory=utcnow)


class DefenseCounsel(SQLModel, table=True):
    """A lawyer registered as counsel in a case, for a suspect or defendant of that case,
    by the organ handling it. A lawyer's cases come from here, never from the token.

    `case_id` is the registered case. Rows from before cases were registered (migration
    0008) have none: they are kept, grant no new DEFENSE inquiry, and the inquiries they
    answered stay readable (`Inquiry.is_counsel`)."""

    __tablename__ = "defense_counsel"
    __table_args__ = (UniqueConstraint("case_id", "lawyer_sub", "suspect_id_number",
                                       name="uq_defense_counsel_case_lawyer_suspect"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="criminal_case.id", index=True)
    case_number: str = Field(max_length=100, index=True)
    lawyer_sub: str = Field(max_length=200, index=True)
    suspect_id_number: str = Field(max_length=18)
    registered_by: str = Field(max_length=200)
    registered_by_agency_id: int = Field(foreign_key="agency.id")
    created_at: datetime = Field(default_factory=utcnow)
