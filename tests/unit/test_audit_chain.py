import asyncio
import random
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from db.audit import (
    GENESIS_HASH,
    AuditChain,
    AuditRecord,
    VerifyResult,
    cmd_audit_verify,
    event_hash,
    event_mac,
    verify_chain,
)
from db.audit_keys import AuditKeys
from db.engine import Database
from db.models.audit import AuditEvent
from tests.conftest import _truncate

TABLE = AuditEvent.__table__  # type: ignore[attr-defined]
# The service's audit key in these tests (db/audit_keys.py): the chain is sealed with it.
KEYS = AuditKeys([secrets.token_bytes(32)])


def _record(n: int = 0, outcome: str = "permit") -> AuditRecord:
    return AuditRecord(
        action="judgment:read",
        outcome=outcome,
        sub=f"officer-{n}",
        role="police",
        agency="NPD",
        client_id="cli_test",
        request_id=f"req-{n}",
        operation="judgments",
        resource_type="judgment",
        resource_ids=[f"jdg_{n}", f"jdg_{n + 1}"],
        purpose="investigation",
        policy_uid="police.reads-open-records",
        policy_version=3,
        detail={"inquiry": None, "codes": ["A1", "Ä2"], "n": n},
    )


async def _append(database: Database, chain: AuditChain, *records: AuditRecord) -> None:
    async with database.session() as session:
        try:
            await chain.append(session, records)
            await session.commit()
        finally:
            chain.release(session)


async def _fill(database: Database, count: int) -> AuditChain:
    chain = AuditChain(database, KEYS)
    for n in range(count):
        await _append(database, chain, _record(n))
    return chain


async def _verify(database: Database, batch: int = 1000) -> VerifyResult:
    async with database.session() as session:
        return await verify_chain(session, KEYS, batch=batch)


async def _sql(database: Database, statement: str, **params: Any) -> None:
    """Tampering as someone with full rights over the database: on PostgreSQL that means
    switching the append-only trigger off first (a superuser can; nobody else)."""
    async with database.session() as session:
        await _as_superuser(session)
        await session.execute(text(statement), params)
        await session.commit()


async def _as_superuser(session: Any) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL session_replication_role = replica"))


async def _row(database: Database, seq: int) -> dict[str, Any]:
    async with database.session() as session:
        row = (
            await session.execute(text("SELECT * FROM audit_event WHERE seq = :s"), {"s": seq})
        ).mappings().one()
        return dict(row)


async def _chain_id(database: Database) -> str:
    async with database.session() as session:
        return str((await session.execute(text("SELECT chain_id FROM audit_chain"))).scalar())


async def _typed_row(database: Database, seq: int) -> dict[str, Any]:
    async with database.session() as session:
        query = select(TABLE).where(TABLE.c.seq == seq)
        return dict((await session.execute(query)).mappings().one())


async def test_an_empty_chain_verifies_with_no_events(database: Database) -> None:
    assert await _verify(database) == VerifyResult(True, 0, None, None)


async def test_appended_events_verify_and_count_from_seq_one_without_gaps(
    database: Database,
) -> None:
    chain = AuditChain(database, KEYS)
    async with database.session() as session:
        first = await chain.append(session, [_record(0), _record(1, "deny")])
        await session.commit()
    chain.release(session)
    await _append(database, chain, _record(2))

    assert [e.seq for e in first] == [1, 2]
    assert first[0].prev_hash == GENESIS_HASH
    assert first[1].prev_hash == first[0].hash
    async with database.session() as session:
        seqs = (await session.execute(text("SELECT seq FROM audit_event ORDER BY seq"))).all()
    assert [s for (s,) in seqs] == [1, 2, 3]
    assert await _verify(database) == VerifyResult(True, 3, None, None)


async def test_verify_streams_in_batches_smaller_than_the_chain(database: Database) -> None:
    await _fill(database, 7)
    assert await _verify(database, batch=2) == VerifyResult(True, 7, None, None)


