"""The rates a segment's plan runs on, measured over its last closed months.

Gross-margin and financing rates, revenue per customer-month, monthly churn of the opening
base, new and won-back customers a month, and activities per order and per customer-month,
all read off the segment-month history (:mod:`planning.profit.segment_history`). The operating
plan (:mod:`planning.plan.operating_plan`) rolls them forward; the allocation economics
(:mod:`planning.allocation.economics`) price program outcomes with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pandas as pd

from planning.core import columns as C
from planning.profit import segment_history as pf

# Activities that scale with orders; the others scale with customer-months.
PER_ORDER_ACTIVITIES: Final = ("order", "delivery", "return")

# Columns of the rates frame (one row per segment).
RATES: Final = (
    "margin_rate",
    "financing_rate",
    "revenue_per_customer",
    "churn_rate",
    "new_per_month",
    "won_back_per_month",
    "orders_per_revenue",
    "per_order",
    "per_customer",
    "closing",
    "clv_per_customer",
)


def segment_rates(
    history: pd.DataFrame, *, months: int = 12, clv_per_customer: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """The rates each segment's plan runs on, measured over its last ``months`` closed months.

    Returns
    -------
    DataFrame
        Indexed by segment: ``margin_rate, financing_rate, revenue_per_customer`` (a month),
        ``churn_rate`` (of the opening base, a month), ``new_per_month, won_back_per_month``,
        ``per_order`` and ``per_customer`` (dicts of activity -> count per order or per
        customer-month), ``closing`` (the base at the last closed month) and
        ``clv_per_customer`` (from the value model, 0 when not given).
    """
    if history.empty:
        raise ValueError("There is no closed month of history to plan from.")
    last = history[C.MONTH].max()
    first = last - pd.DateOffset(months=months - 1)
    recent = history[history[C.MONTH] >= first]
    qty = [c for c in history.columns if c.startswith(pf.QTY_PREFIX)]
    rows = {}
    for segment, g in recent.groupby(C.SEGMENT, sort=True):
        revenue, orders = g[pf.REVENUE].sum(), g[pf.ORDERS].sum()
        customer_months = g[pf.CLOSING].sum()
        opening = g[pf.OPENING].sum()
        per_order = {
            c.removeprefix(pf.QTY_PREFIX): _rate(g[c].sum(), orders)
            for c in qty
            if c.removeprefix(pf.QTY_PREFIX) in PER_ORDER_ACTIVITIES
        }
        per_customer = {
            c.removeprefix(pf.QTY_PREFIX): _rate(g[c].sum(), customer_months)
            for c in qty
            if c.removeprefix(pf.QTY_PREFIX) not in PER_ORDER_ACTIVITIES
        }
        closing = float(g.loc[g[C.MONTH] == last, pf.CLOSING].sum())
        rows[segment] = {
            "margin_rate": _rate(g[pf.GROSS_MARGIN].sum(), revenue),
            "financing_rate": _rate(g[pf.FINANCING_COST].sum(), revenue),
            "revenue_per_customer": _rate(revenue, customer_months),
            "churn_rate": min(_rate(g[pf.LOST].sum(), opening), 1.0),
            "new_per_month": float(g[pf.NEW].mean()),
            "won_back_per_month": float(g[pf.WON_BACK].mean()),
            "orders_per_revenue": _rate(orders, revenue),
            "per_order": per_order,
            "per_customer": per_customer,
            "closing": closing,
            "clv_per_customer": float((clv_per_customer or {}).get(segment, 0.0)),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(C.SEGMENT)


def _rate(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0
