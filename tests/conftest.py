"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests read `REGISTRY_TEST_POSTGRES_URL`; without it they skip with a reason,
and with `REQUIRE_POSTGRES=1` (CI) a missing URL is an error instead of a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

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
    "judgment", "judgment_tally", "offender", "oauth_client", "policy_change", "policy",
    "agency",
)


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
    path: Path = tmp_path_factory.mktemp("sqlite") / "registry.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


async def clear_tables(session: Any, tables: Sequence[str]) -> None:
    """Empties `tables` in the session's transaction. On PostgreSQL the append-only trigger
    of audit_event (migration 0004) is switched off for this transaction only, as a superuser
    clearing a test database may; the caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL session_replication_role = replica"))
    for table in tables:
        await session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - constant names


def _truncate(url: str) -> None:  # also used by PostgreSQL-only tests
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # The audit table refuses DELETE (migration 0004) unless triggers are off, and so
            # are the foreign keys' triggers then. A test leaves a few rows: DELETE is several
            # times faster than TRUNCATE, which makes new files for every table it empties.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - constant names
        else:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - constant names
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: one run on SQLite, one on PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    _truncate(url)
    return url


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
