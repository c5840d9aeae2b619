"""OAuth2 clients of the embedded issuer: creation, secret checks, and the management
commands (`registry client list / disable / enable / rotate-secret`).

A client with redirect URIs also takes part in the authorization-code grant (people sign
in through it, api/grants.py); a public one (`--public`: a browser or native app) has no
secret and takes part in nothing else.

A secret is stored only as `scrypt$<n>$<r>$<p>$<salt>$<hash>` (base64url, no padding),
so the cost parameters can be raised later without breaking stored hashes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.auth import require_role, require_scopes
from api.settings import Settings
from db.engine import run_in_session
from db.models.agencies import Agency
from db.models.base import utcnow
from db.models.clients import Client

T = TypeVar("T")

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
HASH_BYTES = 32
_MAX_N = 2**20


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r + 1024 * 1024, dklen=HASH_BYTES)


def hash_client_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


_DUMMY_HASH = hash_client_secret(secrets.token_urlsafe(32))


def verify_client_secret(stored: str | None, secret: str) -> bool:
    """Constant time in the secret; a missing hash still costs one scrypt run, so an
    unknown client id takes as long to refuse as a wrong secret."""
    known = stored is not None
    try:
        scheme, n, r, p, salt, digest = (stored or _DUMMY_HASH).split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        if scheme != "scrypt" or not (1 < n_ <= _MAX_N and 0 < r_ <= 32 and 0 < p_ <= 16):
            return False
        expected = _unb64(digest)
        actual = _scrypt(secret, _unb64(salt), n_, r_, p_)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected) and known


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_REDIRECT_URIS_LENGTH = 2000


def require_redirect_uri(uri: str, option: str = "--redirect-uri") -> str:
    """An absolute URI without a fragment: https, http on a loopback host (a native app's
    local listener, a development server), or a private-use scheme with a dot (RFC 8252
    §7.1, `com.example.app:/callback`). Matched later character for character."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        raise ValueError(f"{option}: {uri!r} is not a URI") from None
    if not uri or uri != uri.strip() or any(ch.isspace() or ord(ch) < 32 for ch in uri):
        raise ValueError(f"{option}: {uri!r} must not be empty or contain spaces")
    if parts.fragment or "#" in uri:
        raise ValueError(f"{option}: {uri!r} must not have a fragment (RFC 6749 section 3.1.2)")
    if parts.scheme == "https" and host:
        return uri
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return uri
    if "." in parts.scheme and parts.scheme not in ("http", "https") and not parts.netloc:
        return uri
    raise ValueError(f"{option}: {uri!r} must be https, http on a loopback host, or a "
                     "private-use scheme such as com.example.app:/callback")


def require_client_kind(role: str | None, public: bool, redirect_uris: Sequence[str]) -> str:
    """The role stored for the client; "" (anyone may sign in) only for a public client."""
    if public and not redirect_uris:
        raise ValueError("--public: a public client needs at least one --redirect-uri")
    if role is None or role == "":
        if not public:
            raise ValueError("--role is required (only a --public client may leave it out)")
        return ""
    return require_role(role)


async def create_client(
    session: AsyncSession,
    *,
    name: str,
    role: str | None,
    agency_code: str | None = None,
    scopes: str = "",
    redirect_uris: Sequence[str] = (),
    public: bool = False,
    client_id: str | None = None,
) -> tuple[str, str | None]:
    """The new client's id and secret (None for a public client)."""
    uris = list(dict.fromkeys(require_redirect_uri(uri) for uri in redirect_uris))
    stored_role = require_client_kind(role, public, uris)
    if len(" ".join(uris)) > MAX_REDIRECT_URIS_LENGTH:
        raise ValueError(f"--redirect-uri: at most {MAX_REDIRECT_URIS_LENGTH} characters "
                         "in all")
    if not name.strip():
        raise ValueError("--name must not be empty")
    if agency_code is not None:
        found = await session.scalar(select(col(Agency.id)).where(col(Agency.code) == agency_code))
        if found is None:
            raise ValueError(f"--agency: no agency with code {agency_code!r}")
    client_id = client_id or "client-" + secrets.token_hex(12)
    secret = None if public else secrets.token_urlsafe(32)
    secret_hash = None if secret is None else await asyncio.to_thread(hash_client_secret, secret)
    session.add(Client(client_id=client_id, secret_hash=secret_hash, name=name.strip(),
                       role=stored_role, agency_code=agency_code,
                       scopes=" ".join(scopes.split()), redirect_uris=" ".join(uris),
                       public=public))
    await session.flush()
    return client_id, secret


