"""Cases (DESIGN.md §1.6): access to criminal information is bound to a real case.

A case is registered by the organ that handles it, with its parties, and handed on as it
moves (investigation -> prosecution -> trial) by transferring it: `agency_id` is always
the organ handling it now. Closing it ends every access bound to it.
"""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from db.ids import new_id
from db.models.base import utcnow


class CriminalCase(SQLModel, table=True):
    """A case, unique by its number in the whole registry."""

    __tablename__ = "criminal_case"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: new_id("cas"), max_length=40, unique=True)
    case_number: str = Field(max_length=100, unique=True)
    # The organ handling the case now: the registering one, then each it is transferred to.
    agency_id: int = Field(foreign_key="agency.id", index=True)
    stage: str = Field(max_length=16)  # INVESTIGATION, PROSECUTION, TRIAL
    open: bool = True
    registered_by: str = Field(max_length=200)
    registered_at: datetime = Field(default_factory=utcnow)
    closed_by: str | None = Field(default=None, max_length=200)
    closed_at: datetime | None = None


class CaseParty(SQLModel, table=True):
    """A person in a case, by identity number, in one role; a person may hold several (a
    suspect who becomes a defendant, a victim who is also a witness)."""

    __tablename__ = "case_party"
    __table_args__ = (UniqueConstraint("case_id", "id_number", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="criminal_case.id", index=True)
    id_number: str = Field(max_length=18, index=True)
    role: str = Field(max_length=16)  # SUSPECT, DEFENDANT, VICTIM, WITNESS
    added_by: str = Field(max_length=200)
    added_at: datetime = Field(default_factory=utcnow)
