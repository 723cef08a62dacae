"""Plotly figures of what-if allocation, scenarios and strategy: data in, a figure out.

Segments keep their colours everywhere (ui.palette); money axes read "$1.2M" and hovers
"$1,234,567".
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from planning import allocation
from planning.core import columns as C
from ui.charts import FONT, GRID_COLOR, LOST_COLOR, MARGIN_COLOR
from ui.palette import TOTAL_COLOR, UNASSIGNED_COLOR, segment_color

HEIGHT: Final = 380
CURRENT_COLOR: Final = "#b8c7d9"
A_COLOR: Final = "#1f5f9e"
B_COLOR: Final = "#e07b00"
QUADRANT_COLORS: Final = {
    "Quick win": "#2a9d8f",
    "Major project": "#1f5f9e",
    "Fill-in": "#b0902c",
    "Reconsider": "#c8553d",
}


def _layout(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=16)),
        height=height,
        margin=dict(l=8, r=8, t=64, b=8),
        font=FONT,
        plot_bgcolor="white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
    )
    fig.update_xaxes(gridcolor=GRID_COLOR, automargin=True, zeroline=False)
    fig.update_yaxes(gridcolor=GRID_COLOR, automargin=True, zeroline=True, zerolinecolor="#c9ced6")
    return fig


def cell_label(segment: str, program: str) -> str:
    return f"{segment} · {allocation.LEVER_LABELS.get(program, program)}"


def allocation_figure(cells: pd.DataFrame) -> go.Figure:
    """Business-as-usual against optimal monthly spend per cell (``Allocation.cells``)."""
    frame = cells.iloc[::-1]
    labels = [cell_label(s, p) for s, p in zip(frame[C.SEGMENT], frame[C.PROGRAM], strict=True)]
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=frame[allocation.CURRENT_SPEND],
        orientation="h",
        name="Business as usual",
        marker_color=CURRENT_COLOR,
        hovertemplate="%{y}<br>Business as usual %{x:$,.0f}<extra></extra>",
    )
    fig.add_bar(
        y=labels,
        x=frame[C.SPEND],
        orientation="h",
        name="Optimal",
        marker_color=[segment_color(s) for s in frame[C.SEGMENT]],
        hovertemplate="%{y}<br>Optimal %{x:$,.0f}<extra></extra>",
    )
    _layout(fig, "Monthly spend per segment and lever", height=max(HEIGHT, 26 * len(frame) + 90))
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_xaxes(tickprefix="$", tickformat="~s", rangemode="tozero")
    return fig


def response_figure(
    curve: pd.DataFrame,
    *,
    value_per_unit: float,
    title: str,
    segment: str,
    points: dict[str, float],
) -> go.Figure:
    """A cell's response curve in money (contribution per month) with its band and points.

    ``curve`` is :func:`planning.allocation.response.curve_table`; ``points`` maps a label
    ("Business as
    usual", "Optimal", "Your try") to a spend.
    """
    color = segment_color(segment)
    money = curve.assign(
        outcome=curve["outcome"] * value_per_unit,
        low=curve["low"] * value_per_unit,
        high=curve["high"] * value_per_unit,
    )
    fig = go.Figure()
    fig.add_scatter(
        x=money["spend"],
        y=money["high"],
        mode="lines",
        line=dict(width=0),
        showlegend=False,
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=money["spend"],
        y=money["low"],
        mode="lines",
        line=dict(width=0),
        fill="tonexty",
        fillcolor="rgba(120,130,150,0.18)",
        name="80% band",
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=money["spend"],
        y=money["outcome"],
        mode="lines",
        name="Expected",
        line=dict(color=color, width=3),
        hovertemplate="Spend %{x:$,.0f}<br>Contribution %{y:$,.0f}<extra></extra>",
    )
    fig.add_scatter(
        x=money["spend"],
        y=money["spend"],
        mode="lines",
        name="Break-even",
        line=dict(color=UNASSIGNED_COLOR, dash="dot", width=1.5),
        hoverinfo="skip",
    )
    symbols = {
        "Business as usual": ("circle-open", CURRENT_COLOR),
        "Optimal": ("circle", TOTAL_COLOR),
        "Your try": ("diamond", LOST_COLOR),
    }
    grid = money["spend"].to_numpy()
    for label, spend in points.items():
        symbol, marker = symbols.get(label, ("x", TOTAL_COLOR))
        y = float(np.interp(spend, grid, money["outcome"].to_numpy()))
        fig.add_scatter(
            x=[spend],
            y=[y],
            mode="markers",
            name=label,
            marker=dict(symbol=symbol, size=14, color=marker, line=dict(width=2, color=marker)),
            hovertemplate=f"{label}<br>Spend %{{x:$,.0f}}<br>Contribution "
            f"%{{y:$,.0f}}<extra></extra>",
        )
    _layout(fig, title)
    fig.update_xaxes(title_text="Monthly spend", tickprefix="$", tickformat="~s")
    fig.update_yaxes(
        title_text="Contribution of a month's outcomes",
        tickprefix="$",
        tickformat="~s",
        rangemode="tozero",
    )
    return fig


def marginal_figure(cells: pd.DataFrame, multiplier: float, spend_weight: float) -> go.Figure:
    """Each cell's return on its next dollar, against the multiplier and the break-even."""
    frame = cells.sort_values(allocation.MARGINAL_RETURN)
    labels = [cell_label(s, p) for s, p in zip(frame[C.SEGMENT], frame[C.PROGRAM], strict=True)]
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=frame[allocation.MARGINAL_RETURN],
        orientation="h",
        marker_color=[segment_color(s) for s in frame[C.SEGMENT]],
        customdata=frame[allocation.BINDING].replace("", "at the multiplier"),
        hovertemplate="%{y}<br>Next dollar returns %{x:$,.2f}<br>%{customdata}<extra></extra>",
        name="Cells",
        showlegend=False,
    )
    ends = [labels[0], labels[-1]] if labels else []
    fig.add_scatter(
        x=[multiplier] * len(ends),
        y=ends,
        mode="lines",
        name=f"Multiplier: the last dollar returns ${multiplier:,.2f}",
        line=dict(color=TOTAL_COLOR, width=2),
        hoverinfo="skip",
    )
    if spend_weight > 0 and abs(spend_weight - multiplier) > 1e-6:
        fig.add_scatter(
            x=[spend_weight] * len(ends),
            y=ends,
            mode="lines",
            name=f"Break-even ${spend_weight:,.2f}",
            line=dict(color=LOST_COLOR, dash="dash"),
            hoverinfo="skip",
        )
    _layout(fig, "Return on the next dollar, per cell", height=max(HEIGHT, 24 * len(frame) + 90))
    top = float(np.nanmax(frame[allocation.MARGINAL_RETURN])) if len(frame) else 1.0
    fig.update_xaxes(tickprefix="$", range=[0, min(max(top, multiplier) * 1.1, 4 * multiplier)])
    return fig


