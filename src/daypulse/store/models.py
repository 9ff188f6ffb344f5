"""daypulse's own tables (SQLAlchemy 2). Alembic migrations in ``migrations/`` build them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Exact decimals on PostgreSQL; SQLite has no decimal type, and a double holds integer
# cents exactly up to 2**53.
VALUE = Numeric(asdecimal=True).with_variant(Float(), "sqlite")  # unbounded NUMERIC


class Base(DeclarativeBase):
    pass


class MetricValueRow(Base):
    __tablename__ = "metric_values"
    __table_args__ = (
        UniqueConstraint("metric", "grain", "period_start", "dims_key",
                         name="uq_metric_values_period"),
        Index("ix_metric_values_period", "grain", "period_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(String(200))
    grain: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    dims_key: Mapped[str] = mapped_column(String(1000), default="")  # '' is the total
    dims: Mapped[dict] = mapped_column(JSON, default=dict)
    value: Mapped[float | None] = mapped_column(VALUE, nullable=True)
    definition_hash: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    """Every compute (later: report, delivery) run, with its state and numbers."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # compute
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    range_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    range_end: Mapped[date | None] = mapped_column(Date, nullable=True)