async def test_a_timestamp_read_back_in_a_new_session_hashes_the_same(
    database: Database,
) -> None:
    chain = AuditChain(database, KEYS)
    async with database.session() as session:
        (written,) = await chain.append(session, [_record(0)])
        await session.commit()
    chain.release(session)

    assert written.at.utcoffset() is not None
    stored = await _row(database, 1)  # untyped raw read: SQLite gives text, PG aware datetime
    assert event_mac(stored, await _chain_id(database), KEYS) == written.hash
    async with database.session() as session:
        result = await verify_chain(session, KEYS)
    assert result.intact and result.count == 1


async def test_an_edited_audit_row_is_named_by_verify(database: Database) -> None:
    await _fill(database, 5)
    await _sql(database, "UPDATE audit_event SET outcome = 'deny' WHERE seq = 3")

    assert await _verify(database) == VerifyResult(
        False, 2, 3, "edited: its content does not match its hash")


async def test_a_deleted_row_in_the_middle_is_named_as_a_gap(database: Database) -> None:
    await _fill(database, 5)
    await _sql(database, "DELETE FROM audit_event WHERE seq = 3")

    assert await _verify(database) == VerifyResult(
        False, 2, 4, "deleted: events 3 to 3 are missing")


async def test_a_deleted_first_row_is_named(database: Database) -> None:
    await _fill(database, 3)
    await _sql(database, "DELETE FROM audit_event WHERE seq = 1")

    assert await _verify(database) == VerifyResult(
        False, 0, 2, "deleted: the chain starts at 2, not 1")


async def test_a_deleted_and_renumbered_row_is_named_as_a_prev_hash_mismatch(
    database: Database,
) -> None:
    await _fill(database, 5)
    await _sql(database, "DELETE FROM audit_event WHERE seq = 3")
    await _sql(database, "UPDATE audit_event SET seq = seq - 1 WHERE seq = 4")

    result = await _verify(database)
    assert (result.intact, result.first_bad_seq) == (False, 3)
    assert result.problem == "edited: its content does not match its hash"


async def test_an_inserted_row_with_its_own_hash_but_a_wrong_prev_hash_is_named(
    database: Database,
) -> None:
    await _fill(database, 4)
    forged = await _typed_row(database, 4)
    forged.update(seq=5, event_id="evt_forged", outcome="permit", prev_hash="f" * 64)
    forged["hash"] = event_hash(forged)
    async with database.session() as session:
        await session.execute(TABLE.insert().values(**forged))
        await session.commit()

    assert await _verify(database) == VerifyResult(
        False, 4, 5, "forged: its hash was computed without the service's key"
    )


async def test_swapping_two_rows_content_is_named(database: Database) -> None:
    await _fill(database, 4)
    second, third = await _typed_row(database, 2), await _typed_row(database, 3)
    async with database.session() as session:
        await _as_superuser(session)
        for seq, content in ((2, third), (3, second)):
            content = {k: v for k, v in content.items() if k not in ("seq", "event_id")}
            await session.execute(TABLE.update().where(TABLE.c.seq == seq).values(**content))
        await session.commit()

    result = await _verify(database)
    assert (result.intact, result.count, result.first_bad_seq) == (False, 1, 2)
    assert result.problem == "reordered: its content was written at another place in the chain"


async def test_a_rolled_back_append_leaves_no_event_and_the_chain_continues(
    database: Database,
) -> None:
    chain = await _fill(database, 2)
    async with database.session() as session:
        await chain.append(session, [_record(10), _record(11)])
        await session.rollback()
    chain.release(session)
    await _append(database, chain, _record(12))

    async with database.session() as session:
        rows = (
            await session.execute(text("SELECT seq, sub FROM audit_event ORDER BY seq"))
        ).all()
    assert [tuple(r) for r in rows] == [(1, "officer-0"), (2, "officer-1"), (3, "officer-12")]
    assert await _verify(database) == VerifyResult(True, 3, None, None)


async def test_release_is_idempotent_and_safe_without_an_append(database: Database) -> None:
    chain = AuditChain(database, KEYS)
    async with database.session() as session:
        chain.release(session)
        await chain.append(session, [_record(0)])
        await chain.append(session, [_record(1)])  # the same transaction appends twice
        await session.commit()
        chain.release(session)
        chain.release(session)
    await _append(database, chain, _record(2))

    assert await _verify(database) == VerifyResult(True, 3, None, None)


