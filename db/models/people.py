from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from db.ids import new_id
from db.models.base import utcnow


class Offender(SQLModel, table=True):
    __tablename__ = "offender"
    # offenders(filter: {name}): an exact name, in the order of the page (migration 0013).
    __table_args__ = (Index("ix_offender_name", "name", "public_id"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: new_id("ofd"), max_length=40, unique=True)
    id_number: str = Field(max_length=18, unique=True, index=True)
    name: str = Field(max_length=200)
    birth_date: date
    gender: str | None = Field(default=None, max_length=16)
    residence_region: str = Field(max_length=6, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
