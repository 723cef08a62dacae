"""Rolling-origin backtest: origins, accuracy measures with known values, model choice."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from planning.forecast.backtest import (
    ACTUAL,
    BIAS,
    MASE,
    SCALE,
    STEP,
    WAPE,
    BacktestConfig,
    accuracy_table,
    coverage,
    mase_scale,
    plan_origins,
    pool_members,
    run_backtest,
    select_and_forecast,
    summarize_accuracy,
)
from planning.forecast.base import MEAN, MODEL, PERIOD, SERIES, hi, lo
from tests.unit.forecast.test_base import monthly, seasonal_series


@pytest.mark.parametrize(
    "n, horizon, expected",
    [
        (36, 3, ([29, 31, 33], 3)),  # three origins two months apart
        (36, 12, ([24], 12)),  # a year ahead: seasonal models need two years to learn from
        (30, 3, ([25, 27], 3)),  # no origin with less than two seasons of training
        (24, 12, ([13], 11)),  # too short for a whole year out: the horizon shrinks
        (3, 3, ([], 0)),  # nothing can be held out
    ],
)
def test_origins_keep_a_season_of_training_and_fit_the_horizon(n, horizon, expected):
    assert plan_origins(n, horizon, 12, 3, None) == expected


def test_mase_scale_is_the_in_sample_seasonal_naive_error():
    values = np.r_[np.arange(12.0), np.arange(12.0) + 3]
    assert mase_scale(values, 12) == 3.0
    assert mase_scale(np.arange(5.0), 12) == 1.0  # within a season: lag 1
    assert np.isnan(mase_scale(np.zeros(30), 12))


def test_accuracy_measures_match_a_hand_computed_example():
    frame = pd.DataFrame(
        {
            SERIES: "S",
            MODEL: "m",
            STEP: [1, 1, 2, 2],
            MEAN: [110.0, 90.0, 100.0, 100.0],
            ACTUAL: [100.0, 100.0, 80.0, 120.0],
            SCALE: [10.0, 20.0, 10.0, 20.0],
            lo(80): [105.0, 80.0, 90.0, 90.0],
            hi(80): [115.0, 110.0, 110.0, 110.0],
            lo(95): [95.0, 70.0, 70.0, 80.0],
            hi(95): [125.0, 120.0, 130.0, 130.0],
        }
    )
    table = accuracy_table(frame).set_index(STEP)
    assert table.loc[1, WAPE] == pytest.approx(20 / 200)
    assert table.loc[1, MASE] == pytest.approx((10 / 10 + 10 / 20) / 2)
    assert table.loc[1, BIAS] == pytest.approx(0.0)
    assert table.loc[1, coverage(80)] == pytest.approx(0.5)  # 100 is outside 105..115
    assert table.loc[2, WAPE] == pytest.approx(40 / 200)
    assert table.loc[2, coverage(80)] == pytest.approx(0.0)
    assert table.loc[2, coverage(95)] == pytest.approx(1.0)
    summary = summarize_accuracy(accuracy_table(frame))
    assert summary[WAPE].iloc[0] == pytest.approx(0.15)


def test_the_backtest_never_shows_a_model_the_actuals_it_is_scored_on():
    y = seasonal_series()
    run = run_backtest(y, BacktestConfig(horizon=3, models=("naive",), combine=0))
    frame = run.frame
    for origin, rows in frame.groupby("origin"):
        last_seen = y.loc[:origin].iloc[-1]
        assert (rows[MEAN] == last_seen).all()  # naive repeats the origin's value
        assert (rows[PERIOD] > origin).all()
        np.testing.assert_array_equal(rows[ACTUAL], y.loc[rows[PERIOD]].to_numpy())


def test_combination_selection_combines_the_three_lowest_backtest_mase_models():
    outcome = select_and_forecast(
        seasonal_series(), BacktestConfig(horizon=3, selection="combination")
    )
    singles = sorted(
        (m for m in outcome.ranking if not m.startswith("combo:")), key=outcome.ranking.get
    )
    assert outcome.chosen == "combo:" + "+".join(singles[:3])
    assert f"MASE {outcome.ranking[outcome.chosen]:.2f}" in outcome.reason
    assert len(outcome.forecast) == 3 and (outcome.forecast[MODEL] == outcome.chosen).all()
    assert set(outcome.accuracy[MODEL]) >= {"seasonal_naive", "ets", "arima", "theta"}


def test_pool_members_leave_out_only_a_mase_above_tukeys_upper_fence():
    ranking = {"a": 1.0, "b": 1.1, "c": 1.2, "d": 1.3, "e": 5.0}
    members, fence = pool_members(ranking, list(ranking))
    assert members == ["a", "b", "c", "d"] and fence == pytest.approx(1.3 + 1.5 * 0.2)
    # a close fifth stays in; with three candidates the quartiles say nothing: all pooled
    assert pool_members({**ranking, "e": 1.55}, list(ranking))[0] == list(ranking)
    assert pool_members({"a": 1.0, "b": 1.1, "c": 9.0}, ["a", "b", "c"]) == (
        ["a", "b", "c"],
        math.inf,
    )


def test_by_default_every_candidate_but_the_outliers_is_pooled_and_the_reason_names_both():
    # naive cannot follow a strong seasonal pattern: its backtest MASE is an outlier here
    config = BacktestConfig(horizon=3, models=("seasonal_naive", "ets", "arima", "theta", "naive"))
    outcome = select_and_forecast(seasonal_series(), config)
    singles = {m: v for m, v in outcome.ranking.items() if not m.startswith("combo:")}
    values = np.array(list(singles.values()))
    q1, q3 = np.percentile(values, [25, 75])
    kept = sorted((m for m, v in singles.items() if v <= q3 + 1.5 * (q3 - q1)), key=singles.get)
    assert "naive" not in kept and len(kept) == 4
    assert outcome.chosen == "combo:" + "+".join(kept)
    assert "4 models whose backtest MASE is not an outlier" in outcome.reason
    assert outcome.reason.endswith(
        f"; left out, above the fence of {q3 + 1.5 * (q3 - q1):.2f}: naive {singles['naive']:.2f}"
    )
    assert "seasonal naive" in outcome.reason.split("; left out")[0]
    members = [outcome.candidates.fitted[m].forecast[MEAN].to_numpy() for m in kept]
    np.testing.assert_allclose(outcome.forecast[MEAN], np.mean(members, axis=0))


def test_best_selection_picks_the_lowest_backtest_mase_and_says_so():
    outcome = select_and_forecast(seasonal_series(), BacktestConfig(horizon=3, selection="best"))
    assert outcome.ranking[outcome.chosen] == min(outcome.ranking.values())
    assert f"lowest backtest MASE {outcome.ranking[outcome.chosen]:.2f}" in outcome.reason


def test_a_combination_forecasts_the_mean_of_its_members():
    y = seasonal_series()
    config = BacktestConfig(horizon=3, models=("naive", "seasonal_naive"), combine=2)
    outcome = select_and_forecast(y, config)
    combo = "combo:" + "+".join(
        sorted(("naive", "seasonal_naive"), key=lambda m: outcome.ranking[m])
    )
    bt = outcome.backtest.set_index(["origin", STEP, MODEL])[MEAN].unstack(MODEL)
    np.testing.assert_allclose(bt[combo], (bt["naive"] + bt["seasonal_naive"]) / 2)


def test_a_series_too_short_to_backtest_uses_seasonal_naive_and_says_why():
    outcome = select_and_forecast(monthly([3.0, 4.0, 5.0]), BacktestConfig(horizon=2))
    assert outcome.chosen == "seasonal_naive" and "too short to hold anything out" in outcome.reason
    assert outcome.forecast[MEAN].tolist() == [5.0, 5.0]


def test_forecasts_of_a_nonnegative_metric_are_clipped_at_zero():
    y = monthly(np.r_[np.linspace(100, 5, 20)])
    outcome = select_and_forecast(y, BacktestConfig(horizon=12, models=("arima",), combine=0))
    assert (outcome.forecast[[MEAN, lo(95)]].to_numpy() >= 0).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(horizon=0), "horizon must be 1 period or more"),
        (dict(horizon=3, models=("prophet",)), "Unknown model"),
        (dict(horizon=3, levels=(80, 100)), "between 0 and 100"),
        (dict(horizon=3, selection="vote"), "Unknown selection 'vote'"),
    ],
)
def test_a_bad_configuration_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BacktestConfig(**kwargs)
