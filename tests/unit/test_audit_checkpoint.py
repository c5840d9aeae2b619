"""The audit trail against its own database administrator (DESIGN.md §1.5, issue 12): the
chain is sealed with the service's key, kept outside the database, and the service hands
signed checkpoints of the head to a witness file. Each attack below is what someone with
full rights over the database (on PostgreSQL a superuser, triggers switched off) or over
the witness file can do; `registry audit verify` must exit 1 and name what it found."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from db.audit import (
    GENESIS_HASH,
    AuditChain,
    CheckpointWriter,
    cmd_audit_checkpoint,
    cmd_audit_verify,
    event_hash,
)
from db.audit_keys import AuditKeys, append_witness
from db.engine import Database
from db.migrate import upgrade
from db.models.audit import AuditEvent
from tests.unit.test_audit_chain import _as_superuser, _record

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


@pytest.fixture
def keys(tmp_path: Path) -> AuditKeys:
    return AuditKeys.load_or_create(str(tmp_path / "audit-key"))


@pytest.fixture
def witness(tmp_path: Path) -> str:
    return str(tmp_path / "audit-witness.jsonl")


def fill(database_url: str, keys: AuditKeys, count: int, sub: Callable[[int], str] | None = None
         ) -> None:
    async def work(database: Database) -> None:
        chain = AuditChain(database, keys)
        for n in range(count):
            record = _record(n)
            if sub is not None:
                record.sub = sub(n)
            async with database.session() as session:
                try:
                    await chain.append(session, [record])
                    await session.commit()
                finally:
                    chain.release(session)

    run(database_url, work)


def sql(database_url: str, statement: str, **params: Any) -> None:
    async def work(database: Database) -> None:
        async with database.session() as session:
            await _as_superuser(session)
            await session.execute(text(statement), params)
            await session.commit()

    run(database_url, work)


def rows(database_url: str) -> list[dict[str, Any]]:
    async def work(database: Database) -> list[dict[str, Any]]:
        async with database.session() as session:
            return [dict(r._mapping) for r in (await session.execute(
                select(TABLE).order_by(TABLE.c.seq))).all()]

    return list(run(database_url, work))


def rehash_unkeyed(database_url: str, replacement: list[dict[str, Any]]) -> None:
    """Replaces the whole chain with `replacement`, renumbered from 1 and every hash
    recomputed as the attacker can: without the key."""
    async def work(database: Database) -> None:
        async with database.session() as session:
            await _as_superuser(session)
            await session.execute(TABLE.delete())
            previous = GENESIS_HASH
            for seq, row in enumerate(replacement, 1):
                row = {**row, "seq": seq, "prev_hash": previous}
                row["hash"] = previous = event_hash(row)
                await session.execute(TABLE.insert().values(**row))
            await session.commit()

    run(database_url, work)


def verify(database_url: str, keys: AuditKeys | None, witness: str,
           capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cmd_audit_verify(database_url, keys, witness)
    return code, capsys.readouterr().out


def checkpoint(database_url: str, keys: AuditKeys, witness: str) -> None:
    assert cmd_audit_checkpoint(database_url, keys, witness) == 0


def test_a_checkpointed_chain_verifies_and_says_how_far_the_witness_reaches(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 3)
    assert cmd_audit_checkpoint(database_url, keys, witness) == 0
    assert capsys.readouterr().out == "audit checkpoint 1 written at event 3\n"

    assert verify(database_url, keys, witness, capsys) == (0, (
        "audit chain intact: 3 events\n"
        "witness: 1 checkpoints of this chain, the newest at event 3\n"))


def test_a_forged_event_appended_with_its_hash_recomputed_is_named_forged(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 4)
    checkpoint(database_url, keys, witness)
    forged = {**rows(database_url)[-1], "seq": 5, "event_id": "evt_forged", "outcome": "deny"}
    forged["prev_hash"] = rows(database_url)[-1]["hash"]
    forged["hash"] = event_hash(forged)
    run(database_url, lambda d: _insert(d, forged))

    assert verify(database_url, keys, witness, capsys) == (1, (
        "audit chain broken at event 5 (evt_forged): forged: its hash was computed without "
        "the service's key\n"))


async def _insert(database: Database, row: dict[str, Any]) -> None:
    async with database.session() as session:
        await session.execute(TABLE.insert().values(**row))
        await session.commit()


def test_the_events_after_the_last_checkpoint_rewritten_are_named(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 10)
    checkpoint(database_url, keys, witness)
    fill(database_url, keys, 15)
    chain = rows(database_url)
    for row in chain[10:]:
        row["outcome"] = "deny"
    rehash_unkeyed(database_url, chain)

    code, out = verify(database_url, keys, witness, capsys)
    assert code == 1
    assert out.startswith("audit chain broken at event 1 (")
    assert out.endswith("): forged: its hash was computed without the service's key\n")


def test_the_events_after_the_last_checkpoint_edited_keeping_their_hashes_are_named_edited(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 10)
    checkpoint(database_url, keys, witness)
    fill(database_url, keys, 15)
    sql(database_url, "UPDATE audit_event SET outcome = 'deny' WHERE seq > 10")

    code, out = verify(database_url, keys, witness, capsys)
    assert code == 1
    assert out.startswith("audit chain broken at event 11 (")
    assert out.endswith("): edited: its content does not match its hash\n")


def test_deleting_the_newest_events_is_found_once_a_checkpoint_covering_them_is_witnessed(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 10)
    checkpoint(database_url, keys, witness)
    fill(database_url, keys, 15)
    checkpoint(database_url, keys, witness)  # the service's next one (every minute, shutdown)
    sql(database_url, "DELETE FROM audit_event WHERE seq > 10")

    assert verify(database_url, keys, witness, capsys) == (1, (
        "audit chain broken: truncated: the chain ends at event 10, witness checkpoint 2 at "
        "event 25 (line 2) was taken after it\n"))


def test_deleting_newest_events_that_no_checkpoint_covers_yet_is_not_found(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The limit README states: what was written since the newest witnessed checkpoint (at
    most a minute of events while the service runs) can be cut off unseen."""
    fill(database_url, keys, 10)
    checkpoint(database_url, keys, witness)
    fill(database_url, keys, 15)
    sql(database_url, "DELETE FROM audit_event WHERE seq > 10")

    assert verify(database_url, keys, witness, capsys)[0] == 0


