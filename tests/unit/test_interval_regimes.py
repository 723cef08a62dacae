"""Intervals after a change of volatility: where the regime starts, what the interval is
estimated on, and whether it holds its share of simulated futures (the CDNOW launch case)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.forecast_models import make_forecaster
from planning.forecasting import (
    MIN_REGIME, REGIME_CRITICAL, regime_start, variance_break, z_value,
)

H = 13
LAUNCH = 12


def weekly(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2020-01-06", periods=len(values),
                                                 freq="W-MON"), name="Total")


def launch_then_level(seed: int, n: int = 64) -> tuple[pd.Series, float, np.random.Generator]:
    """A launch cohort: 12 weeks high, falling and erratic, then a slowly wandering level
    (a local-level model: the level moves by N(0, 2) a week, the weeks scatter by N(0, 6)).
    Returns the series, the level it ended at, and the generator to simulate its future."""
    rng = np.random.default_rng(seed)
    values, level = np.empty(n), 50.0
    for t in range(n):
        if t < LAUNCH:
            values[t] = 250 - 10 * t + rng.normal(0, 40)
        else:
            level += rng.normal(0, 2.0)
            values[t] = level + rng.normal(0, 6.0)
    return weekly(values), level, rng


def futures(rng: np.random.Generator, level: float, paths: int = 400) -> np.ndarray:
    """``paths x H`` continuations of the local level from where the series ended."""
    levels = level + np.cumsum(rng.normal(0, 2.0, (paths, H)), axis=1)
    return levels + rng.normal(0, 6.0, (paths, H))


def without_regimes(name: str):
    model = make_forecaster(name)
    model._regimes = False  # the whole-history interval, as before regimes
    return model


def test_a_change_of_variance_is_found_where_it_happens():
    rng = np.random.default_rng(0)
    errors = np.r_[rng.normal(0, 5, 30), rng.normal(0, 1, 50)]
    stat, k = variance_break(errors)
    assert stat > REGIME_CRITICAL
    assert abs(k - 30) <= 3
    # The statistic does not depend on the unit the errors are measured in.
    assert variance_break(errors * 1000)[0] == pytest.approx(stat)


def test_a_launch_then_a_steady_level_starts_its_regime_where_the_launch_ends():
    for seed in range(5):
        y, _, _ = launch_then_level(seed)
        assert LAUNCH - 2 <= regime_start(y.to_numpy()) <= LAUNCH + 2


def test_steady_series_mostly_keep_one_regime():
    rng = np.random.default_rng(1)
    split = sum(regime_start(100 + rng.normal(0, 10, 80)) > 0 for _ in range(200))
    # kappa-1 on differenced noise rejects a little more often than its 5% level
    assert split <= 30
    # too short to split: fewer than 2 * MIN_REGIME changes
    assert regime_start(np.r_[np.full(10, 500.0), rng.normal(0, 1, 2 * MIN_REGIME - 10)]) == 0


# Theta is not among them: its variance formula (statsmodels') grows faster than simple
# exponential smoothing's for a smoothing weight below 1, so its regime interval still holds
# about 96% at 80%; it is checked to narrow below.
@pytest.mark.parametrize("name", ["ets", "arima", "naive"])
def test_intervals_after_a_launch_hold_near_their_share_of_simulated_futures(name):
    inside = {80: [], 95: []}
    for seed in range(6):
        y, level, rng = launch_then_level(seed)
        mean, bounds = make_forecaster(name).fit(y).forecast_arrays(H)
        future = futures(rng, level)
        for lv in inside:
            low, high = bounds[lv]
            inside[lv].append(((future >= low) & (future <= high)).mean())
    # Estimated on the whole history, every one of these holds 97-100% at 80%.
    assert 0.68 <= np.mean(inside[80]) <= 0.90
    assert 0.87 <= np.mean(inside[95]) <= 0.99


@pytest.mark.parametrize("name", ["ets", "theta", "arima"])
def test_the_regime_changes_the_interval_and_not_the_point_forecast(name):
    y, _, _ = launch_then_level(3)
    model = make_forecaster(name).fit(y)
    before = without_regimes(name).fit(y)
    mean, bounds = model.forecast_arrays(H)
    old_mean, old_bounds = before.forecast_arrays(H)
    np.testing.assert_allclose(mean, old_mean)
    assert any("since a change of volatility" in note for note in model.notes)
    width, old_width = (bounds[80][1] - bounds[80][0]), (old_bounds[80][1] - old_bounds[80][0])
    assert (width < old_width).all()


def test_the_gap_between_the_two_forecasts_widens_the_interval():
    y, _, _ = launch_then_level(2)
    model = make_forecaster("arima").fit(y)  # its drift is learnt from the launch
    mean, bounds = model.forecast_arrays(H)
    centre, _ = model._spread.forecast_arrays(H)
    for lv in (80, 95):
        assert (bounds[lv][1] - mean >= z_value(lv) * np.abs(mean - centre) - 1e-9).all()
        assert (mean - bounds[lv][0] >= z_value(lv) * np.abs(mean - centre) - 1e-9).all()


@pytest.mark.parametrize("name", ["ets", "theta", "arima", "naive", "seasonal_naive"])
def test_a_series_without_a_change_keeps_its_whole_history_interval(name):
    rng = np.random.default_rng(4)
    months = pd.date_range("2020-01-01", periods=60, freq="MS")
    y = pd.Series(1000 + 200 * np.sin(np.arange(60) * np.pi / 6) + rng.normal(0, 40, 60),
                  index=months, name="Small")
    assert regime_start(y.to_numpy()) == 0
    model = make_forecaster(name).fit(y)
    reference = make_forecaster(name)
    if hasattr(reference, "_regimes"):
        reference._regimes = False
    reference.fit(y)
    mean, bounds = model.forecast_arrays(12)
    ref_mean, ref_bounds = reference.forecast_arrays(12)
    np.testing.assert_allclose(mean, ref_mean)
    for lv in (80, 95):
        np.testing.assert_allclose(bounds[lv][0], ref_bounds[lv][0])
        np.testing.assert_allclose(bounds[lv][1], ref_bounds[lv][1])
    assert not any("change of volatility" in note for note in model.notes)


def test_naive_intervals_use_only_the_changes_since_the_regime_started():
    y, _, _ = launch_then_level(0)
    values = y.to_numpy()
    start = regime_start(values)
    mean, bounds = make_forecaster("naive").fit(y).forecast_arrays(1)
    rms = np.sqrt(np.mean(np.diff(values[start:]) ** 2))
    assert bounds[80][1][0] - mean[0] == pytest.approx(z_value(80) * rms)


def test_seasonal_naive_keeps_the_whole_history_when_the_regime_is_shorter_than_a_season():
    y, _, _ = launch_then_level(0)  # 64 weeks: a 52-week lag spans the launch
    model = make_forecaster("seasonal_naive").fit(y)
    assert not any("change of volatility" in note for note in model.notes)
    values = y.to_numpy()
    mean, bounds = model.forecast_arrays(1)
    rms = np.sqrt(np.mean((values[52:] - values[:-52]) ** 2))
    assert bounds[80][1][0] - mean[0] == pytest.approx(z_value(80) * rms)

