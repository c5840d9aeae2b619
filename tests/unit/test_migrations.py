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


def test_migration_0009_attributes_the_notices_already_received_to_their_senders(
        database_url: str) -> None:
    """Who sent a notice comes from the permitted event of the operation that created it;
    a notice the trail does not name stays unattributed, and nothing else changes."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from db.engine import sync_url
    from db.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "0011")  # the revision before 0009
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO agency (id, code, kind, name, region, created_at) "
                "VALUES (1, 'PRISON-110000', 'PRISON', 'Prison', '110000', CURRENT_TIMESTAMP)"))
            for n, public_id in enumerate(("ntc_a", "ntc_b", "ntc_c"), start=1):
                connection.execute(text(
                    "INSERT INTO notice (id, public_id, kind, sender_agency_id, notice_number,"
                    " content_hash, queue_region, status, late, payload, created_at) VALUES"
                    " (:n, :p, 'RELEASE', 1, :p, 'h', '', 'UNMATCHED', false, '{}',"
                    " CURRENT_TIMESTAMP)"), {"n": n, "p": public_id})
            events = [(1, "notice:report", "permit", '["ntc_a"]', "officer.a"),
                      (2, "notice:read", "permit", '["ntc_b"]', "clerk.b"),
                      (3, "notice:report", "deny", '["ntc_b"]', "officer.x"),
                      (4, "judgment:report", "permit", '["jdg_1", "ntc_b"]', "judge.b"),
                      (5, "notice:report", "permit", '["ntc_a"]', "officer.later")]
            for seq, action, outcome, ids, sub in events:
                connection.execute(text(
                    "INSERT INTO audit_event (seq, event_id, at, request_id, sub, role, agency,"
                    " client_id, operation, action, resource_type, resource_ids, purpose,"
                    " inquiry_id, case_number, outcome, policy_uid, policy_version, detail,"
                    " prev_hash, hash) VALUES (:seq, :e, CURRENT_TIMESTAMP, '', :sub, 'role', '',"
                    " '', '', :action, 'notice', :ids, '', '', '', :outcome, '', 0, '{}', '',"
                    " '')"), {"seq": seq, "e": f"evt_{seq}", "sub": sub, "action": action,
                             "ids": ids, "outcome": outcome})
        upgrade(database_url)
        with engine.connect() as connection:
            found = connection.execute(text(
                "SELECT public_id, sender_sub, sender_role, status FROM notice "
                "ORDER BY public_id")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in found] == [("ntc_a", "officer.a", "role", "UNMATCHED"),
                                             ("ntc_b", "judge.b", "role", "UNMATCHED"),
                                             ("ntc_c", "", "", "UNMATCHED")]
