"""Forecast intervals calibrated on the backtest, so an 80% interval holds about 80% of actuals.

A model's own intervals assume its form and parameters are right; on two or three years of
history they rarely are, and a combination's averaged bounds are wider than any member needs.
The backtest already holds forecasts of actuals no fit had seen, so the intervals are rescaled
by them (split-conformal prediction on rolling-origin errors: Vovk, Gammerman & Shafer 2005;
Stankeviciute, Alaa & van der Schaar 2021): for every backtest forecast of the chosen models,
pooled over the series of one run, the ratio of its miss to its own half-width on that side,
``|actual - mean| / (bound - mean)``; the factor of level ``L`` is the ``ceil((n + 1) L) / n``
empirical quantile of the ratios, and every forecast's half-widths at that level are multiplied
by it (each side keeps its own asymmetry). With fewer than :data:`MIN_POINTS` ratios the model
intervals are kept.

References
----------
Vovk, V., Gammerman, A. & Shafer, G. (2005). Algorithmic Learning in a Random World. Springer.
Stankeviciute, K., Alaa, A. M. & van der Schaar, M. (2021). Conformal time-series forecasting.
    Advances in Neural Information Processing Systems 34, 6216-6228.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import pandas as pd

from planning.forecasting import LEVELS, MEAN, hi, lo

ACTUAL: Final = "actual"
MIN_POINTS: Final = 20


def calibration_factors(backtests: Iterable[pd.DataFrame],
                        levels: Sequence[int] = LEVELS) -> dict[int, float]:
    """Half-width multipliers per level from backtest forecasts beside their actuals.

    Parameters
    ----------
    backtests
        Frames with ``mean, actual, lo-L, hi-L``: the chosen models' backtest rows.

    Returns
    -------
    dict
        ``{level: factor}``; 1.0 where fewer than :data:`MIN_POINTS` usable forecasts exist.
        Factors never shrink a wider level inside a narrower one.
    """
    frames = [f for f in backtests if not f.empty]
    if not frames:
        return {lv: 1.0 for lv in levels}
    bt = pd.concat(frames, ignore_index=True)
    factors: dict[int, float] = {}
    for level in sorted(levels):
        mean, actual = bt[MEAN].to_numpy(), bt[ACTUAL].to_numpy()
        upper = actual >= mean
        half = np.where(upper, bt[hi(level)].to_numpy() - mean, mean - bt[lo(level)].to_numpy())
        usable = np.isfinite(half) & (half > 0) & np.isfinite(actual)
        ratios = np.sort(np.abs(actual - mean)[usable] / half[usable])
        n = ratios.size
        if n < MIN_POINTS:
            factors[level] = 1.0
            continue
        k = min(n, math.ceil((n + 1) * level / 100))
        factors[level] = float(ratios[k - 1])
    return factors


def calibrate(frame: pd.DataFrame, factors: dict[int, float], *, nonnegative: bool = True
              ) -> pd.DataFrame:
    """A copy of a forecast frame with each level's half-widths multiplied by its factor.

    A wider level is kept at least as wide as every narrower one.
    """
    out = frame.copy()
    mean = out[MEAN].to_numpy()
    inner_lo, inner_hi = mean, mean
    for level in sorted(factors):
        f = factors[level]
        low = mean - f * (mean - out[lo(level)].to_numpy())
        high = mean + f * (out[hi(level)].to_numpy() - mean)
        low, high = np.minimum(low, inner_lo), np.maximum(high, inner_hi)
        if nonnegative:
            low = np.maximum(low, 0.0)
        out[lo(level)], out[hi(level)] = low, high
        inner_lo, inner_hi = low, high
    return out
