"""The Forecast page through AppTest: forecasts with intervals and the chosen model, segments
adding up, the account-level view, accepting a forecast and its track record, thin stores."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from planning.store import schema
from tests import forecast_company

PAGE = "pages/forecast.py"
APP = Path(__file__).resolve().parents[2] / "app.py"
TIMEOUT = 60  # a first forecast backtests every series


@pytest.fixture
def seasonal(store):
    forecast_company.load(store)
    return store


def open_forecast(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in {"segment_lens": "Size", **state}.items():
        at.session_state[key] = value
    at.run()
    return at.switch_page(PAGE).run()


def _texts(at) -> str:
    return " ".join(
        m.value for m in [*at.markdown, *at.caption, *at.info, *at.success, *at.warning]
    )


def test_the_page_forecasts_each_segment_with_intervals_and_says_which_model_and_why(seasonal):
    at = open_forecast()

    assert not at.exception
    assert [t.value for t in at.title] == ["Forecast"]
    metrics = {m.label: m for m in at.metric}
    assert list(metrics) == [
        "Next month",
        "Next 12 months",
        "Model",
        "Backtest accuracy",
        "Model fits",
    ]
    assert metrics["Next month"].value.startswith("$")
    assert metrics["Next month"].delta.startswith("80%: $")
    keys = [c.key for c in at.get("plotly_chart")]
    assert {"forecast_chart", "forecast_stacked", "forecast_account"} <= set(keys)
    forecast, backtest = at.dataframe[0].value, at.dataframe[1].value
    assert list(forecast.columns) == [
        "Period",
        "Forecast",
        "80% low",
        "80% high",
        "95% low",
        "95% high",
    ]
    assert len(forecast) == 12 and forecast["Period"].iloc[0] == "Mar 2026"
    assert backtest["Model"].str.contains("✓ chosen").sum() == 1
    text = _texts(at)
    assert "was chosen for the company: mean of the" in text
    assert "models whose backtest MASE is not an outlier" in text
    assert "Reconciliation:" in text and "The account level counts only the" in text


def test_picking_a_segment_and_weeks_redraws_that_series(seasonal):
    at = open_forecast()
    at.selectbox(key="forecast_series").set_value("Large").run()
    at.segmented_control(key="forecast_freq").set_value("Weekly").run()

    assert not at.exception
    assert at.slider(key="forecast_horizon_W").value == 13
    assert at.dataframe[0].value["Period"].iloc[0].startswith("Week of")
    assert "was chosen for Large" in _texts(at)


def test_accepting_a_forecast_keeps_it_and_the_track_record_checks_it(seasonal):
    at = open_forecast(forecast_as_of=dt.date(2025, 11, 30))
    at.text_input(key="forecast_note").input("plan basis")
    at.button[0].click().run()  # the form's "Accept forecast"

    assert not at.exception
    assert any("accepted as of 30 Nov 2025" in s.value for s in at.success)
    with seasonal.connect() as conn:
        run = conn.execute(sa.select(schema.ForecastRun.__table__)).one()
    assert (run.as_of, run.lens, run.note) == (dt.date(2025, 11, 30), "size", "plan basis")
    at.select_slider(key="forecast_as_of").set_value(forecast_company.LAST_DAY).run()

    assert not at.exception
    assert "forecast_accuracy" in [c.key for c in at.get("plotly_chart")]
    verdicts = [*at.success, *at.warning]
    assert any("95% interval" in v.value for v in verdicts)


def test_the_company_alone_has_nothing_to_add_up(seasonal):
    at = open_forecast(forecast_scope="Company")

    assert not at.exception
    assert "Pick Segments above" in _texts(at)
    assert at.selectbox(key="forecast_series").options == ["Company"]


def test_a_thin_store_still_forecasts_and_says_why_the_account_view_is_missing(company):
    at = open_forecast()

    assert not at.exception
    assert next(m.label for m in at.metric) == "Next month"
    assert "No account-level view" in _texts(at)


def test_an_empty_store_says_there_is_nothing_to_forecast(store):
    at = open_forecast()

    assert not at.exception
    assert "nothing to forecast yet" in at.info[0].value
