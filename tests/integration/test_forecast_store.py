"""Series, forecasts and the accountability loop on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from planning.core.access import Actor, PermissionDenied
from planning.forecast.accountability import (
    ACTUAL,
    INSIDE_95,
    RUN_ID,
    accept_forecast,
    accepted_forecasts,
    accuracy_history,
    compare_to_actuals,
    forecast_alerts,
)
from planning.forecast.backtest import BacktestConfig
from planning.forecast.base import MEAN, PERIOD, SERIES, hi
from planning.forecast.by_segment import forecast_segments
from planning.forecast.hierarchy import coherence_gap
from planning.forecast.series import TOTAL, VALUE, build_series
from planning.store import schema
from tests import forecast_company as company
from tests.actors import VIEWER

FAST = BacktestConfig(horizon=3, models=("seasonal_naive", "ets", "theta"), origins=2)


@pytest.fixture
def store(engine):
    company.load(engine)
    return engine


def test_monthly_series_hold_whole_months_only_and_match_the_transactions(store):
    tx = company.transactions()
    as_of = dt.date(2026, 2, 15)  # February is not over: January is the last whole month
    series = build_series(store, metric="revenue", freq="M", as_of=as_of)
    months = pd.to_datetime(tx["date"]).dt.to_period("M").dt.to_timestamp()
    expected = tx[months <= "2026-01-01"].groupby(months)["amount"].sum()
    assert series[PERIOD].max() == pd.Timestamp("2026-01-01")
    assert series[VALUE].to_numpy() == pytest.approx(expected.to_numpy())
    orders = build_series(store, metric="orders", freq="M", as_of=as_of)
    assert orders[VALUE].sum() == (months <= "2026-01-01").sum()


def test_weekly_series_end_with_the_last_whole_week(store):
    as_of = dt.date(2026, 2, 25)  # a Wednesday: the last whole week ran Feb 16-22
    series = build_series(store, metric="customers", freq="W", as_of=as_of)
    assert series[PERIOD].max() == pd.Timestamp("2026-02-16")
    assert (series[PERIOD].dt.day_of_week == 0).all()
    tx = company.transactions()
    days = pd.to_datetime(tx["date"])
    week = tx[(days >= "2026-02-16") & (days <= "2026-02-22")]
    assert series[VALUE].iloc[-1] == week["customer_id"].nunique()


def test_segments_add_up_to_the_company_by_attribute_and_by_assignment(store):
    by_size = build_series(store, metric="revenue", freq="M", lens="size")
    wide = by_size.pivot(index=PERIOD, columns=SERIES, values=VALUE)
    assert set(wide.columns) == {TOTAL, "Large", "Small"}
    assert (wide["Large"] + wide["Small"]).to_numpy() == pytest.approx(wide[TOTAL].to_numpy())
    ids = company.customers()["customer_id"]
    assignment = pd.DataFrame({"customer_id": ids[:10], "segment": ["First ten"] * 10})
    for _ in range(2):  # the temporary table is gone after each call
        by_list = build_series(
            store, metric="revenue", freq="M", lens="first", assignment=assignment
        )
        wide = by_list.pivot(index=PERIOD, columns=SERIES, values=VALUE)
        assert set(wide.columns) == {TOTAL, "First ten", "Unassigned"}
        assert (wide["First ten"] + wide["Unassigned"]).to_numpy() == pytest.approx(
            wide[TOTAL].to_numpy()
        )


def test_a_bad_assignment_is_rejected_with_what_to_fix(store):
    with pytest.raises(ValueError, match="Required column 'segment' missing"):
        build_series(
            store,
            metric="revenue",
            freq="M",
            lens="rfm",
            assignment=pd.DataFrame({"customer_id": ["K001"]}),
        )
    with pytest.raises(ValueError, match="'rfm' is not a customer attribute"):
        build_series(store, metric="revenue", freq="M", lens="rfm")


def test_data_after_the_as_of_date_never_changes_the_forecast(store):
    as_of = dt.date(2025, 12, 31)
    before = forecast_segments(
        store, lens="size", metric="revenue", freq="M", horizon=3, as_of=as_of, config=FAST
    )
    late = pd.DataFrame(
        {
            "customer_id": ["K000", "K001", "K002"],
            "date": [dt.date(2026, 1, 1), dt.date(2026, 3, 5), dt.date(2026, 3, 9)],
            "amount": [9e6, 5e5, 1e5],
            "transaction_id": ["L1", "L2", "L3"],
        }
    )
    company.load(store, late, with_customers=False, name="late")
    after = forecast_segments(
        store, lens="size", metric="revenue", freq="M", horizon=3, as_of=as_of, config=FAST
    )
    pd.testing.assert_frame_equal(before.forecast, after.forecast)
    pd.testing.assert_frame_equal(before.accuracy, after.accuracy)
    later = forecast_segments(
        store,
        lens="size",
        metric="revenue",
        freq="M",
        horizon=3,
        as_of=dt.date(2026, 1, 31),
        config=FAST,
    )
    assert later.history[VALUE].max() > 9e6  # the late data is there for a later as-of


def test_a_segment_forecast_adds_up_and_explains_its_choices(store):
    result = forecast_segments(
        store,
        lens="size",
        metric="revenue",
        freq="M",
        horizon=3,
        as_of=company.LAST_DAY,
        config=FAST,
    )
    assert result.segments == ["Small", "Large"]  # size tiers small to large
    assert coherence_gap(result.forecast, TOTAL, result.segments) < 1e-6
    assert result.reconciliation in ("bottom_up", "mint_shrink")
    assert set(result.reconciliation_accuracy["method"]) == {"base", "bottom_up", "mint_shrink"}
    assert result.models["reason"].str.contains("backtest MASE").all()
    assert result.forecast[PERIOD].min() == pd.Timestamp("2026-03-01")


def test_an_accepted_forecast_meets_its_actuals_and_a_miss_raises_an_alert(store):
    ids = company.customers()["customer_id"]
    assignment = pd.DataFrame(
        {"customer_id": ids, "segment": ["Even" if i % 2 == 0 else "Odd" for i in range(len(ids))]}
    )
    result = forecast_segments(
        store,
        lens="parity",
        metric="revenue",
        freq="M",
        horizon=3,
        as_of=dt.date(2025, 11, 30),
        assignment=assignment,
        config=FAST,
    )
    run_id = accept_forecast(store, result, actor=Actor("planner", "admin"))
    with store.connect() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).select_from(schema.ForecastAssignment.__table__)
        ).scalar_one()
    assert stored == len(ids)
    comparison = compare_to_actuals(store, as_of=company.LAST_DAY)
    assert set(comparison[RUN_ID]) == {run_id}
    assert set(comparison[PERIOD]) == {
        pd.Timestamp(m) for m in ("2025-12-01", "2026-01-01", "2026-02-01")
    }
    tx = company.transactions()
    jan = tx[pd.to_datetime(tx["date"]).dt.to_period("M") == "2026-01"]["amount"].sum()
    row = comparison[(comparison[SERIES] == TOTAL) & (comparison[PERIOD] == "2026-01-01")]
    assert row[ACTUAL].iloc[0] == pytest.approx(jan)
    # a huge January order from an even customer lands later: outside the 95% interval
    spike = pd.DataFrame(
        {
            "customer_id": ["K000"],
            "date": [dt.date(2026, 1, 20)],
            "amount": [5e6],
            "transaction_id": ["SPIKE"],
        }
    )
    company.load(store, spike, with_customers=False, name="spike")
    alerts = forecast_alerts(compare_to_actuals(store, as_of=company.LAST_DAY))
    hit = alerts[(alerts[SERIES] == "Even") & (alerts[PERIOD] == "2026-01-01")]
    assert len(hit) == 1 and hit["direction"].iloc[0] == "above"
    assert (hit[ACTUAL] > hit[hi(95)]).all() and not hit[INSIDE_95].iloc[0]
    history = accuracy_history(compare_to_actuals(store, as_of=company.LAST_DAY))
    assert set(history[SERIES]) == {TOTAL, "Even", "Odd"}
    assert history["running_accuracy"].notna().all()


def test_accepting_needs_a_planner_and_a_viewer_writes_nothing(store):
    result = forecast_segments(store, lens=None, metric="orders", freq="M", horizon=2, config=FAST)
    with pytest.raises(
        PermissionDenied,
        match="vic is signed in as a viewer: accepting a forecast needs the planner role",
    ):
        accept_forecast(store, result, actor=VIEWER)
    assert accepted_forecasts(store).empty
    assert result.forecast[MEAN].notna().all()
