"""The facts the operating plan starts from: each segment's months, read from the store.

:func:`load_history` returns one row per segment and closed month with everything the plan and
its variance need: revenue and gross margin (from the customer x month cube), orders, the
customer base and its flows, cost-to-serve activities and their cost (activity-based costing,
the rate in force on each activity's date), financing cost of payment terms, and program spend
by program. Sums run in SQL; the customer flows need each customer's purchase months, which
come from the cube (one row per active customer-month, not per transaction).

Customer base, as on the Overview: a customer is *active* in a month if they bought in it or in
the :data:`~planning.core.defaults.LAPSE_MONTHS` - 1 months before; *new* in the month of their
first
purchase; *lost* in the month their lapse completes (the sixth month without a purchase); *won
back* when they buy again after being lost. So ``closing = opening + new - lost + won back``
holds month by month.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planning.core import columns as C
from planning.core.defaults import DEFAULT_GROSS_MARGIN, LAPSE_MONTHS
from planning.core.options import AttributeLens
from planning.profit import costing
from planning.profit.profitability import DEFAULT_COST_OF_CAPITAL, DEFAULT_TERMS_DAYS
from planning.store import schema
from planning.store.facts import UNASSIGNED
from planning.store.sql import month_start

REVENUE: Final = C.REVENUE
GROSS_MARGIN: Final = C.GROSS_MARGIN
ORDERS: Final = C.ORDERS
BUYERS: Final = "buyers"
OPENING: Final = "customers_opening"
NEW: Final = "customers_new"
LOST: Final = "customers_lost"
WON_BACK: Final = "customers_won_back"
CLOSING: Final = "customers_closing"
COST_TO_SERVE: Final = C.COST_TO_SERVE
FINANCING_COST: Final = C.FINANCING_COST
PROGRAM_SPEND: Final = C.PROGRAM_SPEND
QTY_PREFIX: Final = "qty_"
SPEND_PREFIX: Final = C.SPEND_PREFIX


def qty_column(activity: str) -> str:
    return f"{QTY_PREFIX}{activity}"


def spend_column(program: str) -> str:
    return f"{SPEND_PREFIX}{program}"


def last_closed_month(as_of: dt.date) -> dt.date:
    """First day of the last calendar month that ended on or before ``as_of``."""
    nxt = as_of + dt.timedelta(days=1)
    first = dt.date(as_of.year, as_of.month, 1)
    return (
        first
        if nxt.month != as_of.month
        else ((pd.Timestamp(first) - pd.DateOffset(months=1)).date())
    )


def month_end(month: dt.date) -> dt.date:
    return (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()


def load_history(
    engine: Engine,
    *,
    lens: AttributeLens = "size",
    end_month: dt.date,
    start_month: dt.date | None = None,
    cost_of_capital: float = DEFAULT_COST_OF_CAPITAL,
    default_terms_days: int = DEFAULT_TERMS_DAYS,
) -> pd.DataFrame:
    """Every segment's closed months up to ``end_month`` (first day of the month).

    Parameters
    ----------
    start_month
        Only months from this one on (first day); the customer flows are still computed on
        all history. The planner reloads from the first month an import touched and splices
        the result onto what it had (:func:`splice_history`).

    Returns
    -------
    DataFrame
        ``month, segment, revenue, gross_margin, orders, buyers, customers_opening,
        customers_new, customers_lost, customers_won_back, customers_closing,
        qty_<activity>..., cost_to_serve, financing_cost, spend_<program>..., program_spend``;
        one row per segment and month from the first month with a sale (or ``start_month``),
        zeros where nothing happened.
    """
    end = month_end(end_month)
    pairs, segment_of = _purchase_months(engine, lens, end)
    if pairs.empty:
        return pd.DataFrame(columns=[C.MONTH, C.SEGMENT, REVENUE, GROSS_MARGIN, ORDERS])
    months = pd.date_range(pairs[C.MONTH].min(), pd.Timestamp(end_month), freq="MS")
    segments = sorted(set(segment_of.to_numpy()) | {UNASSIGNED} - {None})
    flows = _flows(pairs, segment_of, months, segments)
    if start_month is not None:
        months = months[months >= pd.Timestamp(start_month)]
        flows = flows[flows.index.get_level_values(C.MONTH) >= pd.Timestamp(start_month)]
    begin = months[0].date() if len(months) else end
    grid = pd.MultiIndex.from_product([months, segments], names=[C.MONTH, C.SEGMENT])
    out = _sales(engine, lens, begin, end, cost_of_capital, default_terms_days).reindex(
        grid, fill_value=0.0
    )
    out = out.join(flows)
    out = out.join(_activities(engine, lens, begin, end).reindex(grid, fill_value=0.0))
    out = out.join(_spend(engine, begin, end).reindex(grid, fill_value=0.0))
    qty = sorted(c for c in out.columns if c.startswith(QTY_PREFIX))
    spend = sorted(c for c in out.columns if c.startswith(SPEND_PREFIX))
    out[PROGRAM_SPEND] = out[spend].sum(axis=1) if spend else 0.0
    if COST_TO_SERVE not in out:
        out[COST_TO_SERVE] = 0.0
    ordered = [
        REVENUE,
        GROSS_MARGIN,
        ORDERS,
        BUYERS,
        OPENING,
        NEW,
        LOST,
        WON_BACK,
        CLOSING,
        *qty,
        COST_TO_SERVE,
        FINANCING_COST,
        *spend,
        PROGRAM_SPEND,
    ]
    out = out[ordered].fillna(0.0).reset_index()
    # A segment that never bought (e.g. "Unassigned" when every customer has the attribute)
    # is not worth planning.
    active = out.groupby(C.SEGMENT)[[REVENUE, CLOSING]].transform(lambda c: c.abs().sum())
    return out[(active[REVENUE] > 0) | (active[CLOSING] > 0)].reset_index(drop=True)


def splice_history(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` with its months from ``new``'s first month on replaced by ``new``'s rows.

    Columns that appear in only one frame are zeros elsewhere.
    """
    if new.empty:
        return old.copy()
    kept = old[old[C.MONTH] < new[C.MONTH].min()]
    out = pd.concat([kept, new], ignore_index=True).fillna(0.0)
    return out.sort_values([C.MONTH, C.SEGMENT], ignore_index=True)


