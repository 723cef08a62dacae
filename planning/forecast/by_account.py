"""Account-level forecast: the customers the company already has, one by one, rolled up by segment.

The top-down forecast (planning.forecast.by_segment) extrapolates each segment's total; the
account-level view asks the customer-value model instead: for every customer who has bought by
``as_of``, BG/NBD gives the purchases to expect in the next ``horizon`` periods and
Gamma-Gamma their value (planning.value.scoring). Summed by segment, that is what the
existing base will buy. The two differ for known reasons, which :func:`account_rollup` measures
rather than asserts:

- the account level counts only existing customers; the top-down forecast also carries the
  customers the company keeps acquiring (the roll-up reports the share of the last ``horizon``
  periods' revenue that came from customers first seen in that window);
- BG/NBD counts purchase days (same-day orders merged), the orders series counts transactions;
- refunds are not purchases for the value model, while revenue nets them off.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planning.core import columns as C
from planning.core.options import ATTRIBUTE_LENSES, Freq
from planning.forecast.base import MEAN, SERIES
from planning.forecast.by_segment import ForecastResult
from planning.forecast.series import TOTAL
from planning.store import schema
from planning.store.facts import UNASSIGNED
from planning.value import EXPECTED_SPEND, EXPECTED_TRANSACTIONS, P_ALIVE
from planning.value.scoring import ValueSettings, score_customers

CUSTOMERS: Final = C.CUSTOMERS
EXPECTED_ALIVE: Final = "expected_alive"
EXPECTED_ORDERS: Final = "expected_orders"
EXPECTED_REVENUE: Final = "expected_revenue"
TOP_DOWN: Final = "top_down"
GAP: Final = "gap"
GAP_SHARE: Final = "gap_share"
ROLLUP_COLUMNS: Final = (
    SERIES,
    CUSTOMERS,
    EXPECTED_ALIVE,
    EXPECTED_ORDERS,
    EXPECTED_REVENUE,
    TOP_DOWN,
    GAP,
    GAP_SHARE,
)
_COMPARABLE: Final = {"revenue": EXPECTED_REVENUE, "orders": EXPECTED_ORDERS}


def score_accounts(engine: Engine, as_of: dt.date, horizon: int, freq: Freq) -> pd.DataFrame:
    """Per customer: ``customer_id, p_alive, expected_transactions, expected_spend``.

    The one place the customer-value model is called (planning.value.scoring).
    """
    cv = score_customers(engine, as_of, settings=ValueSettings(horizon=horizon, time_unit=freq))
    return cv.scores[[C.CUSTOMER_ID, P_ALIVE, EXPECTED_TRANSACTIONS, EXPECTED_SPEND]].copy()


@dataclass(frozen=True)
class AccountRollup:
    """The existing customers' expected purchases by segment, beside the top-down forecast.

    ``table`` has one row per series (``"Total"`` first): ``series, customers,
    expected_alive, expected_orders, expected_revenue, top_down, gap, gap_share`` — ``top_down``
    is the forecast's sum over the same periods for the comparable metric (revenue with
    expected revenue, orders with expected orders; NaN for customers), ``gap`` top-down minus
    account level, ``gap_share`` the gap relative to the account level (+5% reads "the
    top-down forecast is 5% above what the existing customers are expected to buy").
    ``new_customer_share`` is the
    share of the last ``horizon`` periods' revenue from customers first seen in that window.
    """

    as_of: dt.date
    horizon: int
    freq: str
    metric: str | None
    table: pd.DataFrame
    new_customer_share: float
    explanation: str


def account_rollup(
    engine: Engine,
    *,
    as_of: dt.date,
    horizon: int,
    freq: Freq,
    lens: str | None = None,
    assignment: pd.DataFrame | None = None,
    forecast: ForecastResult | None = None,
) -> AccountRollup:
    """Roll the customer-value model's expectations up by segment and explain the gap.

    Parameters
    ----------
    engine
        An open store.
    as_of
        Only data on or before this day is used.
    horizon
        Periods ahead (``freq`` units).
    freq
        ``"M"`` or ``"W"``.
    lens, assignment
        The segments, as for :func:`planning.forecast.series.build_series` (None: the company only).
    forecast
        The top-down forecast to compare with (same lens; its first ``horizon`` periods).

    Returns
    -------
    AccountRollup

    Raises
    ------
    ValueError
        When the value model cannot be fitted (too little repeat-purchase history).
    """
    scores = score_accounts(engine, as_of, horizon, freq)
    segment = _segments_of(engine, scores[C.CUSTOMER_ID], lens, assignment)
    scores = scores.assign(
        **{
            SERIES: segment.to_numpy(),
            EXPECTED_REVENUE: scores[EXPECTED_TRANSACTIONS].to_numpy()
            * np.nan_to_num(scores[EXPECTED_SPEND].to_numpy()),
        }
    )
    by = scores.groupby(SERIES, sort=False).agg(
        **{
            CUSTOMERS: (C.CUSTOMER_ID, "size"),
            EXPECTED_ALIVE: (P_ALIVE, "sum"),
            EXPECTED_ORDERS: (EXPECTED_TRANSACTIONS, "sum"),
            EXPECTED_REVENUE: (EXPECTED_REVENUE, "sum"),
        }
    )
    total = by.sum().to_frame(TOTAL).T
    table = pd.concat([total, by.drop(index=TOTAL, errors="ignore")]) if lens else total
    table = table.rename_axis(SERIES).reset_index()
    metric = forecast.metric if forecast is not None else None
    table[TOP_DOWN] = _top_down(forecast, table[SERIES], horizon)
    if metric in _COMPARABLE:
        account = table[_COMPARABLE[metric]]
        table[GAP] = table[TOP_DOWN] - account
        table[GAP_SHARE] = (table[GAP] / account).where(account > 0)
    else:
        table[GAP] = table[TOP_DOWN] - np.nan
        table[GAP_SHARE] = np.nan
    if forecast is not None and forecast.segments:
        order = [TOTAL, *forecast.segments]
        table = (
            table.set_index(SERIES)
            .reindex(
                [s for s in order if s in set(table[SERIES])]
                + [s for s in table[SERIES] if s not in order]
            )
            .reset_index()
        )
    share = new_customer_share(engine, as_of, horizon, freq)
    return AccountRollup(
        as_of=as_of,
        horizon=horizon,
        freq=freq,
        metric=metric,
        table=table[list(ROLLUP_COLUMNS)],
        new_customer_share=share,
        explanation=_explain(table, share, horizon, freq, metric, as_of),
    )


def _segments_of(
    engine: Engine, ids: pd.Series, lens: str | None, assignment: pd.DataFrame | None
) -> pd.Series:
    if lens is None and assignment is None:
        return pd.Series(TOTAL, index=ids.index)
    if assignment is None:
        if lens not in ATTRIBUTE_LENSES:
            raise ValueError(f"Lens '{lens}' is not a customer attribute: pass its assignment.")
        cu = schema.Customer.__table__
        with engine.connect() as conn:
            mapping = pd.read_sql(sa.select(cu.c.customer_id, cu.c[lens].label(C.SEGMENT)), conn)
    else:
        mapping = assignment[[C.CUSTOMER_ID, C.SEGMENT]].astype({C.SEGMENT: str})
    lookup = mapping.set_index(C.CUSTOMER_ID)[C.SEGMENT]
    return ids.map(lookup).fillna(UNASSIGNED).astype(str)


def _top_down(forecast: ForecastResult | None, series: pd.Series, horizon: int) -> np.ndarray:
    if forecast is None or forecast.metric not in _COMPARABLE:
        return np.full(len(series), np.nan)
    fc = forecast.forecast
    first = sorted(fc["period"].unique())[:horizon]
    sums = fc[fc["period"].isin(first)].groupby(SERIES)[MEAN].sum()
    return series.map(sums).to_numpy(dtype=np.float64)


def window_start(as_of: dt.date, horizon: int, freq: Freq) -> dt.date:
    """First day of the ``horizon`` periods that end on ``as_of``."""
    if freq == "M":
        return (pd.Timestamp(as_of) - pd.DateOffset(months=horizon)).date() + dt.timedelta(1)
    return as_of - dt.timedelta(days=7 * horizon - 1)


def new_customer_share(engine: Engine, as_of: dt.date, horizon: int, freq: Freq) -> float:
    """Share of the revenue of the ``horizon`` periods up to ``as_of`` from customers whose
    first purchase fell in that window (NaN without revenue)."""
    tx = schema.Transaction.__table__
    start = window_start(as_of, horizon, freq)
    first = (
        sa.select(tx.c.customer_id, sa.func.min(tx.c.date).label("first"))
        .where(tx.c.date <= as_of)
        .group_by(tx.c.customer_id)
        .subquery("first_purchase")
    )
    query = (
        sa.select(
            sa.func.sum(tx.c.amount),
            sa.func.sum(sa.case((first.c.first >= start, tx.c.amount), else_=0.0)),
        )
        .join(first, first.c.customer_id == tx.c.customer_id)
        .where(tx.c.date >= start, tx.c.date <= as_of)
    )
    with engine.connect() as conn:
        total, new = conn.execute(query).one()
    return float(new or 0.0) / float(total) if total else float("nan")


def _explain(
    table: pd.DataFrame, share: float, horizon: int, freq: Freq, metric: str | None, as_of: dt.date
) -> str:
    unit = ("month" if freq == "M" else "week") + ("s" if horizon != 1 else "")
    customers = int(table.loc[table[SERIES] == TOTAL, CUSTOMERS].iloc[0])
    text = (
        f"The account level counts only the {customers:,} existing customers (bought on or "
        f"before {as_of:%d %b %Y}) and what the customer-value model expects each to buy in "
        f"the next {horizon} {unit}. The top-down forecast extends whole-segment totals, so "
        "it also includes customers not acquired yet."
    )
    if np.isfinite(share):
        text += (
            f" In the last {horizon} {unit}, customers first seen in that window brought "
            f"{share:.0%} of revenue."
        )
    if metric not in _COMPARABLE:
        return text + " Active customers per period have no account-level counterpart here."
    gap = table.loc[table[SERIES] == TOTAL, GAP_SHARE].iloc[0]
    if np.isfinite(gap):
        text += (
            f" The top-down forecast is {abs(gap):.0%} "
            f"{'above' if gap >= 0 else 'below'} the account level for the company."
        )
    segments = table[(table[SERIES] != TOTAL) & table[GAP_SHARE].notna()]
    if not segments.empty:
        widest = segments.iloc[segments[GAP_SHARE].abs().argmax()]
        text += (
            f" The widest difference is {widest[SERIES]}: top-down "
            f"{abs(widest[GAP_SHARE]):.0%} {'above' if widest[GAP_SHARE] >= 0 else 'below'}"
            " — where a segment's recent trend and its customers' own purchase histories "
            "disagree, the two views deserve a closer look."
        )
    if metric == "orders":
        text += " Orders also differ in kind: the value model counts purchase days."
    return text
