"""policy_change: policy changes proposed, approved by other security admins, applied or
rejected (DESIGN.md §1.5, CONTRACT.md §4); `policy:approve` for the security admins

Approving is its own action, `policy:approve`. A registry whose security-admin policy is
still the default one of earlier revisions (policy:read and policy:write for the role
security_admin) gets a new version of it that adds `policy:approve`, so that the admins who
wrote policies can approve each other's changes; any other document is left as it is (its
admins then add `policy:approve` with a change applied while one approval is needed).

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-06 04:10:00
"""

import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADMIN_POLICY = "security-admin.manages-policies"
AUTHOR = "migration:0012"
EARLIER_ACTIONS = {"condition": "IsIn", "values": ["policy:read", "policy:write"]}
NOW_ACTIONS = {"condition": "IsIn", "values": ["policy:read", "policy:write", "policy:approve"]}


def upgrade() -> None:
    op.create_table(
        "policy_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("proposed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("proposed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("approvals_needed", sa.Integer(), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("widens", sa.JSON(), nullable=False),
        sa.Column("flips", sa.JSON(), nullable=False),
        sa.Column("applied_row", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    with op.batch_alter_table("policy_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_change_uid"), ["uid"], unique=False)
        batch_op.create_index(batch_op.f("ix_policy_change_status"), ["status"], unique=False)
    _admins_approve()


def _policy_table() -> sa.TableClause:
    return sa.table("policy", sa.column("id", sa.Integer()), sa.column("uid"),
                    sa.column("version", sa.Integer()), sa.column("document", sa.JSON()),
                    sa.column("deleted", sa.Boolean()), sa.column("author"),
                    sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()))


def _newest(connection: sa.Connection, policy: sa.TableClause) -> Any:
    return connection.execute(
        sa.select(policy.c.id, policy.c.version, policy.c.document, policy.c.deleted,
                  policy.c.author)
        .where(policy.c.uid == ADMIN_POLICY).order_by(policy.c.version.desc()).limit(1)
    ).first()


def _admins_approve() -> None:
    connection = op.get_bind()
    policy = _policy_table()
    newest = _newest(connection, policy)
    if newest is None or newest.deleted:
        return
    document = newest.document
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, dict) or rules.get("action") != {"$.name": EARLIER_ACTIONS}:
        return
    changed = copy.deepcopy(document)
    changed["rules"]["action"] = {"$.name": NOW_ACTIONS}
    connection.execute(sa.insert(policy).values(
        uid=ADMIN_POLICY, version=newest.version + 1, document=changed, deleted=False,
        author=AUTHOR, created_at=datetime.now(UTC)))


def downgrade() -> None:
    connection = op.get_bind()
    policy = _policy_table()
    newest = _newest(connection, policy)
    if newest is not None and newest.author == AUTHOR:
        connection.execute(sa.delete(policy).where(policy.c.id == newest.id))
    with op.batch_alter_table("policy_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_change_status"))
        batch_op.drop_index(batch_op.f("ix_policy_change_uid"))
    op.drop_table("policy_change")
