"""Store facts aggregated where the data lives: the customer x month and segment x month cubes.

Everything downstream (segments, value, forecasts, the plan) starts from these cubes. They are
read from the ``customer_months`` table that every transactions import keeps current, so a
customer total touches one row per active customer-month instead of every transaction, and
segment totals from ``segment_months`` (one row per lens, segment and month); only the month
that contains an ``as_of`` date is aggregated from the transactions themselves (through the
date index). A transaction without a cost of goods is costed at the documented
default margin (planning.core.defaults.DEFAULT_GROSS_MARGIN).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planning.core import columns as C
from planning.core.defaults import DEFAULT_GROSS_MARGIN
from planning.core.options import ATTRIBUTE_LENSES, AttributeLens
from planning.store import schema
from planning.store.sql import month_start

UNASSIGNED: Final = "Unassigned"

REVENUE: Final = C.REVENUE
GROSS_MARGIN: Final = C.GROSS_MARGIN
TRANSACTIONS: Final = C.TRANSACTIONS
CUSTOMERS: Final = C.CUSTOMERS


def _cube(engine: Engine, as_of: dt.date | None) -> sa.Subquery:
    """customer_id, month, revenue, cost, uncosted_revenue, transactions up to ``as_of``."""
    cube = schema.CustomerMonth.__table__
    cols = [
        cube.c.customer_id,
        cube.c.month,
        cube.c.revenue,
        cube.c.cost,
        cube.c.uncosted_revenue,
        cube.c.transactions,
    ]
    if as_of is None:
        return sa.select(*cols).subquery("cube")
    first = as_of.replace(day=1)
    tx = schema.Transaction.__table__
    month = month_start(engine, tx.c.date)
    partial = (
        sa.select(
            tx.c.customer_id,
            month.label(C.MONTH),
            sa.func.sum(tx.c.amount),
            sa.func.sum(sa.func.coalesce(tx.c.cost, 0.0)),
            sa.func.sum(sa.case((tx.c.cost.is_(None), tx.c.amount), else_=0.0)),
            sa.func.count(),
        )
        .where(tx.c.date >= first, tx.c.date <= as_of)
        .group_by(tx.c.customer_id, month)
    )
    return sa.union_all(sa.select(*cols).where(cube.c.month < first), partial).subquery("cube")


def _costed(cube: sa.Subquery) -> sa.ColumnElement:
    return cube.c.cost + cube.c.uncosted_revenue * (1 - DEFAULT_GROSS_MARGIN)


def _read(engine: Engine, query: sa.Select) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    frame[C.MONTH] = pd.to_datetime(frame[C.MONTH])
    return frame


def customer_month(engine: Engine, as_of: dt.date | None = None) -> pd.DataFrame:
    """Revenue, cost of goods and transaction count per customer and calendar month.

    Returns
    -------
    DataFrame
        ``customer_id, month, revenue, cost, transactions``; one row per customer-month with
        at least one transaction on or before ``as_of``.
    """
    cube = _cube(engine, as_of)
    return _read(
        engine,
        sa.select(
            cube.c.customer_id,
            cube.c.month,
            cube.c.revenue.label(REVENUE),
            _costed(cube).label(C.COST),
            cube.c.transactions.label(TRANSACTIONS),
        ),
    )


def segment_month(
    engine: Engine, lens: AttributeLens = "size", as_of: dt.date | None = None
) -> pd.DataFrame:
    """Revenue, gross margin, buying customers and transactions per attribute segment and month.

    Customers without the attribute fall in the segment "Unassigned", so the segments always
    add up to the company. Read from the ``segment_months`` totals that imports keep current
    (a few hundred rows); only the month that contains ``as_of`` is aggregated from its
    transactions.

    Returns
    -------
    DataFrame
        ``segment, month, revenue, gross_margin, customers, transactions``.
    """
    if lens not in ATTRIBUTE_LENSES:
        raise ValueError(f"Unknown lens '{lens}': use one of {', '.join(ATTRIBUTE_LENSES)}.")
    seg = schema.SegmentMonth.__table__
    stored = sa.select(
        seg.c.segment,
        seg.c.month,
        seg.c.revenue,
        seg.c.cost,
        seg.c.uncosted_revenue,
        seg.c.customers,
        seg.c.transactions,
    ).where(seg.c.lens == lens)
    if as_of is None:
        parts = stored.subquery("parts")
    else:
        first = as_of.replace(day=1)
        tx, cu = schema.Transaction.__table__, schema.Customer.__table__
        segment = sa.func.coalesce(cu.c[lens], UNASSIGNED)
        month = month_start(engine, tx.c.date)
        partial = (
            sa.select(
                segment,
                month,
                sa.func.sum(tx.c.amount),
                sa.func.sum(sa.func.coalesce(tx.c.cost, 0.0)),
                sa.func.sum(sa.case((tx.c.cost.is_(None), tx.c.amount), else_=0.0)),
                sa.func.count(sa.distinct(tx.c.customer_id)),
                sa.func.count(),
            )
            .select_from(tx.outerjoin(cu, cu.c.customer_id == tx.c.customer_id))
            .where(tx.c.date >= first, tx.c.date <= as_of)
            .group_by(segment, month)
        )
        parts = sa.union_all(stored.where(seg.c.month < first), partial).subquery("parts")
    return _read(
        engine,
        (
            sa.select(
                parts.c.segment.label(C.SEGMENT),
                parts.c.month,
                sa.func.sum(parts.c.revenue).label(REVENUE),
                sa.func.sum(parts.c.revenue - _costed(parts)).label(GROSS_MARGIN),
                sa.func.sum(parts.c.customers).label(CUSTOMERS),
                sa.func.sum(parts.c.transactions).label(TRANSACTIONS),
            )
            .group_by(parts.c.segment, parts.c.month)
            .order_by(parts.c.segment, parts.c.month)
        ),
    )
