"""daypulse's own tables (SQLAlchemy 2). Alembic migrations in ``migrations/`` build them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Exact decimals on PostgreSQL; SQLite has no decimal type, and a double holds integer
# cents exactly up to 2**53.
VALUE = Numeric(asdecimal=True).with_variant(Float(), "sqlite")  # unbounded NUMERIC


class Base(DeclarativeBase):
    pass


class MetricValueRow(Base):
    __tablename__ = "metric_values"
    __table_args__ = (
        UniqueConstraint("metric", "grain", "period_start", "hour", "dims_key",
                         name="uq_metric_values_period"),
        Index("ix_metric_values_period", "grain", "period_start"),
        Index("ix_metric_values_series", "metric", "grain", "dims_key", "period_start"),  # one series' reads
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(String(200))
    grain: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    # The hour grain's hour of the local day (0 at the day's start, up to 24 on a 25-hour day).
    hour: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    dims_key: Mapped[str] = mapped_column(String(1000), default="")  # '' is the total
    dims: Mapped[dict] = mapped_column(JSON, default=dict)
    value: Mapped[float | None] = mapped_column(VALUE, nullable=True)
    definition_hash: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DimensionLabel(Base):
    """The display name of one value of a dimension (a staff member's name for its id), read
    from the source's lookup table on each compute (``dimensions: {staff: {labels: ...}}``).
    Values keep the key; reports, the dashboard and the API show this next to it."""

    __tablename__ = "dimension_labels"
    __table_args__ = (UniqueConstraint("dimension", "key", name="uq_dimension_labels_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(1000))  # the value as metric_values.dims holds it
    label: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when the label last changed


class ChurnScore(Base):
    """One scored customer on one local day (DESIGN §8): the score, its level, the dimension
    values and each signal's value, risk, weight and points (the export record's ``signals``).
    Re-scoring a day replaces its rows."""

    __tablename__ = "churn_scores"
    __table_args__ = (UniqueConstraint("entity", "day", name="uq_churn_scores_day"),
                      Index("ix_churn_scores_day_level", "day", "level"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(16))
    dims: Mapped[dict] = mapped_column(JSON, default=dict)
    signals: Mapped[dict] = mapped_column(JSON, default=dict)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChurnAlert(Base):
    """One episode of an alert condition for one customer (``daypulse.churn.alerts``): opened on
    a day with the customer's level as its severity, cleared on the first day the condition no
    longer held, or resolved by a person with the action taken (``resolved_at``)."""

    __tablename__ = "churn_alerts"
    __table_args__ = (UniqueConstraint("entity", "type", "opened", name="uq_churn_alerts_episode"),
                      Index("ix_churn_alerts_open", "cleared", "resolved_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    opened: Mapped[date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(16))
    cleared: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # cleared | not_scored | not_evaluated
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action: Mapped[str | None] = mapped_column(Text, nullable=True)
    dims: Mapped[dict] = mapped_column(JSON, default=dict)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)  # score, level and signal value at opening


class CohortCell(Base):
    """One cell of a cohort grid (DESIGN §9), as computed by one run: every computation is kept,
    so what a grid said on a day can be read back (``run_id``; the latest run is the current
    grid)."""

    __tablename__ = "cohort_cells"
    __table_args__ = (UniqueConstraint("run_id", "by", "measure", "dims_key", "cohort", "period",
                                       name="uq_cohort_cells_run"),
                      Index("ix_cohort_cells_latest", "by", "measure", "dims_key", "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    by: Mapped[str] = mapped_column(String(8))
    measure: Mapped[str] = mapped_column(String(16))
    dims_key: Mapped[str] = mapped_column(String(2000))
    dims: Mapped[dict] = mapped_column(JSON, default=dict)
    cohort: Mapped[date] = mapped_column(Date)
    period: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(BigInteger)
    retained: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    as_of: Mapped[date] = mapped_column(Date)  # the last complete day the grid was computed to
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertEvent(Base):
    """One event of a metric alert rule (DESIGN §9): opened on a period (the N-th breaching one in a
    row), resolved on the first that did not breach; acknowledged by a person with a note.
    Re-evaluating a period never adds a second event: (rule, dimension values, period) is unique."""

    __tablename__ = "alert_events"
    __table_args__ = (UniqueConstraint("rule", "dims_key", "period", name="uq_alert_events_opening"),
                      Index("ix_alert_events_open", "resolved_period", "period"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(200))
    grain: Mapped[str] = mapped_column(String(16))
    dims_key: Mapped[str] = mapped_column(String(2000))
    dims: Mapped[dict] = mapped_column(JSON, default=dict)
    period: Mapped[date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    severity: Mapped[str] = mapped_column(String(16))
    resolved_period: Mapped[date | None] = mapped_column(Date, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ack_note: Mapped[str | None] = mapped_column(Text, nullable=True)


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


class ManualValueRow(Base):
    """A value typed in by a person for a ``kind: manual`` metric (burn rate, runway...).

    It holds from ``effective_from`` until the next row of the same metric: a step function
    the engine carries forward. One value per metric and day; setting it again replaces it.
    """

    __tablename__ = "manual_values"
    __table_args__ = (
        UniqueConstraint("metric", "effective_from", name="uq_manual_values_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(VALUE)  # in cents for currency metrics
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    set_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryRecord(Base):
    """One delivery of one subscription's period (the ledger, ``daypulse.delivery.ledger``).

    The row exists before anything is sent, and the unique ``(subscription, period_start)`` is
    what makes a period go out once however many schedulers see it due. ``status`` is
    pending -> sending -> sent | failed | skipped (a transient failure goes back to pending
    until ``next_attempt_at``); ``payload`` is the rendered content, re-sent as is on a retry.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription", "period_start", name="uq_deliveries_period"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription: Mapped[str] = mapped_column(Text)  # a stable subscription key
    period_start: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    external_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SchedulerRun(Base):
    """One pass of the scheduler (`daypulse run-due`), for its stats."""

    __tablename__ = "scheduler_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    due: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class SubscriptionRecord(Base):
    """A subscription (``daypulse.delivery.subscriptions``): added from the CLI/API
    (``source='cli'``) or mirrored from daypulse.yml (``source='yml'``) on every pass.

    ``name`` is the key of its deliveries (``deliveries.subscription``), so renaming one starts
    a new history. ``spec`` is the validated subscription as written (schedule as text).
    ``checked_until``: the instant up to which a scheduler pass has looked for its fires.
    """

    __tablename__ = "subscriptions"
    # AUTOINCREMENT on SQLite: a removed subscription's id (and its sub-<id> name) is never reused.
    __table_args__ = (UniqueConstraint("name", name="uq_subscriptions_name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8))  # cli | yml
    spec: Mapped[dict] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    checked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """An API token (``daypulse tokens create``): only its SHA-256 is kept (tokens are 256 random
    bits, so a fast hash is enough and lookups stay one indexed query). ``scope`` narrows what
    it sees to dimension values ({"tenant": "acme"}); ``role`` is admin or viewer."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_tokens_hash"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(8))
    scope: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEntry(Base):
    """Who changed, exported or sent what, and when (API and CLI)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ReportTemplate(Base):
    """A report definition kept in the store (created over the API), beside daypulse.yml's
    ``reports:``; ``spec`` is validated as a ``ReportDefinition``. A file report of the same name wins."""

    __tablename__ = "report_templates"
    __table_args__ = (UniqueConstraint("name", name="uq_report_templates_name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Threshold(Base):
    """A line a metric should not cross (``op`` is ``above`` or ``below``), at one grain and for
    one set of dimension values ('' is the total). The dashboard flags breaches; alerts use them."""

    __tablename__ = "thresholds"
    __table_args__ = (UniqueConstraint("metric", "grain", "op", "dims_key", name="uq_thresholds_rule"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(String(200))
    grain: Mapped[str] = mapped_column(String(16))
    op: Mapped[str] = mapped_column(String(8))  # above | below
    value: Mapped[float] = mapped_column(VALUE)
    dims_key: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    dims: Mapped[dict] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(8))  # warning | critical
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A dashboard login: the cookie holds a random id, the store its SHA-256. The session acts
    as the token it was opened with, so revoking the token ends the session too."""

    __tablename__ = "web_sessions"
    __table_args__ = (UniqueConstraint("session_hash", name="uq_web_sessions_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64))
    token_id: Mapped[int] = mapped_column(Integer)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