def _purchase_months(engine: Engine, lens: str, end: dt.date) -> tuple[pd.DataFrame, pd.Series]:
    """Every (customer, month) with a sale, and each customer's segment.

    Read as plain rows (month as text) and typed with numpy: SQLite spends more converting
    dates row by row than reading them.
    """
    cm, cu = schema.CustomerMonth.__table__, schema.Customer.__table__
    with engine.connect() as conn, _paused_gc():
        rows = conn.execute(
            sa.select(cm.c.customer_id, sa.cast(cm.c.month, sa.String)).where(cm.c.month <= end)
        ).all()
        seg_rows = conn.execute(sa.select(cu.c.customer_id, cu.c[lens])).all()
        # Columns by index: numpy would probe every Row for array protocols by name.
        ids = np.array([r[0] for r in rows], dtype=object)
        months = np.array([r[1] for r in rows], dtype="datetime64[D]")
    pairs = pd.DataFrame(
        {C.CUSTOMER_ID: ids, C.MONTH: months.astype("datetime64[M]").astype("datetime64[ns]")}
    )
    segment_of = pd.Series(
        {r[0]: (r[1] if r[1] is not None else UNASSIGNED) for r in seg_rows}, dtype=object
    )
    return pairs, segment_of


@contextmanager
def _paused_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector while a million rows become Python tuples.

    Each new tuple counts towards a collection, and a full collection walks every tuple made
    so far: reading the cube's (customer, month) pairs took four times as long with it on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sales(
    engine: Engine,
    lens: str,
    start: dt.date,
    end: dt.date,
    cost_of_capital: float,
    default_terms: int,
) -> pd.DataFrame:
    """Revenue, gross margin, orders, buyers and financing cost per segment and month."""
    cm, cu = schema.CustomerMonth.__table__, schema.Customer.__table__
    segment = sa.func.coalesce(cu.c[lens], UNASSIGNED).label(C.SEGMENT)
    cost = cm.c.cost + cm.c.uncosted_revenue * (1 - DEFAULT_GROSS_MARGIN)
    terms = sa.func.coalesce(cu.c.payment_terms_days, default_terms)
    positive = sa.case((cm.c.revenue > 0, cm.c.revenue), else_=0.0)
    query = (
        sa.select(
            segment,
            cm.c.month,
            sa.func.sum(cm.c.revenue).label(REVENUE),
            sa.func.sum(cm.c.revenue - cost).label(GROSS_MARGIN),
            sa.func.sum(cm.c.transactions).label(ORDERS),
            sa.func.count().label(BUYERS),
            sa.func.sum(positive * terms).label("revenue_days"),
        )
        .select_from(cm.outerjoin(cu, cu.c.customer_id == cm.c.customer_id))
        .where(cm.c.month >= start, cm.c.month <= end)
        .group_by(segment, cm.c.month)
    )
    with engine.connect() as conn:
        rows = pd.read_sql(query, conn)
    rows[C.MONTH] = pd.to_datetime(rows[C.MONTH])
    rows[FINANCING_COST] = rows.pop("revenue_days") / 365.0 * cost_of_capital
    return rows.set_index([C.MONTH, C.SEGMENT])


