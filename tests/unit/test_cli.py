"""The `registry` command line (CONTRACT.md §1), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from graphql import GraphQLEnumType, build_schema

from api.auth import TokenVerifier
from api.cli import main
from api.issuer import Issuer, SigningKeys
from api.settings import Settings
from tests.live import bound_socket


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_FILE", str(tmp_path / "key.pem"))
    monkeypatch.setenv("REGISTRY_AUDIT_KEYRING_DIR", str(tmp_path / "audit-keys"))
    return database_url


def test_db_upgrade_loads_the_default_policies_once(cli_env: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "default policies loaded" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == "database at head"


def test_seed_demo_prints_working_tokens_and_adds_nothing_the_second_time(
        cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["seed", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "12 judgments added" in out
    tokens = [line.split("=", 1)[1] for line in out.splitlines()
              if line.strip().startswith("export TOKEN_")]
    assert len(tokens) == 6
    settings = Settings(database_url=cli_env, signing_key_file=str(tmp_path / "key.pem"))
    verifier = TokenVerifier(settings, Issuer(settings,
                                              SigningKeys.load_or_create(
                                                  settings.signing_key_file)))
    roles = {asyncio.run(verifier.verify(t)).role for t in tokens}
    assert roles == {"registry_clerk", "judge", "police_officer", "prosecutor",
                     "defense_lawyer", "security_admin"}
    assert main(["seed", "--demo", "--quiet"]) == 0
    assert "0 agencies, 0 people, 0 judgments added" in capsys.readouterr().out


def test_agency_add_refuses_a_bad_kind_or_region_naming_the_flag(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    assert main(["agency", "add", "--code", "C1", "--kind", "BANK", "--name", "X",
                 "--region", "110101"]) == 2
    assert "--kind" in capsys.readouterr().err
    assert main(["agency", "add", "--code", "C1", "--kind", "COURT", "--name", "X",
                 "--region", "11010"]) == 2
    assert "--region" in capsys.readouterr().err
    assert main(["agency", "add", "--code", "C1", "--kind", "COURT", "--name", "X",
                 "--region", "110101"]) == 0
    assert main(["agency", "add", "--code", "C1", "--kind", "COURT", "--name", "X",
                 "--region", "110101"]) == 2


def test_token_issue_refuses_an_unknown_role(cli_env: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "issue", "--sub", "x", "--role", "superuser"]) == 2
    assert "--role" in capsys.readouterr().err


def test_token_issue_refuses_when_an_openid_provider_replaces_the_embedded_issuer(
        cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REGISTRY_OIDC_ISSUER", "https://idp.example/realms/justice")
    assert main(["token", "issue", "--sub", "x", "--role", "judge"]) == 2
    assert "REGISTRY_OIDC_ISSUER" in capsys.readouterr().err
    assert not (tmp_path / "key.pem").exists()


def test_seed_demo_prints_no_token_when_an_openid_provider_replaces_the_embedded_issuer(
        cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    monkeypatch.setenv("REGISTRY_OIDC_ISSUER", "https://idp.example/realms/justice")
    assert main(["seed", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "No demo access tokens: REGISTRY_OIDC_ISSUER is set" in out
    assert "eyJ" not in out
    assert not (tmp_path / "key.pem").exists()


def test_serve_stops_before_listening_when_the_openid_provider_is_unreachable(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with bound_socket() as sock:  # bound, never listening: connections are refused
        provider = f"http://127.0.0.1:{sock.getsockname()[1]}"
        monkeypatch.setenv("REGISTRY_OIDC_ISSUER", provider)
        assert main(["serve", "--port", "1"]) == 2
    assert capsys.readouterr().err == (
        f"registry: REGISTRY_OIDC_ISSUER: {provider}/.well-known/openid-configuration "
        "could not be fetched (ConnectError)\n")


def test_audit_verify_on_a_fresh_database_reports_an_intact_empty_chain(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out == (
        "audit chain intact: 0 events\nwitness: 0 checkpoints of this chain\n")


def test_schema_export_prints_the_contract_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "export"]) == 0
    # Arguments carry descriptions, so the SDL spreads them over lines: read it back.
    exported = build_schema(capsys.readouterr().out)
    signatures = {}
    for root, field in (("Mutation", "reportJudgment"), ("Query", "judgment")):
        found = exported.type_map[root].fields[field]  # type: ignore[attr-defined]
        signatures[field] = ({name: str(a.type) for name, a in found.args.items()},
                             str(found.type))
    assert signatures == {
        "reportJudgment": ({"input": "ReportJudgmentInput!"}, "ReportJudgmentPayload!"),
        "judgment": ({"id": "ID!"}, "Judgment")}
    assert str(exported.type_map["JudgmentConnection"].fields["totalCount"].type) == "Int!"  # type: ignore[attr-defined]
    assert isinstance(exported.type_map["SealStatus"], GraphQLEnumType)


def test_demo_data_is_never_loaded_in_production(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    monkeypatch.setenv("REGISTRY_ENV", "production")
    assert main(["seed", "--demo"]) == 2
    assert "production" in capsys.readouterr().err


def test_seed_demo_scales_past_a_thousand_people_without_identity_number_collisions(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    assert main(["seed", "--demo", "--judgments", "1500", "--quiet"]) == 0
    assert "1500 people, 1500 judgments added" in capsys.readouterr().out


def test_seed_demo_leaves_the_planner_statistics_fresh(cli_env: str) -> None:
    """A page of judgments is planned from them: without, the first minutes after a bulk load
    sorted every visible row for each page."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine, text

    from db.engine import is_sqlite

    main(["db", "upgrade"])
    started = datetime.now(UTC) - timedelta(seconds=1)
    assert main(["seed", "--demo", "--judgments", "40", "--quiet"]) == 0
    engine = create_engine(cli_env)
    try:
        with engine.connect() as connection:
            if is_sqlite(cli_env):
                tables = set(connection.scalars(text("SELECT tbl FROM sqlite_stat1")))
                assert {"judgment", "offender"} <= tables
            else:
                analyzed = connection.scalar(text(
                    "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'judgment'"))
                assert analyzed is not None and analyzed >= started
    finally:
        engine.dispose()


