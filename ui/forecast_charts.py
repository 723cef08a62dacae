"""Figures of the Forecast page: pure functions, frames in and a Plotly figure out.

Every series keeps its segment colour (ui.palette) — the forecast bands, the stacked segments
and the track record of one segment are the same hue. Money axes read "$1.2M" and hover labels
give the full "$1,234,567"; counts read "1,234".
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import plotly.graph_objects as go

from planning import forecast as fc
from planning.forecast import (
    EXPECTED_ORDERS,
    EXPECTED_REVENUE,
    MEAN,
    PERIOD,
    SERIES,
    TOP_DOWN,
    TOTAL,
    VALUE,
    hi,
    lo,
)
from ui.charts import FONT, GRID_COLOR
from ui.palette import segment_color

HEIGHT: Final = 380
ACTUAL_COLOR: Final = "#22303c"
ALERT_COLOR: Final = "#c8553d"
DASHES: Final = ("dot", "dash", "dashdot", "longdash")  # one per accepted forecast


def display_name(series: str) -> str:
    """The company total reads "Company" on screen."""
    return "Company" if series == TOTAL else series


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _value_format(metric: str) -> tuple[str, str, str]:
    """(tick prefix, tick format, hover format) for a metric."""
    if metric == "revenue":
        return "$", "~s", "$,.0f"
    return "", ",~s", ",.0f"


def _layout(fig: go.Figure, title: str, metric: str, height: int = HEIGHT) -> go.Figure:
    prefix, tick, _ = _value_format(metric)
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=16)),
        height=height,
        margin=dict(l=8, r=8, t=64, b=8),
        font=FONT,
        hovermode="x unified",
        plot_bgcolor="white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
    )
    fig.update_xaxes(showgrid=False, automargin=True, tickformat="%b %Y")
    fig.update_yaxes(
        gridcolor=GRID_COLOR,
        tickprefix=prefix,
        tickformat=tick,
        rangemode="tozero",
        automargin=True,
    )
    return fig


def forecast_figure(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    series: str,
    metric: str,
    label: str,
    actuals: pd.DataFrame | None = None,
) -> go.Figure:
    """One series: its history, the forecast with 80% and 95% bands, and later actuals.

    ``history`` and ``actuals`` have ``series, period, value``; ``forecast`` the long forecast
    frame. ``actuals`` (optional) are the periods after the forecast was made, as known now.
    """
    color = segment_color(series)
    _, _, hover = _value_format(metric)
    past = history[history[SERIES] == series]
    ahead = forecast[forecast[SERIES] == series]
    fig = go.Figure()
    for level, alpha in ((95, 0.12), (80, 0.25)):
        fig.add_scatter(
            x=ahead[PERIOD],
            y=ahead[hi(level)],
            mode="lines",
            line=dict(width=0),
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=ahead[PERIOD],
            y=ahead[lo(level)],
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=_rgba(color, alpha),
            name=f"{level}% interval",
            customdata=ahead[hi(level)],
            hovertemplate=f"{level}%: %{{y:{hover}}} to %{{customdata:{hover}}}<extra></extra>",
        )
    fig.add_scatter(
        x=past[PERIOD],
        y=past[VALUE],
        mode="lines+markers",
        name="History",
        line=dict(color=color, width=2.5),
        marker=dict(size=4),
        hovertemplate=f"%{{y:{hover}}}",
    )
    # the forecast line starts at the last actual so the two read as one story
    join = past.tail(1)
    fig.add_scatter(
        x=pd.concat([join[PERIOD], ahead[PERIOD]]),
        y=pd.concat([join[VALUE], ahead[MEAN]]),
        mode="lines+markers",
        name="Forecast",
        line=dict(color=color, width=2.5, dash="dash"),
        marker=dict(size=5),
        hovertemplate=f"%{{y:{hover}}}",
    )
    if actuals is not None and not past.empty:
        later = actuals[(actuals[SERIES] == series) & (actuals[PERIOD] > past[PERIOD].max())]
        if not later.empty:
            fig.add_scatter(
                x=later[PERIOD],
                y=later[VALUE],
                mode="markers",
                name="Actual since",
                marker=dict(color=ACTUAL_COLOR, size=8, symbol="diamond"),
                hovertemplate=f"actual %{{y:{hover}}}",
            )
    return _layout(fig, f"{label}: {display_name(series)}", metric)


def stacked_figure(
    forecast: pd.DataFrame, segments: list[str], metric: str, label: str
) -> go.Figure:
    """The segments' forecasts stacked period by period, with the company forecast on top."""
    _, _, hover = _value_format(metric)
    fig = go.Figure()
    for segment in segments:
        rows = forecast[forecast[SERIES] == segment]
        fig.add_bar(
            x=rows[PERIOD],
            y=rows[MEAN],
            name=segment,
            marker_color=segment_color(segment),
            hovertemplate=f"%{{y:{hover}}}",
        )
    total = forecast[forecast[SERIES] == TOTAL]
    fig.add_scatter(
        x=total[PERIOD],
        y=total[MEAN],
        mode="markers+lines",
        name="Company",
        line=dict(color=segment_color(TOTAL), width=2),
        marker=dict(size=7),
        hovertemplate=f"%{{y:{hover}}}",
    )
    fig.update_layout(barmode="stack", bargap=0.25)
    return _layout(fig, f"{label} forecast by segment: the bars add up to the company", metric)


