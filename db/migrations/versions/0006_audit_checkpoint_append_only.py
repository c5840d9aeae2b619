"""audit_checkpoint is append-only on PostgreSQL too

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 22:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The signed heads of the chain are what detect a rewrite of the whole chain: deleting or
# editing them would hide one. Statement triggers, so that a statement is refused even when
# it matches no row.
FUNCTION = """
CREATE OR REPLACE FUNCTION audit_table_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
TRIGGER = """
CREATE TRIGGER audit_checkpoint_append_only
BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoint
FOR EACH STATEMENT EXECUTE FUNCTION audit_table_is_append_only()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint")
    op.execute("DROP FUNCTION IF EXISTS audit_table_is_append_only()")
