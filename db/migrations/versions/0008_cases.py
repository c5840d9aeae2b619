# ruff: noqa: E501
"""cases and their parties; counsel bound to a registered case; an inquiry keeps is_counsel

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00

Existing data is kept as it is:
- A defense-counsel registration made before cases existed has no `case_id`. It stays as a
  row but grants no new DEFENSE inquiry: the organ handling the case registers the case,
  then the lawyer again (DESIGN.md §1.6). The unique key moves from (case number, lawyer,
  suspect) to (case, lawyer, suspect), so that registering again adds a row beside the old
  one instead of overwriting who registered it and when.
- An approved DEFENSE inquiry stays readable by its lawyer: `inquiry.is_counsel` is set
  for every one whose counsel registration exists, which is what approved it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KEY = ["case_number", "lawyer_sub", "suspect_id_number"]
NEW_KEY = "uq_defense_counsel_case_lawyer_suspect"
# SQLite keeps the old key unnamed; batch mode names it by this convention to drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    op.create_table(
        "criminal_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("case_number", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("registered_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("registered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_number"),
        sa.UniqueConstraint("public_id"),
    )
    with op.batch_alter_table("criminal_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_criminal_case_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "case_party",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("id_number", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("added_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("added_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["criminal_case.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "id_number", "role"),
    )
    with op.batch_alter_table("case_party", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_party_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_party_id_number"), ["id_number"], unique=False)

    old_key = next(u["name"] for u in sa.inspect(op.get_bind()).get_unique_constraints(
        "defense_counsel") if u["column_names"] == OLD_KEY) or "uq_defense_counsel_case_number"
    with op.batch_alter_table("defense_counsel", schema=None,
                              naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_defense_counsel_case_id"), ["case_id"], unique=False)
        batch_op.create_foreign_key("fk_defense_counsel_case_id", "criminal_case",
                                    ["case_id"], ["id"])
        batch_op.drop_constraint(old_key, type_="unique")
        batch_op.create_unique_constraint(NEW_KEY, ["case_id", "lawyer_sub", "suspect_id_number"])

    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_counsel", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    # What approved a DEFENSE inquiry was its lawyer's registration for the subject in that
    # case; registrations are never deleted, so where one exists, it existed then.
    inquiry = sa.table("inquiry", sa.column("id"), sa.column("purpose"), sa.column("status"),
                       sa.column("case_number"), sa.column("requester_sub"),
                       sa.column("subject_id_number"), sa.column("is_counsel", sa.Boolean()))
    counsel = sa.table("defense_counsel", sa.column("case_number"), sa.column("lawyer_sub"),
                       sa.column("suspect_id_number"))
    op.execute(inquiry.update().where(
        inquiry.c.purpose == "DEFENSE", inquiry.c.status == "APPROVED",
        sa.exists().where(counsel.c.case_number == inquiry.c.case_number,
                          counsel.c.lawyer_sub == inquiry.c.requester_sub,
                          counsel.c.suspect_id_number == inquiry.c.subject_id_number),
    ).values(is_counsel=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.drop_column("is_counsel")

    # Registrations made again after their case was registered duplicate an older one under
    # the old key: the older one stays.
    counsel = sa.table("defense_counsel", sa.column("id"), sa.column("case_number"),
                       sa.column("lawyer_sub"), sa.column("suspect_id_number"))
    older = counsel.alias("older")
    op.execute(counsel.delete().where(sa.exists().where(
        older.c.case_number == counsel.c.case_number, older.c.lawyer_sub == counsel.c.lawyer_sub,
        older.c.suspect_id_number == counsel.c.suspect_id_number, older.c.id < counsel.c.id)))
    with op.batch_alter_table("defense_counsel", schema=None) as batch_op:
        batch_op.drop_constraint(NEW_KEY, type_="unique")
        batch_op.drop_constraint("fk_defense_counsel_case_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_defense_counsel_case_id"))
        batch_op.drop_column("case_id")
        # PostgreSQL's own name for the key 0003 made unnamed.
        batch_op.create_unique_constraint(
            "defense_counsel_case_number_lawyer_sub_suspect_id_number_key", OLD_KEY)

    with op.batch_alter_table("case_party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_party_id_number"))
        batch_op.drop_index(batch_op.f("ix_case_party_case_id"))
    op.drop_table("case_party")
    with op.batch_alter_table("criminal_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_criminal_case_agency_id"))
    op.drop_table("criminal_case")
