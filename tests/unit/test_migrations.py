from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from db.engine import sync_url
from db.migrate import downgrade, is_current, upgrade
from tests.conftest import fresh_postgres_database


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


# -- 0008: cases -----------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database that no migration has touched yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    yield from fresh_postgres_database()


LEGACY = ("(2025) Jing Dong Jian Xing Su No. 3", "lawyer.zhang", "110101199005170016")


def _legacy_rows(url: str) -> None:
    """What a registry of revision 0007 holds: a counsel registration made by any organ
    for a case number nobody registered, and the DEFENSE inquiries it answered."""
    case, lawyer, suspect = LEGACY
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO agency (id, code, kind, name, region, created_at) "
                          "VALUES (1, 'PSB-110101', 'PUBLIC_SECURITY', 'Police', '110101', "
                          ":now), (2, 'LAW-110101', 'LAW_FIRM', 'Firm', '110101', :now)"),
                     {"now": datetime(2026, 1, 1, tzinfo=UTC)})
        conn.execute(text("INSERT INTO defense_counsel (case_number, lawyer_sub, "
                          "suspect_id_number, registered_by, registered_by_agency_id, "
                          "created_at) VALUES (:c, :l, :s, 'police.x', 1, :now)"),
                     {"c": case, "l": lawyer, "s": suspect,
                      "now": datetime(2026, 1, 1, tzinfo=UTC)})
        for public_id, status, number in (("inq_approved", "APPROVED", case),
                                          ("inq_rejected", "REJECTED", case),
                                          ("inq_elsewhere", "APPROVED", "another case")):
            conn.execute(text(
                "INSERT INTO inquiry (public_id, purpose, status, requester_sub, "
                "requester_role, requester_agency_id, region, subject_id_number, case_number, "
                "submitted_at) VALUES (:p, 'DEFENSE', :st, :l, 'defense_lawyer', 2, '110101', "
                ":s, :c, :now)"),
                {"p": public_id, "st": status, "l": lawyer, "s": suspect, "c": number,
                 "now": datetime(2026, 1, 2, tzinfo=UTC)})
    engine.dispose()


def test_0008_keeps_counsel_registrations_and_keeps_approved_defense_inquiries_readable(
        unmigrated_url: str) -> None:
    upgrade(unmigrated_url, "0007")
    _legacy_rows(unmigrated_url)
    upgrade(unmigrated_url)
    engine = create_engine(sync_url(unmigrated_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT case_number, lawyer_sub, suspect_id_number, "
                                     "registered_by, case_id FROM defense_counsel")).all()
            assert [tuple(r) for r in rows] == [(*LEGACY, "police.x", None)]
            flags = dict(conn.execute(text("SELECT public_id, is_counsel FROM inquiry")).all())
        # The approved inquiry is read again as it was approved: as counsel.
        assert flags == {"inq_approved": True, "inq_rejected": False, "inq_elsewhere": False}
        with engine.begin() as conn:
            # Registered again once the case is: a row beside the old one, not instead.
            conn.execute(text("INSERT INTO criminal_case (public_id, case_number, agency_id, "
                              "stage, open, registered_by, registered_at) VALUES ('cas_1', "
                              ":c, 1, 'INVESTIGATION', :t, 'police.x', :now)"),
                         {"c": LEGACY[0], "t": True, "now": datetime(2026, 2, 1, tzinfo=UTC)})
            conn.execute(text("INSERT INTO defense_counsel (case_id, case_number, lawyer_sub, "
                              "suspect_id_number, registered_by, registered_by_agency_id, "
                              "created_at) SELECT id, case_number, :l, :s, 'police.y', 1, "
                              ":now FROM criminal_case"),
                         {"l": LEGACY[1], "s": LEGACY[2],
                          "now": datetime(2026, 2, 1, tzinfo=UTC)})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM defense_counsel")).scalar() == 2
    finally:
        engine.dispose()
    # And back: the older registration of each (case number, lawyer, suspect) stays.
    downgrade(unmigrated_url, "0007")
    engine = create_engine(sync_url(unmigrated_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT registered_by FROM defense_counsel")).all()
        assert [r[0] for r in rows] == ["police.x"]
    finally:
        engine.dispose()


# -- 0012: policy changes with approval ------------------------------------------------------


def test_migration_0012_lets_the_admins_who_wrote_policies_approve_each_others_changes(
        database_url: str) -> None:
    """A registry whose security-admin policy is the earlier default gets a version of it
    with policy:approve added (author migration:0012); a downgrade takes that version away."""
    import json

    from alembic import command

    from db.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "0009")
    earlier = {"uid": "security-admin.manages-policies", "description": "Security staff.",
               "effect": "allow", "targets": {},
               "rules": {"subject": {"$.role": {"condition": "Equals", "value": "security_admin"}},
                         "resource": {"$.type": {"condition": "Equals", "value": "policy"}},
                         "action": {"$.name": {"condition": "IsIn",
                                               "values": ["policy:read", "policy:write"]}},
                         "context": {}}}
    engine = create_engine(sync_url(database_url))

    def versions() -> list[tuple[int, str, list[str]]]:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT version, author, document FROM policy ORDER BY version")).all()
        return [(v, a, (d if isinstance(d, dict) else json.loads(d))["rules"]["action"][
            "$.name"]["values"]) for v, a, d in rows]

    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO policy (uid, version, document, deleted, author, created_at) "
                "VALUES (:uid, 1, :doc, false, 'system', :now)"),
                {"uid": earlier["uid"], "doc": json.dumps(earlier),
                 "now": datetime(2026, 1, 1, tzinfo=UTC)})
        upgrade(database_url)
        assert versions() == [
            (1, "system", ["policy:read", "policy:write"]),
            (2, "migration:0012", ["policy:read", "policy:write", "policy:approve"])]
        command.downgrade(alembic_config(database_url), "0009")
        assert versions() == [(1, "system", ["policy:read", "policy:write"])]
        upgrade(database_url)
    finally:
        engine.dispose()


