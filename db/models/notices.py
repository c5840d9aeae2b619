from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.ids import new_id
from db.models.base import utcnow


class Notice(SQLModel, table=True):
    """A notice as an agency sent it; (sender, notice number) is its idempotency key."""

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("sender_agency_id", "notice_number"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: new_id("ntc"), max_length=40, unique=True)
    kind: str = Field(max_length=32)  # JUDGMENT, RELEASE, CORRECTION_EXPIRY
    sender_agency_id: int = Field(foreign_key="agency.id", index=True)
    # Who at the sending agency sent it: a sender's share of notices that could not be
    # matched is a misuse signal (DESIGN.md §1.2, accessReport). "" for notices received
    # before migration 0009 that the audit trail did not attribute.
    sender_sub: str = Field(default="", max_length=200, index=True)
    sender_role: str = Field(default="", max_length=40)
    notice_number: str = Field(max_length=100)
    receiving_authority_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    # sha256 of the canonical JSON of the input: same key + same hash = a replay.
    content_hash: str = Field(max_length=64)
    # The division of the receiving authority's queue ("" while no authority covers it).
    queue_region: str = Field(default="", max_length=6, index=True)
    status: str = Field(default="REGISTERED", max_length=16, index=True)
    # Timeliness (DESIGN.md §1.2): the date the deadline runs from (effective, release or
    # expiry date), the deadline, the days from that date to receipt, and whether late.
    event_date: date | None = None
    due_date: date | None = None
    delay_days: int | None = None
    late: bool = False
    reason: str | None = Field(default=None, max_length=500)
    judgment_id: int | None = Field(default=None, foreign_key="judgment.id", index=True)
    # How a clerk resolved a queued notice: who, when, why.
    resolved_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = None
    resolution: str | None = Field(default=None, max_length=500)
    # The notice's input as received, kept so an unmatched notice can be resolved later.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)
