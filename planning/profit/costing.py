"""The store's side of customer profitability: sales, activity costs and the customer base,
each aggregated per customer in SQL for a period.

A period is ``start..end`` inclusive (``start`` None: all history up to ``end``). Sales come
from the customer x month cube for the months wholly inside the period and from the
transactions themselves for the part-months at either edge, so an arbitrary period costs one
pass over the cube plus two short index ranges. Cost-to-serve is activity-based costing: every
activity is priced at the rate of its type in force on the activity's date (the rate with the
latest ``effective_from`` on or before it; an activity dated before its type's first rate takes
that first rate). The rates are read first (a few rows) and become one filtered sum per activity
type (with a ``CASE`` over the effective dates where a rate changed), so the activities are
summed per customer in a single grouped scan with no join. Activity types without any rate
are not costed; :func:`unrated_activities` names them. A customer is *known* at a date once
they have a transaction or an activity on or before it, or an acquisition date on or before it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planning.core import columns as C
from planning.store import schema
from planning.store.sql import month_start

# Columns of the per-customer sales frame.
REVENUE: Final = C.REVENUE
COST: Final = C.COST
UNCOSTED_REVENUE: Final = C.UNCOSTED_REVENUE
ORDERS: Final = C.ORDERS
ACTIVITY_ROWS: Final = "activity_rows"


@dataclass(frozen=True)
class RateCard:
    """Activity rates by type: ``{activity: ((effective_from, rate), ...)}`` oldest first."""

    rates: dict[str, tuple[tuple[dt.date, float], ...]]

    @property
    def activities(self) -> tuple[str, ...]:
        """Rated activity types, the standard ones (columns.ACTIVITIES) first, then by name."""
        known = [a for a in C.ACTIVITIES if a in self.rates]
        return tuple(known + sorted(a for a in self.rates if a not in C.ACTIVITIES))


def read_rates(engine: Engine) -> RateCard:
    """Every activity rate in the store, grouped by activity type."""
    r = schema.ActivityRate.__table__
    query = sa.select(r.c.activity, r.c.effective_from, r.c.rate).order_by(
        r.c.activity, r.c.effective_from
    )
    rates: dict[str, list[tuple[dt.date, float]]] = {}
    with engine.connect() as conn:
        for activity, since, rate in conn.execute(query):
            rates.setdefault(activity, []).append((pd.Timestamp(since).date(), float(rate)))
    return RateCard({a: tuple(v) for a, v in rates.items()})


def period_filter(column: sa.ColumnElement, start: dt.date | None, end: dt.date) -> list:
    """``column`` within ``start..end`` (inclusive) as WHERE clauses."""
    return [column <= end] + ([column >= start] if start is not None else [])


def read_sales(
    conn: sa.Connection,
    engine: Engine,
    start: dt.date | None,
    end: dt.date,
    *,
    customer_id: str | None = None,
    by_month: bool = False,
) -> pd.DataFrame:
    """Revenue, known cost of goods, uncosted revenue and transactions per customer.

    Two grouped queries, one over the whole months in the cube and one over the part-months'
    transactions, added up here: a GROUP BY over their UNION would sort every cube row, while
    the cube alone is read in its primary-key order.

    Returns
    -------
    DataFrame
        ``customer_id, [month,] revenue, cost, uncosted_revenue, orders``; ``cost`` sums the
        given costs of goods and ``uncosted_revenue`` the revenue of transactions without one.
    """
    keys = [C.CUSTOMER_ID] + ([C.MONTH] if by_month else [])
    parts = [
        pd.read_sql(q, conn) for q in _sales_queries(engine, start, end, customer_id, by_month)
    ]
    if by_month:
        for part in parts:
            part[C.MONTH] = pd.to_datetime(part[C.MONTH])
    parts = [p for p in parts if not p.empty] or parts[:1]
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True).groupby(keys, as_index=False, sort=False).sum()


def _sales_queries(
    engine: Engine, start: dt.date | None, end: dt.date, customer_id: str | None, by_month: bool
) -> tuple[sa.Select, ...]:
    cube, tx = schema.CustomerMonth.__table__, schema.Transaction.__table__
    full_to = _month_after_last_full(end)  # exclusive
    cube_where: list[sa.ColumnElement[bool]] = [cube.c.month < full_to]
    # Part-months as [first, last] day ranges; empty ones are left out, since a range that
    # cannot match still makes the database scan instead of seek.
    edges = [(full_to, end)]
    if start is not None:
        full_from = _month_on_or_after(start)
        cube_where.append(cube.c.month >= full_from)
        edges.append((start, min(full_from, end + _DAY) - _DAY))
        if full_from >= full_to:  # no whole month inside the period
            cube_where.append(sa.false())
            edges = [(start, end)]
    edges = [(lo, hi) for lo, hi in edges if lo <= hi]
    if customer_id is not None:
        cube_where.append(cube.c.customer_id == customer_id)
    cube_keys = [cube.c.customer_id] + ([cube.c.month] if by_month else [])
    whole = (
        sa.select(
            *cube_keys,
            sa.func.sum(cube.c.revenue).label(REVENUE),
            sa.func.sum(cube.c.cost).label(COST),
            sa.func.sum(cube.c.uncosted_revenue).label(UNCOSTED_REVENUE),
            sa.func.sum(cube.c.transactions).label(ORDERS),
        )
        .where(*cube_where)
        .group_by(*cube_keys)
    )
    if not edges:
        return (whole,)
    month = [month_start(engine, tx.c.date).label(C.MONTH)] if by_month else []
    who = [tx.c.customer_id == customer_id] if customer_id is not None else []
    ranges = [
        sa.select(tx.c.customer_id, *month, tx.c.amount, tx.c.cost).where(
            tx.c.date >= lo, tx.c.date <= hi, *who
        )
        for lo, hi in edges
    ]
    rows = (sa.union_all(*ranges) if len(ranges) > 1 else ranges[0]).subquery("edge")
    edge_keys = [rows.c.customer_id] + ([rows.c.month] if by_month else [])
    part = sa.select(
        *edge_keys,
        sa.func.sum(rows.c.amount).label(REVENUE),
        sa.func.sum(sa.func.coalesce(rows.c.cost, 0.0)).label(COST),
        sa.func.sum(sa.case((rows.c.cost.is_(None), rows.c.amount), else_=0.0)).label(
            UNCOSTED_REVENUE
        ),
        sa.func.count().label(ORDERS),
    ).group_by(*edge_keys)
    return whole, part


def activity_cost_query(
    engine: Engine,
    rates: RateCard,
    start: dt.date | None,
    end: dt.date,
    *,
    customer_id: str | None = None,
    by_month: bool = False,
) -> sa.Select:
    """Activity rows and the cost of each rated activity type per customer.

    Columns ``customer_id, [month,] activity_rows, a0, a1, ...``: ``aK`` is the cost of
    ``rates.activities[K]``; ``activity_rows`` counts every activity row, rated or not.
    """
    a = schema.Activity.__table__
    where = period_filter(a.c.date, start, end)
    if customer_id is not None:
        where.append(a.c.customer_id == customer_id)
    month = [month_start(engine, a.c.date).label(C.MONTH)] if by_month else []
    rows = (
        sa.select(a.c.customer_id, *month, a.c.date, a.c.activity, a.c.quantity)
        .where(*where)
        .subquery("rows")
    )
    costs = [
        _cost_of(rows, name, rates.rates[name]).label(f"a{k}")
        for k, name in enumerate(rates.activities)
    ]
    keys = [rows.c.customer_id] + ([rows.c.month] if by_month else [])
    return sa.select(*keys, sa.func.count().label(ACTIVITY_ROWS), *costs).group_by(*keys)


def _cost_of(
    rows: sa.Subquery, activity: str, history: tuple[tuple[dt.date, float], ...]
) -> sa.ColumnElement:
    """Cost of one activity type: an aggregate FILTER (cheaper than a CASE per row); with a
    single rate the quantities are summed first and priced once."""
    mine = rows.c.activity == activity
    if len(history) == 1:
        return sa.func.coalesce(sa.func.sum(rows.c.quantity).filter(mine), 0.0) * history[0][1]
    return sa.func.coalesce(
        sa.func.sum(rows.c.quantity * rate_at(rows.c.date, history)).filter(mine), 0.0
    )


def rate_at(day: sa.ColumnElement, history: tuple[tuple[dt.date, float], ...]):
    """The rate in force on ``day``: a CASE over the effective dates, newest first."""
    if len(history) == 1:
        return sa.literal(history[0][1])
    newest_first = [(day >= since, sa.literal(rate)) for since, rate in reversed(history[1:])]
    return sa.case(*newest_first, else_=sa.literal(history[0][1]))


def known_customers_query(end: dt.date) -> sa.Select:
    """Customers known on ``end`` with their stored payment terms (NULL when not given)."""
    cu, tx, a = (schema.Customer.__table__, schema.Transaction.__table__, schema.Activity.__table__)
    bought = sa.exists().where(tx.c.customer_id == cu.c.customer_id, tx.c.date <= end)
    served = sa.exists().where(a.c.customer_id == cu.c.customer_id, a.c.date <= end)
    return (
        sa.select(cu.c.customer_id, cu.c.payment_terms_days)
        .where(sa.or_(cu.c.acquisition_date <= end, bought, served))
        .order_by(cu.c.customer_id)
    )


def any_activity(engine: Engine, start: dt.date | None, end: dt.date) -> bool:
    """Whether the store holds any activity dated in ``start..end``."""
    a = schema.Activity.__table__
    with engine.connect() as conn:
        return (
            conn.execute(
                sa.select(a.c.id).where(*period_filter(a.c.date, start, end)).limit(1)
            ).first()
            is not None
        )


def unrated_activities(
    engine: Engine, start: dt.date | None = None, end: dt.date | None = None
) -> pd.DataFrame:
    """Activity types recorded in the period that have no rate, so cost nothing.

    Returns
    -------
    DataFrame
        ``activity, quantity``: one row per unrated type (empty when every type is rated).
    """
    a, r = schema.Activity.__table__, schema.ActivityRate.__table__
    where: list[sa.ColumnElement[bool]] = [
        a.c.activity.not_in(sa.select(r.c.activity).scalar_subquery())
    ]
    if end is not None:
        where += period_filter(a.c.date, start, end)
    elif start is not None:
        where.append(a.c.date >= start)
    query = (
        sa.select(a.c.activity, sa.func.sum(a.c.quantity).label(C.QUANTITY))
        .where(*where)
        .group_by(a.c.activity)
        .order_by(a.c.activity)
    )
    with engine.connect() as conn:
        return pd.read_sql(query, conn)


def first_day(engine: Engine) -> dt.date | None:
    """The earliest transaction date in the store (None when there is none)."""
    tx = schema.Transaction.__table__
    with engine.connect() as conn:
        value = conn.execute(sa.select(sa.func.min(tx.c.date))).scalar_one()
    return None if value is None else pd.Timestamp(value).date()


_DAY: Final = dt.timedelta(days=1)


def _month_on_or_after(day: dt.date) -> dt.date:
    if day.day == 1:
        return day
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _month_after_last_full(end: dt.date) -> dt.date:
    """First day of the month after the last month that ends on or before ``end``."""
    return end + _DAY if (end + _DAY).day == 1 else end.replace(day=1)
