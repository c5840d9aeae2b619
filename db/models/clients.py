from datetime import datetime

from sqlmodel import Field, SQLModel

from db.models.base import utcnow


class Client(SQLModel, table=True):
    """An OAuth2 client of the embedded issuer (client-credentials grant)."""

    __tablename__ = "oauth_client"

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, unique=True, index=True)
    # A salted slow hash (hashlib.scrypt), never the secret itself.
    secret_hash: str = Field(max_length=256)
    name: str = Field(max_length=200)
    role: str = Field(max_length=40)
    agency_code: str | None = Field(default=None, max_length=64)
    scopes: str = Field(default="", max_length=500)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    # Tokens issued to the client before this moment are refused (set by `registry client
    # disable` and `rotate-secret`, kept by `enable`, so that enabling does not revive them).
    revoked_before: datetime | None = None
