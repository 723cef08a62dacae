"""The company at a glance: monthly revenue, gross margin and the customer base, from the store.

Every number here is aggregated by the database (GROUP BY in SQL, on SQLite and PostgreSQL
alike); pandas only lines the few monthly rows up on a calendar. Two assumptions fill gaps
in the data and are constants (planning.core.defaults), so a page can state them:

- A transaction without a cost of goods is assumed to earn :data:`DEFAULT_GROSS_MARGIN`
  (30 %), i.e. its cost is 70 % of its amount.
- A customer is *lost* when :data:`LAPSE_MONTHS` (6) whole calendar months pass without a
  purchase. A customer whose last purchase falls in month L is counted as lost in month
  L + 6, the sixth empty month, and only once that month has ended on or before ``as_of``
  (a month still in progress may yet bring a purchase). "Last purchase" is the last one on
  or before ``as_of``, so a customer who came back before ``as_of`` is not counted as lost.

``as_of`` means: use only transactions dated on or before that day. Without it, the last
transaction date in the store is used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planning.core import columns as c
from planning.core.calendar import last_full_month
from planning.core.defaults import DEFAULT_GROSS_MARGIN, LAPSE_MONTHS
from planning.store import schema
from planning.store.sql import month_start

# Output columns of monthly_kpis.
REVENUE: Final = c.REVENUE
GROSS_MARGIN: Final = c.GROSS_MARGIN
GROSS_MARGIN_PCT: Final = "gross_margin_pct"
TRANSACTIONS: Final = c.TRANSACTIONS
ACTIVE_CUSTOMERS: Final = c.ACTIVE_CUSTOMERS
NEW_CUSTOMERS: Final = "new_customers"
LOST_CUSTOMERS: Final = "lost_customers"
KPI_COLUMNS: Final = (
    c.MONTH,
    REVENUE,
    c.COST,
    GROSS_MARGIN,
    GROSS_MARGIN_PCT,
    TRANSACTIONS,
    ACTIVE_CUSTOMERS,
    NEW_CUSTOMERS,
    LOST_CUSTOMERS,
)
_COUNTS: Final = (TRANSACTIONS, ACTIVE_CUSTOMERS, NEW_CUSTOMERS, LOST_CUSTOMERS)


def monthly_kpis(engine: Engine, as_of: dt.date | None = None) -> pd.DataFrame:
    """Revenue, gross margin and customer counts for every calendar month up to ``as_of``.

    Parameters
    ----------
    engine
        An open store.
    as_of
        Use only transactions on or before this day. Default: the last transaction date.

    Returns
    -------
    pandas.DataFrame
        One row per month from the first transaction's month through ``as_of``'s month
        (months without sales included, with zeros), columns:

        - ``month``: first day of the month (datetime64)
        - ``revenue``, ``cost``, ``gross_margin``: sums, rounded to the cent; ``cost`` uses
          the row's cost of goods, else ``amount * (1 - DEFAULT_GROSS_MARGIN)``
        - ``gross_margin_pct``: gross margin / revenue * 100 (NaN without revenue)
        - ``transactions``, ``active_customers`` (distinct buyers), ``new_customers`` (first
          purchase ever), ``lost_customers`` (see the module notes): integers

        The last row may be a month in progress; :func:`last_full_month` says which is not.
        Empty (same columns) when there is no transaction on or before ``as_of``.
    """
    t = schema.Transaction.__table__
    in_window = [t.c.date <= as_of] if as_of is not None else []
    with engine.connect() as conn:
        first, last = conn.execute(
            sa.select(sa.func.min(t.c.date), sa.func.max(t.c.date)).where(*in_window)
        ).one()
        if first is None:
            return _empty_kpis()
        as_of = as_of or _to_date(last)
        sales = pd.read_sql(_sales_query(engine, in_window), conn)
        firsts = pd.read_sql(_customers_by_month_query(engine, in_window, sa.func.min), conn)
        lasts = pd.read_sql(_customers_by_month_query(engine, in_window, sa.func.max), conn)

    months = pd.date_range(_month_of(_to_date(first)), _month_of(as_of), freq="MS", name=c.MONTH)
    frame = _by_month(sales, months)
    frame[NEW_CUSTOMERS] = _by_month(firsts, months)["customers"]
    frame[LOST_CUSTOMERS] = _lapsed_by_month(lasts, months, as_of)
    frame = frame.fillna(dict.fromkeys((REVENUE, c.COST, *_COUNTS), 0))
    frame[REVENUE] = frame[REVENUE].round(2)
    frame[c.COST] = frame[c.COST].round(2)
    frame[GROSS_MARGIN] = (frame[REVENUE] - frame[c.COST]).round(2)
    frame[GROSS_MARGIN_PCT] = (frame[GROSS_MARGIN] / frame[REVENUE] * 100).where(
        frame[REVENUE] != 0
    )
    frame[list(_COUNTS)] = frame[list(_COUNTS)].astype("int64")
    return frame.reset_index()[list(KPI_COLUMNS)]


def _sales_query(engine: Engine, in_window: list) -> sa.Select:
    t = schema.Transaction.__table__
    cost = sa.func.coalesce(t.c.cost, t.c.amount * (1 - DEFAULT_GROSS_MARGIN))
    rows = (
        sa.select(
            month_start(engine, t.c.date).label(c.MONTH),
            t.c.amount,
            cost.label(c.COST),
            t.c.customer_id,
        )
        .where(*in_window)
        .subquery()
    )
    return sa.select(
        rows.c.month,
        sa.func.sum(rows.c.amount).label(REVENUE),
        sa.func.sum(rows.c.cost).label(c.COST),
        sa.func.count().label(TRANSACTIONS),
        sa.func.count(sa.distinct(rows.c.customer_id)).label(ACTIVE_CUSTOMERS),
    ).group_by(rows.c.month)


def _customers_by_month_query(engine: Engine, in_window: list, pick) -> sa.Select:
    """Customers counted by the month of their first (``pick=min``) or last (``max``) purchase."""
    t = schema.Transaction.__table__
    per_customer = (
        sa.select(t.c.customer_id, pick(t.c.date).label("day"))
        .where(*in_window)
        .group_by(t.c.customer_id)
        .subquery()
    )
    bucketed = sa.select(month_start(engine, per_customer.c.day).label(c.MONTH)).subquery()
    return sa.select(bucketed.c.month, sa.func.count().label("customers")).group_by(
        bucketed.c.month
    )


def _by_month(rows: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    rows = rows.assign(**{c.MONTH: pd.to_datetime(rows[c.MONTH])})
    return rows.set_index(c.MONTH).reindex(months)


def _lapsed_by_month(lasts: pd.DataFrame, months: pd.DatetimeIndex, as_of: dt.date) -> pd.Series:
    lasts = lasts.assign(**{c.MONTH: pd.to_datetime(lasts[c.MONTH])})
    lapse_month = lasts[c.MONTH] + pd.DateOffset(months=LAPSE_MONTHS)
    ended = lapse_month + pd.DateOffset(months=1) <= pd.Timestamp(as_of) + pd.Timedelta(days=1)
    lapsed = pd.Series(lasts["customers"].to_numpy(), index=lapse_month)[ended.to_numpy()]
    # One last-purchase month maps to exactly one lapse month, so no re-aggregation is needed.
    return lapsed.reindex(months)


def _empty_kpis() -> pd.DataFrame:
    frame = pd.DataFrame({col: pd.Series(dtype="float64") for col in KPI_COLUMNS})
    frame[c.MONTH] = pd.Series(dtype="datetime64[ns]")
    for col in _COUNTS:
        frame[col] = frame[col].astype("int64")
    return frame


@dataclass(frozen=True)
class KpiValue:
    """One headline number for a month and the same number a year earlier."""

    value: float | None
    year_ago: float | None

    @property
    def change(self) -> float | None:
        """Difference from a year ago (percentage points for a percentage)."""
        if self.value is None or self.year_ago is None:
            return None
        return self.value - self.year_ago

    @property
    def change_pct(self) -> float | None:
        """Relative change from a year ago in percent; None when a year ago was zero."""
        if self.change is None or not self.year_ago:
            return None
        return self.change / abs(self.year_ago) * 100


@dataclass(frozen=True)
class Headline:
    """The last full month's key figures, each against the same month a year earlier.

    ``month`` is None (and every value None) when no full month of data exists yet.
    A year-ago value is None when that month lies before the first transaction.
    """

    month: dt.date | None
    revenue: KpiValue
    gross_margin_pct: KpiValue
    active_customers: KpiValue
    new_customers: KpiValue
    lost_customers: KpiValue

    @property
    def year_ago_month(self) -> dt.date | None:
        return None if self.month is None else self.month.replace(year=self.month.year - 1)


def full_months(kpis: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The rows of :func:`monthly_kpis` for months that have ended by ``as_of`` (a copy)."""
    return kpis[kpis[c.MONTH] <= pd.Timestamp(last_full_month(as_of))].copy()


