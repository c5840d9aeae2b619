"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests read `REGISTRY_TEST_POSTGRES_URL`; without it they skip with a reason,
and with `REQUIRE_POSTGRES=1` (CI) a missing URL is an error instead of a skip.
"""

from __future__ import annotations

import gc
import itertools
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from db.engine import Database, sync_url
from db.migrate import upgrade

POSTGRES_URL = os.environ.get("REGISTRY_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
REDIS_URL = os.environ.get("REGISTRY_TEST_REDIS_URL")
REQUIRE_REDIS = os.environ.get("REQUIRE_REDIS") == "1"

# Tables emptied between tests (children first).
TABLES = (
    "audit_checkpoint", "audit_event", "audit_chain", "seal_event", "execution_event", "notice",
    "judgment_version", "detention", "certificate", "inquiry_record", "inquiry",
    "defense_counsel", "case_party", "criminal_case",
    "judgment", "judgment_tally", "offender", "oauth_refresh_token",
    "oauth_authorization_code", "oauth_grant", "oauth_client", "registry_user", "policy_change",
    "policy", "agency",
)


# -- the test process's garbage collector ----------------------------------------------
# A test process holds what it imported and collected (modules, the schema, the tests and
# their parameters: ~200,000 objects), and every full collection of the cyclic garbage
# collector walks all of it again: a quarter of the process's CPU time went to collections
# (tests/api/test_cases.py, test_policy_admin.py, tests/security/test_errors.py: 13 s of
# 55 s). Frozen after collection, those objects are left out of every collection; the
# objects the tests make are collected as before, the youngest as often as ever, the oldest
# (a full collection) after 100 collections of the middle generation instead of 10 (with
# so few long-lived objects left, the 10 came around every few tests). Before the session
# ends they are unfrozen, so that the last collections (and the unraisable-exception check)
# see everything.
FULL_COLLECTION_EVERY = 100


def pytest_collection_finish(session: pytest.Session) -> None:
    import hypothesis  # noqa: F401 - its plugins register their PRNGs before the freeze

    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    gc.unfreeze()


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """SQLAlchemy keeps each mapper's compiled INSERT/UPDATE statements per dialect (an LRU of
    500): a dialect belongs to one engine, and the tests make several engines each, so the
    cache only held the statements of engines already disposed, with their dialects (~600
    objects a test, walked by every collection afterwards). Emptied after every test: an
    engine still open compiles its statement again on its next use."""
    for mapper in SQLModel._sa_registry.mappers:  # noqa: SLF001
        mapper._compiled_cache.clear()  # noqa: SLF001


def _postgres_database() -> Iterator[str]:
    """A throw-away database on the test server, migrated once for the session."""
    yield from fresh_postgres_database(migrated=True)


def fresh_postgres_database(*, migrated: bool = False) -> Iterator[str]:
    """A throw-away database on the test server (migrated to the head, or untouched),
    dropped afterwards."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("REQUIRE_POSTGRES=1 but REGISTRY_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests need REGISTRY_TEST_POSTGRES_URL (e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    name = f"registry_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sync_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A throw-away database: a commit need not wait for its WAL to reach the disk. What
        # the tests check (isolation, locks, triggers, what is visible after a commit) does
        # not change; only a crash of the server could lose the last commits.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            upgrade(url)
        yield url
    finally:
        emptier = _emptiers.pop(url, None)
        if emptier is not None:
            emptier.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture(scope="session")
def signing_key_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One issuer key for this test process's applications: generating an RSA key costs
    ~50 ms and parsing one ~100 ms (api/issuer.SigningKeys keeps a parsed file), per app."""
    return str(tmp_path_factory.mktemp("keys") / "signing-key.pem")


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated SQLite file for this test process (tests empty it with `_truncate`)."""
    path: Path = tmp_path_factory.mktemp("sqlite") / "registry.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file that no test ever opens: `database_url` copies it. A
    copy (~1 ms) costs less than emptying 22 tables (~20 ms), and no row of another test
    can be left in it."""
    path: Path = tmp_path_factory.mktemp("sqlite-template") / "registry.db"
    upgrade(f"sqlite:///{path}")
    # Every page in the main file and no -wal beside it, so that the file alone is the
    # database (migrations leave it in WAL mode: a copy opens in WAL mode as well).
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


_copies = itertools.count(1)


def _sqlite_copy(template: Path) -> Iterator[str]:
    """A file of its own for one test, copied from `template`; removed after the test."""
    path = template.parent.parent / f"registry-{os.getpid()}-{next(_copies)}.db"
    shutil.copyfile(template, path)
    try:
        yield f"sqlite:///{path}"
    finally:
        for name in (str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"):
            Path(name).unlink(missing_ok=True)


async def clear_tables(session: Any, tables: Sequence[str]) -> None:
    """Empties `tables` in the session's transaction. On PostgreSQL the append-only trigger
    of audit_event (migration 0004) is switched off for this transaction only, as a superuser
    clearing a test database may; the caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL session_replication_role = replica"))
    for table in tables:
        await session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - constant names


_EMPTY_POSTGRES = "".join(["SET LOCAL session_replication_role = replica; ",
                           *(f"DELETE FROM {table}; " for table in TABLES)])  # noqa: S608
# One engine per PostgreSQL database for emptying it, kept for the test process: a new
# connection per test costs more than the DELETEs.
_emptiers: dict[str, Engine] = {}


def _truncate(url: str) -> None:  # also used by PostgreSQL-only tests
    if make_url(url).get_backend_name() != "postgresql":
        engine = create_engine(sync_url(url))
        with engine.begin() as conn:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - constant names
        engine.dispose()
        return
    if url not in _emptiers:
        _emptiers[url] = create_engine(sync_url(url), poolclass=pool.QueuePool, pool_size=1,
                                       pool_pre_ping=True)
    with _emptiers[url].begin() as conn:
        # The audit table refuses DELETE (migration 0004) unless triggers are off, and so
        # are the foreign keys' triggers then. A test leaves a few rows: DELETE is several
        # times faster than TRUNCATE, which makes new files for every table it empties.
        # One round trip: the statements go as one simple query (no parameters).
        conn.exec_driver_sql(_EMPTY_POSTGRES)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database: one run on SQLite (a fresh copy of a migrated file), one
    on PostgreSQL (the process's database, emptied)."""
    if request.param == "sqlite":
        yield from _sqlite_copy(request.getfixturevalue("_sqlite_template"))
        return
    url: str = request.getfixturevalue("postgres_url")
    _truncate(url)
    yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def redis_url() -> str:
    """The test Redis (`REGISTRY_TEST_REDIS_URL`); skipped where unset, an error under
    `REQUIRE_REDIS=1` (CI). Tests keep apart by a prefix of their own (`redis_prefix`)."""
    if not REDIS_URL:
        if REQUIRE_REDIS:
            pytest.fail("REQUIRE_REDIS=1 but REGISTRY_TEST_REDIS_URL is not set")
        pytest.skip("Redis tests need REGISTRY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test (or xdist worker) uses."""
    return f"registry-test-{uuid.uuid4().hex[:12]}"
