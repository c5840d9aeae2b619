"""People who may sign in to the embedded issuer: `registry user ...` and `verify_user`, on
SQLite and PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from api import clients
from api.cli import main
from api.users import verify_user
from db.engine import run_in_session, sync_url
from db.models.users import RegistryUser

PASSWORD = "correct horse battery"
ID_NUMBER = "11010519491231002X"  # valid; typed in lower case below


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_FILE", str(tmp_path / "key.pem"))
    monkeypatch.setenv("REGISTRY_AUDIT_KEYRING_DIR", str(tmp_path / "audit-keys"))
    assert main(["db", "upgrade"]) == 0
    assert main(["agency", "add", "--code", "COURT-110101", "--kind", "COURT",
                 "--name", "Court", "--region", "110101"]) == 0
    capsys.readouterr()
    return database_url


def _stdin(monkeypatch: pytest.MonkeyPatch, content: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(content))


def _add(monkeypatch: pytest.MonkeyPatch, *flags: str, password: str = PASSWORD) -> int:
    _stdin(monkeypatch, password + "\n")
    return main(["user", "add", *flags])


def _verify(url: str, sub: str, password: str) -> RegistryUser | None:
    return run_in_session(url, lambda s: verify_user(s, sub, password))


def _stored(url: str, sub: str) -> dict[str, Any]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM registry_user WHERE sub = :s"),
                               {"s": sub}).mappings().one()
    finally:
        engine.dispose()
    return dict(row)


def test_a_user_is_added_with_a_hashed_password_never_stored_in_clear(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(monkeypatch, "--sub", "judge.li", "--role", "judge",
                "--agency", "COURT-110101") == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "user judge.li added (role judge, agency COURT-110101)"
    assert PASSWORD not in captured.out + captured.err
    row = _stored(cli_env, "judge.li")
    assert all(PASSWORD not in str(value) for value in row.values())
    assert row["password_hash"].startswith("scrypt$16384$8$1$")
    assert clients.verify_client_secret(row["password_hash"], PASSWORD)
    assert (row["role"], row["agency_code"], row["id_number"]) == ("judge", "COURT-110101", None)
    assert not row["disabled"] and row["disabled_at"] is None
    assert row["created_at"] is not None and row["updated_at"] is not None
    user = _verify(cli_env, "judge.li", PASSWORD)
    assert user is not None and (user.sub, user.role) == ("judge.li", "judge")


def test_two_users_with_one_password_get_different_hashes(
        cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _add(monkeypatch, "--sub", "a", "--role", "judge") == 0
    assert _add(monkeypatch, "--sub", "b", "--role", "judge") == 0
    assert _stored(cli_env, "a")["password_hash"] != _stored(cli_env, "b")["password_hash"]


def test_an_individual_is_added_with_the_identity_number_in_canonical_form_never_printed(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(monkeypatch, "--sub", "citizen.wang", "--role", "individual",
                "--id-number", ID_NUMBER.lower()) == 0
    captured = capsys.readouterr()
    assert ID_NUMBER not in captured.out.upper() + captured.err.upper()
    assert _stored(cli_env, "citizen.wang")["id_number"] == ID_NUMBER


@pytest.mark.parametrize("line", ["", "\n", "            \n", "eleven-char\n"])
def test_a_password_from_an_empty_or_short_line_is_refused_naming_it(
        cli_env: str, line: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, line)
    assert main(["user", "add", "--sub", "judge.li", "--role", "judge"]) == 2
    err = capsys.readouterr().err
    assert "standard input" in err
    assert ("empty" in err) if not line.strip() else ("at least 12 characters" in err)
    assert "eleven-char" not in err
    assert main(["user", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no users"
    # The same rule when a password is replaced; the one there stays.
    assert _add(monkeypatch, "--sub", "judge.li", "--role", "judge") == 0
    _stdin(monkeypatch, line)
    assert main(["user", "set-password", "--sub", "judge.li"]) == 2
    assert "standard input" in capsys.readouterr().err
    assert _verify(cli_env, "judge.li", PASSWORD) is not None


def test_the_password_is_its_line_without_the_line_end_and_only_that_line(
        cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, "twelve chars\r\nsecond line is not read\n")
    assert main(["user", "add", "--sub", "judge.li", "--role", "judge"]) == 0
    assert _verify(cli_env, "judge.li", "twelve chars") is not None
    assert _verify(cli_env, "judge.li", "twelve chars\r") is None


def test_at_a_terminal_the_password_is_read_without_echo(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    asked: list[str] = []

    def no_echo(prompt: str = "", stream: Any = None) -> str:
        asked.append(prompt)
        return PASSWORD

    monkeypatch.setattr("sys.stdin", Terminal("typed in clear\n"))
    monkeypatch.setattr("getpass.getpass", no_echo)
    assert main(["user", "add", "--sub", "judge.li", "--role", "judge"]) == 0
    assert len(asked) == 1
    captured = capsys.readouterr()
    assert PASSWORD not in captured.out + captured.err
    assert _verify(cli_env, "judge.li", PASSWORD) is not None


@pytest.mark.parametrize(("flags", "named"), [
    (["--role", "superuser"], "--role"),
    (["--role", "judge", "--agency", "COURT-999999"], "--agency"),
])
def test_an_unknown_role_or_agency_is_refused_naming_the_flag(
        cli_env: str, flags: list[str], named: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(monkeypatch, "--sub", "judge.li", *flags) == 2
    assert named in capsys.readouterr().err
    assert main(["user", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no users"


def test_flags_are_checked_before_a_password_is_asked_for(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, "")  # no password at all: the flag is what is refused
    assert main(["user", "add", "--sub", "x", "--role", "superuser"]) == 2
    err = capsys.readouterr().err
    assert "--role" in err and "standard input" not in err


@pytest.mark.parametrize("bad", ["110105194912310021", "11010519491231002", "not a number"])
def test_a_bad_identity_number_is_refused_naming_the_flag_but_not_the_number(
        cli_env: str, bad: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(monkeypatch, "--sub", "citizen.wang", "--role", "individual",
                "--id-number", bad) == 2
    err = capsys.readouterr().err
    assert "--id-number" in err and bad not in err


@pytest.mark.parametrize("sub", ["", "  ", " padded", "line\nbreak", "x" * 201])
def test_an_empty_or_malformed_sub_is_refused_naming_the_flag(
        cli_env: str, sub: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(monkeypatch, "--sub", sub, "--role", "judge") == 2
    assert "--sub" in capsys.readouterr().err


def test_a_sub_taken_already_is_refused_and_the_first_user_keeps_their_password(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(monkeypatch, "--sub", "judge.li", "--role", "judge") == 0
    assert _add(monkeypatch, "--sub", "judge.li", "--role", "security_admin",
                password="attacker's password") == 2
    assert "--sub" in capsys.readouterr().err
    assert _verify(cli_env, "judge.li", "attacker's password") is None
    user = _verify(cli_env, "judge.li", PASSWORD)
    assert user is not None and user.role == "judge"


def test_a_disabled_user_cannot_be_verified_and_enabled_again_can(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(monkeypatch, "--sub", "judge.li", "--role", "judge") == 0
    added = _stored(cli_env, "judge.li")
    assert main(["user", "disable", "--sub", "judge.li"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert _verify(cli_env, "judge.li", PASSWORD) is None
    disabled = _stored(cli_env, "judge.li")
    assert disabled["disabled"] and disabled["disabled_at"] is not None
    assert disabled["updated_at"] > added["updated_at"]
    assert main(["user", "enable", "--sub", "judge.li"]) == 0
    assert "enabled" in capsys.readouterr().out
    assert _verify(cli_env, "judge.li", PASSWORD) is not None
    enabled = _stored(cli_env, "judge.li")
    assert not enabled["disabled"] and enabled["disabled_at"] is None


def test_set_password_refuses_the_old_password_and_accepts_the_new(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(monkeypatch, "--sub", "judge.li", "--role", "judge") == 0
    _stdin(monkeypatch, "a new long password\n")
    assert main(["user", "set-password", "--sub", "judge.li"]) == 0
    captured = capsys.readouterr()
    assert "a new long password" not in captured.out + captured.err
    assert _verify(cli_env, "judge.li", PASSWORD) is None
    assert _verify(cli_env, "judge.li", "a new long password") is not None


@pytest.mark.parametrize("action", ["disable", "enable", "set-password"])
def test_user_commands_refuse_an_unknown_sub_naming_the_flag(
        cli_env: str, action: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, PASSWORD + "\n")
    assert main(["user", action, "--sub", "nobody"]) == 2
    err = capsys.readouterr().err
    assert "--sub" in err and "nobody" in err


def test_an_unknown_sub_a_wrong_password_and_a_disabled_user_verify_alike(
        cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each is None after exactly one scrypt run of the same cost as a right password's, so
    neither the answer nor the time taken tells an attacker which sub exists."""
    assert _add(monkeypatch, "--sub", "judge.li", "--role", "judge") == 0
    assert _add(monkeypatch, "--sub", "judge.off", "--role", "judge") == 0
    assert main(["user", "disable", "--sub", "judge.off"]) == 0
    runs: list[tuple[int, int, int]] = []
    real = clients._scrypt

    def counted(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        runs.append((n, r, p))
        return real(secret, salt, n, r, p)

    monkeypatch.setattr(clients, "_scrypt", counted)
    cost = (clients.SCRYPT_N, clients.SCRYPT_R, clients.SCRYPT_P)
    for sub, password in (("nobody", PASSWORD), ("judge.li", "a wrong password"),
                          ("judge.off", PASSWORD)):
        runs.clear()
        assert _verify(cli_env, sub, password) is None, sub
        assert runs == [cost], sub
    runs.clear()
    assert _verify(cli_env, "judge.li", PASSWORD) is not None
    assert runs == [cost]


def test_user_list_never_prints_a_hash_or_an_identity_number(
        cli_env: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no users"
    assert _add(monkeypatch, "--sub", "judge.li", "--role", "judge",
                "--agency", "COURT-110101") == 0
    assert _add(monkeypatch, "--sub", "citizen.wang", "--role", "individual",
                "--id-number", ID_NUMBER) == 0
    assert main(["user", "disable", "--sub", "citizen.wang"]) == 0
    capsys.readouterr()
    assert main(["user", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].split() == ["SUB", "STATUS", "ROLE", "AGENCY", "CREATED"]
    assert lines[1].split()[:4] == ["citizen.wang", "disabled", "individual", "-"]
    assert lines[2].split()[:4] == ["judge.li", "active", "judge", "COURT-110101"]
    hashes = [_stored(cli_env, sub)["password_hash"] for sub in ("judge.li", "citizen.wang")]
    assert "scrypt" not in out and PASSWORD not in out and ID_NUMBER not in out
    assert all(h not in out and h.rsplit("$", 1)[1] not in out for h in hashes)