def _flows(
    pairs: pd.DataFrame, segment_of: pd.Series, months: pd.DatetimeIndex, segments: list[str]
) -> pd.DataFrame:
    """Opening, new, lost, won back and closing customers per segment and month."""
    first = months[0]
    index = (
        (pairs[C.MONTH].dt.year - first.year) * 12 + pairs[C.MONTH].dt.month - first.month
    ).to_numpy()
    codes, ids = pd.factorize(pairs[C.CUSTOMER_ID])
    seg_names = segment_of.reindex(ids).fillna(UNASSIGNED).to_numpy()
    seg_code = pd.Categorical(seg_names, categories=segments).codes
    order = np.lexsort((index, codes))
    code, month = codes[order], index[order]
    start = np.r_[True, code[1:] != code[:-1]]
    gap = np.r_[0, np.diff(month)]
    n_months, n_seg = months.size, len(segments)
    new = np.zeros((n_months, n_seg))
    won = np.zeros_like(new)
    lost = np.zeros_like(new)
    seg = seg_code[code]
    np.add.at(new, (month[start], seg[start]), 1)
    back = ~start & (gap > LAPSE_MONTHS)
    np.add.at(won, (month[back], seg[back]), 1)
    # A purchase followed by LAPSE_MONTHS empty months lapses in month + LAPSE_MONTHS.
    last = np.r_[code[1:] != code[:-1], True]
    lapses = last | (np.r_[gap[1:], 0] > LAPSE_MONTHS)
    lapse_month = month[lapses] + LAPSE_MONTHS
    inside = lapse_month < n_months
    np.add.at(lost, (lapse_month[inside], seg[lapses][inside]), 1)
    closing = np.cumsum(new + won - lost, axis=0)
    opening = np.vstack([np.zeros((1, n_seg)), closing[:-1]])
    grid = pd.MultiIndex.from_product([months, segments], names=[C.MONTH, C.SEGMENT])
    return pd.DataFrame(
        {
            OPENING: opening.ravel(),
            NEW: new.ravel(),
            LOST: lost.ravel(),
            WON_BACK: won.ravel(),
            CLOSING: closing.ravel(),
        },
        index=grid,
    )


def _activities(engine: Engine, lens: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Activity quantities and their cost per segment and month (rates in force each day)."""
    a, cu = schema.Activity.__table__, schema.Customer.__table__
    rates = costing.read_rates(engine)
    segment = sa.func.coalesce(cu.c[lens], UNASSIGNED).label(C.SEGMENT)
    month = month_start(engine, a.c.date).label(C.MONTH)
    rated = [(name, rates.rates[name]) for name in rates.activities]
    cost = (
        sa.case(
            *[
                (a.c.activity == name, a.c.quantity * costing.rate_at(a.c.date, history))
                for name, history in rated
            ],
            else_=0.0,
        )
        if rated
        else sa.literal(0.0)
    )
    query = (
        sa.select(
            segment,
            month,
            a.c.activity,
            sa.func.sum(a.c.quantity).label("qty"),
            sa.func.sum(cost).label("cost"),
        )
        .select_from(a.outerjoin(cu, cu.c.customer_id == a.c.customer_id))
        .where(a.c.date >= start, a.c.date <= end)
        .group_by(segment, month, a.c.activity)
    )
    with engine.connect() as conn:
        rows = pd.read_sql(query, conn)
    if rows.empty:
        return pd.DataFrame(
            {COST_TO_SERVE: pd.Series(dtype=float)},
            index=pd.MultiIndex.from_tuples([], names=[C.MONTH, C.SEGMENT]),
        )
    rows[C.MONTH] = pd.to_datetime(rows[C.MONTH])
    qty = rows.pivot_table(
        index=[C.MONTH, C.SEGMENT], columns=C.ACTIVITY, values="qty", aggfunc="sum", fill_value=0.0
    )
    qty.columns = [qty_column(c) for c in qty.columns]
    qty[COST_TO_SERVE] = rows.groupby([C.MONTH, C.SEGMENT])["cost"].sum()
    return qty


def _spend(engine: Engine, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Program spend per segment and month, one column per program."""
    t = schema.ProgramSpend.__table__
    query = sa.select(t.c.month, t.c.segment, t.c.program, t.c.spend).where(
        t.c.month >= start, t.c.month <= end
    )
    with engine.connect() as conn:
        rows = pd.read_sql(query, conn)
    if rows.empty:
        return pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=[C.MONTH, C.SEGMENT]))
    rows[C.MONTH] = pd.to_datetime(rows[C.MONTH])
    wide = rows.pivot_table(
        index=[C.MONTH, C.SEGMENT], columns=C.PROGRAM, values=C.SPEND, aggfunc="sum", fill_value=0.0
    )
    wide.columns = [spend_column(c) for c in wide.columns]
    return wide
