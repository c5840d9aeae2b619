"""Signed checkpoints of the audit chain (`registry audit checkpoint`): a later verify
checks that the chain still reaches each one, so a rewrite of the whole chain, every hash
recomputed, is detected too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from api.issuer import CheckpointKeyring, SigningKeys
from db.audit import GENESIS_HASH, cmd_audit_checkpoint, cmd_audit_verify, event_hash
from db.engine import Database
from db.models.audit import AuditEvent
from tests.unit.test_audit_chain import _as_superuser, _fill

TABLE = AuditEvent.__table__  # type: ignore[attr-defined]


def run(database_url: str, work: Callable[[Database], Awaitable[Any]]) -> Any:
    """The CLI commands run their own event loop (asyncio.run): these tests are synchronous
    and prepare the database in loops of their own."""
    async def go() -> Any:
        database = Database(database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(go())


def checker(keys: SigningKeys) -> Callable[[str, str], bool]:
    """What `registry audit verify` checks checkpoints with, holding only this key."""
    return CheckpointKeyring([keys.public_jwk()]).verify_text


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeys:
    return SigningKeys.load_or_create(str(tmp_path / "key.pem"))


async def _rewrite_whole_chain(database: Database) -> None:
    """Edits event 2 and recomputes every hash after it: the chain verifies on its own."""
    async with database.session() as session:
        await _as_superuser(session)
        rows = [dict(r._mapping) for r in (await session.execute(
            select(TABLE).order_by(TABLE.c.seq))).all()]
        previous = GENESIS_HASH
        for row in rows:
            if row["seq"] == 2:
                row["outcome"] = "deny"
            row["prev_hash"] = previous
            row["hash"] = previous = event_hash(row)
            await session.execute(TABLE.update().where(TABLE.c.seq == row["seq"])
                                  .values(outcome=row["outcome"], prev_hash=row["prev_hash"],
                                          hash=row["hash"]))
        await session.commit()


def test_a_checkpointed_chain_verifies(database_url: str, keys: SigningKeys,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    run(database_url, lambda d: _fill(d, 3))
    assert cmd_audit_checkpoint(database_url, keys.sign_text) == 0
    assert cmd_audit_verify(database_url, checker(keys)) == 0
    assert capsys.readouterr().out.splitlines() == [
        "audit checkpoint written at event 3", "audit chain intact: 3 events"]


def test_a_rewrite_of_the_whole_chain_is_detected_against_a_checkpoint(
        database_url: str, keys: SigningKeys, capsys: pytest.CaptureFixture[str]) -> None:
    run(database_url, lambda d: _fill(d, 4))
    assert cmd_audit_checkpoint(database_url, keys.sign_text) == 0
    run(database_url, _rewrite_whole_chain)
    assert cmd_audit_verify(database_url, checker(keys)) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "audit chain rewritten: checkpoint at event 4: the chain no longer reaches it")


def test_a_forged_checkpoint_is_detected(database_url: str, keys: SigningKeys,
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    run(database_url, lambda d: _fill(d, 2))
    other = SigningKeys.load_or_create(str(tmp_path / "attacker.pem"))
    assert cmd_audit_checkpoint(database_url, other.sign_text) == 0
    assert cmd_audit_verify(database_url, checker(keys)) == 1
    assert "signature does not verify" in capsys.readouterr().out


def test_checkpoints_that_cannot_be_checked_fail_the_verify(
        database_url: str, keys: SigningKeys, capsys: pytest.CaptureFixture[str]) -> None:
    run(database_url, lambda d: _fill(d, 2))
    assert cmd_audit_checkpoint(database_url, keys.sign_text) == 0
    assert cmd_audit_verify(database_url, None) == 1
    assert "cannot be checked without the signing key" in capsys.readouterr().out


def test_an_empty_chain_gets_no_checkpoint(database_url: str, keys: SigningKeys,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_audit_checkpoint(database_url, keys.sign_text) == 1

    async def count(database: Database) -> Any:
        async with database.session() as session:
            return (await session.execute(text("SELECT COUNT(*) FROM audit_checkpoint"))
                    ).scalar()

    assert run(database_url, count) == 0
