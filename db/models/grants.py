"""What the authorization-code grant keeps (issue 15): the grants people made by signing in
(`oauth_grant`, one per sign-in: the "family" of every token issued from it), their one-time
authorization codes and their refresh tokens. Codes and refresh tokens are stored only as
SHA-256 digests: they are random 256-bit values, so a digest is as good as a slow hash and
lets the row be found by it."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from db.models.base import utcnow


class Grant(SQLModel, table=True):
    """One sign-in of `user_sub` through `client_id`; its access tokens carry `grant_id`.
    Revoked (a code used twice, a rotated refresh token used again, the person disabled):
    every access and refresh token of the grant is refused from then on."""

    __tablename__ = "oauth_grant"

    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(max_length=64, unique=True, index=True)
    client_id: str = Field(max_length=64, index=True)
    user_sub: str = Field(max_length=200, index=True)
    scope: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    # Refresh tokens of the grant are refused after this (absolute: rotation does not extend it).
    expires_at: datetime
    revoked_at: datetime | None = Field(default=None, index=True)


class AuthorizationCode(SQLModel, table=True):
    __tablename__ = "oauth_authorization_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    grant_id: str = Field(max_length=64, foreign_key="oauth_grant.grant_id")
    client_id: str = Field(max_length=64)
    redirect_uri: str = Field(max_length=2000)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=10)
    expires_at: datetime
    used_at: datetime | None = None


class RefreshToken(SQLModel, table=True):
    __tablename__ = "oauth_refresh_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    grant_id: str = Field(max_length=64, foreign_key="oauth_grant.grant_id", index=True)
    client_id: str = Field(max_length=64)
    scope: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    # Set when the token is exchanged for a new one; a second exchange revokes the grant.
    rotated_at: datetime | None = None
