"""Plotly figure builders: a frame in, a figure out, nothing read or written elsewhere.

One palette for the whole app, so margin is the same teal on every page and "lost" is
always the same red. Money axes read "$1.2M", hover labels give the full "$1,234,567".
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from planning import store
from planning.core import columns as c

# Colour-blind-safe pairs (Okabe–Ito inspired), darkened for text contrast on white.
REVENUE_COLOR: Final = "#1f5f9e"
MARGIN_COLOR: Final = "#2a9d8f"
MARGIN_PCT_COLOR: Final = "#e0a100"
ACTIVE_COLOR: Final = "#1f5f9e"
NEW_COLOR: Final = "#2a9d8f"
LOST_COLOR: Final = "#c8553d"
COST_COLOR: Final = "#b8c7d9"
WARMUP_COLOR: Final = "#f1f3f6"
GRID_COLOR: Final = "#e6e9ef"
FONT: Final = dict(family="Source Sans Pro, Helvetica, Arial, sans-serif", size=13)
HEIGHT: Final = 360


def _layout(fig: go.Figure, title: str, months: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=16)),
        height=HEIGHT,
        margin=dict(l=8, r=8, t=64, b=8),
        font=FONT,
        hovermode="x unified",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
        plot_bgcolor="white",
        bargap=0.2,
    )
    # Few enough labels to sit level: every month up to a year, then quarters, then halves.
    dtick = "M1" if months <= 12 else "M3" if months <= 24 else "M6"
    fig.update_xaxes(dtick=dtick, tickformat="%b %Y", tickangle=0, showgrid=False, automargin=True)
    fig.update_yaxes(
        gridcolor=GRID_COLOR,
        zeroline=True,
        zerolinecolor="#c9ced6",
        automargin=True,
        tickmode="auto",
    )
    return fig


def revenue_margin_figure(kpis: pd.DataFrame) -> go.Figure:
    """Monthly revenue as a bar split into gross margin and cost of goods; margin % as a line.

    ``kpis`` has the columns of :func:`planning.store.kpis.monthly_kpis`.
    """
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    month = kpis[c.MONTH]
    fig.add_bar(
        x=month,
        y=kpis[store.GROSS_MARGIN],
        name="Gross margin",
        marker_color=MARGIN_COLOR,
        hovertemplate="%{y:$,.0f}",
    )
    fig.add_bar(
        x=month,
        y=kpis[c.COST],
        name="Cost of goods",
        marker_color=COST_COLOR,
        hovertemplate="%{y:$,.0f}",
    )
    fig.add_scatter(  # invisible: puts the revenue total in the hover label
        x=month,
        y=kpis[store.REVENUE],
        name="Revenue",
        mode="markers",
        marker=dict(size=0, opacity=0),
        showlegend=False,
        hovertemplate="%{y:$,.0f}",
    )
    fig.add_scatter(
        x=month,
        y=kpis[store.GROSS_MARGIN_PCT],
        name="Gross margin %",
        mode="lines+markers",
        line=dict(color=MARGIN_PCT_COLOR, width=2.5),
        marker=dict(size=5),
        hovertemplate="%{y:.1f}%",
        secondary_y=True,
    )
    _layout(fig, "Revenue by month: gross margin and cost of goods", len(kpis))
    fig.update_layout(barmode="relative")
    fig.update_yaxes(tickprefix="$", tickformat="~s", rangemode="tozero", secondary_y=False)
    top = kpis[store.GROSS_MARGIN_PCT].max()
    fig.update_yaxes(
        ticksuffix="%",
        showgrid=False,
        secondary_y=True,
        range=[0, max(100.0, top * 1.1) if pd.notna(top) else 100.0],
    )
    return fig


def customers_figure(kpis: pd.DataFrame) -> go.Figure:
    """New customers up, lost customers down (bars), active customers as a line on the right.

    The first :data:`planning.core.defaults.LAPSE_MONTHS` months are shaded: there "new" includes
    customers who bought before the history starts, and nobody can be lost yet.
    ``kpis`` has the columns of :func:`planning.store.kpis.monthly_kpis`.
    """
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    month = kpis[c.MONTH]
    fig.add_bar(
        x=month,
        y=kpis[store.NEW_CUSTOMERS],
        name="New",
        marker_color=NEW_COLOR,
        hovertemplate="%{y:,}",
    )
    fig.add_bar(
        x=month,
        y=-kpis[store.LOST_CUSTOMERS],
        name="Lost",
        marker_color=LOST_COLOR,
        customdata=kpis[store.LOST_CUSTOMERS],
        hovertemplate="%{customdata:,}",
    )
    fig.add_scatter(
        x=month,
        y=kpis[store.ACTIVE_CUSTOMERS],
        name="Active",
        mode="lines+markers",
        line=dict(color=ACTIVE_COLOR, width=2.5),
        marker=dict(size=5),
        hovertemplate="%{y:,}",
        secondary_y=True,
    )
    _layout(fig, "Customers by month: active, new and lost", len(kpis))
    if len(kpis) > store.LAPSE_MONTHS:
        start = month.iloc[0] - pd.Timedelta(days=15)
        fig.add_vrect(
            x0=start,
            x1=start + pd.DateOffset(months=store.LAPSE_MONTHS),
            fillcolor=WARMUP_COLOR,
            line_width=0,
            layer="below",
            annotation_text="history starts",
            annotation_position="top left",
            annotation_font=dict(size=11, color="#6b7280"),
        )
    fig.update_layout(barmode="relative")
    fig.update_yaxes(title_text="New ▲  Lost ▼", tickformat=",d", secondary_y=False)
    fig.update_yaxes(
        title_text="Active", tickformat=",d", rangemode="tozero", showgrid=False, secondary_y=True
    )
    return fig


def panel_layout(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    """The app's look for a chart that is not a monthly series: title top left, white plot,
    light grid, legend in a row above the plot."""
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=16)),
        height=height,
        margin=dict(l=8, r=8, t=64, b=8),
        font=FONT,
        plot_bgcolor="white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
    )
    fig.update_xaxes(gridcolor=GRID_COLOR, automargin=True)
    fig.update_yaxes(gridcolor=GRID_COLOR, automargin=True)
    return fig
