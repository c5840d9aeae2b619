"""registry_user: the people who may sign in to the embedded issuer (issue 15)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sub", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("agency_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("id_number", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_code"], ["agency.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("registry_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_user_sub"), ["sub"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("registry_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_user_sub"))
    op.drop_table("registry_user")
