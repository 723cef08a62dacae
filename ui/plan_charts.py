"""Plotly figures of the operating plan: a frame in, a figure out.

Segments keep their colours (ui.palette); money axes read "$1.2M", hovers "$1,234,567".
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from planning import plan
from planning.core import columns as C
from ui.charts import LOST_COLOR, MARGIN_COLOR, panel_layout
from ui.palette import TOTAL_COLOR, segment_color

HEIGHT = 380
MONEY_METRICS = {
    plan.REVENUE,
    plan.GROSS_MARGIN,
    plan.COST_TO_SERVE,
    plan.PROGRAM_SPEND,
    plan.CONTRIBUTION,
    plan.FINANCING_COST,
    plan.UNSERVED_COST,
}


def _layout(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    panel_layout(fig, title, height)
    fig.update_layout(hovermode="x unified")
    fig.update_xaxes(showgrid=False, tickformat="%b %Y")
    fig.update_yaxes(zeroline=True, zerolinecolor="#c9ced6")
    return fig


def plan_figure(table: pd.DataFrame, actuals: pd.DataFrame, metric: str, label: str) -> go.Figure:
    """The planned months stacked by segment, the last closed months' actual total as a line.

    ``table`` is :func:`planning.plan.operating_plan.plan_table`; ``actuals`` has ``month`` and
    ``metric`` totals per month (closed months), or is empty.
    """
    money = metric in MONEY_METRICS
    hover = "%{y:$,.0f}" if money else "%{y:,.0f}"
    fig = go.Figure()
    for segment, g in table.groupby(C.SEGMENT, sort=True):
        fig.add_bar(
            x=g[C.MONTH],
            y=g[metric],
            name=str(segment),
            marker_color=segment_color(str(segment)),
            hovertemplate=hover,
        )
    if len(actuals):
        fig.add_scatter(
            x=actuals[C.MONTH],
            y=actuals[metric],
            name="Actual (closed months)",
            mode="lines+markers",
            line=dict(color=TOTAL_COLOR, width=2),
            hovertemplate=hover,
        )
    if metric == plan.REVENUE and plan.REVENUE_LO95 in table:
        band = table.groupby(C.MONTH)[[plan.REVENUE_LO95, plan.REVENUE_HI95]].sum().reset_index()
        fig.add_scatter(
            x=band[C.MONTH],
            y=band[plan.REVENUE_HI95],
            mode="lines",
            line=dict(width=0),
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=band[C.MONTH],
            y=band[plan.REVENUE_LO95],
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor="rgba(34,48,60,0.10)",
            name="95% forecast band (sum of segments)",
            hoverinfo="skip",
        )
    _layout(fig, f"{label}: plan by segment, and the actuals before it")
    fig.update_layout(barmode="relative")
    if money:
        fig.update_yaxes(tickprefix="$", tickformat="~s")
    else:
        fig.update_yaxes(tickformat=",d")
    return fig


def variance_waterfall(row: pd.Series, month_label: str) -> go.Figure:
    """Plan contribution, each effect of the decomposition, actual contribution."""
    effects = list(plan.EFFECTS)
    fig = go.Figure(
        go.Waterfall(
            x=["Plan", *[plan.EFFECT_LABELS[e] for e in effects], "Actual"],
            measure=["absolute", *["relative"] * len(effects), "total"],
            y=[row[plan.PLAN_CONTRIBUTION], *[row[e] for e in effects], 0.0],
            text=[
                _money(row[plan.PLAN_CONTRIBUTION]),
                *[_signed(row[e]) for e in effects],
                _money(row[plan.ACTUAL_CONTRIBUTION]),
            ],
            textposition="outside",
            increasing=dict(marker=dict(color=MARGIN_COLOR)),
            decreasing=dict(marker=dict(color=LOST_COLOR)),
            totals=dict(marker=dict(color=TOTAL_COLOR)),
            connector=dict(line=dict(color="#9aa5b1", width=1)),
            hovertemplate="%{x}: %{y:$,.0f}<extra></extra>",
        )
    )
    _layout(fig, f"{month_label}: contribution, plan to actual, by cause")
    fig.update_layout(hovermode="closest", showlegend=False)
    fig.update_xaxes(tickformat=None, tickangle=0)
    fig.update_yaxes(tickprefix="$", tickformat="~s")
    return fig


def capacity_figure(table: pd.DataFrame, capacity: float | None) -> go.Figure:
    """Service hours demanded per month by segment (served solid, unserved red), and capacity."""
    fig = go.Figure()
    for segment, g in table.groupby(C.SEGMENT, sort=True):
        served = g[plan.SERVED_HOURS] if plan.SERVED_HOURS in g else g[plan.SERVICE_HOURS]
        fig.add_bar(
            x=g[C.MONTH],
            y=served,
            name=str(segment),
            marker_color=segment_color(str(segment)),
            hovertemplate="%{y:,.0f} h",
        )
    if plan.UNSERVED_HOURS in table:
        unserved = table.groupby(C.MONTH)[plan.UNSERVED_HOURS].sum().reset_index()
        if unserved[plan.UNSERVED_HOURS].sum() > 0:
            fig.add_bar(
                x=unserved[C.MONTH],
                y=unserved[plan.UNSERVED_HOURS],
                name="Not served",
                marker=dict(color=LOST_COLOR, pattern=dict(shape="/")),
                hovertemplate="%{y:,.0f} h",
            )
    if capacity is not None:
        months = sorted(table[C.MONTH].unique())
        fig.add_scatter(
            x=months,
            y=[capacity] * len(months),
            name="Capacity",
            mode="lines",
            line=dict(color=TOTAL_COLOR, dash="dash", width=2),
            hovertemplate="%{y:,.0f} h",
        )
    _layout(
        fig,
        "Back-office service hours: demand by segment"
        + (" against capacity" if capacity is not None else ""),
    )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(ticksuffix=" h", tickformat=",d")
    return fig


def _money(value: float) -> str:
    return f"-${abs(value):,.0f}" if value < 0 else f"${value:,.0f}"


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + f"${abs(value):,.0f}"