def test_checkpoint_rows_deleted_then_one_requesters_events_removed_and_the_chain_renumbered_and_rehashed_is_found(  # noqa: E501
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 30, sub=lambda n: "officer-hidden" if n % 3 == 1 else f"o-{n}")
    checkpoint(database_url, keys, witness)
    sql(database_url, "DELETE FROM audit_checkpoint")
    kept = [row for row in rows(database_url) if row["sub"] != "officer-hidden"]
    rehash_unkeyed(database_url, kept)

    code, out = verify(database_url, keys, witness, capsys)
    assert code == 1
    assert out.startswith("audit chain broken at event 1 (")
    assert out.endswith("): forged: its hash was computed without the service's key\n")


def test_one_requesters_events_removed_and_the_rest_keeping_their_macs_is_named(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 9, sub=lambda n: "officer-hidden" if n == 4 else f"o-{n}")
    checkpoint(database_url, keys, witness)
    sql(database_url, "DELETE FROM audit_event WHERE sub = 'officer-hidden'")

    code, out = verify(database_url, keys, witness, capsys)
    assert code == 1
    assert out.endswith("): deleted: events 5 to 5 are missing\n")


def test_swapping_two_events_is_named_reordered(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 5)
    checkpoint(database_url, keys, witness)
    sql(database_url, "UPDATE audit_event SET seq = -3 WHERE seq = 3")
    sql(database_url, "UPDATE audit_event SET seq = 3 WHERE seq = 4")
    sql(database_url, "UPDATE audit_event SET seq = 4 WHERE seq = -3")

    code, out = verify(database_url, keys, witness, capsys)
    assert code == 1
    assert out.startswith("audit chain broken at event 3 (")
    assert "): reordered: " in out


