"""an index for reading one series: (metric, grain, dims_key, period_start)

Revision ID: 0007
Revises: 0006

The unique index puts period_start before dims_key (it serves writes, which replace a range of
periods); a series of one dimension set (the total, or one tenant) then scanned every tenant's
rows of the range. Reads of the API, the dashboard and reports are all of this shape.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_metric_values_series", "metric_values", ["metric", "grain", "dims_key", "period_start"])


def downgrade() -> None:
    op.drop_index("ix_metric_values_series", table_name="metric_values")
