"""The versioned policy table <-> the in-memory decision point, on SQLite and PostgreSQL."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from api.policy_import import cmd_policy_import
from api.settings import Settings
from db.engine import Database
from db.models import AuditEvent, PolicyChange, PolicyRecord
from policies.store import (
    PolicyStore,
    cmd_policy_export,
    cmd_policy_list,
    cmd_policy_validate,
    delete_policy,
    ensure_defaults,
    load_default_documents,
    save_policy,
)

ADMIN = {"sub": "a", "role": "security_admin"}
AUDITOR = {"sub": "b", "role": "auditor"}
POLICY = {"type": "policy"}


async def count_rows(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(PolicyRecord)) or 0)


async def seed(database: Database) -> int:
    async with database.session() as session:
        inserted = await ensure_defaults(session)
        await session.commit()
    return inserted


async def test_ensure_defaults_inserts_every_default_once(database: Database) -> None:
    assert await seed(database) == len(load_default_documents())
    assert await seed(database) == 0
    assert await count_rows(database) == len(load_default_documents())


async def test_ensure_defaults_leaves_a_managed_table_alone(database: Database) -> None:
    await seed(database)
    async with database.session() as session:
        await delete_policy(session, "auditor.reads-policies", author="admin")
        await session.commit()
    assert await seed(database) == 0


async def test_the_first_call_loads_the_table(database: Database) -> None:
    await seed(database)
    point = await PolicyStore(database).current()
    assert set(point.uids) == {d["uid"] for d in load_default_documents()}
    # the set's version is its largest row id (ids are not reset between tests)
    async with database.session() as session:
        newest = await session.scalar(select(func.max(PolicyRecord.id)))
    assert point.version == newest
    assert point.decide(ADMIN, POLICY, "policy:write", {}).allowed


async def test_an_empty_table_denies_everything(database: Database) -> None:
    point = await PolicyStore(database).current()
    assert point.version == 0
    assert not point.decide(ADMIN, POLICY, "policy:read", {}).allowed


async def import_(database_url: str, tmp_path: Path, directory: Path) -> int:
    """`registry policy import DIRECTORY` in development (one approver)."""
    return await asyncio.to_thread(cmd_policy_import, cli(database_url, tmp_path), str(directory))


def cli(database_url: str, tmp_path: Path, **changes: Any) -> Settings:
    """The command line's settings: its audit key beside a signing key in `tmp_path`."""
    return Settings(database_url=database_url,
                    signing_key_file=str(tmp_path / "signing-key.pem")).with_(**changes)


def reworded(uid: str) -> dict[str, Any]:
    document = next(d for d in load_default_documents() if d["uid"] == uid)
    return {**document, "description": "The same rule in other words."}


def auditor_may_write() -> dict[str, Any]:
    document = next(d for d in load_default_documents() if d["uid"] == "auditor.reads-policies")
    rules = {**document["rules"], "action": {"$.name": {"condition": "IsIn",
                                                        "values": ["policy:read", "policy:write"]}}}
    return {**document, "rules": rules}


async def test_an_edit_is_a_new_row_that_current_picks_up_after_the_poll_interval(
    database: Database,
) -> None:
    await seed(database)
    store = PolicyStore(database, poll_seconds=0.2)
    before = await store.current()
    assert not before.decide(AUDITOR, POLICY, "policy:write", {}).allowed

    async with database.session() as session:
        record = await save_policy(session, auditor_may_write(), author="admin")
        await session.commit()
    assert record is not None and record.version == 2

    assert await store.current() is before  # still inside the poll interval
    await asyncio.sleep(0.25)
    after = await store.current()
    assert after.version == record.id and after.version > before.version
    assert after.decide(AUDITOR, POLICY, "policy:write", {}).allowed


async def test_an_unchanged_document_adds_no_row(database: Database) -> None:
    await seed(database)
    document = load_default_documents()[0]
    async with database.session() as session:
        assert await save_policy(session, document, author="admin") is None
        await session.commit()
    assert await count_rows(database) == len(load_default_documents())


async def test_a_deletion_row_hides_the_policy(database: Database) -> None:
    await seed(database)
    store = PolicyStore(database, poll_seconds=60)
    assert (await store.current()).decide(AUDITOR, POLICY, "policy:read", {}).allowed
    async with database.session() as session:
        assert await delete_policy(session, "auditor.reads-policies", author="admin")
        assert not await delete_policy(session, "auditor.reads-policies", author="admin")
        await session.commit()
    point = await store.refresh()
    assert "auditor.reads-policies" not in point.uids
    assert not point.decide(AUDITOR, POLICY, "policy:read", {}).allowed


