"""The judgment tally (migration 0013) is exact after any change of judgments, however it is
written: the seed's bulk writes, one row or many rows updated, a change of region, deletions,
and a test's clearing with triggers switched off (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text

from api.seed import seed_demo
from db.engine import Database
from tests.conftest import clear_tables
from tests.unit.test_migrations import _tally_and_count


async def test_the_judgment_tally_counts_exactly_what_the_judgment_table_holds(
        database: Database, database_url: str) -> None:
    async with database.session() as session:
        await seed_demo(session, judgments=40, batch=15)
        await session.commit()
    kept, counted = _tally_and_count(database_url)
    assert kept == counted and len(kept) >= 8
    changes = [
        "UPDATE judgment SET seal_status = 'sealed' WHERE id IN "
        "(SELECT id FROM judgment ORDER BY id LIMIT 7)",
        "UPDATE judgment SET seal_status = 'open' WHERE id = (SELECT min(id) FROM judgment)",
        "UPDATE judgment SET region = '440103', verdict = 'acquitted' WHERE id % 5 = 0",
        "UPDATE judgment SET version = version + 1",  # nothing the tally keeps
        "DELETE FROM seal_event WHERE judgment_id % 3 = 0",
        "DELETE FROM judgment WHERE id % 3 = 0",
    ]
    async with database.session() as session:
        for change in changes:
            await session.execute(text(change))
        await session.commit()
    kept, counted = _tally_and_count(database_url)
    assert kept == counted and ("440103", "open", "acquitted") in {k[:3] for k in kept}
    async with database.session() as session:
        await clear_tables(session, ["seal_event", "judgment"])
        await session.commit()
    assert _tally_and_count(database_url) == (set(), set())
