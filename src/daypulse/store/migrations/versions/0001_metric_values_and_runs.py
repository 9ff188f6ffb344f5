"""metric_values and runs

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

VALUE = sa.Numeric(asdecimal=True).with_variant(sa.Float(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "metric_values",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("grain", sa.String(16), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("dims_key", sa.String(1000), nullable=False),
        sa.Column("dims", sa.JSON, nullable=False),
        sa.Column("value", VALUE, nullable=True),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("metric", "grain", "period_start", "dims_key",
                            name="uq_metric_values_period"),
    )
    op.create_index("ix_metric_values_period", "metric_values", ["grain", "period_start"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("range_start", sa.Date, nullable=True),
        sa.Column("range_end", sa.Date, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("runs")
    op.drop_index("ix_metric_values_period", "metric_values")
    op.drop_table("metric_values")