def account_figure(table: pd.DataFrame, metric: str, horizon_label: str) -> go.Figure:
    """Account level (existing customers) beside the top-down forecast, per segment."""
    account = EXPECTED_ORDERS if metric == "orders" else EXPECTED_REVENUE
    shown = table[table[SERIES] != TOTAL] if (table[SERIES] != TOTAL).any() else table
    _, _, hover = _value_format(metric if metric == "orders" else "revenue")
    fig = go.Figure()
    names = shown[SERIES].map(display_name)
    fig.add_bar(
        x=names,
        y=shown[account],
        name="Account level (existing customers)",
        marker_color=[_rgba(segment_color(s), 0.45) for s in shown[SERIES]],
        marker_line=dict(color=[segment_color(s) for s in shown[SERIES]], width=1.5),
        hovertemplate=f"%{{y:{hover}}}",
    )
    if shown[TOP_DOWN].notna().any():
        fig.add_bar(
            x=names,
            y=shown[TOP_DOWN],
            name="Top-down forecast",
            marker_color=[segment_color(s) for s in shown[SERIES]],
            hovertemplate=f"%{{y:{hover}}}",
        )
    fig.update_layout(barmode="group", bargap=0.3)
    fig = _layout(
        fig,
        f"Next {horizon_label}: account level vs top-down",
        metric if metric == "orders" else "revenue",
    )
    fig.update_xaxes(tickformat=None)
    return fig


def track_record_figure(
    comparison: pd.DataFrame, actuals: pd.DataFrame, series: str, metric: str, label: str
) -> go.Figure:
    """Accepted forecasts of one series against what happened; misses outside 95% in red."""
    _, _, hover = _value_format(metric)
    color = segment_color(series)
    mine = comparison[comparison[SERIES] == series]
    fig = go.Figure()
    for i, (made, rows) in enumerate(mine.groupby(fc.MADE_AS_OF, sort=True)):
        rows = rows.sort_values(PERIOD)
        fig.add_scatter(
            x=rows[PERIOD],
            y=rows[MEAN],
            mode="lines+markers",
            name=f"Forecast of {made:%d %b %Y}",
            line=dict(color=_rgba(color, 0.8), width=1.5, dash=DASHES[i % 4]),
            marker=dict(size=5),
            error_y=dict(
                type="data",
                symmetric=False,
                color=_rgba(color, 0.5),
                array=rows[hi(95)] - rows[MEAN],
                arrayminus=rows[MEAN] - rows[lo(95)],
            ),
            hovertemplate=f"%{{y:{hover}}}",
        )
    seen = actuals[
        (actuals[SERIES] == series)
        & (actuals[PERIOD] >= mine[PERIOD].min() - pd.DateOffset(months=6))
    ]
    fig.add_scatter(
        x=seen[PERIOD],
        y=seen[VALUE],
        mode="lines+markers",
        name="Actual",
        line=dict(color=ACTUAL_COLOR, width=2.5),
        hovertemplate=f"%{{y:{hover}}}",
    )
    missed = mine[~mine[fc.INSIDE_95].astype(bool)]
    if not missed.empty:
        fig.add_scatter(
            x=missed[PERIOD],
            y=missed[fc.ACTUAL],
            mode="markers",
            name="Outside the 95% interval",
            marker=dict(color=ALERT_COLOR, size=13, symbol="circle-open", line=dict(width=3)),
            hoverinfo="skip",
        )
    return _layout(fig, f"{label}: accepted forecasts vs actuals, {display_name(series)}", metric)


def accuracy_history_figure(history: pd.DataFrame) -> go.Figure:
    """Running accuracy (1 - WAPE) of the accepted forecasts, one line per series."""
    fig = go.Figure()
    for series, rows in history.groupby(SERIES, sort=False):
        fig.add_scatter(
            x=rows[PERIOD],
            y=rows[fc.RUNNING_ACCURACY],
            mode="lines+markers",
            name=display_name(str(series)),
            line=dict(color=segment_color(str(series)), width=2),
            customdata=rows[fc.FORECASTS],
            hovertemplate="%{y:.1%} (%{customdata} forecasts)",
        )
    fig = _layout(fig, "How good have our forecasts been? Running accuracy (1 − WAPE)", "share")
    fig.update_yaxes(tickprefix="", tickformat=".0%", rangemode="normal")
    return fig
