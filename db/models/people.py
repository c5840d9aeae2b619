from datetime import date, datetime

from sqlmodel import Field, SQLModel

from db.ids import new_id
from db.models.base import utcnow


class Offender(SQLModel, table=True):
    __tablename__ = "offender"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: new_id("ofd"), max_length=40, unique=True)
    id_number: str = Field(max_length=18, unique=True, index=True)
    name: str = Field(max_length=200, index=True)  # offenders(filter: {name})
    birth_date: date
    gender: str | None = Field(default=None, max_length=16)
    residence_region: str = Field(max_length=6, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
