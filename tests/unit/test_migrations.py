from db.migrate import is_current, upgrade


def test_db_upgrade_is_safe_to_run_twice(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert is_current(database_url)


def test_the_migrations_create_exactly_the_tables_the_models_describe(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    import db.models  # noqa: F401
    from db.engine import sync_url

    upgrade(database_url)
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()