# -- 0013: growth: name search index, judgment tally --------------------------------------------

def _tally_and_count(url: str) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    """(judgment_tally's non-zero rows, the same numbers counted from `judgment`)."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            kept = {tuple(r) for r in conn.execute(text(
                "SELECT region, seal_status, verdict, n FROM judgment_tally WHERE n <> 0"))}
            counted = {tuple(r) for r in conn.execute(text(
                "SELECT region, seal_status, verdict, count(*) FROM judgment "
                "GROUP BY region, seal_status, verdict"))}
    finally:
        engine.dispose()
    return kept, counted


def test_0013_counts_the_judgments_already_there_and_downgrades_cleanly(
        database_url: str) -> None:
    from sqlalchemy import inspect

    from api.seed import seed_demo
    from db.engine import run_in_session

    async def seeded(session: Any) -> None:
        await seed_demo(session, judgments=20)
        await session.commit()

    run_in_session(database_url, seeded)
    downgrade(database_url, "0012")
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            assert "judgment_tally" not in inspect(conn).get_table_names()
            names = {i["name"] for i in inspect(conn).get_indexes("offender")}
            assert "ix_offender_name" not in names
    finally:
        engine.dispose()
    upgrade(database_url)
    kept, counted = _tally_and_count(database_url)
    assert kept == counted and sum(int(str(row[3])) for row in kept) == 20


# -- 0014: the people who sign in to the embedded issuer --------------------------------------

def test_the_migration_upgrades_and_downgrades(database_url: str) -> None:
    """0014 adds registry_user (one row per sub, an agency that exists) and takes it away."""
    from sqlalchemy import event, inspect
    from sqlalchemy.exc import IntegrityError

    downgrade(database_url, "0013")
    engine = create_engine(sync_url(database_url))
    if engine.dialect.name == "sqlite":  # as the application's engine does (db/engine.py)
        event.listen(engine, "connect",
                     lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"))
    insert = text("INSERT INTO registry_user (sub, role, agency_code, password_hash, disabled, "
                  "created_at, updated_at) VALUES (:sub, 'judge', :agency, 'scrypt$...', "
                  ":f, :now, :now)")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with engine.connect() as conn:
            assert "registry_user" not in inspect(conn).get_table_names()
        upgrade(database_url)
        assert is_current(database_url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO agency (code, kind, name, region, created_at) "
                              "VALUES ('COURT-110101', 'COURT', 'Court', '110101', :now)"),
                         {"now": now})
            conn.execute(insert, {"sub": "judge.li", "agency": "COURT-110101", "f": False,
                                  "now": now})
        for sub, agency in (("judge.li", None), ("judge.wu", "COURT-999999")):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(insert, {"sub": sub, "agency": agency, "f": False, "now": now})
        downgrade(database_url, "0013")
        with engine.connect() as conn:
            assert "registry_user" not in inspect(conn).get_table_names()
    finally:
        engine.dispose()
        upgrade(database_url)


# -- 0015: sign-in ---------------------------------------------------------------------------

def test_0015_keeps_existing_clients_confidential_and_a_downgrade_disables_public_ones(
        unmigrated_url: str) -> None:
    upgrade(unmigrated_url, "0014")
    engine = create_engine(sync_url(unmigrated_url))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO oauth_client (client_id, secret_hash, name, role, "
                              "scopes, active, created_at) VALUES ('client-old', 'scrypt$x', "
                              "'Old', 'judge', '', :t, :now)"), {"t": True, "now": now})
        upgrade(unmigrated_url)
        with engine.begin() as conn:
            old = conn.execute(text("SELECT public, redirect_uris, secret_hash FROM "
                                    "oauth_client")).one()
            assert (bool(old[0]), old[1], old[2]) == (False, "", "scrypt$x")
            conn.execute(text("INSERT INTO oauth_client (client_id, secret_hash, name, role, "
                              "scopes, active, created_at, redirect_uris, public) VALUES "
                              "('registry-console', NULL, 'Console', '', '', :t, :now, "
                              "'https://r.example/console/', :t)"), {"t": True, "now": now})
    finally:
        engine.dispose()
    downgrade(unmigrated_url, "0014")
    engine = create_engine(sync_url(unmigrated_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT client_id, active, secret_hash FROM oauth_client "
                                     "ORDER BY client_id")).all()
        assert [(r[0], bool(r[1]), r[2]) for r in rows] == [
            ("client-old", True, "scrypt$x"), ("registry-console", False, "public")]
    finally:
        engine.dispose()