def _fill_chain(database_url: str, key_file: Path, first: int, count: int) -> None:
    from db.audit import AuditChain, AuditRecord
    from db.audit_keys import AuditKeys
    from db.engine import Database

    async def go() -> None:
        database = Database(database_url)
        chain = AuditChain(database, AuditKeys.load_or_create(str(key_file)))
        try:
            for n in range(first, first + count):
                async with database.session() as session:
                    await chain.append(session, [AuditRecord(
                        action="judgment:read", outcome="permit", sub=f"s{n}", role="r",
                        agency="", client_id="", request_id=f"req{n}", operation="",
                        resource_type="judgment", resource_ids=[], purpose="",
                        inquiry_id="", case_number="", policy_uid="p", policy_version=1,
                        detail={})])
                    await session.commit()
                    chain.release(session)
        finally:
            await database.dispose()

    asyncio.run(go())


def test_events_and_checkpoints_sealed_before_the_audit_key_was_rotated_still_verify(
        cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    key_file = tmp_path / "audit-key"  # beside the signing key: the default place
    _fill_chain(cli_env, key_file, 1, 2)
    assert main(["audit", "checkpoint"]) == 0
    old_kid = key_file.read_text().split()[0]
    assert main(["audit", "rotate-key"]) == 0
    new_kid = key_file.read_text().splitlines()[-1].split()[0]
    assert new_kid != old_kid
    _fill_chain(cli_env, key_file, 3, 2)
    assert main(["audit", "checkpoint"]) == 0
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out == (
        "audit chain intact: 4 events\n"
        "witness: 2 checkpoints of this chain, the newest at event 4\n")
    # Without the old key, what it sealed no longer verifies: the ring is what counts.
    key_file.write_text(key_file.read_text().splitlines()[-1] + "\n")
    assert main(["audit", "verify"]) == 1
    assert "forged: sealed with a key the service does not have" in capsys.readouterr().out


def test_the_audit_key_file_is_created_private_and_never_printed(
        cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    _fill_chain(cli_env, tmp_path / "audit-key", 1, 1)
    assert main(["audit", "checkpoint"]) == 0
    assert main(["audit", "rotate-key"]) == 0
    assert main(["audit", "verify"]) == 0
    assert (tmp_path / "audit-key").stat().st_mode & 0o777 == 0o600
    captured = capsys.readouterr()
    for line in (tmp_path / "audit-key").read_text().splitlines():
        assert line.split()[1] not in captured.out + captured.err
    assert line.split()[1] not in (tmp_path / "audit-witness.jsonl").read_text()


def test_a_private_key_in_the_audit_keyring_is_refused(
        cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    keys = SigningKeys.load_or_create(str(tmp_path / "key.pem"))
    (tmp_path / "audit-keys").mkdir()
    private = keys.private_key.as_dict(private=True)
    (tmp_path / "audit-keys" / "x.json").write_text(json.dumps(private), encoding="utf-8")
    assert main(["audit", "verify"]) == 2
    assert "must be a public JWK" in capsys.readouterr().err


def _created(out: str) -> tuple[str, str]:
    values = dict(line.split("=", 1) for line in out.strip().splitlines())
    return values["client_id"], values["client_secret"]


def test_client_list_shows_each_client_and_its_status_but_never_a_secret(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["client", "list"]) == 0
    [_, console] = capsys.readouterr().out.strip().splitlines()
    assert console.split()[:5] == ["registry-console", "active", "(any", "person)", "-"]
    assert console.endswith("Policy console (public)")
    assert main(["client", "create", "--name", "Employer portal", "--role", "employer"]) == 0
    first, secret = _created(capsys.readouterr().out)
    assert main(["client", "create", "--name", "Case system", "--role", "judge"]) == 0
    second, _ = _created(capsys.readouterr().out)
    assert main(["client", "disable", second]) == 0
    capsys.readouterr()
    assert main(["client", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].split() == ["CLIENT_ID", "STATUS", "ROLE", "AGENCY", "CREATED", "NAME"]
    assert lines[2].split()[:4] == [first, "active", "employer", "-"]
    assert lines[2].endswith("Employer portal")
    assert lines[3].split()[:3] == [second, "disabled", "judge"]
    assert secret not in out and "scrypt" not in out


def test_client_disable_enable_and_rotate_secret_change_what_the_issuer_accepts(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    from api.clients import authenticate_client
    from db.engine import run_in_session

    main(["db", "upgrade"])
    capsys.readouterr()
    main(["client", "create", "--name", "Portal", "--role", "employer"])
    client_id, secret = _created(capsys.readouterr().out)

    def authenticates(candidate: str) -> bool:
        return run_in_session(cli_env, lambda s: authenticate_client(s, client_id, candidate)
                              ) is not None

    assert main(["client", "disable", client_id]) == 0
    assert "disabled" in capsys.readouterr().out
    assert not authenticates(secret)
    assert main(["client", "enable", client_id]) == 0
    assert "stay revoked" in capsys.readouterr().out
    assert authenticates(secret)
    assert main(["client", "rotate-secret", client_id]) == 0
    captured = capsys.readouterr()
    rotated_id, new_secret = _created(captured.out)
    assert rotated_id == client_id and new_secret != secret and len(new_secret) >= 43
    assert "not shown again" in captured.err and new_secret not in captured.err
    assert not authenticates(secret)
    assert authenticates(new_secret)


def test_client_commands_refuse_an_unknown_id_naming_it(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    capsys.readouterr()
    for action in ("disable", "enable", "rotate-secret"):
        assert main(["client", action, "client-000000000000000000000000"]) == 2
        err = capsys.readouterr().err
        assert "ID" in err and "client-000000000000000000000000" in err


def test_client_rotate_secret_help_says_that_earlier_tokens_are_revoked(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["client", "rotate-secret", "--help"])
    assert "tokens issued before the rotation" in " ".join(capsys.readouterr().out.split())


def test_token_issue_with_the_metrics_scope_opens_metrics_in_production(
        cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "issue", "--sub", "prometheus", "--role", "auditor",
                 "--scope", "metrics:read  metrics:read"]) == 0
    token = capsys.readouterr().out.strip()
    settings = Settings(database_url=cli_env, signing_key_file=str(tmp_path / "key.pem"))
    verifier = TokenVerifier(settings, Issuer(settings, SigningKeys.load_or_create(
        settings.signing_key_file)))
    assert asyncio.run(verifier.verify(token)).scopes == frozenset({"metrics:read"})


@pytest.mark.parametrize("command", [
    ["token", "issue", "--sub", "p", "--role", "auditor"],
    ["client", "create", "--name", "Scraper", "--role", "auditor"],
])
def test_a_malformed_scope_is_refused_naming_the_flag(
        cli_env: str, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    assert main([*command, "--scope", 'metrics:read "quoted"']) == 2
    assert "--scope" in capsys.readouterr().err


def test_client_create_stores_the_scopes_its_tokens_may_carry(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    from api.clients import cli_list_clients

    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["client", "create", "--name", "Scraper", "--role", "auditor",
                 "--scope", "metrics:read"]) == 0
    settings = Settings.from_env()
    [client] = [c for c in cli_list_clients(settings) if c.name == "Scraper"]
    assert client.scopes == "metrics:read"


def test_db_upgrade_registers_the_console_as_a_public_client_once_at_the_issuer(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from api.clients import cli_list_clients

    monkeypatch.setenv("REGISTRY_ISSUER", "https://registry.example")
    assert main(["db", "upgrade"]) == 0
    assert ("public client registry-console registered (redirect URI "
            "https://registry.example/console/)") in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "registry-console" not in capsys.readouterr().out
    [console] = cli_list_clients(Settings.from_env())
    assert (console.client_id, console.public, console.secret_hash, console.role) == (
        "registry-console", True, None, "")
    assert console.redirect_uris == "https://registry.example/console/"


def test_db_upgrade_moves_the_console_to_a_new_issuer_address_and_keeps_it_disabled(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Served at another address, the console signs in there; the old address gets no code."""
    from api.clients import cli_disable_client, cli_list_clients

    monkeypatch.setenv("REGISTRY_ISSUER", "http://127.0.0.1:8000")
    assert main(["db", "upgrade"]) == 0
    cli_disable_client(Settings.from_env(), "registry-console")
    capsys.readouterr()
    monkeypatch.setenv("REGISTRY_ISSUER", "http://127.0.0.1:8100")
    assert main(["db", "upgrade"]) == 0
    assert ("public client registry-console moved (redirect URI "
            "http://127.0.0.1:8100/console/)") in capsys.readouterr().out
    [console] = cli_list_clients(Settings.from_env())
    assert console.redirect_uris == "http://127.0.0.1:8100/console/"
    assert console.active is False


def test_client_create_public_prints_no_secret_and_stores_the_redirect_uris(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    from api.clients import cli_list_clients

    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["client", "create", "--name", "Firm app", "--public", "--role",
                 "defense_lawyer", "--redirect-uri", "https://firm.example/cb",
                 "--redirect-uri", "http://127.0.0.1:9000/cb"]) == 0
    out = capsys.readouterr().out
    assert "client_secret" not in out
    client_id = out.strip().removeprefix("client_id=")
    [client] = [c for c in cli_list_clients(Settings.from_env()) if c.client_id == client_id]
    assert client.public and client.secret_hash is None
    assert client.redirect_uris == "https://firm.example/cb http://127.0.0.1:9000/cb"
    assert main(["client", "rotate-secret", client_id]) == 2
    assert "public client" in capsys.readouterr().err


def test_a_confidential_client_may_have_redirect_uris_and_keeps_its_secret(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["client", "create", "--name", "Firm server", "--role", "defense_lawyer",
                 "--redirect-uri", "https://firm.example/cb"]) == 0
    client_id, secret = _created(capsys.readouterr().out)
    assert client_id.startswith("client-") and secret


@pytest.mark.parametrize(("flags", "named"), [
    (["--public"], "--redirect-uri"),
    (["--redirect-uri", "https://firm.example/cb"], "--role"),
    (["--public", "--redirect-uri", "http://firm.example/cb"], "--redirect-uri"),
    (["--public", "--redirect-uri", "https://firm.example/cb#x"], "--redirect-uri"),
    (["--public", "--redirect-uri", "cb"], "--redirect-uri"),
    (["--public", "--redirect-uri", "javascript:alert(1)"], "--redirect-uri"),
    (["--public", "--redirect-uri", "https://firm.example/cb", "--role", "pope"], "--role"),
])
def test_client_create_refuses_a_bad_combination_naming_the_flag(
        cli_env: str, flags: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    from api.clients import cli_list_clients

    main(["db", "upgrade"])
    capsys.readouterr()
    assert main(["client", "create", "--name", "App", *flags]) == 2
    assert named in capsys.readouterr().err
    assert [c.client_id for c in cli_list_clients(Settings.from_env())] == ["registry-console"]
