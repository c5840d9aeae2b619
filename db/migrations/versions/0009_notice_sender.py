"""notice.sender_sub, notice.sender_role: who sent each notice

A sender's share of notices that could not be matched is a misuse signal (DESIGN.md §1.2,
accessReport). The notices received before this revision are attributed from the audit
trail: the permitted event of the operation that created a notice names its id.

Revision ID: 0009
Revises: 0011 (main's head when written: chain it after the head when merging)
Create Date: 2026-12-06 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The actions whose permitted audit event names the notice an operation created (the
# sender's): reporting a judgment, a release or an expiry, and correcting a judgment.
CREATING_ACTIONS = ("judgment:report", "notice:report", "judgment:correct")
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_sub", sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=False, server_default=""))
        batch_op.add_column(sa.Column("sender_role", sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_notice_sender_sub"), ["sender_sub"], unique=False)
    _attribute_from_the_audit_trail()


def _attribute_from_the_audit_trail() -> None:
    connection = op.get_bind()
    audit = sa.table("audit_event", sa.column("seq", sa.BigInteger()), sa.column("sub"),
                     sa.column("role"), sa.column("action"), sa.column("outcome"),
                     sa.column("resource_ids", sa.JSON()))
    notice = sa.table("notice", sa.column("public_id"), sa.column("sender_sub"),
                      sa.column("sender_role"))
    waiting = {row[0] for row in connection.execute(
        sa.select(notice.c.public_id).where(notice.c.sender_sub == ""))}
    if not waiting:
        return
    senders: dict[str, tuple[str, str]] = {}
    events = connection.execute(
        sa.select(audit.c.sub, audit.c.role, audit.c.resource_ids)
        .where(audit.c.outcome == "permit", audit.c.action.in_(CREATING_ACTIONS))
        .order_by(audit.c.seq).execution_options(yield_per=BATCH))
    for sub, role, ids in events:
        for public_id in ids or []:
            if public_id in waiting and public_id not in senders:
                senders[public_id] = (sub or "", role or "")
    update = (sa.update(notice).where(notice.c.public_id == sa.bindparam("id"))
              .values(sender_sub=sa.bindparam("sub"), sender_role=sa.bindparam("role")))
    rows = [{"id": k, "sub": sub, "role": role} for k, (sub, role) in senders.items()]
    for start in range(0, len(rows), BATCH):
        connection.execute(update, rows[start:start + BATCH])


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_sender_sub"))
        batch_op.drop_column("sender_role")
        batch_op.drop_column("sender_sub")
