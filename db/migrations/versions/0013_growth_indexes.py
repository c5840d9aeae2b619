"""Indexes for growth: name search, and the visibility attributes a list counts by

`offenders(filter: {name})` is an exact match on `offender.name`: a btree on the column.
A judgment list filters on the requester's division (`region LIKE '11%'`), the seal status
and the verdict (db/queries/visibility.py): one btree over the three lets PostgreSQL count a
division from the index alone; `varchar_pattern_ops` makes a prefix LIKE an index range
whatever the database's collation (a plain btree serves LIKE only under the C collation).
SQLite has no operator classes; there the same three columns make a covering index.

Revision ID: 0013
Revises: 0009 (main's head when written: chain it after the head when merging)
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_offender_name", "offender", ["name"], unique=False)
    op.create_index("ix_judgment_visibility", "judgment", ["region", "seal_status", "verdict"],
                    unique=False, postgresql_ops={"region": "varchar_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_judgment_visibility", table_name="judgment")
    op.drop_index("ix_offender_name", table_name="offender")
