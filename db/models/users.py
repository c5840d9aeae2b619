from datetime import datetime

from sqlmodel import Field, SQLModel

from db.models.base import utcnow


class RegistryUser(SQLModel, table=True):
    """A person who may sign in to the embedded issuer (`registry user add`); the token
    issued after sign-in carries `sub`, `role`, `agency` and `id_number` from here."""

    __tablename__ = "registry_user"

    id: int | None = Field(default=None, primary_key=True)
    sub: str = Field(max_length=200, unique=True, index=True)
    role: str = Field(max_length=40)
    agency_code: str | None = Field(default=None, max_length=64, foreign_key="agency.code")
    # Canonical form (policies/identity.py); never logged or listed.
    id_number: str | None = Field(default=None, max_length=18)
    # A salted slow hash (api/clients.hash_client_secret), never the password itself.
    password_hash: str = Field(max_length=256)
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    disabled_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