async def test_a_deleted_policy_can_be_restored_as_a_new_version(database: Database) -> None:
    await seed(database)
    document = next(d for d in load_default_documents() if d["uid"] == "auditor.reads-policies")
    async with database.session() as session:
        await delete_policy(session, document["uid"], author="admin")
        restored = await save_policy(session, document, author="admin")
        await session.commit()
    assert restored is not None and restored.version == 3
    assert document["uid"] in (await PolicyStore(database).current()).uids


async def test_concurrent_callers_poll_once(database: Database, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    await seed(database)
    store = PolicyStore(database, poll_seconds=60)
    calls = 0
    original = store._reload

    async def counting() -> Any:
        nonlocal calls
        calls += 1
        return await original()

    monkeypatch.setattr(store, "_reload", counting)
    points = await asyncio.gather(*(store.current() for _ in range(10)))
    assert calls == 1
    assert all(p is points[0] for p in points)


# --- the CLI handlers -------------------------------------------------------------------


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_validate_reports_each_problem_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"uid": "x", "description": "d", "effect": "permit", "rules": {}, "targets": {}}
    assert cmd_policy_validate(str(write(tmp_path / "bad.json", bad))) == 1
    assert "effect: must be 'allow' or 'deny'" in capsys.readouterr().out


def test_validate_counts_valid_policies(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    path = write(tmp_path / "good.json", load_default_documents())
    assert cmd_policy_validate(str(path)) == 0
    assert capsys.readouterr().out.strip() == f"valid: {len(load_default_documents())} policies"


def test_validate_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{", encoding="utf-8")
    assert cmd_policy_validate(str(path)) == 1


async def test_import_export_and_list_round_trip(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    write(source / "all.json", load_default_documents())
    assert await import_(database_url, tmp_path, source) == 0
    assert await import_(database_url, tmp_path, source) == 0
    out = capsys.readouterr().out
    assert f"{len(load_default_documents())} unchanged" in out

    write(source / "all.json", [reworded("auditor.reads-policies")])
    assert await import_(database_url, tmp_path, source) == 0
    assert "1 changed or new" in capsys.readouterr().out

    assert await asyncio.to_thread(cmd_policy_list, database_url) == 0
    listing = capsys.readouterr().out.splitlines()
    assert "auditor.reads-policies\t2\tallow\t" in "\n".join(listing)
    assert len(listing) == len(load_default_documents())

    target = tmp_path / "out"
    assert await asyncio.to_thread(cmd_policy_export, database_url, str(target)) == 0
    exported = json.loads((target / "auditor.reads-policies.json").read_text(encoding="utf-8"))
    assert exported == reworded("auditor.reads-policies")
    assert len(list(target.glob("*.json"))) == len(load_default_documents())


async def test_import_imports_nothing_if_any_document_is_invalid(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "a.json", load_default_documents())
    write(tmp_path / "b.json", {"uid": "bad", "description": "d", "effect": "allow",
                                "rules": {"subject": {"$.rank": {"condition": "Equals",
                                                                 "value": "x"}}},
                                "targets": {}})
    assert await import_(database_url, tmp_path, tmp_path) == 1
    out = capsys.readouterr().out
    assert "rules.subject.$.rank" in out and "nothing imported" in out
    database = Database(database_url)
    try:
        assert await count_rows(database) == 0
    finally:
        await database.dispose()


async def test_import_refuses_a_uid_defined_twice(database_url: str, tmp_path: Path) -> None:
    document = load_default_documents()[0]
    write(tmp_path / "a.json", document)
    write(tmp_path / "b.json", document)
    assert await import_(database_url, tmp_path, tmp_path) == 1


NOBODY_WRITES = {
    "uid": "nobody.writes-policies", "description": "Denies every policy change.",
    "effect": "deny",
    "rules": {"subject": {}, "resource": {"$.type": {"condition": "Equals", "value": "policy"}},
              "action": {"$.name": {"condition": "Equals", "value": "policy:write"}},
              "context": {}},
    "targets": {}}


async def test_an_import_that_would_leave_nobody_able_to_write_policies_is_refused(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    defaults, lockout = tmp_path / "defaults", tmp_path / "lockout"
    defaults.mkdir()
    lockout.mkdir()
    write(defaults / "all.json", load_default_documents())
    write(lockout / "deny.json", [NOBODY_WRITES, auditor_may_write()])
    assert await import_(database_url, tmp_path, defaults) == 0
    database = Database(database_url)
    try:
        rows = await count_rows(database)
        assert await import_(database_url, tmp_path, lockout) == 1
        assert "refused: after this import nobody could write or approve policies" in (
            capsys.readouterr().out)
        assert await count_rows(database) == rows  # the auditor change did not land either
    finally:
        await database.dispose()


async def test_an_import_into_a_set_where_nobody_writes_yet_is_not_a_lock_out(
    database_url: str, tmp_path: Path
) -> None:
    reader_only = [d for d in load_default_documents() if d["uid"] == "auditor.reads-policies"]
    write(tmp_path / "one.json", reader_only)
    assert await import_(database_url, tmp_path, tmp_path) == 0


# --- the import is a policy change like any other (issue 12) --------------------------------


async def imported_changes(database_url: str) -> tuple[list[PolicyChange], list[AuditEvent]]:
    database = Database(database_url)
    try:
        async with database.session() as session:
            changes = list((await session.scalars(select(PolicyChange))).all())
            events = list((await session.scalars(
                select(AuditEvent).where(col(AuditEvent.action) == "policy:import"))).all())
            return changes, events
    finally:
        await database.dispose()


async def test_in_production_an_import_needs_a_second_admin_who_approved_it(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "all.json", load_default_documents())
    production = cli(database_url, tmp_path, env="production")
    for by, approved_by in ((None, ()), ("admin.a", ()), ("admin.a", ("admin.a",)),
                            (None, ("admin.b",))):
        assert await asyncio.to_thread(cmd_policy_import, production, str(tmp_path),
                                       by=by, approved_by=approved_by) == 1
        assert "nothing imported" in capsys.readouterr().out
    database = Database(database_url)
    try:
        assert await count_rows(database) == 0
    finally:
        await database.dispose()
    assert await asyncio.to_thread(cmd_policy_import, production, str(tmp_path),
                                   by="admin.a", approved_by=("admin.b",)) == 0
    changes, [event] = await imported_changes(database_url)
    assert (event.sub, event.outcome, event.detail["approved_by"], event.detail["changed"]) == (
        "admin.a", "permit", ["admin.b"], len(load_default_documents()))
    assert {(c.status, c.proposed_by, c.approvals[0]["sub"]) for c in changes} == {
        ("APPLIED", "admin.a", "admin.b")}


async def test_an_import_handing_policy_writing_to_auditors_is_refused(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "all.json", [*load_default_documents()])
    assert await asyncio.to_thread(cmd_policy_import, cli(database_url, tmp_path),
                                   str(tmp_path)) == 0
    handover = tmp_path / "handover"
    handover.mkdir()
    write(handover / "one.json", [auditor_may_write()])
    assert await asyncio.to_thread(cmd_policy_import, cli(database_url, tmp_path),
                                   str(handover)) == 1
    assert "only security staff write and approve policies, not auditor: policy:write" in (
        capsys.readouterr().out)


async def test_an_import_of_a_policy_matching_everything_is_refused(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "all.json", [*load_default_documents(), {
        "uid": "everything", "description": "d", "effect": "allow", "targets": {},
        "rules": {"subject": {}, "resource": {}, "action": {}, "context": {}}}])
    assert await asyncio.to_thread(cmd_policy_import, cli(database_url, tmp_path),
                                   str(tmp_path)) == 1
    assert "everything match(es) every subject, resource and action" in (
        capsys.readouterr().out)


async def test_an_import_says_what_it_widens_and_records_it(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "all.json", load_default_documents())
    assert await asyncio.to_thread(cmd_policy_import, cli(database_url, tmp_path),
                                   str(tmp_path)) == 0
    capsys.readouterr()
    employer = tmp_path / "employer"
    employer.mkdir()
    write(employer / "one.json", [{
        "uid": "employer.reads", "description": "d", "effect": "allow", "targets": {},
        "rules": {"subject": {"$.role": {"condition": "Equals", "value": "employer"}},
                  "resource": {"$.type": {"condition": "Equals", "value": "judgment"}},
                  "action": {"$.name": {"condition": "Equals", "value": "judgment:read"}},
                  "context": {}}}])
    assert await asyncio.to_thread(cmd_policy_import, cli(database_url, tmp_path),
                                   str(employer)) == 0
    assert "widens: employer: judgment:read" in capsys.readouterr().out
    changes, events = await imported_changes(database_url)
    assert [c.widens for c in changes if c.uid == "employer.reads"] == [
        ["employer: judgment:read"]]
    assert events[-1].detail["widens"] == ["employer: judgment:read"]
