"""dimension_labels: display names of dimension values (a staff member's name for its id)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dimension_labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dimension", sa.String(200), nullable=False),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dimension", "key", name="uq_dimension_labels_key"),
    )


def downgrade() -> None:
    op.drop_table("dimension_labels")
