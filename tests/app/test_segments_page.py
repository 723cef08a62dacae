"""The Segments & profitability page through AppTest: the little company's numbers by hand, the
demo company by every control (lens, period, waterfall, migration date, drill-down), and the
messages when a lens cannot be drawn."""

from __future__ import annotations

import datetime as dt

import pytest

from planning.ingest.demo import generate_company, load_company
from tests.actors import ADMIN

PAGE = "pages/segments.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_little_company_last_12_months_by_hand(company, open_app):
    # 1 Feb 2024 .. 31 Jan 2025: C1 1,500,000 (cost 900,000), C3 100,000 (50,000), C4 500
    # (no cost: 350). No activities, so $12 per transaction; 30-day terms at 8% a year:
    # 1,600,500 x 30/365 x 0.08 = 10,523.83 (per customer, rounded). Contribution:
    # 650,150 - 36 - 10,523.83 = 639,590.17.
    at = open_app(PAGE)

    assert not at.exception
    assert [t.value for t in at.title] == ["Segments & profitability"]
    assert _metrics(at) == {
        "Revenue": "$1.60M",
        "Gross margin": "$650,150",
        "Cost-to-serve": "$36",
        "Contribution": "$639,590",
        "Loss-makers": "0",
    }
    table = at.dataframe[0].value.set_index("segment")
    assert table.loc["Total", "customers"] == 4
    assert table.loc["Total", "contribution"] == pytest.approx(639_590.17)
    assert "cts_order" in table.columns
    assert at.info[0].value == "No customer lost money in this period."


def test_assumptions_change_the_numbers(company, open_app):
    at = open_app(PAGE)
    at.number_input[2].set_value(0.0)  # cost of capital %
    at.button[0].click().run()

    assert not at.exception
    assert _metrics(at)["Contribution"] == "$650,114"
    assert "0% cost of capital" in at.expander[0].label


def test_all_history_adds_the_first_year(company, open_app):
    at = open_app(PAGE)
    at.selectbox(key="segments_period").set_value("All history").run()

    assert _metrics(at)["Revenue"] == "$2.84M"  # + C1's and C2's January 2024
    assert "all history to 31 Jan 2025" in at.main.caption[0].value


def test_lifecycle_without_enough_history_explains_why(company, open_app):
    at = open_app(PAGE)
    at.session_state["segment_lens"] = "Lifecycle stage"
    at.run()

    assert not at.exception
    assert "Segments by lifecycle stage cannot be shown" in at.warning[0].value
    assert "repeat purchases" in at.warning[0].value


def test_an_empty_store_points_to_the_data_page(store, open_app):
    at = open_app(PAGE)
    assert not at.exception
    assert "no transactions" in at.info[0].value
    assert not at.get("plotly_chart")


@pytest.fixture
def demo(store):
    company = generate_company(300, seed=5, end=dt.date(2025, 12, 31))
    assert all(r.ok for r in load_company(store, company, actor=ADMIN))
    return company


def test_demo_value_tiers_with_every_chart(demo, open_app):
    at = open_app(PAGE)

    assert not at.exception
    table = at.dataframe[0].value
    assert table["segment"].tolist()[-1] == "Total"
    assert set(table["segment"][:-1]) <= {"Platinum", "Gold", "Silver", "Bronze", "Loss-making"}
    segments, total = table.iloc[:-1], table.iloc[-1]
    assert round(segments["contribution"].sum() * 100) == round(total["contribution"] * 100)
    keys = [c.key for c in at.get("plotly_chart")]
    assert keys == [
        "segments_by_segment",
        "segments_waterfall",
        "segments_whale",
        "segments_sankey",
    ]
    losers = at.dataframe[1].value
    assert (losers["contribution"] < 0).all() and len(losers) == 25
    assert set(losers["driver"]) <= {
        "Negative gross margin",
        "Cost-to-serve above margin",
        "Financing cost",
    }


def test_switching_lens_period_waterfall_and_migration_date(demo, open_app):
    at = open_app(PAGE)
    revenue_12 = _metrics(at)["Revenue"]

    at.session_state["segment_lens"] = "Size"
    at.run()
    assert set(at.dataframe[0].value["segment"]) == {
        "Small",
        "Mid-market",
        "Large",
        "Key account",
        "Total",
    }
    assert "P&L by size" in [h.value for h in at.subheader]

    at.selectbox(key="segments_waterfall_for").set_value("Large").run()
    assert not at.exception

    at.selectbox(key="segments_period").set_value("Last 3 months").run()
    assert _metrics(at)["Revenue"] != revenue_12

    at.date_input(key="segments_from").set_value(dt.date(2025, 6, 30)).run()
    assert not at.exception
    assert "segments_sankey" in [c.key for c in at.get("plotly_chart")]


def test_lifecycle_lens_on_the_demo(demo, open_app):
    at = open_app(PAGE)
    at.session_state["segment_lens"] = "Lifecycle stage"
    at.run()

    assert not at.exception
    stages = set(at.dataframe[0].value["segment"]) - {"Total"}
    assert stages <= {"New", "Active", "Won back", "At risk", "Lapsed"}
    assert {"Active", "Lapsed"} <= stages


def test_opening_a_loss_maker_shows_its_pnl_and_the_customer_view(demo, open_app):
    at = open_app(PAGE)
    customer = at.dataframe[1].value["customer_id"].iloc[0]
    at.selectbox(key="segments_customer_pick").set_value(customer).run()

    assert not at.exception
    keys = [c.key for c in at.get("plotly_chart")]
    assert "segments_customer_waterfall" in keys
    assert f"customer_{customer}_months" in keys
    assert any(customer in h.value for h in at.subheader)


def test_a_segment_picked_for_the_waterfall_survives_a_lens_that_lacks_it(demo, open_app):
    at = open_app(PAGE)
    at.session_state["segment_lens"] = "Size"
    at.run()
    at.selectbox(key="segments_waterfall_for").set_value("Key account").run()

    at.session_state["segment_lens"] = "Value tier"
    at.run()

    assert not at.exception
    assert at.selectbox(key="segments_waterfall_for").value == "All customers"
