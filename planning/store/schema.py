"""The store's tables, as SQLAlchemy 2.x declarative models.

Customers are keyed by the company's own customer id (text), so an import never has to look up
a surrogate key row by row. Every fact row carries the import batch that brought it, which is
what provenance and undo stand on. Money and quantities are doubles: sums are rounded to the
cent where they are shown, and a double holds any realistic company total exactly to the cent.

The schema itself is created and upgraded by the Alembic migrations under alembic/versions;
these models describe it for queries, and a test checks that the two agree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
_BigId = BigInteger().with_variant(Integer(), "sqlite")
# Identifiers compare byte by byte on PostgreSQL: the locale's collation makes every index
# insert several times slower and buys nothing for codes like "C000123".
_Key = String(128).with_variant(String(128, collation="C"), "postgresql")


class Base(DeclarativeBase):
    pass


class ImportBatch(Base):
    """One imported file (provenance). An undone batch keeps its row, marked with who undid it
    and when, and the same file can then be imported again: (kind, checksum) is unique only
    among batches that are not undone."""

    __tablename__ = "import_batches"
    __table_args__ = (
        Index(
            "ux_import_batches_kind_checksum",
            "kind",
            "checksum",
            unique=True,
            sqlite_where=text("undone_at IS NULL"),
            postgresql_where=text("undone_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(512))
    checksum: Mapped[str] = mapped_column(String(64))
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_added: Mapped[int] = mapped_column(Integer)
    rows_skipped: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    mapping: Mapped[str] = mapped_column(String(2048), default="")
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(128))


class Customer(Base):
    __tablename__ = "customers"

    customer_id: Mapped[str] = mapped_column(_Key, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(256))
    region: Mapped[str | None] = mapped_column(String(128))
    industry: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(128))
    acquisition_date: Mapped[dt.date | None] = mapped_column(Date)
    payment_terms_days: Mapped[int | None] = mapped_column(Integer)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_customer_date", "customer_id", "date"),
        Index("ix_transactions_date", "date"),
        # A unique index (not a constraint) so that a bulk load can drop and rebuild it.
        Index("ux_transactions_transaction_id", "transaction_id", unique=True),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str | None] = mapped_column(_Key)
    customer_id: Mapped[str] = mapped_column(_Key)
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[float] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)
    quantity: Mapped[float | None] = mapped_column(Float)
    product: Mapped[str | None] = mapped_column(String(256))
    category: Mapped[str | None] = mapped_column(String(256))
    channel: Mapped[str | None] = mapped_column(String(128))
    # No foreign key on the two big fact tables: PostgreSQL checks one per row through a
    # trigger, which triples the cost of a bulk load. Rows and their batch are written in the
    # same transaction by planning.ingest.importing, which is the only writer.
    batch_id: Mapped[int] = mapped_column(Integer)


class CustomerMonth(Base):
    """The customer x month cube, kept current by every transactions import.

    Downstream aggregations (segment totals, series, customer value) read ~1 row per active
    customer-month instead of every transaction. ``cost`` sums the known costs of goods;
    ``uncosted_revenue`` is the revenue of transactions without one, costed at query time with
    the documented default margin, so changing that assumption needs no rebuild.
    """

    __tablename__ = "customer_months"
    __table_args__ = ({"sqlite_with_rowid": False},)

    customer_id: Mapped[str] = mapped_column(_Key, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    revenue: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float)
    uncosted_revenue: Mapped[float] = mapped_column(Float)
    transactions: Mapped[int] = mapped_column(Integer)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_customer_date", "customer_id", "date"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(_Key)
    date: Mapped[dt.date] = mapped_column(Date)
    activity: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[float] = mapped_column(Float)
    batch_id: Mapped[int] = mapped_column(Integer)  # see Transaction.batch_id


class ActivityRate(Base):
    __tablename__ = "activity_rates"
    __table_args__ = (UniqueConstraint("activity", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity: Mapped[str] = mapped_column(String(64))
    rate: Mapped[float] = mapped_column(Float)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)


class ProgramSpend(Base):
    __tablename__ = "program_spend"
    __table_args__ = (UniqueConstraint("month", "segment", "program"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    segment: Mapped[str] = mapped_column(String(128))
    program: Mapped[str] = mapped_column(String(64))
    spend: Mapped[float] = mapped_column(Float)
    outcome: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)


def _table(model: type[Base]) -> Table:
    """``model``'s table (declarative types ``__table__`` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