def frontier_figure(frontier: pd.DataFrame, budget: float, net_profit: float) -> go.Figure:
    """Optimal net profit against the monthly budget, with the budget set now marked."""
    fig = go.Figure()
    fig.add_scatter(
        x=frontier[allocation.BUDGET],
        y=frontier[allocation.NET_PROFIT],
        mode="lines+markers",
        name="Optimal net profit",
        line=dict(color=MARGIN_COLOR, width=3),
        marker=dict(size=5),
        hovertemplate="Budget %{x:$,.0f}<br>Net profit %{y:$,.0f}<extra></extra>",
    )
    fig.add_scatter(
        x=frontier[allocation.BUDGET],
        y=frontier[C.SPEND],
        mode="lines",
        name="Spend worth making",
        line=dict(color=CURRENT_COLOR, dash="dot"),
        hovertemplate="Budget %{x:$,.0f}<br>Spent %{y:$,.0f}<extra></extra>",
    )
    fig.add_scatter(
        x=[budget],
        y=[net_profit],
        mode="markers",
        name="This budget",
        marker=dict(size=16, color=LOST_COLOR, symbol="diamond"),
        hovertemplate="This budget %{x:$,.0f}<br>Net profit %{y:$,.0f}<extra></extra>",
    )
    _layout(fig, "Efficient frontier: the best net profit each budget can buy")
    fig.update_xaxes(title_text="Monthly budget", tickprefix="$", tickformat="~s")
    fig.update_yaxes(title_text="Monthly amount", tickprefix="$", tickformat="~s")
    return fig


def distribution_figure(
    draws: np.ndarray,
    quantiles: dict[str, float],
    title: str = "Net profit of a month's programs: 2,000 simulated outcomes",
) -> go.Figure:
    """Histogram of simulated net profit with P10, P50 and P90 marked."""
    fig = go.Figure()
    fig.add_histogram(
        x=draws,
        nbinsx=50,
        marker_color=MARGIN_COLOR,
        opacity=0.8,
        name="Draws",
        hovertemplate="%{x:$,.0f}: %{y} draws<extra></extra>",
    )
    for key, label in (("p10", "P10"), ("p50", "P50"), ("p90", "P90")):
        fig.add_vline(
            x=quantiles[key],
            line=dict(color=TOTAL_COLOR, dash="dash"),
            annotation_text=f"{label} ${quantiles[key]:,.0f}",
            annotation_position="top",
        )
    _layout(fig, title)
    fig.update_layout(showlegend=False, bargap=0.02)
    fig.update_xaxes(title_text="Net profit", tickprefix="$", tickformat="~s")
    fig.update_yaxes(title_text="Draws")
    return fig


