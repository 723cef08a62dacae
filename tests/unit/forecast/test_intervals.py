"""Intervals calibrated on backtest misses: factors with known values, nesting, too few points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.forecast.base import MEAN, hi, lo
from planning.forecast.intervals import MIN_POINTS, calibrate, calibration_factors


def backtest(misses: np.ndarray, half: float = 10.0) -> pd.DataFrame:
    """Forecasts of 100 whose actuals miss by ``misses``; every half-width is ``half``."""
    n = len(misses)
    return pd.DataFrame(
        {
            MEAN: np.full(n, 100.0),
            "actual": 100.0 + misses,
            lo(80): np.full(n, 100.0 - half),
            hi(80): np.full(n, 100.0 + half),
            lo(95): np.full(n, 100.0 - 2 * half),
            hi(95): np.full(n, 100.0 + 2 * half),
        }
    )


def test_the_factor_is_the_conformal_quantile_of_misses_over_half_widths():
    misses = np.arange(1.0, 40.0)  # 39 forecasts missing by 1..39, above and below
    misses[::2] *= -1
    factors = calibration_factors([backtest(misses)])
    # 80%: the ceil(40 * 0.8) = 32nd smallest ratio, 32 / 10; 95%: the 38th, 38 / 20
    assert factors == {80: pytest.approx(3.2), 95: pytest.approx(1.9)}


def test_calibrated_intervals_hold_their_share_of_the_backtest_misses():
    rng = np.random.default_rng(0)
    frame = backtest(rng.normal(0, 25, 400))  # intervals far too narrow for these misses
    factors = calibration_factors([frame])
    out = calibrate(frame, factors)
    inside = ((frame["actual"] >= out[lo(80)]) & (frame["actual"] <= out[hi(80)])).mean()
    assert inside == pytest.approx(0.80, abs=0.02)
    assert (out[hi(95)] >= out[hi(80)]).all() and (out[lo(95)] <= out[lo(80)]).all()


def test_too_few_backtest_forecasts_keep_the_model_intervals():
    frame = backtest(np.ones(MIN_POINTS - 1))
    assert calibration_factors([frame]) == {80: 1.0, 95: 1.0}
    assert calibration_factors([]) == {80: 1.0, 95: 1.0}
    pd.testing.assert_frame_equal(calibrate(frame, {80: 1.0, 95: 1.0}), frame)


def test_lower_bounds_of_a_nonnegative_metric_stay_at_or_above_zero():
    frame = backtest(np.zeros(3), half=90.0)
    out = calibrate(frame, {80: 2.0, 95: 2.0})
    assert (out[lo(80)] == 0).all() and (out[lo(95)] == 0).all()
    assert out[hi(95)].iloc[0] == pytest.approx(100 + 2 * 180)
