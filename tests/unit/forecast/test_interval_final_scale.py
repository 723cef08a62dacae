"""Calibration measured against the final forecast's half-widths: known factors, rows the
final forecast has no step for, and why a regime-narrowed interval is not shrunk twice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.forecast.base import MEAN, SERIES, hi, lo
from planning.forecast.intervals import MIN_POINTS, calibrate, calibration_factors


def backtest(misses: np.ndarray, steps: int, half: float, series: str = "Total") -> pd.DataFrame:
    """Forecasts of 100 at steps 1..steps (repeating), missing by ``misses``."""
    n = len(misses)
    return pd.DataFrame(
        {
            SERIES: series,
            "step": np.arange(n) % steps + 1,
            MEAN: np.full(n, 100.0),
            "actual": 100.0 + misses,
            lo(80): np.full(n, 100.0 - half),
            hi(80): np.full(n, 100.0 + half),
            lo(95): np.full(n, 100.0 - 2 * half),
            hi(95): np.full(n, 100.0 + 2 * half),
        }
    )


def forecast(halves: np.ndarray, series: str = "Total") -> pd.DataFrame:
    """A final forecast of 50 whose 80% half-width at step j is ``halves[j - 1]``."""
    h = len(halves)
    return pd.DataFrame(
        {
            SERIES: series,
            "period": pd.date_range("2024-01-01", periods=h, freq="MS"),
            MEAN: np.full(h, 50.0),
            lo(80): 50.0 - halves,
            hi(80): 50.0 + halves,
            lo(95): 50.0 - 2 * halves,
            hi(95): 50.0 + 2 * halves,
        }
    )


def test_misses_are_measured_against_the_final_half_width_at_the_same_step():
    misses = np.arange(1.0, 40.0)
    misses[::2] *= -1
    bt = backtest(misses, steps=3, half=100.0)  # the backtest's own intervals: far too wide
    final = forecast(np.array([10.0, 20.0, 40.0]))
    ratios = np.abs(misses) / np.array([10.0, 20.0, 40.0])[np.arange(39) % 3]
    expected = np.sort(ratios)
    factors = calibration_factors([bt], forecasts=final)
    assert factors[80] == pytest.approx(expected[32 - 1])  # ceil(40 * 0.80) = 32
    # Half-widths twice as wide at 95%: the ratios halve.
    assert factors[95] == pytest.approx(np.sort(ratios / 2)[38 - 1])
    # Measured against the backtest's own intervals, the factor would shrink them instead.
    assert calibration_factors([bt])[80] == pytest.approx(32 / 100)


def test_backtest_steps_the_final_forecast_does_not_have_are_left_out():
    bt = backtest(np.full(36, 5.0), steps=4, half=1.0)  # steps 1..4, nine of each
    two_steps = calibration_factors([bt], forecasts=forecast(np.array([10.0, 10.0])))
    assert MIN_POINTS > 18 and two_steps == {80: 1.0, 95: 1.0}  # 18 rows left
    four_steps = calibration_factors([bt], forecasts=forecast(np.full(4, 10.0)))
    assert four_steps[80] == pytest.approx(0.5)


def test_a_final_interval_narrowed_to_its_regime_holds_its_share_of_later_misses():
    # Backtest origins before the regime was found carried whole-history intervals four
    # times too wide; the final forecast's interval is the regime's, about right.
    rng = np.random.default_rng(0)
    sigma = 10.0
    misses = rng.normal(0, sigma, 400)
    bt = backtest(misses, steps=4, half=4 * 1.2816 * sigma)
    final = forecast(np.full(4, 1.2816 * sigma))
    later = rng.normal(0, sigma, (2000, 4))
    for scale_from, expected in ((None, (0.2, 0.4)), (final, (0.76, 0.84))):
        factors = calibration_factors([bt], forecasts=scale_from)
        out = calibrate(final, factors, nonnegative=False)
        low, high = out[lo(80)].to_numpy() - 50, out[hi(80)].to_numpy() - 50
        inside = ((later >= low) & (later <= high)).mean()
        assert expected[0] <= inside <= expected[1]
