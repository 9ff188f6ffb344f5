"""cohort_cells: every cell of every cohort grid computed, with the run that computed it

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cohort_cells",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("by", sa.String(8), nullable=False),
        sa.Column("measure", sa.String(16), nullable=False),
        sa.Column("dims_key", sa.String(2000), nullable=False),
        sa.Column("dims", sa.JSON, nullable=False),
        sa.Column("cohort", sa.Date, nullable=False),
        sa.Column("period", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("retained", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.Float, nullable=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("run_id", "by", "measure", "dims_key", "cohort", "period", name="uq_cohort_cells_run"),
    )
    op.create_index("ix_cohort_cells_latest", "cohort_cells", ["by", "measure", "dims_key", "run_id"])


def downgrade() -> None:
    op.drop_index("ix_cohort_cells_latest", table_name="cohort_cells")
    op.drop_table("cohort_cells")
