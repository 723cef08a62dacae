"""Plotly figures of customer value: a frame in, a figure out.

Segments keep their colours from ui.palette; money axes read "$1.2M" and hover labels give
the full "$1,234,567".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from planning import profit, value
from planning.core import columns as C
from ui.charts import LOST_COLOR, MARGIN_COLOR, REVENUE_COLOR, panel_layout
from ui.palette import segment_color

HEIGHT = 380


def _layout(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    return panel_layout(fig, title, height)


def value_by_segment_figure(table: pd.DataFrame, horizon_label: str) -> go.Figure:
    """CLV (solid) and potential (light) per segment, each with its 90% interval.

    ``table`` has the columns of :func:`planning.value.scoring.segment_value`.
    """
    table = table.sort_values(value.CLV)
    names = table[C.SEGMENT].astype(str)
    colours = [segment_color(s) for s in names]
    fig = go.Figure()
    for col, label, opacity in (
        (value.POTENTIAL, "Potential value", 0.35),
        (value.CLV, "CLV", 1.0),
    ):
        fig.add_bar(
            y=names,
            x=table[col],
            orientation="h",
            name=label,
            marker=dict(color=colours, opacity=opacity, line=dict(color=colours, width=1)),
            error_x=dict(
                type="data",
                symmetric=False,
                array=table[col + value.HI] - table[col],
                arrayminus=table[col] - table[col + value.LO],
                color="#4b5563",
                thickness=1.2,
                width=4,
            ),
            customdata=np.stack(
                [table[col + value.LO], table[col + value.HI], table[value.CUSTOMERS]], axis=1
            ),
            hovertemplate=(
                f"<b>%{{y}}</b><br>{label}: %{{x:$,.0f}}<br>"
                "90% interval %{customdata[0]:$,.0f} to %{customdata[1]:$,.0f}<br>"
                "%{customdata[2]:,} customers<extra></extra>"
            ),
        )
    _layout(
        fig,
        f"CLV (solid) and potential value (light), next {horizon_label}",
        height=max(HEIGHT, 90 + 46 * len(table)),
    )
    fig.update_layout(barmode="overlay", bargap=0.35, showlegend=False)
    fig.update_xaxes(tickprefix="$", tickformat="~s", zeroline=True, zerolinecolor="#9aa5b1")
    return fig


def p_alive_figure(scores: pd.DataFrame, assignment: pd.DataFrame) -> go.Figure:
    """How many customers are how likely to still be active, stacked by segment."""
    segment = (
        assignment.set_index(C.CUSTOMER_ID)[C.SEGMENT]
        .astype(str)
        .reindex(scores[C.CUSTOMER_ID])
        .fillna(profit.UNASSIGNED)
        .to_numpy()
    )
    fig = go.Figure()
    bins = dict(start=0.0, end=1.0, size=0.05)
    for name in pd.unique(segment):
        fig.add_histogram(
            x=scores[value.P_ALIVE].to_numpy()[segment == name],
            name=str(name),
            xbins=bins,
            marker_color=segment_color(str(name)),
            hovertemplate="P(alive) %{x}<br>%{y:,} customers<extra>%{fullData.name}</extra>",
        )
    _layout(fig, "How likely each customer is still active")
    fig.update_layout(
        barmode="stack",
        bargap=0.05,
        legend=dict(
            orientation="v",
            yanchor="top",
            y=1.0,
            xanchor="left",
            x=0.02,
            bgcolor="rgba(255,255,255,0.8)",
        ),
    )
    fig.update_xaxes(title_text="P(alive)", tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title_text="Customers", tickformat=",d")
    return fig


def customer_months_figure(monthly: pd.DataFrame, customer_id: str) -> go.Figure:
    """One customer's revenue (line) and contribution (bars, red when negative) by month."""
    fig = go.Figure()
    contribution = monthly[profit.CONTRIBUTION]
    fig.add_bar(
        x=monthly[C.MONTH],
        y=contribution,
        name="Contribution",
        marker_color=np.where(contribution < 0, LOST_COLOR, MARGIN_COLOR),
        hovertemplate="%{y:$,.0f}",
    )
    fig.add_scatter(
        x=monthly[C.MONTH],
        y=monthly[profit.REVENUE],
        name="Revenue",
        mode="lines+markers",
        line=dict(color=REVENUE_COLOR, width=2),
        hovertemplate="%{y:$,.0f}",
    )
    _layout(fig, f"{customer_id}: revenue and contribution by month", height=320)
    fig.update_layout(hovermode="x unified")
    fig.update_xaxes(tickformat="%b %Y", showgrid=False)
    fig.update_yaxes(tickprefix="$", tickformat="~s", zeroline=True, zerolinecolor="#9aa5b1")
    return fig