CONSOLE_CLIENT_ID = "registry-console"


async def ensure_console_client(session: AsyncSession, issuer: str) -> str | None:
    """The public client of the policy console (issue 15 item 3), redirecting to
    `<issuer>/console/`: "registered" when it was added, "moved" when its redirect URI was
    another issuer's (a registry now served at another address: the console is served at
    the issuer's, and only there may codes go), else None. Whether it is enabled stays the
    operator's choice (disabled stays disabled)."""
    target = issuer.rstrip("/") + "/console/"
    row = (await session.execute(
        select(Client).where(col(Client.client_id) == CONSOLE_CLIENT_ID))).scalar_one_or_none()
    if row is not None:
        if row.redirect_uris == target:
            return None
        row.redirect_uris = target
        await session.flush()
        return "moved"
    session.add(Client(client_id=CONSOLE_CLIENT_ID, secret_hash=None, name="Policy console",
                       role="", redirect_uris=target, public=True))
    await session.flush()
    return "registered"


async def authenticate_client(session: AsyncSession, client_id: str, secret: str) -> Client | None:
    row = (await session.execute(
        select(Client).where(col(Client.client_id) == client_id)
    )).scalar_one_or_none()
    stored = row.secret_hash if row is not None else None
    if not await asyncio.to_thread(verify_client_secret, stored, secret):
        return None
    if row is None or not row.active:
        return None
    return row


async def _row(session: AsyncSession, client_id: str) -> Client:
    row = (await session.execute(
        select(Client).where(col(Client.client_id) == client_id)
    )).scalar_one_or_none()
    if row is None:
        raise ValueError(f"ID: no client with id {client_id!r}")
    return row


async def set_client_active(session: AsyncSession, client_id: str, active: bool) -> Client:
    """Disabling also revokes every token issued so far; enabling does not bring them back."""
    row = await _row(session, client_id)
    row.active = active
    if not active:
        row.revoked_before = utcnow()
    await session.flush()
    return row


async def rotate_client_secret(session: AsyncSession, client_id: str) -> str:
    """A new secret; the old one is refused from the commit on, and so are the tokens issued
    before it (a secret is rotated because it may have leaked, and so may its tokens)."""
    row = await _row(session, client_id)
    if row.public:
        raise ValueError(f"ID: {client_id!r} is a public client: it has no secret")
    secret = secrets.token_urlsafe(32)
    row.secret_hash = await asyncio.to_thread(hash_client_secret, secret)
    row.revoked_before = utcnow()
    await session.flush()
    return secret


def _committed(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run(session: AsyncSession) -> T:
        result = await work(session)
        await session.commit()
        return result

    return run_in_session(settings.database_url, run)


def cli_create_client(
    settings: Settings, name: str, role: str | None, agency: str | None, *, scopes: str = "",
    redirect_uris: Sequence[str] = (), public: bool = False,
) -> tuple[str, str | None]:
    uris = [require_redirect_uri(uri) for uri in redirect_uris]
    require_client_kind(role, public, uris)
    scopes = require_scopes(scopes)
    return _committed(settings, lambda s: create_client(
        s, name=name, role=role, agency_code=agency, scopes=scopes, redirect_uris=uris,
        public=public))


def cli_list_clients(settings: Settings) -> list[Client]:
    async def rows(session: AsyncSession) -> list[Client]:
        return list((await session.execute(
            select(Client).order_by(col(Client.created_at), col(Client.id)))).scalars())

    return run_in_session(settings.database_url, rows)


def cli_disable_client(settings: Settings, client_id: str) -> Client:
    return _committed(settings, lambda s: set_client_active(s, client_id, False))


def cli_enable_client(settings: Settings, client_id: str) -> Client:
    return _committed(settings, lambda s: set_client_active(s, client_id, True))


def cli_rotate_client_secret(settings: Settings, client_id: str) -> tuple[str, str]:
    async def rotate(session: AsyncSession) -> tuple[str, str]:
        return client_id, await rotate_client_secret(session, client_id)

    return _committed(settings, rotate)
