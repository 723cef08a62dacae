"""The forecaster interface on every model, its fallbacks, and intervals with known values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.forecast.base import FORECAST_COLUMNS, MEAN, MODEL, PERIOD, SERIES, Forecaster, hi, lo
from planning.forecast.models import MODEL_NAMES, make_forecaster

SEASON = np.array([0.95, 0.96, 1.02, 1.00, 1.02, 0.95, 0.85, 0.82, 1.03, 1.09, 1.15, 1.16])


def monthly(values, name: str = "Small", start: str = "2023-01-01") -> pd.Series:
    values = np.asarray(values, dtype=float)
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="MS"), name=name)


def seasonal_series(n: int = 36, seed: int = 3) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return monthly(100_000 * np.resize(SEASON, n) * 1.04 ** (t / 12) * rng.lognormal(0, 0.03, n))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_fits_then_forecasts_the_long_frame_with_nested_intervals(name):
    model = make_forecaster(name)
    assert isinstance(model, Forecaster)
    y = seasonal_series()
    frame = model.fit(y).forecast(6)
    assert list(frame.columns) == list(FORECAST_COLUMNS)
    assert (frame[SERIES] == "Small").all() and (frame[MODEL] == name).all()
    assert list(frame[PERIOD]) == list(pd.date_range("2026-01-01", periods=6, freq="MS"))
    assert (frame[lo(95)] <= frame[lo(80)] + 1e-9).all()
    assert (frame[lo(80)] <= frame[MEAN] + 1e-9).all() and (
        frame[MEAN] <= frame[hi(80)] + 1e-9
    ).all()
    assert (frame[hi(80)] <= frame[hi(95)] + 1e-9).all()
    assert (frame[hi(95)] > frame[lo(95)]).all()
    # a sensible forecast of a series that stays between 80k and 130k
    assert frame[MEAN].between(60_000, 160_000).all()
    assert model.residuals.shape == (len(y),)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_three_point_series_falls_back_to_naive_with_the_reason(name):
    model = make_forecaster(name).fit(monthly([10.0, 12.0, 11.0]))
    frame = model.forecast(4)
    assert model.used == "naive"
    assert name == "naive" or any("3 periods" in note for note in model.notes)
    assert (frame[MEAN] == 11.0).all() and (frame[MODEL] == name).all()
    assert frame[hi(95)].notna().all()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_an_all_zero_series_forecasts_zero_with_a_zero_width_interval(name):
    model = make_forecaster(name).fit(monthly(np.zeros(30)))
    frame = model.forecast(3)
    assert (frame[[MEAN, lo(80), hi(80), lo(95), hi(95)]].to_numpy() == 0).all()
    if name not in ("naive", "seasonal_naive"):
        assert any("all values are zero" in note for note in model.notes)


def test_a_single_value_gives_a_forecast_with_an_unknown_interval():
    model = make_forecaster("ets").fit(monthly([5.0]))
    frame = model.forecast(2)
    assert (frame[MEAN] == 5.0).all() and frame[hi(95)].isna().all()
    assert any("one value only" in note for note in model.notes)


def test_seasonal_naive_repeats_last_season_and_its_interval_spreads_by_lag_changes():
    y = monthly(np.r_[np.arange(1, 13), np.arange(1, 13) + 2.0])  # each month up by 2 a year
    frame = make_forecaster("seasonal_naive").fit(y).forecast(13)
    assert list(frame[MEAN]) == [*(np.arange(1, 13) + 2.0), 3.0]
    # the 12 observed one-season changes are all 2: RMS 2 for step 1..12, 2 * sqrt(2) after
    z95 = 1.959963984540054
    assert frame[hi(95)].iloc[0] - frame[MEAN].iloc[0] == pytest.approx(2 * z95)
    assert frame[hi(95)].iloc[12] - frame[MEAN].iloc[12] == pytest.approx(2 * np.sqrt(2) * z95)


def test_arima_continues_an_exact_trend_plus_season_through_its_differences():
    t = np.arange(40)
    y = monthly(1000 + 5 * t + 100 * np.resize(SEASON - 1, 40))
    frame = make_forecaster("arima").fit(y).forecast(5)
    future = 1000 + 5 * np.arange(40, 45) + 100 * np.resize(SEASON - 1, 45)[40:]
    np.testing.assert_allclose(frame[MEAN], future, rtol=1e-4)


def test_an_erratic_series_is_fitted_without_a_warning_escaping():
    # pytest turns every warning into an error: statsmodels' must be caught and recorded
    rng = np.random.default_rng(0)
    values = np.r_[rng.poisson(3, 20), 500, rng.poisson(3, 19)].astype(float)
    values[::7] = 0
    for name in MODEL_NAMES:
        model = make_forecaster(name).fit(monthly(values))
        assert model.forecast(12)[MEAN].notna().all()


def test_update_carries_the_parameters_to_a_longer_series():
    y = seasonal_series()
    ets = make_forecaster("ets").fit(y.iloc[:30])
    moved = ets.update(y.iloc[:33])
    assert moved.used == ets.used
    assert moved.forecast(3)[PERIOD].iloc[0] == y.index[33]


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            pd.Series(
                [1.0, np.nan, 2.0],
                index=pd.date_range("2024-01-01", periods=3, freq="MS"),
                name="East",
            ),
            "East' has missing or infinite values",
        ),
        (pd.Series([1.0, 2.0], name="East"), "needs a DatetimeIndex with a frequency"),
    ],
)
def test_a_series_with_gaps_or_no_dates_is_rejected_with_its_name(bad, message):
    with pytest.raises(ValueError, match=message):
        make_forecaster("ets").fit(bad)


def test_an_unknown_model_or_horizon_is_rejected():
    with pytest.raises(ValueError, match="Unknown model 'prophet'"):
        make_forecaster("prophet")
    with pytest.raises(ValueError, match="horizon must be a whole number"):
        make_forecaster("naive").fit(monthly([1.0, 2.0])).forecast(0)


def test_theta_intervals_widen_as_ses_with_drift_does_not_as_statsmodels_formula():
    """SES with drift is ARIMA(0,1,1): the h-step variance is sigma^2 (1 + (h - 1) alpha^2)."""
    rng = np.random.default_rng(11)
    y = monthly(500 + np.cumsum(rng.normal(0, 5, 40)) + rng.normal(0, 20, 40))
    model = make_forecaster("theta").fit(y)
    fc = model.forecast(12)
    alpha = float(model._res.params.iloc[1])
    errors = model.residuals[np.isfinite(model.residuals)]
    sigma = np.sqrt(np.mean(errors**2) * (1 + np.arange(12) * alpha**2))
    z80 = 1.2815515655446004
    np.testing.assert_allclose((fc[hi(80)] - fc[MEAN]).to_numpy(), z80 * sigma, rtol=1e-6)
