"""The Overview page through AppTest: headline KPIs, charts, the as-of date and an empty store.

Numbers are those of the little company in conftest.py, worked out by hand:
January 2025 revenue 1,600,000 (cost 950,000: margin 40.6%) against January 2024's 1,234,567
(cost 600,000 + 70% of 234,567: margin 38.1%).
"""

from __future__ import annotations

import datetime as dt

from conftest import LAST_DAY


def _metrics(at) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def test_overview_shows_last_months_kpis_against_the_same_month_a_year_earlier(company, open_app):
    at = open_app()

    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert _metrics(at) == {
        "Revenue": ("$1.60M", "+29.6%"),
        "Gross margin": ("40.6%", "+2.5 pts"),
        "Active customers": ("2", "0"),
        "New customers": ("1", "-1"),
        "Lost customers": ("1", "+1"),
    }
    assert "Jan 2025, the last full month as of 31 Jan 2025, against Jan 2024." in [
        c.value for c in at.main.caption
    ]


def test_overview_draws_the_revenue_and_the_customers_charts(company, open_app):
    at = open_app()

    charts = at.get("plotly_chart")
    assert [chart.key for chart in charts] == ["overview_revenue", "overview_customers"]
    assumptions = at.main.caption[-1].value
    assert "30% gross margin is assumed" in assumptions
    assert "6th month in a row without a purchase" in assumptions


def test_the_sidebar_shows_what_the_store_holds_and_the_last_import(company, open_app):
    at = open_app()

    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "4 customers · 5 transactions" in sidebar
    assert "10 Jan 2024 to 31 Jan 2025" in sidebar
    assert "from `company.csv`" in sidebar
    assert "SQLite file" in sidebar


def test_as_of_defaults_to_the_last_transaction_date(company, open_app):
    at = open_app()

    assert at.session_state["as_of"] == LAST_DAY
    assert at.sidebar.date_input(key="as_of").value == LAST_DAY


def test_an_earlier_as_of_date_reports_that_month_without_a_comparison(company, open_app):
    at = open_app()

    at.sidebar.date_input(key="as_of").set_value(dt.date(2024, 7, 31)).run()

    assert not at.exception
    metrics = _metrics(at)
    assert metrics["Revenue"] == ("$500", "")  # July 2024: only C4; no July 2023 to compare
    # C1 and C2 last bought in January 2024 (C1's January 2025 purchase lies after as-of).
    assert metrics["Lost customers"] == ("2", "")
    assert at.metric[0].proto.help.endswith("No data for Jul 2023 to compare with.")
    assert at.session_state["as_of"] == dt.date(2024, 7, 31)


def test_the_as_of_date_carries_over_to_another_page_and_back(company, open_app):
    at = open_app()
    at.sidebar.date_input(key="as_of").set_value(dt.date(2024, 7, 31)).run()

    at.switch_page("pages/data.py").run()
    at.switch_page("pages/overview.py").run()

    assert at.session_state["as_of"] == dt.date(2024, 7, 31)
    assert _metrics(at)["Revenue"][0] == "$500"


def test_an_empty_store_says_so_in_words_and_points_to_the_data_page(store, open_app):
    at = open_app()

    assert not at.exception
    message = at.info[0].value
    assert "no transactions" in message
    assert "Data page" in message and "make run" in message
    assert not at.metric
    assert not at.get("plotly_chart")
    assert "No transactions yet" in at.sidebar.caption[0].value
    assert at.session_state["as_of"] is None


def test_an_as_of_date_before_any_month_has_ended_explains_why_nothing_is_shown(company, open_app):
    at = open_app()

    at.sidebar.date_input(key="as_of").set_value(dt.date(2024, 1, 20)).run()

    assert not at.exception
    assert "No calendar month has ended by 20 Jan 2024" in at.info[0].value
    assert not at.get("plotly_chart")
