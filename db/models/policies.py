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
