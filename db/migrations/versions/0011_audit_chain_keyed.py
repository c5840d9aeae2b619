"""The audit chain is sealed with the service's key: audit_event.key_id, the audit_chain
row (the chain's id, where its unkeyed prefix ends, the witness bookkeeping), and on
PostgreSQL the application's own database role, `registry_app`

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-06 01:50:00
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "registry_app"

# DESIGN.md 1.5, issue 12 item 4. The service connects as a member of `registry_app`, which
# may read and write the application's tables but may not DELETE, UPDATE or TRUNCATE the
# audit trail, nor create, alter or drop anything (it owns nothing). Roles belong to the
# whole cluster, so the role is created once and kept on downgrade (other databases of the
# cluster may use it); a migrating role that may not create roles leaves a notice instead.
CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'role {APP_ROLE} not created: the migrating role may not create roles';
END
$$
"""
NO_CREATE_FOR_PUBLIC = """
DO $$
BEGIN
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'CREATE on the schema left as it was: the migrating role does not own it';
END
$$
"""
GRANTS = [
    f"GRANT USAGE ON SCHEMA {{schema}} TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {{schema}} TO {APP_ROLE}",
    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {{schema}} TO {APP_ROLE}",
    f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_checkpoint FROM {APP_ROLE}",
    f"REVOKE DELETE, TRUNCATE ON audit_chain FROM {APP_ROLE}",
    f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {APP_ROLE}",
    # Tables of later migrations, created by the same migrating role. A later audit table
    # must revoke DELETE itself, as this migration does for the three above.
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} GRANT SELECT, INSERT, UPDATE, DELETE "
    f"ON TABLES TO {APP_ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} GRANT USAGE, SELECT ON SEQUENCES "
    f"TO {APP_ROLE}",
]
REVOKES = [
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} REVOKE ALL ON TABLES FROM {APP_ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} REVOKE ALL ON SEQUENCES FROM {APP_ROLE}",
    f"REVOKE ALL ON ALL TABLES IN SCHEMA {{schema}} FROM {APP_ROLE}",
    f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {{schema}} FROM {APP_ROLE}",
    f"REVOKE ALL ON SCHEMA {{schema}} FROM {APP_ROLE}",
]


def _role_exists() -> bool:
    found = op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                                  {"r": APP_ROLE}).first()
    return found is not None


def _schema() -> str:
    name = op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar()
    return str(name)


def upgrade() -> None:
    op.add_column("audit_event", sa.Column(
        "key_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
        server_default=""))
    op.create_table(
        "audit_chain",
        sa.Column("chain_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("legacy_until", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("witnessed_n", sa.BigInteger(), nullable=False),
        sa.Column("witnessed_seq", sa.BigInteger(), nullable=False),
        sa.Column("witnessed_hash", sqlmodel.sql.sqltypes.AutoString(length=64),
                  nullable=False),
        sa.PrimaryKeyConstraint("chain_id"),
    )
    # The events already there were hashed without a key: they are the chain's legacy
    # prefix, up to and including `legacy_until`. The first witness checkpoint (written by
    # the service as it starts, or by `registry audit checkpoint`) signs it; until then it is
    # vouched for by nothing but the database (README, "Audit trail").
    bind = op.get_bind()
    head = bind.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM audit_event")).scalar()
    chain = sa.table("audit_chain", sa.column("chain_id", sa.String()),
                     sa.column("legacy_until", sa.BigInteger()),
                     sa.column("started_at", sqlmodel.sql.sqltypes.UTCDateTime()),
                     sa.column("witnessed_n", sa.BigInteger()),
                     sa.column("witnessed_seq", sa.BigInteger()),
                     sa.column("witnessed_hash", sa.String()))
    op.bulk_insert(chain, [{"chain_id": f"chn_{secrets.token_urlsafe(12)}",
                            "legacy_until": int(head or 0), "started_at": datetime.now(UTC),
                            "witnessed_n": 0, "witnessed_seq": 0, "witnessed_hash": ""}])
    if bind.dialect.name != "postgresql":
        return
    op.execute(CREATE_ROLE)
    op.execute(NO_CREATE_FOR_PUBLIC)
    if _role_exists():
        schema = _schema()
        for statement in GRANTS:
            op.execute(statement.format(schema=schema))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _role_exists():
        schema = _schema()
        for statement in REVOKES:
            op.execute(statement.format(schema=schema))
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("key_id")