def headline(engine: Engine, as_of: dt.date | None = None) -> Headline:
    """The last full month's revenue, gross margin %, customers, and change vs a year ago.

    Parameters
    ----------
    engine
        An open store.
    as_of
        Use only transactions on or before this day. Default: the last transaction date.
    """
    as_of = as_of or _last_transaction_date(engine)
    if as_of is None:
        return _headline_from(None, None, None)
    return headline_from_kpis(monthly_kpis(engine, as_of), as_of)


def headline_from_kpis(kpis: pd.DataFrame, as_of: dt.date) -> Headline:
    """:func:`headline` from an already computed :func:`monthly_kpis` frame for ``as_of``."""
    month = last_full_month(as_of)
    by_month = kpis.set_index(c.MONTH)
    now = _row(by_month, month)
    if now is None:
        return _headline_from(None, None, None)
    return _headline_from(month, now, _row(by_month, month.replace(year=month.year - 1)))


def _row(by_month: pd.DataFrame, month: dt.date) -> pd.Series | None:
    key = pd.Timestamp(month)
    if key not in by_month.index:
        return None
    row = by_month.loc[key]
    assert isinstance(row, pd.Series)  # monthly_kpis has one row per month
    return row


def _headline_from(
    month: dt.date | None, now: pd.Series | None, year_ago: pd.Series | None
) -> Headline:
    def kpi(name: str) -> KpiValue:
        return KpiValue(_scalar(now, name), _scalar(year_ago, name))

    return Headline(
        month=month,
        revenue=kpi(REVENUE),
        gross_margin_pct=kpi(GROSS_MARGIN_PCT),
        active_customers=kpi(ACTIVE_CUSTOMERS),
        new_customers=kpi(NEW_CUSTOMERS),
        lost_customers=kpi(LOST_CUSTOMERS),
    )


def _scalar(row: pd.Series | None, name: str) -> float | None:
    if row is None or pd.isna(row[name]):
        return None
    value = row[name]
    return int(value) if name in _COUNTS else float(value)


def _last_transaction_date(engine: Engine) -> dt.date | None:
    t = schema.Transaction.__table__
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(t.c.date))).scalar_one()
    return None if last is None else _to_date(last)


def _month_of(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day.year, day.month, 1)


def _to_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
