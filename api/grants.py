"""People signing in through a client (issue 15): authlib's RFC 6749 authorization-code and
refresh-token grants with RFC 7636 PKCE (S256 only), and what they keep in the database.

The rules (README "Signing in"):
- A code is one-time and lives CODE_SECONDS. It is claimed (marked used) the first time it
  is presented, before its verifier is checked; a code presented again revokes its grant:
  every access token issued from it (their `grant_id` claim, refused by the resource server
  from then on, api/revocation.GrantDirectory) and every refresh token.
- A refresh token is rotated on every use; a rotated one presented again revokes the grant.
  A grant's refresh tokens stop at SESSION_SECONDS after the sign-in, however often rotated.
- A user token carries the person's `sub`, `role`, `agency` and `id_number` (never the
  client row's role) and the client's `client_id`. A client registered with a role signs
  in only people of that role, and with an agency only people of that agency; a public
  client registered without a role (the policy console) signs in anyone. So a firm's app
  registered for `defense_lawyer` cannot be used to obtain a judge's token.
- Refresh tokens go to every client that signs people in, public ones included (bound to
  the client_id and rotated, RFC 9700 §4.14.2); a disabled person's, a disabled client's or
  a revoked grant's refresh is refused.

authlib's grants are synchronous: the token endpoint runs them in the throttle's worker
thread (api/token_throttle.py), and the hooks below reach the database from that thread
through `anyio.from_thread.run`. Codes and refresh tokens are stored as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import anyio.from_thread
from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import Executable, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.engine import Database
from db.models.base import utcnow
from db.models.clients import Client
from db.models.grants import AuthorizationCode, Grant, RefreshToken
from db.models.users import RegistryUser

log = logging.getLogger(__name__)

CODE_SECONDS = 60
SESSION_SECONDS = 8 * 3600
USER_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def new_grant_id() -> str:
    return "grant-" + secrets.token_hex(16)


def admits(client: Client, user: RegistryUser) -> bool:
    """Whether `user` may sign in through `client` (the rule in this module's docstring)."""
    if client.role and client.role != user.role:
        return False
    return not (client.agency_code and client.agency_code != user.agency_code)


@dataclass(frozen=True)
class SignedIn:
    """authlib's "user": the person and the grant their tokens belong to."""

    user: RegistryUser
    grant_id: str

    def get_user_id(self) -> str:
        return self.user.sub


@dataclass(frozen=True)
class PendingCode:
    """A code made by the authorization endpoint, written by its handler after authlib."""

    code: str
    grant_id: str
    client_id: str
    user_sub: str
    scope: str
    redirect_uri: str
    code_challenge: str
    code_challenge_method: str


@dataclass(frozen=True)
class ClaimedCode:
    grant_id: str
    client_id: str
    user_sub: str
    scope: str
    redirect_uri: str
    code_challenge: str
    code_challenge_method: str

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class ClaimedRefresh:
    grant_id: str
    client_id: str
    user_sub: str
    scope: str

    def get_scope(self) -> str:
        return self.scope

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)


class GrantServer(Protocol):
    """What the grants need of `api.issuer._Server` besides authlib's own methods."""

    database: Database
    pending_codes: list[PendingCode]


async def _revoke(session: AsyncSession, grant_id: str, now: datetime) -> None:
    await session.execute(update(Grant).where(col(Grant.grant_id) == grant_id,
                                              col(Grant.revoked_at).is_(None))
                          .values(revoked_at=now))


async def _revoke_if_spent(session: AsyncSession, spent: Executable, now: datetime,
                           what: str) -> None:
    """A code or refresh token presented after it was spent (`spent` selects its row, if so):
    the grant it belongs to is revoked, with every token issued from it."""
    row = await session.scalar(spent)
    if row is not None:
        await _revoke(session, row.grant_id, now)
        await session.commit()
        log.warning("%s: its grant %s is revoked", what, row.grant_id)


async def revoke_user_grants(session: AsyncSession, sub: str) -> None:
    """Every grant of `sub` (their person is disabled): tokens and refresh tokens refused."""
    await session.execute(update(Grant).where(col(Grant.user_sub) == sub,
                                              col(Grant.revoked_at).is_(None))
                          .values(revoked_at=utcnow()))


async def save_codes(database: Database, codes: list[PendingCode]) -> None:
    now = utcnow()
    async with database.session() as session:
        for pending in codes:
            session.add(Grant(grant_id=pending.grant_id, client_id=pending.client_id,
                              user_sub=pending.user_sub, scope=pending.scope, created_at=now,
                              expires_at=now + timedelta(seconds=SESSION_SECONDS)))
            await session.flush()
            session.add(AuthorizationCode(
                code_hash=digest(pending.code), grant_id=pending.grant_id,
                client_id=pending.client_id, redirect_uri=pending.redirect_uri,
                code_challenge=pending.code_challenge,
                code_challenge_method=pending.code_challenge_method,
                expires_at=now + timedelta(seconds=CODE_SECONDS)))
        await session.commit()


