"""The Segments page's figure builders: frames in, figures out, segment colours from the palette."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.core import columns as C
from planning.profit.profitability import company_pnl, segment_pnl, whale_curve
from ui import format as fmt
from ui import segments_charts as charts
from ui.palette import segment_color


def _pnl(n: int = 6) -> pd.DataFrame:
    contribution = np.array([500.0, 300.0, 100.0, 0.0, -50.0, -150.0])[:n]
    revenue = np.full(n, 1000.0)
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: [f"C{k}" for k in range(n)],
            "revenue": revenue,
            "cogs": revenue * 0.6,
            "gross_margin": revenue * 0.4,
            "cts_order": 20.0,
            "cts_sales_visit": 380.0 - contribution,
            "cost_to_serve": 400.0 - contribution,
            "financing_cost": 0.0,
            "contribution": contribution,
            "orders": 2,
        }
    )


def test_waterfall_runs_from_revenue_through_each_cost_to_contribution():
    row = company_pnl(_pnl())
    fig = charts.waterfall_figure(row, "All customers")
    trace = fig.data[0]
    assert list(trace.x) == [
        "Revenue",
        "Cost<br>of goods",
        "Order",
        "Sales<br>visit",
        "Financing",
        "Contribution",
    ]  # a zero cost (financing) stays
    assert list(trace.measure) == ["relative"] * 5 + ["total"]
    assert trace.y[0] == 6000.0 and trace.y[1] == -3600.0
    assert sum(trace.y[:-1]) == pytest.approx(trace.y[-1])  # the steps add up
    assert trace.text[-1] == fmt.money_short(row["contribution"])


def test_contribution_bars_take_each_segments_colour():
    pnl = _pnl()
    assignment = pd.DataFrame(
        {
            C.CUSTOMER_ID: pnl[C.CUSTOMER_ID],
            C.SEGMENT: ["Gold", "Gold", "Silver", "Bronze", "Loss-making", "Loss-making"],
        }
    )
    fig = charts.contribution_by_segment_figure(segment_pnl(pnl, assignment))
    bars = fig.data[0]
    assert list(bars.marker.color) == [segment_color(s) for s in bars.y]
    assert segment_color("Gold") in bars.marker.color


def test_whale_figure_marks_and_annotates_the_peak():
    curve = whale_curve(_pnl())
    fig = charts.whale_figure(curve)
    peak = fig.data[1]
    assert list(peak.x) == [50.0]  # 3 of the 6 customers
    assert list(peak.y) == pytest.approx([900 / 700 * 100])
    assert "Peak: 50% of customers earn $900" in fig.layout.annotations[0].text


def test_a_long_whale_curve_is_thinned_but_keeps_its_ends_and_peak():
    n = 20_001
    values = np.r_[np.linspace(1000, 1, 12_345), np.linspace(-1, -500, n - 12_345)]
    pnl = pd.DataFrame(
        {
            C.CUSTOMER_ID: [f"C{k:05d}" for k in range(n)],
            "revenue": 1.0,
            "cogs": 0.0,
            "cost_to_serve": 0.0,
            "contribution": values,
        }
    )
    curve = whale_curve(pnl)
    thinned = charts._thinned(curve)
    assert len(thinned) <= charts.MAX_CURVE_POINTS + 1
    assert thinned["rank"].iloc[0] == 0 and thinned["rank"].iloc[-1] == n
    assert curve.peak_customers in set(thinned["rank"])


def test_sankey_nodes_keep_segment_colours_and_links_fade_from_their_source():
    moves = pd.DataFrame(
        {
            "from_segment": ["Active", "Active", "Not yet a customer"],
            "to_segment": ["Active", "Lapsed", "New"],
            "customers": [10, 3, 2],
            "contribution_from": [100.0, 20.0, 0.0],
            "contribution_to": [120.0, -5.0, 7.0],
        }
    )
    fig = charts.sankey_figure(moves, "1 Jan 2025", "31 Dec 2025")
    sankey = fig.data[0]
    assert list(sankey.node.label) == ["Active", "Not yet a customer", "Active", "Lapsed", "New"]
    assert list(sankey.node.color) == [segment_color(s) for s in sankey.node.label]
    assert list(sankey.link.source) == [0, 0, 1] and list(sankey.link.target) == [2, 3, 4]
    assert list(sankey.link.value) == [10, 3, 2]
    assert sankey.link.color[0].startswith("rgba(") and sankey.link.color[0].endswith("0.35)")


def test_activity_names_read_as_words():
    assert fmt.activity_name("sales_visit") == "Sales visit"
    assert fmt.activity_name("order") == "Order"
