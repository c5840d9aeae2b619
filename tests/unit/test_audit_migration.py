"""A database from before the audit key (migration 0011): its events were hashed without a
key. They become the chain's legacy prefix, which verify accepts once a witness checkpoint
signed with the key vouches for where it ends, and the chain continues keyed."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from db.audit import GENESIS_HASH, AuditChain, cmd_audit_checkpoint, cmd_audit_verify, event_hash
from db.audit_keys import AuditKeys
from db.engine import Database, sync_url
from db.migrate import upgrade
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES
from tests.unit.test_audit_chain import _record


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, to be migrated by the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("REQUIRE_POSTGRES=1 but REGISTRY_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests need REGISTRY_TEST_POSTGRES_URL")
    name = f"registry_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sync_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _old_events(url: str, count: int) -> None:
    """Events as the code before 0011 wrote them: unkeyed SHA-256, no key_id column."""
    engine = create_engine(sync_url(url))
    previous = GENESIS_HASH
    with engine.begin() as conn:
        for seq in range(1, count + 1):
            row: dict[str, Any] = {**_record(seq).__dict__, "seq": seq,
                                   "event_id": f"evt_old{seq}", "at": datetime.now(UTC),
                                   "prev_hash": previous}
            row["hash"] = previous = event_hash(row)
            row["resource_ids"] = json.dumps(row["resource_ids"])
            row["detail"] = json.dumps(row["detail"])
            columns = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            conn.execute(text(f"INSERT INTO audit_event ({columns}) VALUES ({values})"), row)  # noqa: S608
    engine.dispose()


def test_an_existing_unkeyed_chain_becomes_the_vouched_legacy_prefix_and_continues_keyed(
        empty_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(empty_url, "0007")
    _old_events(empty_url, 4)
    upgrade(empty_url)
    keys = AuditKeys.load_or_create(str(tmp_path / "audit-key"))
    witness = str(tmp_path / "witness.jsonl")

    assert cmd_audit_verify(empty_url, keys, witness) == 1
    assert capsys.readouterr().out == (
        "audit chain broken: unvouched: events 1 to 4 predate the audit key and no witness "
        "checkpoint vouches for them (`registry audit checkpoint`)\n")
    assert cmd_audit_checkpoint(empty_url, keys, witness) == 0

    async def append() -> None:
        database = Database(empty_url)
        chain = AuditChain(database, keys)
        try:
            async with database.session() as session:
                await chain.append(session, [_record(10), _record(11)])
                await session.commit()
            chain.release(session)
        finally:
            await database.dispose()

    asyncio.run(append())
    assert cmd_audit_checkpoint(empty_url, keys, witness) == 0
    capsys.readouterr()
    assert cmd_audit_verify(empty_url, keys, witness) == 0
    assert capsys.readouterr().out == (
        "audit chain intact: 6 events\n"
        "witness: 2 checkpoints of this chain, the newest at event 6; events 1 to 4 predate "
        "the audit key\n")
