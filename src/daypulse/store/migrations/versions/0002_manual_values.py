"""manual_values: values people type in for kind: manual metrics

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

VALUE = sa.Numeric(asdecimal=True).with_variant(sa.Float(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "manual_values",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("value", VALUE, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("set_by", sa.String(200), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("metric", "effective_from", name="uq_manual_values_day"),
    )


def downgrade() -> None:
    op.drop_table("manual_values")
