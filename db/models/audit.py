from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

from db.models.base import utcnow


class AuditEvent(SQLModel, table=True):
    """Append-only, chained (DESIGN.md §1.5). `hash` covers every other column and
    `prev_hash`, so editing, deleting or reordering a row breaks the chain. It is an
    HMAC-SHA256 under the service's audit key `key_id` (db/audit_keys.py), which lives
    outside the database; events written before the key existed have `key_id` "" and an
    unkeyed SHA-256 (the chain's legacy prefix, see `AuditChainState.legacy_until`)."""

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
    key_id: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})


class AuditCheckpoint(SQLModel, table=True):
    """A signed (sequence, hash) head; a later verify checks the chain still reaches it."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    seq: int
    hash: str = Field(max_length=64)
    signature: str
    at: datetime = Field(default_factory=utcnow)


class AuditChainState(SQLModel, table=True):
    """The chain's identity and its checkpoint writer's bookkeeping (one row).

    `chain_id` is given to the database when its chain starts; every event's MAC and every
    witness checkpoint names it, so one witness file can serve several databases.
    `legacy_until` is the last event hashed without a key (0 for a chain keyed from the
    start). `witnessed_*` record the newest checkpoint handed to the witness: what the
    writer compares the head with, and what lets verify notice a witness that shrank."""

    __tablename__ = "audit_chain"

    chain_id: str = Field(primary_key=True, max_length=40)
    legacy_until: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    started_at: datetime = Field(default_factory=utcnow)
    witnessed_n: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    witnessed_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    witnessed_hash: str = Field(default="", max_length=64)
