from datetime import datetime

from sqlmodel import Field, SQLModel

from db.models.base import utcnow


class Client(SQLModel, table=True):
    """An OAuth2 client of the embedded issuer: client credentials for a confidential client;
    with redirect URIs, also the authorization-code grant through which people sign in
    (a public client has no secret and only that grant)."""

    __tablename__ = "oauth_client"

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, unique=True, index=True)
    # A salted slow hash (hashlib.scrypt), never the secret itself.
    # None for a public client (a browser or native app, which cannot keep a secret).
    secret_hash: str | None = Field(default=None, max_length=256)
    name: str = Field(max_length=200)
    # The role of its client-credentials tokens, and the only role of the people who may
    # sign in through it; "" (public clients only) lets anyone sign in (api/grants.py).
    role: str = Field(max_length=40)
    agency_code: str | None = Field(default=None, max_length=64)
    scopes: str = Field(default="", max_length=500)
    # Space-separated, each matched exactly (no prefix, no trailing slash, no query added).
    redirect_uris: str = Field(default="", max_length=2000)
    public: bool = False
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    # Tokens issued to the client before this moment are refused (set by `registry client
    # disable` and `rotate-secret`, kept by `enable`, so that enabling does not revive them).
    revoked_before: datetime | None = None