TABLES: dict[str, Table] = {
    "customers": _table(Customer),
    "transactions": _table(Transaction),
    "activities": _table(Activity),
    "rates": _table(ActivityRate),
    "spend": _table(ProgramSpend),
    "import_batches": _table(ImportBatch),
    "customer_months": _table(CustomerMonth),
}


class SegmentRule(Base):
    """One user-defined segment rule: its set, priority, name and JSON conditions
    (see planning.segments.rules)."""

    __tablename__ = "segment_rules"
    __table_args__ = (UniqueConstraint("rule_set", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_set: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    conditions: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[str | None] = mapped_column(String(128))


TABLES["segment_rules"] = _table(SegmentRule)


class ForecastRun(Base):
    """A forecast a planner accepted, with the date its data ended (see
    planning.forecast.accountability)."""

    __tablename__ = "forecast_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    as_of: Mapped[dt.date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(32))
    freq: Mapped[str] = mapped_column(String(8))
    lens: Mapped[str | None] = mapped_column(String(64))
    horizon: Mapped[int] = mapped_column(Integer)
    reconciliation: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(512), default="")


class ForecastLine(Base):
    """One series and period of an accepted forecast: the mean and its 80/95% bounds."""

    __tablename__ = "forecast_lines"
    __table_args__ = (UniqueConstraint("run_id", "series", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("forecast_runs.id", ondelete="CASCADE"), index=True
    )
    series: Mapped[str] = mapped_column(String(128))
    period: Mapped[dt.date] = mapped_column(Date)
    step: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(128))
    mean: Mapped[float] = mapped_column(Float)
    lo_80: Mapped[float | None] = mapped_column(Float)
    hi_80: Mapped[float | None] = mapped_column(Float)
    lo_95: Mapped[float | None] = mapped_column(Float)
    hi_95: Mapped[float | None] = mapped_column(Float)


class ForecastAssignment(Base):
    """The segment of each customer when a forecast by a computed lens (RFM, value, lifecycle)
    was accepted, so its actuals are measured on the same customers later."""

    __tablename__ = "forecast_assignments"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(_Key, primary_key=True)
    segment: Mapped[str] = mapped_column(String(128))


TABLES["forecast_runs"] = _table(ForecastRun)
TABLES["forecast_lines"] = _table(ForecastLine)
TABLES["forecast_assignments"] = _table(ForecastAssignment)


class PlanVersion(Base):
    """An immutable operating plan: when, why and from what inputs it was computed."""

    __tablename__ = "plan_versions"
    __table_args__ = (Index("ix_plan_versions_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    trigger: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(1024))
    input_fingerprint: Mapped[str] = mapped_column(String(64))
    plan_fingerprint: Mapped[str] = mapped_column(String(64))
    last_closed_month: Mapped[dt.date] = mapped_column(Date)
    horizon_start: Mapped[dt.date] = mapped_column(Date)
    horizon_months: Mapped[int] = mapped_column(Integer)
    node_timings: Mapped[str] = mapped_column(Text)
    restored_from: Mapped[int | None] = mapped_column(Integer)


class PlanLine(Base):
    """One number of a plan version: a metric of a segment in a month."""

    __tablename__ = "plan_lines"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    segment: Mapped[str] = mapped_column(String(128), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class PlanAlert(Base):
    """A variance or forecast-interval alert raised by a plan version, with a suggested action."""

    __tablename__ = "plan_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="CASCADE"), index=True
    )
    month: Mapped[dt.date] = mapped_column(Date)
    segment: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(1024))
    suggestion: Mapped[str] = mapped_column(String(1024))


class PlannerSetting(Base):
    """A named planner assumption (JSON), versioned so a stale edit can be refused."""

    __tablename__ = "planner_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(128))


TABLES["plan_versions"] = _table(PlanVersion)
TABLES["plan_lines"] = _table(PlanLine)
TABLES["plan_alerts"] = _table(PlanAlert)
TABLES["planner_settings"] = _table(PlannerSetting)


class Treatment(Base):
    """A segment's customer-strategy policy (see planning.allocation.strategy); versioned per
    save."""

    __tablename__ = "treatments"

    segment: Mapped[str] = mapped_column(String(128), primary_key=True)
    service_tier: Mapped[str] = mapped_column(String(32))
    payment_terms_days: Mapped[int] = mapped_column(Integer)
    credit_limit: Mapped[float] = mapped_column(Float)
    contact_cadence_days: Mapped[int] = mapped_column(Integer)
    eligible_programs: Mapped[str] = mapped_column(String(256))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(128))


class Initiative(Base):
    """A CRM initiative scored on impact, complexity and cost (see planning.allocation.strategy)."""

    __tablename__ = "initiatives"

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    description: Mapped[str] = mapped_column(String(1024))
    impact: Mapped[int] = mapped_column(Integer)
    complexity: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(128))


