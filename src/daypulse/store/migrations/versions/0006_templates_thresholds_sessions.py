"""report_templates, thresholds and web_sessions

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_templates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_report_templates_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "thresholds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("grain", sa.String(16), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("value", sa.Numeric(asdecimal=True).with_variant(sa.Float(), "sqlite"), nullable=False),
        sa.Column("dims_key", sa.String(1000), nullable=False, server_default=""),
        sa.Column("dims", sa.JSON, nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("metric", "grain", "op", "dims_key", name="uq_thresholds_rule"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("token_id", sa.Integer, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_hash", name="uq_web_sessions_hash"),
    )


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("thresholds")
    op.drop_table("report_templates")
