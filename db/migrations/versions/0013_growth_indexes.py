"""Growth with data: an index for name search, and judgment counts kept per visibility
combination

`offenders(filter: {name})` is an exact match on `offender.name`, paged in `public_id`
order: a btree on (name, public_id) reads a page of a common name without sorting its
thousands of namesakes.

A judgment list's exact `totalCount` counted every visible row (a parallel scan of the
table: 350 ms at 1,000,000 judgments). `judgment_tally` holds the number of judgments of
each (region, seal status, verdict), the only attributes the visibility filter reads; the
count sums the few rows the same filter lets through. Triggers keep it in the transaction
that changes `judgment`: on PostgreSQL one per statement (transition tables: a COPY of
5,000 rows is one update per combination, not 5,000), enabled ALWAYS so that they fire
under `session_replication_role = replica` too; on SQLite one per row.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 04:00:00
"""

# ruff: noqa: S608 - the SQL here is made of constants

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "region, seal_status, verdict"
# Rows of (region, seal_status, verdict, d): d judgments added (or removed, d < 0).
POSTGRES_CHANGES = {
    "INSERT": f"SELECT {KEY}, 1 AS d FROM new_rows",
    "DELETE": f"SELECT {KEY}, -1 AS d FROM old_rows",
    "UPDATE": "SELECT o.region, o.seal_status, o.verdict, -1 AS d FROM old_rows o "
              "JOIN new_rows w ON w.id = o.id WHERE (o.region, o.seal_status, o.verdict) "
              "IS DISTINCT FROM (w.region, w.seal_status, w.verdict) UNION ALL "
              "SELECT w.region, w.seal_status, w.verdict, 1 FROM old_rows o "
              "JOIN new_rows w ON w.id = o.id WHERE (o.region, o.seal_status, o.verdict) "
              "IS DISTINCT FROM (w.region, w.seal_status, w.verdict)",
}
TRANSITIONS = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
               "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}


def _postgres_function(operation: str) -> str:
    # Grouped, and in key order: one update per combination, taken in the same order by
    # every transaction (no deadlock between two that change the same combinations).
    return f"""
CREATE FUNCTION judgment_tally_{operation.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO judgment_tally AS t ({KEY}, n)
    SELECT {KEY}, sum(d) FROM ({POSTGRES_CHANGES[operation]}) AS changes
    GROUP BY {KEY} ORDER BY {KEY}
    ON CONFLICT ({KEY}) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END
$$"""


def _sqlite_add(row: str) -> str:
    return (f"INSERT INTO judgment_tally ({KEY}, n) VALUES ({row}.region, {row}.seal_status, "
            f"{row}.verdict, 1) ON CONFLICT ({KEY}) DO UPDATE SET n = n + 1;")


def _sqlite_remove(row: str) -> str:
    return (f"UPDATE judgment_tally SET n = n - 1 WHERE region = {row}.region AND "
            f"seal_status = {row}.seal_status AND verdict = {row}.verdict;")


SQLITE_TRIGGERS = {
    "insert": f"AFTER INSERT ON judgment BEGIN {_sqlite_add('NEW')} END",
    "delete": f"AFTER DELETE ON judgment BEGIN {_sqlite_remove('OLD')} END",
    "update": "AFTER UPDATE OF region, seal_status, verdict ON judgment WHEN "
              "OLD.region IS NOT NEW.region OR OLD.seal_status IS NOT NEW.seal_status OR "
              f"OLD.verdict IS NOT NEW.verdict BEGIN {_sqlite_remove('OLD')} "
              f"{_sqlite_add('NEW')} END",
}


def upgrade() -> None:
    op.create_index("ix_offender_name", "offender", ["name", "public_id"], unique=False)
    op.create_table(
        "judgment_tally",
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("seal_status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region", "seal_status", "verdict"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("LOCK TABLE judgment IN SHARE MODE")  # no judgment changes uncounted
        for operation, transition in TRANSITIONS.items():
            name = operation.lower()
            op.execute(_postgres_function(operation))
            op.execute(f"CREATE TRIGGER judgment_tally_{name} AFTER {operation} ON judgment "
                       f"REFERENCING {transition} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION judgment_tally_{name}()")
            op.execute(f"ALTER TABLE judgment ENABLE ALWAYS TRIGGER judgment_tally_{name}")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER judgment_tally_{name} {body}")
    op.execute(f"INSERT INTO judgment_tally ({KEY}, n) SELECT {KEY}, count(*) FROM judgment "
               f"GROUP BY {KEY}")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER judgment_tally_{name}" + (" ON judgment" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION judgment_tally_{name}()")
    op.drop_table("judgment_tally")
    op.drop_index("ix_offender_name", table_name="offender")