class Scenario(Base):
    """A named what-if allocation scenario; ``inputs`` is JSON (see
    planning.allocation.scenarios)."""

    __tablename__ = "scenarios"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    description: Mapped[str] = mapped_column(String(1024))
    budget: Mapped[float] = mapped_column(Float)
    inputs: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(128))


TABLES["treatments"] = _table(Treatment)
TABLES["initiatives"] = _table(Initiative)
TABLES["scenarios"] = _table(Scenario)


class SegmentMonth(Base):
    """Customer x month cube totals per attribute segment, kept current by every import.

    One row per lens (``size``, ``region``, ``industry``, ``channel``), segment (the
    attribute's value, "Unassigned" when a customer has none) and month, so a segment series
    reads a few hundred rows instead of joining every active customer-month to the customers
    table (which costs SQLite a sort of ~1M rows). ``customers`` counts the customer-months.
    Written only by planning.store.cube (transactions imports add to it; a customers import that
    moves a customer with history between segments rebuilds it).
    """

    __tablename__ = "segment_months"
    __table_args__ = ({"sqlite_with_rowid": False},)

    lens: Mapped[str] = mapped_column(String(16), primary_key=True)
    segment: Mapped[str] = mapped_column(String(128), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    revenue: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float)
    uncosted_revenue: Mapped[float] = mapped_column(Float)
    customers: Mapped[int] = mapped_column(Integer)
    transactions: Mapped[int] = mapped_column(Integer)


TABLES["segment_months"] = _table(SegmentMonth)


class User(Base):
    """A team-mode account (see planning.team.auth); no password hash for single-sign-on users."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(_Key, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(128))


class UserSession(Base):
    """A signed-in session; only a hash of its token is stored."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_username", "username"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """One sign-in attempt, kept for the failed-login rate limit."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class AuditEntry(Base):
    """One write: who, when, what, and the thing before and after (JSON); append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(512))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class BudgetCell(Base):
    """A planner's monthly spend for one segment x program, versioned per save; the planner
    holds the cell at that spend (None: the optimiser decides)."""

    __tablename__ = "budget_cells"

    segment: Mapped[str] = mapped_column(String(128), primary_key=True)
    program: Mapped[str] = mapped_column(String(32), primary_key=True)
    monthly_spend: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(128))


# Sessions and sign-in attempts are bookkeeping of who is signed in, not data: a command that
# signs in and is then rejected leaves the data tables as they were.
TABLES["users"] = _table(User)
TABLES["audit_log"] = _table(AuditEntry)
TABLES["budget_cells"] = _table(BudgetCell)
