"""metric_values.hour: the hour of the local day of an hour-grain value

Revision ID: 0009
Revises: 0008

An hour-grain value is filed under its local day (period_start) and the hour of that day,
counted from 0 at the day's start: a 25-hour day has hours 0..24, so the repeated autumn hour
is two rows. Every other grain keeps hour 0, so its rows and reads are unchanged; the unique
key gains the column.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite rebuilds the table to change a constraint; PostgreSQL alters it.
    with op.batch_alter_table("metric_values") as batch:
        batch.add_column(sa.Column("hour", sa.SmallInteger, nullable=False, server_default="0"))
        batch.drop_constraint("uq_metric_values_period", type_="unique")
        batch.create_unique_constraint("uq_metric_values_period",
                                       ["metric", "grain", "period_start", "hour", "dims_key"])


def downgrade() -> None:
    with op.batch_alter_table("metric_values") as batch:
        batch.drop_constraint("uq_metric_values_period", type_="unique")
        batch.create_unique_constraint("uq_metric_values_period",
                                       ["metric", "grain", "period_start", "dims_key"])
        batch.drop_column("hour")
