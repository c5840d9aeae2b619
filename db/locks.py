"""Serialising writers that race on one key (a notice sent twice at the same moment).

On PostgreSQL a transaction-scoped advisory lock on the key: the second sender waits for
the first to commit and then reads what it registered. On SQLite the database's single
write lock does the same for every key: a no-op UPDATE takes it, and the reads after it
see every committed write.
"""

from __future__ import annotations

import zlib

from sqlalchemy import Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

# The first half of the two-part advisory key: the registry's notice keys (the audit chain
# uses the one-part form, so the two never meet).
NOTICE_KEYS = 0x4E4F54  # "NOT"
INQUIRY_KEYS = 0x494E51  # "INQ": one decision per inquiry
POLICY_KEYS = 0x504F4C  # "POL": one change of the policy set at a time
CASE_KEYS = 0x434153  # "CAS": one change of a case (and its counsel) at a time


async def lock_key(session: AsyncSession, namespace: int, key: str) -> None:
    """Holds `key` until the session's transaction ends."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("UPDATE notice SET id = id WHERE 1 = 0"))
        return
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, :key)").bindparams(
            bindparam("namespace", namespace, type_=Integer),
            bindparam("key", key_digest(key), type_=Integer)))


def key_digest(key: str) -> int:
    """The second half of `key`'s advisory lock: crc32, which fits int4 once shifted into
    the signed range."""
    return zlib.crc32(key.encode("utf-8")) - 2**31
