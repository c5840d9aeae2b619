from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

from db.models.base import utcnow


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained (DESIGN.md §1.5). `hash` covers every other column and
    `prev_hash`, so editing, deleting or reordering a row breaks the chain."""

    __tablename__ = "audit_event"

    # Assigned by the audit writer under the chain lock: gap-free, in chain order.
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: str = Field(max_length=40, unique=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    request_id: str = Field(default="", max_length=64)
    sub: str = Field(default="", max_length=200, index=True)
    role: str = Field(default="", max_length=40)
    agency: str = Field(default="", max_length=64, index=True)
    client_id: str = Field(default="", max_length=64)
    operation: str = Field(default="", max_length=100)
    action: str = Field(max_length=60)
    resource_type: str = Field(default="", max_length=30)
    resource_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    purpose: str = Field(default="", max_length=40)
    inquiry_id: str = Field(default="", max_length=40)
    case_number: str = Field(default="", max_length=100)
    outcome: str = Field(max_length=8)  # permit | deny
    policy_uid: str = Field(default="", max_length=200)
    policy_version: int = 0
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """A signed (sequence, hash) head; a later verify checks the chain still reaches it."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    seq: int
    hash: str = Field(max_length=64)
    signature: str
    at: datetime = Field(default_factory=utcnow)