async def claim_code(database: Database, code: str, client_id: str) -> ClaimedCode | None:
    """The code's grant, marked used; None for an unknown, expired, used or foreign code.
    A used code presented again revokes its grant."""
    code_hash = digest(code)
    now = utcnow()
    async with database.session() as session:
        claimed = await session.execute(
            update(AuthorizationCode)
            .where(col(AuthorizationCode.code_hash) == code_hash,
                   col(AuthorizationCode.client_id) == client_id,
                   col(AuthorizationCode.used_at).is_(None),
                   col(AuthorizationCode.expires_at) > now)
            .values(used_at=now))
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            row, grant = (await session.execute(
                select(AuthorizationCode, Grant)
                .join(Grant, col(Grant.grant_id) == col(AuthorizationCode.grant_id))
                .where(col(AuthorizationCode.code_hash) == code_hash))).one()
            await session.commit()
            return ClaimedCode(grant_id=row.grant_id, client_id=row.client_id,
                               user_sub=grant.user_sub, scope=grant.scope,
                               redirect_uri=row.redirect_uri, code_challenge=row.code_challenge,
                               code_challenge_method=row.code_challenge_method)
        await _revoke_if_spent(session, select(AuthorizationCode).where(
            col(AuthorizationCode.code_hash) == code_hash,
            col(AuthorizationCode.used_at).is_not(None)), now,
            "an authorization code was presented twice")
        return None


async def claim_refresh(database: Database, token: str, client_id: str) -> ClaimedRefresh | None:
    """The refresh token's grant, the token marked rotated; None for an unknown, foreign,
    rotated or expired token or a revoked grant. A rotated token presented again revokes
    its grant."""
    token_hash = digest(token)
    now = utcnow()
    live = select(col(Grant.grant_id)).where(col(Grant.revoked_at).is_(None),
                                             col(Grant.expires_at) > now)
    async with database.session() as session:
        claimed = await session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.token_hash) == token_hash,
                   col(RefreshToken.client_id) == client_id,
                   col(RefreshToken.rotated_at).is_(None),
                   col(RefreshToken.grant_id).in_(live))
            .values(rotated_at=now))
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            row, grant = (await session.execute(
                select(RefreshToken, Grant)
                .join(Grant, col(Grant.grant_id) == col(RefreshToken.grant_id))
                .where(col(RefreshToken.token_hash) == token_hash))).one()
            await session.commit()
            return ClaimedRefresh(grant_id=row.grant_id, client_id=row.client_id,
                                  user_sub=grant.user_sub, scope=row.scope)
        await _revoke_if_spent(session, select(RefreshToken).where(
            col(RefreshToken.token_hash) == token_hash,
            col(RefreshToken.rotated_at).is_not(None)), now,
            "a rotated refresh token was presented again")
        return None


async def save_refresh(database: Database, token: str, grant_id: str, client_id: str,
                       scope: str) -> None:
    async with database.session() as session:
        session.add(RefreshToken(token_hash=digest(token), grant_id=grant_id,
                                 client_id=client_id, scope=scope))
        await session.commit()


async def load_user(database: Database, sub: str) -> RegistryUser | None:
    async with database.session() as session:
        return (await session.execute(
            select(RegistryUser).where(col(RegistryUser.sub) == sub))).scalar_one_or_none()


def _signed_in(server: GrantServer, client: Any, sub: str, grant_id: str) -> SignedIn:
    """The enabled person `sub`, still admitted by the client, else invalid_grant."""
    user = anyio.from_thread.run(load_user, server.database, sub)
    if user is None or user.disabled or client.row is None or not admits(client.row, user):
        raise InvalidGrantError("The person who signed in can no longer get tokens.")
    return SignedIn(user, grant_id)


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """authlib's RFC 7636 extension, S256 only and always required: a request without a
    code_challenge, or with `plain` (or no method, which RFC 7636 reads as plain), is
    refused, for confidential clients too (RFC 9700 §2.1.1)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE (S256) is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = USER_AUTH_METHODS
    AUTHORIZATION_CODE_LENGTH = 43  # 256 bits of authlib's alphabet

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        if not self.request.payload.state:
            raise InvalidRequestError("Missing 'state': the client must send one.",
                                      redirect_uri=redirect_uri)
        return redirect_uri

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        signed: SignedIn = request.user
        data = request.payload.data
        server: GrantServer = self.server
        server.pending_codes.append(PendingCode(
            code=code, grant_id=signed.grant_id, client_id=request.client.get_client_id(),
            user_sub=signed.user.sub, scope=request.scope or "",
            redirect_uri=data["redirect_uri"], code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"]))

    def query_authorization_code(self, code: str, client: Any) -> ClaimedCode | None:
        server: GrantServer = self.server
        found: ClaimedCode | None = anyio.from_thread.run(
            claim_code, server.database, code, client.get_client_id())
        return found

    def delete_authorization_code(self, authorization_code: ClaimedCode) -> None:
        return None  # claimed (marked used) when it was queried

    def authenticate_user(self, authorization_code: ClaimedCode) -> SignedIn:
        return _signed_in(self.server, self.request.client, authorization_code.user_sub,
                          authorization_code.grant_id)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        # authlib's own version logs the token at debug level; tokens are never logged here.
        authorization_code = self.request.authorization_code
        user = self.authenticate_user(authorization_code)
        self.request.user = user
        token = self.generate_token(user=user, scope=authorization_code.get_scope(),
                                    include_refresh_token=True)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = USER_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> ClaimedRefresh | None:
        server: GrantServer = self.server
        found: ClaimedRefresh | None = anyio.from_thread.run(
            claim_refresh, server.database, refresh_token,
            self.request.client.get_client_id())
        return found

    def authenticate_user(self, refresh_token: ClaimedRefresh) -> SignedIn:
        return _signed_in(self.server, self.request.client, refresh_token.user_sub,
                          refresh_token.grant_id)

    def revoke_old_credential(self, refresh_token: ClaimedRefresh) -> None:
        return None  # rotated (marked) when it was authenticated

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        # As authlib's, without its debug log of the token.
        refresh_token = self.request.refresh_token
        user = self.authenticate_user(refresh_token)
        self.request.user = user
        token = self.issue_token(user, refresh_token)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
