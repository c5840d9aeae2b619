from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.models.base import utcnow


class PolicyRecord(SQLModel, table=True):
    """One version of one policy. Rows are only ever added; the newest row per uid wins.

    A deletion is a row with `deleted=True`. The policy set's version is the largest id,
    which every API process polls to learn of an edit made by another.
    """

    __tablename__ = "policy"
    __table_args__ = (UniqueConstraint("uid", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=200, index=True)
    version: int
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    deleted: bool = False
    author: str = Field(default="system", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class PolicyChange(SQLModel, table=True):
    """A change of one policy proposed by a security admin (DESIGN.md §1.5, CONTRACT.md §4):
    PENDING until `approvals needed` other security admins approve it, then APPLIED (its
    policy row written), or REJECTED. With one approver needed a change is APPLIED at once
    and recorded all the same, so that every change has its proposer, its flips and what it
    widens in one place.

    `base_version` is the uid's newest version (a deletion included; 0 when it never
    existed) when the change was proposed: if another change of the uid is applied first,
    this one is stale and cannot be applied (CONFLICT: propose it again).
    """

    __tablename__ = "policy_change"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=40, unique=True)
    uid: str = Field(max_length=200, index=True)
    # CREATE, UPDATE, DELETE or ROLLBACK.
    kind: str = Field(max_length=10)
    # PENDING, APPLIED or REJECTED.
    status: str = Field(max_length=10, index=True)
    # The document the policy will have; null for a deletion.
    document: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    base_version: int
    proposed_by: str = Field(max_length=200)
    proposed_at: datetime = Field(default_factory=utcnow)
    # [{"sub": ..., "at": ISO time}], in order of arrival; never the proposer.
    approvals: list[dict[str, Any]] = Field(default_factory=list,
                                            sa_column=Column(JSON, nullable=False))
    approvals_needed: int
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=1000)
    # "role: action" pairs of criminal information the change newly allows (policies/admin.py).
    widens: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The policy test table's rows whose decision the change flips, as the preview showed them.
    flips: list[dict[str, Any]] = Field(default_factory=list,
                                        sa_column=Column(JSON, nullable=False))
    # The policy row the change wrote once applied (the set's version then).
    applied_row: int | None = None