def test_deleting_the_witness_last_line_is_named_as_a_witness_that_shrank(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 3)
    checkpoint(database_url, keys, witness)
    fill(database_url, keys, 2)
    checkpoint(database_url, keys, witness)
    lines = Path(witness).read_text().splitlines(keepends=True)
    Path(witness).write_text("".join(lines[:-1]))

    assert verify(database_url, keys, witness, capsys) == (1, (
        "audit chain broken: truncated witness: the database records 2 checkpoints of this "
        "chain, the witness holds 1: the witness shrank\n"))


def test_deleting_a_witness_line_in_the_middle_is_named(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(3):
        fill(database_url, keys, 2)
        checkpoint(database_url, keys, witness)
    lines = Path(witness).read_text().splitlines(keepends=True)
    Path(witness).write_text(lines[0] + lines[2])

    assert verify(database_url, keys, witness, capsys) == (1, (
        "audit chain broken: deleted: the witness lost checkpoint 2\n"))


def test_a_second_witness_entry_forged_with_another_key_is_named(
        database_url: str, keys: AuditKeys, witness: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 3)
    checkpoint(database_url, keys, witness)
    claims = json.loads(Path(witness).read_text().splitlines()[0])
    del claims["jws"]
    other = AuditKeys.load_or_create(str(tmp_path / "attacker-key"))
    append_witness(witness, other, {**claims, "n": 2})

    assert verify(database_url, keys, witness, capsys) == (1, (
        "audit chain broken: forged witness line 2: its signature is not the service's key\n"))


def test_a_witness_line_whose_readable_fields_were_edited_is_named(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 3)
    checkpoint(database_url, keys, witness)
    line = json.loads(Path(witness).read_text())
    Path(witness).write_text(json.dumps({**line, "seq": 2}) + "\n")

    assert verify(database_url, keys, witness, capsys) == (1, (
        "audit chain broken: forged witness line 1: its readable fields differ from the "
        "signed ones\n"))


def test_verify_without_the_key_cannot_pass_a_keyed_chain(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 2)

    code, out = verify(database_url, None, witness, capsys)
    assert code == 1
    assert out.endswith("): cannot be checked: the audit key (REGISTRY_AUDIT_KEY_FILE) is "
                        "missing\n")


def test_events_sealed_with_a_rotated_out_key_still_verify(
        database_url: str, tmp_path: Path, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "audit-key")
    old = AuditKeys.load_or_create(path)
    fill(database_url, old, 3)
    checkpoint(database_url, old, witness)
    new = AuditKeys.rotate(path)
    assert new.current != old.current
    fill(database_url, new, 2)
    checkpoint(database_url, new, witness)

    assert verify(database_url, new, witness, capsys) == (0, (
        "audit chain intact: 5 events\n"
        "witness: 2 checkpoints of this chain, the newest at event 5\n"))
    assert old.current not in Path(witness).read_text().splitlines()[1]


def test_one_witness_serves_two_databases_without_confusing_them(
        sqlite_url: str, keys: AuditKeys, witness: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import _truncate

    _truncate(sqlite_url)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other)
    fill(sqlite_url, keys, 3)
    fill(other, keys, 5)
    checkpoint(sqlite_url, keys, witness)
    checkpoint(other, keys, witness)
    fill(other, keys, 1)
    checkpoint(other, keys, witness)

    assert verify(sqlite_url, keys, witness, capsys) == (0, (
        "audit chain intact: 3 events\n"
        "witness: 1 checkpoints of this chain, the newest at event 3\n"))
    assert verify(other, keys, witness, capsys) == (0, (
        "audit chain intact: 6 events\n"
        "witness: 2 checkpoints of this chain, the newest at event 6\n"))


def test_deleting_the_chains_id_is_named(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 2)
    checkpoint(database_url, keys, witness)
    sql(database_url, "DELETE FROM audit_chain")

    code, out = verify(database_url, keys, witness, capsys)
    assert code == 1
    assert out.endswith("): rewritten: the database's chain id (audit_chain) is gone\n")


def test_an_empty_chain_gets_no_checkpoint(database_url: str, keys: AuditKeys, witness: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_audit_checkpoint(database_url, keys, witness) == 1
    assert not Path(witness).exists()


def test_the_legacy_unkeyed_prefix_verifies_only_once_a_witness_checkpoint_vouches_for_it(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A database migrated from before the key: its events are unkeyed, and `legacy_until`
    (set by migration 0011) says where they end. The first checkpoint signs that."""
    fill(database_url, keys, 3)
    legacy = [{**row, "key_id": ""} for row in rows(database_url)]
    rehash_unkeyed(database_url, legacy)
    sql(database_url, "UPDATE audit_chain SET legacy_until = 3")

    assert verify(database_url, keys, witness, capsys) == (1, (
        "audit chain broken: unvouched: events 1 to 3 predate the audit key and no witness "
        "checkpoint vouches for them (`registry audit checkpoint`)\n"))
    checkpoint(database_url, keys, witness)
    fill(database_url, keys, 2)  # keyed from here on, chained onto the prefix
    checkpoint(database_url, keys, witness)
    assert verify(database_url, keys, witness, capsys) == (0, (
        "audit chain intact: 5 events\n"
        "witness: 2 checkpoints of this chain, the newest at event 5; events 1 to 3 predate "
        "the audit key\n"))

    # Rewriting the vouched prefix: the first keyed event no longer follows it.
    chain = rows(database_url)
    chain[1]["outcome"] = "deny"
    rehash_unkeyed(database_url, chain[:3])
    run(database_url, lambda d: _insert_all(d, chain[3:]))
    code, out = verify(database_url, keys, witness, capsys)
    assert code == 1
    assert out.startswith("audit chain broken at event 4 (")
    assert "): rewritten or deleted: the event it was chained to is gone" in out


async def _insert_all(database: Database, chain: list[dict[str, Any]]) -> None:
    async with database.session() as session:
        for row in chain:
            await session.execute(TABLE.insert().values(**row))
        await session.commit()


def test_an_unkeyed_event_past_the_vouched_prefix_is_named_forged(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 3)
    checkpoint(database_url, keys, witness)  # a chain keyed from the start: legacy_until 0
    rehash_unkeyed(database_url, [{**row, "key_id": ""} for row in rows(database_url)])
    sql(database_url, "UPDATE audit_chain SET legacy_until = 3")

    assert verify(database_url, keys, witness, capsys) == (1, (
        "audit chain broken: forged: events up to 3 are unkeyed, the witness vouches for an "
        "unkeyed prefix up to event 0\n"))


def test_the_checkpoint_writers_of_several_processes_take_turns(
        database_url: str, keys: AuditKeys, witness: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    fill(database_url, keys, 3)

    async def race(database: Database) -> list[Any]:
        other = Database(database_url)
        try:
            writers = [CheckpointWriter(db, keys, witness, 60.0)
                       for db in (database, other) * 4]
            return list(await asyncio.gather(*(w.write() for w in writers)))
        finally:
            await other.dispose()

    written = [claims for claims in run(database_url, race) if claims is not None]
    assert [claims["n"] for claims in written] == [1]  # the head was covered after that
    assert len(Path(witness).read_text().splitlines()) == 1
    assert verify(database_url, keys, witness, capsys)[0] == 0


def test_the_key_never_appears_in_its_repr(keys: AuditKeys, tmp_path: Path) -> None:
    secret = (tmp_path / "audit-key").read_text().split()[1]
    assert secret not in repr(keys)
    assert keys.current in repr(keys)
