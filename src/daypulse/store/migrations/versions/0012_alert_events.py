"""alert_events: the events metric alert rules raise, one per (rule, dimension values, opening period)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("grain", sa.String(16), nullable=False),
        sa.Column("dims_key", sa.String(2000), nullable=False),
        sa.Column("dims", sa.JSON, nullable=False),
        sa.Column("period", sa.Date, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("limit", sa.Float, nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("resolved_period", sa.Date, nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.String(200), nullable=True),
        sa.Column("ack_note", sa.Text, nullable=True),
        sa.UniqueConstraint("rule", "dims_key", "period", name="uq_alert_events_opening"),
    )
    op.create_index("ix_alert_events_open", "alert_events", ["resolved_period", "period"])


def downgrade() -> None:
    op.drop_index("ix_alert_events_open", table_name="alert_events")
    op.drop_table("alert_events")
