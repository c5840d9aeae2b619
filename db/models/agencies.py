from datetime import datetime

from sqlmodel import Field, SQLModel

from db.models.base import utcnow

AGENCY_KINDS = (
    "COURT",
    "PROCURATORATE",
    "PUBLIC_SECURITY",
    "STATE_SECURITY",
    "JUDICIAL_ADMINISTRATION",
    "PRISON",
    "DETENTION_CENTER",
    "REGISTRATION_AUTHORITY",
    "LAW_FIRM",
    "EMPLOYER",
    "MILITARY",
    "SCHOOL",
)


class Agency(SQLModel, table=True):
    __tablename__ = "agency"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(max_length=32, index=True)
    name: str = Field(max_length=200)
    # 6-digit administrative division code: 110000 province, 110100 city, 110101 county.
    region: str = Field(max_length=6, index=True)
    created_at: datetime = Field(default_factory=utcnow)