def comparison_figure(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> go.Figure:
    """Both scenarios' simulated net profit, overlaid."""
    fig = go.Figure()
    edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=50)
    for draws, name, color in ((a, name_a, A_COLOR), (b, name_b, B_COLOR)):
        fig.add_histogram(
            x=draws,
            xbins=dict(start=edges[0], end=edges[-1], size=edges[1] - edges[0]),
            name=f"A: {name}" if color == A_COLOR else f"B: {name}",
            marker_color=color,
            opacity=0.55,
            hovertemplate="%{x:$,.0f}: %{y} draws<extra></extra>",
        )
    _layout(fig, "Net profit, simulated on the same draws")
    fig.update_layout(barmode="overlay", bargap=0.02)
    fig.update_xaxes(title_text="Net profit", tickprefix="$", tickformat="~s")
    fig.update_yaxes(title_text="Draws")
    return fig


def difference_figure(difference: np.ndarray, p_a_beats_b: float) -> go.Figure:
    """The draws of A minus B; right of zero, A earns more."""
    fig = go.Figure()
    fig.add_histogram(
        x=difference,
        nbinsx=50,
        marker_color=A_COLOR,
        opacity=0.8,
        hovertemplate="%{x:$,.0f}: %{y} draws<extra></extra>",
    )
    fig.add_vline(x=0, line=dict(color=TOTAL_COLOR, width=2))
    _layout(fig, f"A minus B: A earns more in {p_a_beats_b:.0%} of the draws")
    fig.update_layout(showlegend=False, bargap=0.02)
    fig.update_xaxes(title_text="Difference in net profit", tickprefix="$", tickformat="~s")
    fig.update_yaxes(title_text="Draws")
    return fig


def initiatives_figure(ranked: pd.DataFrame) -> go.Figure:
    """The impact-complexity matrix: one bubble per initiative (size: cost), by quadrant."""
    fig = go.Figure()
    for x0, x1, y0, y1, label in (
        (0.5, 2.5, 2.5, 5.5, "Quick wins"),
        (2.5, 5.5, 2.5, 5.5, "Major projects"),
        (0.5, 2.5, 0.5, 2.5, "Fill-ins"),
        (2.5, 5.5, 0.5, 2.5, "Reconsider"),
    ):
        fig.add_shape(
            type="rect",
            x0=x0,
            x1=x1,
            y0=y0,
            y1=y1,
            line_width=0,
            layer="below",
            fillcolor="rgba(42,157,143,0.08)" if label == "Quick wins" else "rgba(0,0,0,0.02)",
        )
        fig.add_annotation(
            x=x0 + 0.08,
            y=y1 - 0.08,
            text=label,
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font=dict(size=12, color="#6b7280"),
        )
    # Initiatives on the same grid point are spread around it so each stays readable.
    offsets = ranked.groupby(["complexity", "impact"]).cumcount().to_numpy()
    angle = offsets * 2.1
    radius = np.where(offsets > 0, 0.18, 0.0)
    cost = ranked["cost"].to_numpy(dtype=float)
    size = 14 + 36 * np.sqrt(cost / cost.max()) if len(cost) and cost.max() > 0 else 20
    for quadrant, color in QUADRANT_COLORS.items():
        mask = (ranked["quadrant"] == quadrant).to_numpy()
        if not mask.any():
            continue
        fig.add_scatter(
            x=ranked["complexity"].to_numpy()[mask] + radius[mask] * np.cos(angle[mask]),
            y=ranked["impact"].to_numpy()[mask] + radius[mask] * np.sin(angle[mask]),
            mode="markers+text",
            name=quadrant,
            text=ranked["rank"].astype(str)[mask],
            textfont=dict(color="white", size=12),
            marker=dict(
                size=np.asarray(size)[mask] if np.ndim(size) else size,
                color=color,
                line=dict(color="white", width=1),
            ),
            customdata=np.stack([ranked["name"][mask], cost[mask]], axis=1),
            hovertemplate="#%{text} %{customdata[0]}<br>Cost %{customdata[1]:$,.0f}<extra></extra>",
        )
    _layout(fig, "Initiatives: impact against complexity (bubble size: cost)", height=460)
    fig.update_xaxes(title_text="Technical complexity", range=[0.5, 5.5], dtick=1)
    fig.update_yaxes(title_text="Business impact", range=[0.5, 5.5], dtick=1, zeroline=False)
    return fig
