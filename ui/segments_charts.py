"""Plotly figures of segment profitability: a frame (or a planning result) in, a figure out.

Segments keep their colours from ui.palette on every chart; money axes read "$1.2M" and hover
labels give the full "$1,234,567".
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from planning import profit, segments
from planning.core import columns as C
from ui import format as fmt
from ui.charts import LOST_COLOR, MARGIN_COLOR, REVENUE_COLOR, panel_layout
from ui.palette import TOTAL_COLOR, segment_color
from ui.tables import count_column, money_column

HEIGHT: Final = 400
MAX_CURVE_POINTS: Final = 1500  # a whale curve of 100k customers drawn with this many points
COST_COLOR: Final = "#d9896f"


def waterfall_figure(row: pd.Series, title: str) -> go.Figure:
    """Revenue, minus cost of goods, each activity's cost-to-serve and financing, to contribution.

    ``row`` is one row of :func:`planning.profit.profitability.segment_pnl` (or a customer's row of
    :func:`planning.profit.profitability.customer_pnl`).
    """
    cts = [c for c in row.index if c.startswith(profit.CTS_PREFIX)]
    # Revenue is a rise from zero ("relative"), so it takes the increasing colour.
    steps = [
        ("Revenue", row[profit.REVENUE], "relative"),
        ("Cost of goods", -row[profit.COGS], "relative"),
    ]
    steps += [
        (fmt.activity_name(profit.activity_of(c)), -row[c], "relative") for c in cts if row[c] != 0
    ]
    steps += [
        ("Financing", -row[profit.FINANCING_COST], "relative"),
        ("Contribution", row[profit.CONTRIBUTION], "total"),
    ]
    labels, values, measures = zip(*steps, strict=True)
    fig = go.Figure(
        go.Waterfall(
            x=[label.replace(" ", "<br>", 1) for label in labels],
            y=[float(v) for v in values],
            measure=list(measures),
            text=[fmt.money_short(v) for v in values],
            textposition="outside",
            cliponaxis=False,
            connector=dict(line=dict(color="#c9ced6", width=1)),
            increasing=dict(marker=dict(color=REVENUE_COLOR)),
            decreasing=dict(marker=dict(color=COST_COLOR)),
            totals=dict(
                marker=dict(color=MARGIN_COLOR if row[profit.CONTRIBUTION] >= 0 else LOST_COLOR)
            ),
            hovertemplate="<b>%{x}</b><br>%{y:$,.0f}<extra></extra>",
        )
    )
    panel_layout(fig, title, height=HEIGHT)
    fig.update_layout(showlegend=False)
    fig.update_xaxes(showgrid=False, tickangle=0, tickfont=dict(size=11))
    top = max(float(row[profit.REVENUE]), float(row[profit.CONTRIBUTION]), 0.0)
    bottom = min(float(row[profit.CONTRIBUTION]), float(row[profit.REVENUE]), 0.0)
    fig.update_yaxes(
        tickprefix="$",
        tickformat="~s",
        zeroline=True,
        zerolinecolor="#9aa5b1",
        range=[bottom * 1.2, top * 1.15 or 1.0],
    )
    return fig


def contribution_by_segment_figure(table: pd.DataFrame) -> go.Figure:
    """Contribution per segment as horizontal bars in the segments' colours.

    ``table`` has the columns of :func:`planning.profit.profitability.segment_pnl` (no total row).
    """
    names = table[C.SEGMENT].astype(str).tolist()
    fig = go.Figure(
        go.Bar(
            y=names,
            x=table[profit.CONTRIBUTION],
            orientation="h",
            marker=dict(color=[segment_color(s) for s in names]),
            text=[fmt.money_short(v) for v in table[profit.CONTRIBUTION]],
            textposition="outside",
            cliponaxis=False,
            customdata=np.stack(
                [
                    table[profit.CUSTOMERS],
                    table[profit.CONTRIBUTION_PER_CUSTOMER],
                    table[profit.REVENUE],
                ],
                axis=1,
            ),
            hovertemplate=(
                "<b>%{y}</b><br>Contribution %{x:$,.0f}<br>Revenue %{customdata[2]:$,.0f}"
                "<br>%{customdata[0]:,} customers, %{customdata[1]:$,.0f} each"
                "<extra></extra>"
            ),
        )
    )
    panel_layout(fig, "Contribution by segment", height=max(HEIGHT, 90 + 42 * len(names)))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    low = min(float(table[profit.CONTRIBUTION].min()), 0.0) if len(table) else 0.0
    high = max(float(table[profit.CONTRIBUTION].max()), 0.0) if len(table) else 1.0
    pad = 0.25 * (high - low or 1.0)  # room for the labels outside the bars
    fig.update_xaxes(
        tickprefix="$",
        tickformat="~s",
        zeroline=True,
        zerolinecolor="#9aa5b1",
        range=[low - (pad if low < 0 else 0), high + pad],
    )
    return fig


def whale_figure(whale: profit.WhaleCurve) -> go.Figure:
    """Cumulative contribution against customers ranked from most to least profitable, with the
    peak marked and annotated. Shares of the total when the company makes money, else money."""
    curve = _thinned(whale)
    as_share = whale.total_contribution > 0
    y = curve[profit.CUMULATIVE_SHARE] * 100 if as_share else curve[profit.CUMULATIVE_CONTRIBUTION]
    x = curve[profit.CUSTOMER_SHARE] * 100
    fig = go.Figure()
    fig.add_scatter(
        x=x,
        y=y,
        mode="lines",
        name="Cumulative contribution",
        line=dict(color=REVENUE_COLOR, width=2.5),
        fill="tozeroy",
        fillcolor="rgba(31, 95, 158, 0.08)",
        customdata=curve[profit.CUMULATIVE_CONTRIBUTION],
        hovertemplate=(
            "Most profitable %{x:.1f}% of customers<br>earn %{customdata:$,.0f}<extra></extra>"
        ),
    )
    peak_x = whale.peak_customer_share * 100
    peak_y = whale.peak_share * 100 if as_share else whale.peak_contribution
    fig.add_scatter(
        x=[peak_x],
        y=[peak_y],
        mode="markers",
        name="Peak",
        marker=dict(color=LOST_COLOR, size=11, line=dict(color="white", width=1.5)),
        hoverinfo="skip",
    )
    text = f"Peak: {peak_x:.0f}% of customers earn {fmt.money(whale.peak_contribution)}" + (
        f"<br>= {peak_y:.0f}% of total contribution" if as_share else ""
    )
    left_side = peak_x > 50  # keep the label inside the plot, below the curve
    fig.add_annotation(
        x=peak_x,
        y=peak_y,
        text=text,
        showarrow=True,
        arrowhead=2,
        ax=-40 if left_side else 40,
        ay=80,
        align="left",
        bgcolor="white",
        bordercolor="#c9ced6",
        xanchor="right" if left_side else "left",
    )
    if as_share:
        fig.add_hline(
            y=100,
            line=dict(color=TOTAL_COLOR, width=1, dash="dot"),
            annotation_text=f"100% = {fmt.money(whale.total_contribution)}",
            annotation_position="bottom right",
        )
    panel_layout(fig, "Whale curve: cumulative contribution by customer rank", height=HEIGHT)
    fig.update_layout(showlegend=False)
    fig.update_xaxes(title_text="Customers, ranked by contribution", ticksuffix="%", range=[0, 100])
    if as_share:
        fig.update_yaxes(
            title_text="Share of total contribution", ticksuffix="%", rangemode="tozero"
        )
    else:
        fig.update_yaxes(title_text="Cumulative contribution", tickprefix="$", tickformat="~s")
    return fig


def _thinned(whale: profit.WhaleCurve) -> pd.DataFrame:
    """At most MAX_CURVE_POINTS rows of the curve, always keeping its ends and its peak."""
    curve = whale.curve
    if len(curve) <= MAX_CURVE_POINTS:
        return curve
    keep = np.unique(
        np.r_[
            np.linspace(0, len(curve) - 1, MAX_CURVE_POINTS).round().astype(int),
            whale.peak_customers,
        ]
    )
    return curve.iloc[keep]


def sankey_figure(moves: pd.DataFrame, from_label: str, to_label: str) -> go.Figure:
    """Customers flowing from their segment on one date to their segment on another.

    ``moves`` has the columns of :func:`planning.segments.lenses.migration_matrix`; nodes keep the
    segments' colours, links take the colour of the segment they come from.
    """
    sources = list(dict.fromkeys(moves[segments.FROM_SEGMENT]))
    targets = list(dict.fromkeys(moves[segments.TO_SEGMENT]))
    index_from = {s: k for k, s in enumerate(sources)}
    index_to = {s: len(sources) + k for k, s in enumerate(targets)}
    colours = [segment_color(s) for s in sources + targets]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node=dict(
                label=[f"{s}" for s in sources] + [f"{s}" for s in targets],
                color=colours,
                pad=14,
                thickness=16,
                line=dict(color="white", width=0.5),
                hovertemplate="%{label}: %{value:,} customers<extra></extra>",
            ),
            link=dict(
                source=[index_from[s] for s in moves[segments.FROM_SEGMENT]],
                target=[index_to[s] for s in moves[segments.TO_SEGMENT]],
                value=moves[segments.CUSTOMERS].tolist(),
                color=[_faded(segment_color(s)) for s in moves[segments.FROM_SEGMENT]],
                customdata=np.stack([moves["contribution_from"], moves["contribution_to"]], axis=1),
                hovertemplate=(
                    "%{source.label} → %{target.label}<br>%{value:,} customers<br>"
                    "Contribution %{customdata[0]:$,.0f} → %{customdata[1]:$,.0f}"
                    "<extra></extra>"
                ),
            ),
        )
    )
    panel_layout(
        fig,
        f"Who moved where: {from_label} (left) to {to_label} (right)",
        height=max(HEIGHT, 40 * max(len(sources), len(targets)) + 120),
    )
    return fig


def _faded(colour: str, alpha: float = 0.35) -> str:
    r, g, b = (int(colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def pnl_table_columns(table: pd.DataFrame) -> dict:
    """``column_config`` of a segment P&L table: money as ``$1,234,567``, human headers."""
    labels = {
        profit.REVENUE: "Revenue",
        profit.COGS: "Cost of goods",
        profit.GROSS_MARGIN: "Gross margin",
        profit.COST_TO_SERVE: "Cost-to-serve",
        profit.FINANCING_COST: "Financing",
        profit.CONTRIBUTION: "Contribution",
        profit.CONTRIBUTION_PER_CUSTOMER: "Contribution per customer",
    }
    config: dict = {
        C.SEGMENT: "Segment",
        profit.CUSTOMERS: count_column("Customers"),
        profit.ORDERS: count_column("Transactions"),
    }
    for col in table.columns:
        if col.startswith(profit.CTS_PREFIX):
            config[col] = money_column(
                fmt.activity_name(profit.activity_of(col)), help="Cost-to-serve of this activity"
            )
        elif col in labels:
            config[col] = money_column(labels[col])
    return config


LOSS_MAKER_COLUMNS: Final = (
    C.CUSTOMER_ID,
    profit.CONTRIBUTION,
    profit.DRIVER,
    profit.TOP_ACTIVITY,
    profit.TOP_ACTIVITY_COST,
    profit.GROSS_MARGIN,
    profit.COST_TO_SERVE,
    profit.FINANCING_COST,
    profit.REVENUE,
)


def pnl_table_order(table: pd.DataFrame) -> list[str]:
    """Columns of a segment P&L table in reading order: the bottom line first, then detail."""
    return [
        C.SEGMENT,
        profit.CUSTOMERS,
        profit.REVENUE,
        profit.GROSS_MARGIN,
        profit.COST_TO_SERVE,
        profit.FINANCING_COST,
        profit.CONTRIBUTION,
        profit.CONTRIBUTION_PER_CUSTOMER,
        profit.COGS,
        *profit.cts_columns(table),
        profit.ORDERS,
    ]


def loss_maker_table(losers: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The loss-makers as shown: readable activity names, and their ``column_config``."""
    shown = losers[list(LOSS_MAKER_COLUMNS)].copy()
    shown[profit.TOP_ACTIVITY] = shown[profit.TOP_ACTIVITY].map(
        lambda a: fmt.activity_name(a) if isinstance(a, str) else fmt.MISSING
    )
    config = {
        C.CUSTOMER_ID: "Customer",
        profit.REVENUE: money_column("Revenue"),
        profit.GROSS_MARGIN: money_column("Gross margin"),
        profit.COST_TO_SERVE: money_column("Cost-to-serve"),
        profit.FINANCING_COST: money_column("Financing"),
        profit.CONTRIBUTION: money_column("Contribution"),
        profit.TOP_ACTIVITY: "Costliest activity",
        profit.TOP_ACTIVITY_COST: money_column("Its cost"),
        profit.DRIVER: "What makes them lose",
    }
    return shown, config
