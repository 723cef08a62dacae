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

The half-width a miss is measured against can be the backtest forecast's own, or — given the
forecasts to be calibrated — the half-width the final forecast of the same series gives at the
same step ahead: a locally weighted conformal score whose scale is fixed in advance (Lei et
al. 2018, section 5.2). The second does not assume that the backtest's intervals were
estimated the way the final ones are. They often are not: an origin two seasons back fits a
non-seasonal form the final model no longer has, and a series whose volatility changed gets
intervals from its current regime only once that regime is long enough to be found
(:func:`planning.forecast.base.regime_start`) — calibrating the final interval by misses
measured against wider, whole-history backtest intervals would shrink it twice.

References
----------
Vovk, V., Gammerman, A. & Shafer, G. (2005). Algorithmic Learning in a Random World. Springer.
Stankeviciute, K., Alaa, A. M. & van der Schaar, M. (2021). Conformal time-series forecasting.
    Advances in Neural Information Processing Systems 34, 6216-6228.
Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J. & Wasserman, L. (2018). Distribution-free
    predictive inference for regression. Journal of the American Statistical Association
    113(523), 1094-1111.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import pandas as pd

from planning.core import columns as C
from planning.forecast.base import LEVELS, MEAN, SERIES, hi, lo

ACTUAL: Final = C.ACTUAL
STEP: Final = C.STEP
MIN_POINTS: Final = 20


def calibration_factors(
    backtests: Iterable[pd.DataFrame],
    levels: Sequence[int] = LEVELS,
    forecasts: pd.DataFrame | None = None,
) -> dict[int, float]:
    """Half-width multipliers per level from backtest forecasts beside their actuals.

    Parameters
    ----------
    backtests
        Frames with ``mean, actual, lo-L, hi-L`` (and ``series, step`` when ``forecasts`` is
        given): the chosen models' backtest rows.
    forecasts
        The forecasts the factors are for (``series, mean, lo-L, hi-L``, each series' periods
        in order). When given, a miss at step ``j`` of a series is measured against that
        series' forecast half-width at step ``j``, not the backtest forecast's own; backtest
        rows of a series or step it does not have are left out.

    Returns
    -------
    dict
        ``{level: factor}``; 1.0 where fewer than :data:`MIN_POINTS` usable forecasts exist.
        Factors never shrink a wider level inside a narrower one.
    """
    frames = [f for f in backtests if not f.empty]
    if not frames:
        return dict.fromkeys(levels, 1.0)
    bt = pd.concat(frames, ignore_index=True)
    scale = bt
    if forecasts is not None:
        bounds = [c for lv in levels for c in (lo(lv), hi(lv))]
        final = forecasts[[SERIES, MEAN, *bounds]].assign(
            **{STEP: forecasts.groupby(SERIES, sort=False).cumcount() + 1}
        )
        bt = bt[[SERIES, STEP, MEAN, ACTUAL]].merge(
            final, on=[SERIES, STEP], how="inner", suffixes=("", "_final")
        )
        scale = bt.drop(columns=MEAN).rename(columns={f"{MEAN}_final": MEAN})
    factors: dict[int, float] = {}
    for level in sorted(levels):
        mean, actual, centre = bt[MEAN].to_numpy(), bt[ACTUAL].to_numpy(), scale[MEAN].to_numpy()
        upper = actual >= mean
        half = np.where(
            upper, scale[hi(level)].to_numpy() - centre, centre - scale[lo(level)].to_numpy()
        )
        usable = np.isfinite(half) & (half > 0) & np.isfinite(actual)
        ratios = np.sort(np.abs(actual - mean)[usable] / half[usable])
        n = ratios.size
        if n < MIN_POINTS:
            factors[level] = 1.0
            continue
        k = min(n, math.ceil((n + 1) * level / 100))
        factors[level] = float(ratios[k - 1])
    return factors


def calibrate(
    frame: pd.DataFrame, factors: dict[int, float], *, nonnegative: bool = True
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
