"""Plotly figures of the operating plan: a frame in, a figure out.

Segments keep their colours (ui.palette); money axes read "$1.2M", hovers "$1,234,567".
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from planning.core import columns as C
from planning.plan import operating_plan as op
from planning.plan import variance as va
from ui.charts import LOST_COLOR, MARGIN_COLOR, panel_layout
from ui.palette import TOTAL_COLOR, segment_color

HEIGHT = 380
MONEY_METRICS = {
    op.REVENUE,
    op.GROSS_MARGIN,
    op.COST_TO_SERVE,
    op.PROGRAM_SPEND,
    op.CONTRIBUTION,
    op.FINANCING_COST,
    op.UNSERVED_COST,
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
    if metric == op.REVENUE and op.REVENUE_LO95 in table:
        band = table.groupby(C.MONTH)[[op.REVENUE_LO95, op.REVENUE_HI95]].sum().reset_index()
        fig.add_scatter(
            x=band[C.MONTH],
            y=band[op.REVENUE_HI95],
            mode="lines",
            line=dict(width=0),
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=band[C.MONTH],
            y=band[op.REVENUE_LO95],
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
    effects = list(va.EFFECTS)
    fig = go.Figure(
        go.Waterfall(
            x=["Plan", *[va.EFFECT_LABELS[e] for e in effects], "Actual"],
            measure=["absolute", *["relative"] * len(effects), "total"],
            y=[row[va.PLAN_CONTRIBUTION], *[row[e] for e in effects], 0.0],
            text=[
                _money(row[va.PLAN_CONTRIBUTION]),
                *[_signed(row[e]) for e in effects],
                _money(row[va.ACTUAL_CONTRIBUTION]),
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
        served = g[op.SERVED_HOURS] if op.SERVED_HOURS in g else g[op.SERVICE_HOURS]
        fig.add_bar(
            x=g[C.MONTH],
            y=served,
            name=str(segment),
            marker_color=segment_color(str(segment)),
            hovertemplate="%{y:,.0f} h",
        )
    if op.UNSERVED_HOURS in table:
        unserved = table.groupby(C.MONTH)[op.UNSERVED_HOURS].sum().reset_index()
        if unserved[op.UNSERVED_HOURS].sum() > 0:
            fig.add_bar(
                x=unserved[C.MONTH],
                y=unserved[op.UNSERVED_HOURS],
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
