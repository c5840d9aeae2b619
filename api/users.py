"""People who may sign in to the embedded issuer: `registry user add / disable / enable /
list / set-password`, and `verify_user` for the sign-in page (issue 15).

A password is hashed exactly as a client secret is (`api.clients.hash_client_secret`,
scrypt) and checked with `verify_client_secret`; neither a password nor an identity number
is ever printed or logged.
"""

from __future__ import annotations

import asyncio
import getpass
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.auth import require_role
from api.clients import hash_client_secret, verify_client_secret
from db.models.agencies import Agency
from db.models.base import utcnow
from db.models.users import RegistryUser
from policies.identity import is_valid_id_number, normalize_id_number

MIN_PASSWORD_LENGTH = 12
STDIN = "standard input"


def read_password(stream: TextIO) -> str:
    """One line of `stream`, without its line end: typed without echo at a terminal, read
    as it comes from a pipe. Refused, naming the input, when empty or too short."""
    if stream.isatty():
        line = getpass.getpass("password (not shown): ", stream=None)
    else:
        line = stream.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password.strip():
        raise ValueError(f"{STDIN}: the password line is empty (the password is read "
                         "from one line of standard input)")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"{STDIN}: the password must be at least "
                         f"{MIN_PASSWORD_LENGTH} characters")
    return password


def require_user_flags(sub: str, role: str, id_number: str | None) -> str | None:
    """The checks that need no database (made before a password is asked for); returns the
    identity number in canonical form."""
    if not sub.strip():
        raise ValueError("--sub must not be empty")
    if sub != sub.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in sub):
        raise ValueError("--sub must not have spaces around it or control characters")
    if len(sub) > 200:
        raise ValueError("--sub must be at most 200 characters")
    require_role(role)
    if id_number is None:
        return None
    canonical = normalize_id_number(id_number)
    if not is_valid_id_number(canonical):
        # The number itself is not repeated: it may be a real person's.
        raise ValueError("--id-number is not a valid 18-character identity number "
                         "(check digit)")
    return canonical


async def add_user(
    session: AsyncSession,
    *,
    sub: str,
    role: str,
    password: str,
    agency_code: str | None = None,
    id_number: str | None = None,
) -> RegistryUser:
    id_number = require_user_flags(sub, role, id_number)
    if agency_code is not None:
        found = await session.scalar(select(col(Agency.id)).where(col(Agency.code) == agency_code))
        if found is None:
            raise ValueError(f"--agency: no agency with code {agency_code!r}")
    existing = await session.scalar(
        select(col(RegistryUser.id)).where(col(RegistryUser.sub) == sub))
    if existing is not None:
        raise ValueError(f"--sub: a user {sub!r} exists already")
    password_hash = await asyncio.to_thread(hash_client_secret, password)
    user = RegistryUser(sub=sub, role=role, agency_code=agency_code, id_number=id_number,
                        password_hash=password_hash)
    session.add(user)
    await session.flush()
    return user


async def _user(session: AsyncSession, sub: str) -> RegistryUser:
    row = (await session.execute(
        select(RegistryUser).where(col(RegistryUser.sub) == sub))).scalar_one_or_none()
    if row is None:
        raise ValueError(f"--sub: no user {sub!r}")
    return row


async def set_user_disabled(session: AsyncSession, sub: str, disabled: bool) -> RegistryUser:
    """Disabling also revokes every sign-in of the person (api/grants.py): their refresh
    tokens at once, their access tokens within REGISTRY_CLIENT_POLL_SECONDS. Enabling does
    not bring them back."""
    from api.grants import revoke_user_grants

    row = await _user(session, sub)
    if row.disabled != disabled:
        now = utcnow()
        row.disabled = disabled
        row.disabled_at = now if disabled else None
        row.updated_at = now
        await session.flush()
    if disabled:
        await revoke_user_grants(session, sub)
    return row


async def set_user_password(session: AsyncSession, sub: str, password: str) -> RegistryUser:
    """A new password also ends the person's sign-ins (a password is replaced because it may
    have leaked, and the sessions opened with it with it), as disabling does."""
    from api.grants import revoke_user_grants

    row = await _user(session, sub)
    row.password_hash = await asyncio.to_thread(hash_client_secret, password)
    row.updated_at = utcnow()
    await session.flush()
    await revoke_user_grants(session, sub)
    return row


async def list_users(session: AsyncSession) -> list[RegistryUser]:
    return list((await session.execute(
        select(RegistryUser).order_by(col(RegistryUser.sub)))).scalars())


async def verify_user(session: AsyncSession, sub: str, password: str) -> RegistryUser | None:
    """The enabled user `sub` whose password this is, else None: alike for an unknown sub, a
    wrong password and a disabled user. Each costs one scrypt run (an unknown sub is checked
    against a dummy hash), so the time taken does not tell them apart either."""
    row = (await session.execute(
        select(RegistryUser).where(col(RegistryUser.sub) == sub))).scalar_one_or_none()
    stored = row.password_hash if row is not None else None
    if not await asyncio.to_thread(verify_client_secret, stored, password):
        return None
    if row is None or row.disabled:
        return None
    return row