async def test_a_session_closed_without_release_does_not_block_the_chain(
    database: Database,
) -> None:
    chain = AuditChain(database, KEYS)
    async with database.session() as session:
        await chain.append(session, [_record(0)])
        await session.commit()
    await asyncio.wait_for(_append(database, chain, _record(1)), timeout=10)

    assert await _verify(database) == VerifyResult(True, 2, None, None)


async def test_fifty_concurrent_transactions_leave_a_gap_free_verifying_chain(
    database: Database,
) -> None:
    chain = AuditChain(database, KEYS)
    rng = random.Random(7)
    sizes = [rng.randint(1, 3) for _ in range(50)]

    async def request(n: int, size: int) -> None:
        async with database.session() as session:
            try:
                if n % 2:  # half write something else first, as the unit of work does
                    await session.execute(
                        text(
                            "INSERT INTO audit_checkpoint (seq, hash, signature, at) "
                            "VALUES (:n, 'h', 's', :at)"
                        ),
                        {"n": n, "at": datetime.now(UTC)},
                    )
                await asyncio.sleep(rng.random() / 100)
                await chain.append(session, [_record(n * 10 + i) for i in range(size)])
                await asyncio.sleep(rng.random() / 100)
                await session.commit()
            finally:
                chain.release(session)

    await asyncio.gather(*(request(n, size) for n, size in enumerate(sizes)))

    async with database.session() as session:
        seqs = (await session.execute(text("SELECT seq FROM audit_event ORDER BY seq"))).all()
    assert [s for (s,) in seqs] == list(range(1, sum(sizes) + 1))
    assert await _verify(database) == VerifyResult(True, sum(sizes), None, None)


async def test_two_chains_on_postgres_do_not_fork(postgres_url: str) -> None:
    # PostgreSQL only: SQLite is the single-process mode, one AuditChain per process.
    _truncate(postgres_url)
    database = Database(postgres_url)
    other = Database(postgres_url)
    try:
        chains = [AuditChain(database, KEYS), AuditChain(other, KEYS)]

        async def request(n: int) -> None:
            db = (database, other)[n % 2]
            await _append(db, chains[n % 2], _record(n))

        await asyncio.gather(*(request(n) for n in range(30)))
        assert await _verify(database) == VerifyResult(True, 30, None, None)
    finally:
        await other.dispose()
        await database.dispose()


async def test_cmd_audit_verify_reports_an_intact_chain(
    database: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await _fill(database, 3)

    witness = str(tmp_path / "witness.jsonl")
    assert await asyncio.to_thread(cmd_audit_verify, database.url, KEYS, witness) == 0
    assert capsys.readouterr().out == (
        "audit chain intact: 3 events\nwitness: 0 checkpoints of this chain\n")


async def test_cmd_audit_verify_names_the_first_bad_event(
    database: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await _fill(database, 4)
    await _sql(database, "UPDATE audit_event SET outcome = 'deny' WHERE seq = 2")
    event_id = (await _row(database, 2))["event_id"]

    witness = str(tmp_path / "witness.jsonl")
    assert await asyncio.to_thread(cmd_audit_verify, database.url, KEYS, witness) == 1
    assert capsys.readouterr().out == (
        f"audit chain broken at event 2 ({event_id}): edited: its content does not match "
        "its hash\n"
    )


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET outcome = 'deny' WHERE seq = 2",
    "DELETE FROM audit_event WHERE seq = 2",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "TRUNCATE audit_event, audit_checkpoint RESTART IDENTITY CASCADE",
    # the signed heads are append-only too: deleting them would hide a rewrite
    "DELETE FROM audit_checkpoint",
    "UPDATE audit_checkpoint SET signature = 'x'",
    "TRUNCATE audit_checkpoint",
])
async def test_on_postgresql_the_database_refuses_to_edit_or_delete_the_audit_trail(
    postgres_url: str, statement: str,
) -> None:
    from sqlalchemy.exc import DBAPIError

    _truncate(postgres_url)
    database = Database(postgres_url)
    try:
        await _fill(database, 3)
        async with database.session() as session:
            with pytest.raises(DBAPIError, match="audit_(event|checkpoint) is append-only"):
                await session.execute(text(statement))
            await session.rollback()
        assert await _verify(database) == VerifyResult(True, 3, None, None)
    finally:
        await database.dispose()
