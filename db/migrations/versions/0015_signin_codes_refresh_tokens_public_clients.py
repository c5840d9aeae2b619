"""Sign-in (issue 15): clients' redirect URIs and public flag, and the grants people make by
signing in, with their one-time authorization codes and refresh tokens (stored hashed)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STRING = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "oauth_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", _STRING(length=64), nullable=False),
        sa.Column("client_id", _STRING(length=64), nullable=False),
        sa.Column("user_sub", _STRING(length=200), nullable=False),
        sa.Column("scope", _STRING(length=500), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.Column("revoked_at", _TIME(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("oauth_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_grant_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_grant_grant_id"), ["grant_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_oauth_grant_revoked_at"), ["revoked_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_grant_user_sub"), ["user_sub"], unique=False)

    op.create_table(
        "oauth_authorization_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", _STRING(length=64), nullable=False),
        sa.Column("grant_id", _STRING(length=64), nullable=False),
        sa.Column("client_id", _STRING(length=64), nullable=False),
        sa.Column("redirect_uri", _STRING(length=2000), nullable=False),
        sa.Column("code_challenge", _STRING(length=128), nullable=False),
        sa.Column("code_challenge_method", _STRING(length=10), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.Column("used_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["oauth_grant.grant_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("oauth_authorization_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_authorization_code_code_hash"), ["code_hash"],
                              unique=True)

    op.create_table(
        "oauth_refresh_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _STRING(length=64), nullable=False),
        sa.Column("grant_id", _STRING(length=64), nullable=False),
        sa.Column("client_id", _STRING(length=64), nullable=False),
        sa.Column("scope", _STRING(length=500), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("rotated_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["oauth_grant.grant_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("oauth_refresh_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_refresh_token_grant_id"), ["grant_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_refresh_token_token_hash"), ["token_hash"],
                              unique=True)

    # The clients that exist keep what they were: confidential, no redirect URI.
    with op.batch_alter_table("oauth_client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redirect_uris", _STRING(length=2000), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("public", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.alter_column("secret_hash", existing_type=sa.VARCHAR(length=256),
                              nullable=True)
    with op.batch_alter_table("oauth_client", schema=None) as batch_op:
        batch_op.alter_column("redirect_uris", server_default=None)
        batch_op.alter_column("public", server_default=None)


def downgrade() -> None:
    # Public clients cannot exist without a secret: they stay, disabled, with a hash that
    # no secret matches.
    op.execute(sa.text("UPDATE oauth_client SET active = :no, secret_hash = 'public' "
                       "WHERE secret_hash IS NULL").bindparams(no=False))
    with op.batch_alter_table("oauth_client", schema=None) as batch_op:
        batch_op.alter_column("secret_hash", existing_type=sa.VARCHAR(length=256),
                              nullable=False)
        batch_op.drop_column("public")
        batch_op.drop_column("redirect_uris")

    with op.batch_alter_table("oauth_refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_refresh_token_token_hash"))
        batch_op.drop_index(batch_op.f("ix_oauth_refresh_token_grant_id"))
    op.drop_table("oauth_refresh_token")
    with op.batch_alter_table("oauth_authorization_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_authorization_code_code_hash"))
    op.drop_table("oauth_authorization_code")
    with op.batch_alter_table("oauth_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_grant_user_sub"))
        batch_op.drop_index(batch_op.f("ix_oauth_grant_revoked_at"))
        batch_op.drop_index(batch_op.f("ix_oauth_grant_grant_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_grant_client_id"))
    op.drop_table("oauth_grant")
