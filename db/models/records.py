from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.ids import new_id
from db.models.base import utcnow


class Judgment(SQLModel, table=True):
    """An effective court judgment as reported by the court (DESIGN.md §1.1)."""

    __tablename__ = "judgment"
    __table_args__ = (UniqueConstraint("court_agency_id", "judgment_number"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: new_id("jdg"), max_length=40, unique=True)
    offender_id: int = Field(foreign_key="offender.id", index=True)
    court_agency_id: int = Field(foreign_key="agency.id", index=True)
    # The registration authority that keeps the record (routing by residence).
    authority_agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    judgment_number: str = Field(max_length=100)
    prosecutor: str = Field(max_length=200)
    judgment_date: date
    effective_date: date
    offense_date: date
    age_at_offense: int
    # Residence region of the offender when registered, denormalised for row filters.
    region: str = Field(max_length=6, index=True)
    crimes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    penalty_kind: str = Field(max_length=32)
    term_months: int | None = None
    probation_months: int | None = None
    supplementary: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    fine_amount: str | None = Field(default=None, max_length=32)
    # guilty (a criminal record, exemption from punishment included) or acquitted.
    verdict: str = Field(default="guilty", max_length=16)
    seal_status: str = Field(default="open", max_length=8, index=True)
    seal_reason: str = Field(default="", max_length=200)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ExecutionEvent(SQLModel, table=True):
    __tablename__ = "execution_event"

    id: int | None = Field(default=None, primary_key=True)
    judgment_id: int = Field(foreign_key="judgment.id", index=True)
    kind: str = Field(max_length=40)
    date: date
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    created_at: datetime = Field(default_factory=utcnow)


class SealEvent(SQLModel, table=True):
    """Every sealing and unsealing, with its reason (DESIGN.md §1.4)."""

    __tablename__ = "seal_event"

    id: int | None = Field(default=None, primary_key=True)
    judgment_id: int = Field(foreign_key="judgment.id", index=True)
    status: str = Field(max_length=8)
    reason: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow)
