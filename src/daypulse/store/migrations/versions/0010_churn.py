"""churn_scores and churn_alerts: each customer's daily churn score, and the alerts raised

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "churn_scores",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entity", sa.String(200), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("dims", sa.JSON, nullable=False),
        sa.Column("signals", sa.JSON, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("entity", "day", name="uq_churn_scores_day"),
    )
    op.create_index("ix_churn_scores_day_level", "churn_scores", ["day", "level"])
    op.create_table(
        "churn_alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entity", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("opened", sa.Date, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("cleared", sa.Date, nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("action", sa.Text, nullable=True),
        sa.Column("dims", sa.JSON, nullable=False),
        sa.Column("snapshot", sa.JSON, nullable=False),
        sa.UniqueConstraint("entity", "type", "opened", name="uq_churn_alerts_episode"),
    )
    op.create_index("ix_churn_alerts_open", "churn_alerts", ["cleared", "resolved_at"])


def downgrade() -> None:
    op.drop_table("churn_alerts")
    op.drop_table("churn_scores")
