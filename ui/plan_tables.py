"""The operating plan page's tables, built from a plan version's lines (pure: frames in, frames
out).

``table`` is :func:`planning.plan.plan_table`: one row per month and segment, one column per plan
metric. ``actuals`` is the closed months' actuals per segment and month
(:func:`ui.plan_data.load_actuals`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from planning import plan
from planning.core import columns as C

FLOWS = (plan.OPENING, plan.ACQUIRED, plan.CHURNED, plan.WON_BACK, plan.CLOSING)
BACK_OFFICE = (
    plan.ORDERS,
    plan.DELIVERIES,
    plan.SERVICE_HOURS,
    plan.UNSERVED_HOURS,
    plan.UNSERVED_COST,
)
# Plan metrics whose actuals are the actuals' column of the same name, summed over segments.
_SUMMED = (plan.REVENUE, plan.GROSS_MARGIN, plan.COST_TO_SERVE, plan.PROGRAM_SPEND)


def monthly_totals(table: pd.DataFrame, metrics: Iterable[str]) -> pd.DataFrame:
    """The company's plan month by month: ``metrics`` (those the plan has) summed over segments."""
    return table.groupby(C.MONTH)[[m for m in metrics if m in table]].sum()


def recent_actuals(actuals: pd.DataFrame, metric: str, months: int = 12) -> pd.DataFrame:
    """``month, <metric>``: the company's actuals over the last ``months`` closed months, for the
    plan chart; empty for a metric without actuals (orders)."""
    recent = actuals[actuals[C.MONTH] > actuals[C.MONTH].max() - pd.DateOffset(months=months)]
    if metric in _SUMMED:
        return recent.groupby(C.MONTH, as_index=False)[metric].sum()
    if metric == plan.CONTRIBUTION:
        return (
            recent.assign(contribution=plan.contribution(recent))
            .groupby(C.MONTH, as_index=False)[plan.CONTRIBUTION]
            .sum()
        )
    if metric == plan.CLOSING:
        return (
            recent.groupby(C.MONTH, as_index=False)["customers"]
            .sum()
            .rename(columns={"customers": plan.CLOSING})
        )
    return pd.DataFrame()


def by_segment(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per month ("Jan 2026"), one column per segment and a ``Total``, of ``metric``."""
    wide = table.pivot_table(index=C.MONTH, columns=C.SEGMENT, values=metric, aggfunc="sum")
    wide["Total"] = wide.sum(axis=1)
    return _month_labels(wide)


def customer_flows(table: pd.DataFrame) -> pd.DataFrame:
    """Opening, acquired, churned, won back and closing customers, month by month."""
    return _month_labels(table.groupby(C.MONTH)[list(FLOWS)].sum())


def back_office(table: pd.DataFrame) -> pd.DataFrame:
    """Orders, deliveries, service hours, hours not served and the contribution they put at risk,
    month by month."""
    return _month_labels(table.groupby(C.MONTH)[list(BACK_OFFICE)].sum())


def plan_by_month(table: pd.DataFrame) -> pd.DataFrame:
    """Every plan metric summed over segments, one row per month (the workbook's first sheet)."""
    return table.groupby(C.MONTH, as_index=False).sum(numeric_only=True)


def _month_labels(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.index = [f"{m:%b %Y}" for m in out.index]
    return out
