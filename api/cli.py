"""`registry`: the command line (CONTRACT.md §1). Every setting has a flag or variable."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from api.settings import Settings, SettingsError

T = TypeVar("T")

EXAMPLE_QUERY = ('{ judgments(first: 3) { totalCount edges { node { judgmentNumber sealStatus '
                 'offender { name residenceRegion } } } } }')

IMPORT_HELP = """\
Reports every line of FILE as the API mutation it names, as an officer of --agency (role
from the agency's kind: COURT judge, PRISON and DETENTION_CENTER prison_officer,
JUDICIAL_ADMINISTRATION judicial_admin_officer), with the API's validation, policies,
idempotency and audit trail; one transaction per line, read one line at a time.

One JSON object per line (blank lines are skipped):
  {"kind": "JUDGMENT", "input": {...ReportJudgmentInput...}}
  {"kind": "RELEASE", "input": {"noticeNumber", "judgmentNumber", "idNumber",
                                "releaseDate", optional "name", "birthDate",
                                "residenceRegion"}}
  {"kind": "CORRECTION_EXPIRY", "input": {... "expiryDate" instead of "releaseDate"}}
"input" is the mutation's GraphQL input exactly (camelCase, CONTRACT.md section 4).

Prints: registered N  duplicate N  conflict N  queued N  invalid N  forbidden N, then the
line number and field of each line that was not accepted (line numbers, codes and field
names only; "failed N" is added when a line met an internal error). Exit status: 0 when
every line was registered, a duplicate or queued; 1 when any line was invalid, a conflict,
forbidden or failed; 2 for a usage error (unknown agency, unreadable file); 130 when
interrupted. Lines already done stay done: run the same file again to finish, its done
lines come back as duplicates.
"""

REVOKED_WITHIN = ("within REGISTRY_CLIENT_POLL_SECONDS of the servers (5 s by default, 30 s at "
                  "most)")
DISABLE_HELP = ("Disable a client. It gets no token from now on, and every token already "
                f"issued to it stops working {REVOKED_WITHIN}.")
ENABLE_HELP = ("Enable a disabled client. It can get tokens again; those issued before it "
               "was disabled stay revoked.")
ROTATE_HELP = ("Replace a client's secret and print the new one, once. The old secret is "
               "refused at once, and the tokens issued before the rotation (a secret is "
               f"rotated because it may have leaked, and its tokens with it) stop working "
               f"{REVOKED_WITHIN}.")


CLIENT_CREATE_HELP = (
    "Create an OAuth2 client and print its client_id (and client_secret, once, unless "
    "--public). A confidential client gets tokens of --role with the client-credentials "
    "grant; with --redirect-uri, people (registry user add) also sign in through it with the "
    "authorization code and PKCE, and their tokens carry their own role. A --public client "
    "has no secret and only that grant; without --role, anyone may sign in through it.")

USER_ADD_HELP = ("Add a person who may sign in to the embedded issuer. The password is read "
                 "from one line of standard input (at least 12 characters; not echoed at a "
                 "terminal) and stored only as a salted scrypt hash.")

SCOPE_HELP = ("OAuth2 scopes, space separated: metrics:read lets the token read /metrics in "
              "production")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env(database_url=args.database_url)
        result: int = args.handler(settings, args)
        return result
    except (SettingsError, ValueError) as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry", description="Criminal Record Registry")
    parser.add_argument("--database-url", help="overrides REGISTRY_DATABASE_URL")
    sub = parser.add_subparsers(metavar="COMMAND")

    db = sub.add_parser("db", help="database").add_subparsers(metavar="ACTION")
    db.add_parser("upgrade", help="apply all migrations").set_defaults(handler=_db_upgrade)

    seed = sub.add_parser("seed", help="load demo data")
    seed.add_argument("--demo", action="store_true", help="the demo data (the default)")
    seed.add_argument("--judgments", type=int, default=12,
                      help="how many demo judgments in all (bulk: 1,000,000 take minutes)")
    seed.add_argument("--quiet", action="store_true", help="do not print demo tokens")
    seed.set_defaults(handler=_seed)

    serve = sub.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", help="overrides REGISTRY_LOG_LEVEL: DEBUG, INFO (default), "
                       "WARNING, ERROR or CRITICAL")
    serve.add_argument("--log-format", help="overrides REGISTRY_LOG_FORMAT: json (default) or text")
    serve.set_defaults(handler=_serve)

    agency = sub.add_parser("agency", help="agencies").add_subparsers(metavar="ACTION")
    add = agency.add_parser("add", help="add an agency")
    for flag in ("--code", "--kind", "--name", "--region"):
        add.add_argument(flag, required=True)
    add.set_defaults(handler=_agency_add)

    token = sub.add_parser("token", help="tokens").add_subparsers(metavar="ACTION")
    issue = token.add_parser("issue", help="print an access token from the embedded issuer")
    issue.add_argument("--sub", required=True)
    issue.add_argument("--role", required=True)
    issue.add_argument("--agency")
    issue.add_argument("--id-number")
    issue.add_argument("--ttl", type=int)
    issue.add_argument("--scope", default="", help=SCOPE_HELP)
    issue.set_defaults(handler=_token_issue)

    client = sub.add_parser("client", help="OAuth2 clients").add_subparsers(metavar="ACTION")
    create = client.add_parser("create", help="create a client", description=CLIENT_CREATE_HELP)
    create.add_argument("--name", required=True)
    create.add_argument("--role", help="the role of its client-credentials tokens, and the only "
                        "role of the people who may sign in through it (required unless "
                        "--public)")
    create.add_argument("--agency", help="code of its agency; people signing in through it "
                        "must belong to it")
    create.add_argument("--scope", default="", help=SCOPE_HELP)
    create.add_argument("--redirect-uri", action="append", default=[], metavar="URI",
                        help="where people who sign in through it are sent back, matched "
                        "exactly (repeat for several)")
    create.add_argument("--public", action="store_true",
                        help="a browser or native app: no secret, sign-in (authorization code "
                        "with PKCE) only")
    create.set_defaults(handler=_client_create)
    client.add_parser("list", help="list the clients and their status (never a secret)"
                      ).set_defaults(handler=_client_list)
    for action, run, text in (
            ("disable", _client_disable, DISABLE_HELP), ("enable", _client_enable, ENABLE_HELP),
            ("rotate-secret", _client_rotate, ROTATE_HELP)):
        managed = client.add_parser(action, help=text.split(".")[0].lower(), description=text)
        managed.add_argument("id", metavar="ID", help="the client_id")
        managed.set_defaults(handler=run)

    user = sub.add_parser("user", help="people who sign in to the embedded issuer"
                          ).add_subparsers(metavar="ACTION")
    user_add = user.add_parser("add", help="add a person; the password is read from one line "
                               "of standard input", description=USER_ADD_HELP)
    user_add.add_argument("--sub", required=True, help="the tokens' sub")
    user_add.add_argument("--role", required=True)
    user_add.add_argument("--agency", help="code of the person's agency")
    user_add.add_argument("--id-number", help="for an individual: their identity number")
    user_add.set_defaults(handler=_user_add)
    user.add_parser("list", help="list the people and their status (never a password hash or "
                    "identity number)").set_defaults(handler=_user_list)
    for action, run, text in (
            ("disable", _user_disable, "disable a person: their password is refused"),
            ("enable", _user_enable, "enable a disabled person"),
            ("set-password", _user_set_password,
             "replace a person's password with one line of standard input")):
        managed = user.add_parser(action, help=text)
        managed.add_argument("--sub", required=True)
        managed.set_defaults(handler=run)

    policy = sub.add_parser("policy", help="the policy store").add_subparsers(metavar="ACTION")
    policy.add_parser("list").set_defaults(handler=_policy_list)
    validate = policy.add_parser("validate")
    validate.add_argument("file")
    validate.set_defaults(handler=_policy_validate)
    for name, handler in (("import", "_policy_import"), ("export", "_policy_export")):
        p = policy.add_parser(name)
        p.add_argument("directory")
        if name == "import":
            p.add_argument("--by", metavar="SUB",
                           help="the security admin importing (required when "
                                "REGISTRY_POLICY_APPROVERS is above 1)")
            p.add_argument("--approved-by", metavar="SUB", action="append",
                           help="another security admin who approved the import (repeat for "
                                "each approval REGISTRY_POLICY_APPROVERS asks for)")
        p.set_defaults(handler=globals()[handler])

    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(metavar="ACTION")
    audit.add_parser("verify", help="verify the keyed chain and every witness checkpoint"
                     ).set_defaults(handler=_audit_verify)
    audit.add_parser("checkpoint", help="hand a signed head of the chain to the witness now"
                     ).set_defaults(handler=_audit_checkpoint)
    audit.add_parser("rotate-key", help="add a new audit key (the old ones keep verifying)"
                     ).set_defaults(handler=_audit_rotate_key)

    bulk = sub.add_parser("import", help="bulk loading").add_subparsers(metavar="WHAT")
    notices = bulk.add_parser(
        "notices", help="report notices from a JSON Lines file, each line as the API would",
        description=IMPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    notices.add_argument("file", help="the JSON Lines file")
    notices.add_argument("--agency", required=True, help="code of the reporting agency")
    notices.add_argument("--sub", help="the reporting officer (default import:<AGENCY>)")
    notices.add_argument("--no-progress", action="store_true",
                         help="no progress bar (there is none where stderr is no terminal)")
    notices.add_argument("--json", action="store_true", help="print the summary as JSON")
    notices.set_defaults(handler=_import_notices)

    schema = sub.add_parser("schema", help="the GraphQL schema").add_subparsers(metavar="ACTION")
    schema.add_parser("export", help="print the SDL").set_defaults(handler=_schema_export)
    return parser


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """`work` in one session, committed when it succeeds."""
    from db.engine import run_in_session

    async def committed(session: Any) -> T:
        result = await work(session)
        await session.commit()
        return result

    return run_in_session(settings.database_url, committed)


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from api.clients import CONSOLE_CLIENT_ID, ensure_console_client
    from db.migrate import upgrade
    from policies.store import ensure_defaults

    upgrade(settings.database_url)
    loaded = _run(settings, ensure_defaults)
    console = _run(settings, lambda s: ensure_console_client(s, settings.issuer))
    print(f"database at head; {loaded} default policies loaded" if loaded
          else "database at head")
    if console is not None:
        print(f"public client {CONSOLE_CLIENT_ID} {console} (redirect URI "
              f"{settings.issuer.rstrip('/')}/console/)")
    return 0


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from api.issuer import cli_issue_token
    from api.seed import DEMO_PRINCIPALS, seed_demo

    if settings.production:
        raise ValueError("REGISTRY_ENV=production: demo data is never loaded in production")
    result = _run(settings, lambda s: seed_demo(s, judgments=args.judgments))
    if result.judgments:
        # The planner's statistics, after a bulk load: until autovacuum gets round to it,
        # PostgreSQL plans a page of judgments as if the table were empty.
        _run(settings, lambda s: s.execute(text("ANALYZE")))
    print(f"demo data: {result.agencies} agencies, {result.offenders} people, "
          f"{result.judgments} judgments added")
    if not args.quiet and settings.oidc_issuer is not None:
        print("\nNo demo access tokens: REGISTRY_OIDC_ISSUER is set, so only that provider's "
              "tokens are accepted")
    elif not args.quiet:
        ttl = min(8 * 3600, settings.token_max_ttl)  # 8 hours unless the cap is lower
        shown = f"{ttl // 3600} hours" if ttl % 3600 == 0 else f"{ttl} seconds"
        print(f"\nDemo access tokens ({shown}):")
        for sub, role, agency, id_number in DEMO_PRINCIPALS:
            token = cli_issue_token(settings, sub, role, agency, id_number, ttl)
            print(f"\n  {role} ({sub}, {agency}):\n  export TOKEN_{role.upper()}={token}")
        print(f"\nExample query:\n  curl -s {settings.issuer.rstrip('/')}/graphql "
              "-H \"Authorization: Bearer $TOKEN_REGISTRY_CLERK\" "
              "-H 'Content-Type: application/json' \\\n"
              f"    -d '{{\"query\": \"{EXAMPLE_QUERY}\"}}'\n")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import logging.config

    import uvicorn

    from api.logs import log_config
    from api.metrics import multiprocess_dir
    from db.engine import is_sqlite

    flags = {"REGISTRY_LOG_LEVEL": args.log_level, "REGISTRY_LOG_FORMAT": args.log_format}
    settings = settings.with_(**{name[len("REGISTRY_"):].lower(): value
                                 for name, value in flags.items() if value is not None})
    if args.workers > 1 and is_sqlite(settings.database_url):
        raise ValueError("--workers > 1 needs PostgreSQL: the embedded SQLite database "
                         "serves one process")
    if settings.oidc_issuer is not None:
        _check_provider(settings)
    # Every worker builds its settings from the environment: the flags go there too.
    os.environ.update({name: value for name, value in flags.items() if value is not None})
    logging_config = log_config(settings)
    logging.config.dictConfig(logging_config)  # uvicorn applies it again, in every worker
    issuer = served_issuer(settings, args.host, args.port)
    if issuer is not None:
        os.environ["REGISTRY_ISSUER"] = issuer
        logging.getLogger("registry.serve").warning(
            "REGISTRY_ISSUER is not set, so the embedded issuer follows the address served: "
            "%s. Tokens for it need the same setting: REGISTRY_ISSUER=%s registry token "
            "issue ...", issuer, issuer)
    with multiprocess_dir(args.workers):
        uvicorn.run("api.app:create_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_config=logging_config,
                    **{**SERVE_OPTIONS, "log_level": settings.log_level.lower()})
    return 0


def _check_provider(settings: Settings) -> None:
    """An external OpenID provider that cannot be used stops `registry serve` before it
    listens, with one line naming REGISTRY_OIDC_ISSUER (each worker checks again as it
    starts, and stops the same way)."""
    import asyncio

    from api.auth import TokenVerifier
    from api.oidc import ProviderError

    try:
        asyncio.run(TokenVerifier(settings, None).start())
    except ProviderError as error:
        raise ValueError(str(error)) from None


def served_issuer(settings: Settings, host: str, port: int) -> str | None:
    """The embedded issuer's URL when `registry serve` serves elsewhere than the default
    issuer says and REGISTRY_ISSUER is not set (README "Serving on another port"); None
    when nothing changes. A wildcard host is reached at 127.0.0.1 from this machine."""
    if "REGISTRY_ISSUER" in os.environ or settings.jwks_url is not None or \
            settings.oidc_issuer is not None:
        return None
    reached = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
    issuer = f"http://[{reached}]:{port}" if ":" in reached else f"http://{reached}:{port}"
    return None if issuer == settings.issuer else issuer


# How `registry serve` runs uvicorn: no `server` banner (CONTRACT.md §2), no access log (the
# app logs request ids and codes itself).
SERVE_OPTIONS: dict[str, Any] = {"log_level": "info", "access_log": False,
                                 "server_header": False}


def _agency_add(settings: Settings, args: argparse.Namespace) -> int:
    from api.seed import add_agency

    agency = _run(settings, lambda s: add_agency(s, code=args.code, kind=args.kind,
                                                 name=args.name, region=args.region))
    print(f"agency {agency.code} added")
    return 0


def _token_issue(settings: Settings, args: argparse.Namespace) -> int:
    from api.issuer import cli_issue_token

    if settings.oidc_issuer is not None:
        raise ValueError("REGISTRY_OIDC_ISSUER is set: the registry accepts only that "
                         "provider's tokens, so the embedded issuer mints none")

    print(cli_issue_token(settings, args.sub, args.role, args.agency, args.id_number, args.ttl,
                          scopes=args.scope))
    return 0


def _client_create(settings: Settings, args: argparse.Namespace) -> int:
    from api.clients import cli_create_client

    client_id, secret = cli_create_client(settings, args.name, args.role, args.agency,
                                          scopes=args.scope, redirect_uris=args.redirect_uri,
                                          public=args.public)
    print(f"client_id={client_id}")
    if secret is not None:
        print(f"client_secret={secret}")
    return 0


def _client_list(settings: Settings, args: argparse.Namespace) -> int:
    from api.clients import cli_list_clients

    rows = cli_list_clients(settings)
    if not rows:
        print("no clients")
        return 0
    print(f"{'CLIENT_ID':<31}  {'STATUS':<8}  {'ROLE':<22}  {'AGENCY':<14}  {'CREATED':<10}  NAME")
    for row in rows:
        status = "active" if row.active else "disabled"
        role = row.role or "(any person)"
        kind = " (public)" if row.public else ""
        print(f"{row.client_id:<31}  {status:<8}  {role:<22}  {row.agency_code or '-':<14}  "
              f"{row.created_at:%Y-%m-%d}  {row.name}{kind}")
    return 0


def _client_disable(settings: Settings, args: argparse.Namespace) -> int:
    from api.clients import cli_disable_client

    cli_disable_client(settings, args.id)
    print(f"client {args.id} disabled: no new token; the tokens issued to it stop working "
          f"{REVOKED_WITHIN}")
    return 0


def _client_enable(settings: Settings, args: argparse.Namespace) -> int:
    from api.clients import cli_enable_client

    cli_enable_client(settings, args.id)
    print(f"client {args.id} enabled; the tokens issued before it was disabled stay revoked")
    return 0


def _client_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from api.clients import cli_rotate_client_secret

    client_id, secret = cli_rotate_client_secret(settings, args.id)
    print(f"client_id={client_id}\nclient_secret={secret}")
    print(f"the old secret is refused from now on, and the tokens issued before now stop "
          f"working {REVOKED_WITHIN}; this secret is not shown again", file=sys.stderr)
    return 0


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    from api.users import add_user, read_password, require_user_flags

    require_user_flags(args.sub, args.role, args.id_number)
    password = read_password(sys.stdin)
    user = _run(settings, lambda s: add_user(s, sub=args.sub, role=args.role, password=password,
                                             agency_code=args.agency, id_number=args.id_number))
    print(f"user {user.sub} added (role {user.role}, agency {user.agency_code or '-'})")
    return 0


def _user_list(settings: Settings, args: argparse.Namespace) -> int:
    from api.users import list_users

    rows = _run(settings, list_users)
    if not rows:
        print("no users")
        return 0
    width = max(len("SUB"), *(len(row.sub) for row in rows))
    print(f"{'SUB':<{width}}  {'STATUS':<8}  {'ROLE':<22}  {'AGENCY':<14}  CREATED")
    for row in rows:
        status = "disabled" if row.disabled else "active"
        print(f"{row.sub:<{width}}  {status:<8}  {row.role:<22}  {row.agency_code or '-':<14}  "
              f"{row.created_at:%Y-%m-%d}")
    return 0


def _user_disable(settings: Settings, args: argparse.Namespace) -> int:
    from api.users import set_user_disabled

    _run(settings, lambda s: set_user_disabled(s, args.sub, True))
    print(f"user {args.sub} disabled: their password is refused from now on")
    return 0


def _user_enable(settings: Settings, args: argparse.Namespace) -> int:
    from api.users import set_user_disabled

    _run(settings, lambda s: set_user_disabled(s, args.sub, False))
    print(f"user {args.sub} enabled")
    return 0


def _user_set_password(settings: Settings, args: argparse.Namespace) -> int:
    from api.users import read_password, set_user_password

    password = read_password(sys.stdin)
    _run(settings, lambda s: set_user_password(s, args.sub, password))
    print(f"user {args.sub}: password replaced")
    return 0


def _policy_list(settings: Settings, args: argparse.Namespace) -> int:
    from policies.store import cmd_policy_list

    return cmd_policy_list(settings.database_url)


def _policy_validate(settings: Settings, args: argparse.Namespace) -> int:
    from policies.store import cmd_policy_validate

    return cmd_policy_validate(args.file)


def _policy_import(settings: Settings, args: argparse.Namespace) -> int:
    from api.policy_import import cmd_policy_import

    return cmd_policy_import(settings, args.directory, by=args.by,
                             approved_by=args.approved_by or ())


def _policy_export(settings: Settings, args: argparse.Namespace) -> int:
    from policies.store import cmd_policy_export

    return cmd_policy_export(settings.database_url, args.directory)


def _audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from api.issuer import CheckpointKeyring
    from db.audit import cmd_audit_verify
    from db.audit_keys import AuditKeys

    # The key is never created here, so that verify cannot mint a key to check against.
    keys = AuditKeys.load(settings.audit_key_path)
    keyring = CheckpointKeyring.load(settings.audit_keyring_dir, _checkpoint_keys(settings))
    return cmd_audit_verify(settings.database_url, keys, settings.audit_witness_path,
                            keyring.verify_text if keyring else None)


def _audit_checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    from db.audit import cmd_audit_checkpoint
    from db.audit_keys import AuditKeys

    keys = AuditKeys.load_or_create(settings.audit_key_path)
    return cmd_audit_checkpoint(settings.database_url, keys, settings.audit_witness_path)


def _audit_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    from db.audit_keys import AuditKeys

    keys = AuditKeys.rotate(settings.audit_key_path)
    print(f"audit key {keys.current} added: it seals events from the service's next start")
    return 0


def _checkpoint_keys(settings: Settings) -> Any:
    """The key that signs audit checkpoints: the embedded issuer's, where it exists (it is
    never created here, so that verify cannot mint a key to check against)."""
    from pathlib import Path

    from api.issuer import SigningKeys

    if not Path(settings.signing_key_file).exists():
        return None
    return SigningKeys.load_or_create(settings.signing_key_file)


def _import_notices(settings: Settings, args: argparse.Namespace) -> int:
    from api.importer import cmd_import_notices

    return cmd_import_notices(settings, args.file, agency=args.agency, sub=args.sub,
                              progress=not args.no_progress, as_json=args.json)


def _schema_export(settings: Settings, args: argparse.Namespace) -> int:
    from schema import build_schema

    print(build_schema().as_str())
    return 0
