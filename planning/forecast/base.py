"""Forecasters: one small interface over the models a planner's series are forecast with.

A :class:`Forecaster` is fitted on one series (a pandas Series of whole periods with a regular
``DatetimeIndex``: ``MS`` months or ``W-MON`` weeks) and then forecasts ``h`` periods ahead at
interval levels, returning the long frame ``series, period, model, mean, lo-80, hi-80, lo-95,
hi-95`` (statsforecast's layout, one row per series and period). The benchmarks here are the
naive models, whose intervals come from their own past errors at the matching lag (Hyndman &
Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., section 5.5); the statsmodels
wrappers (ETS, SARIMAX, Theta) live in :mod:`planning.forecast.models`.

A model that cannot be fitted to a series — too few points, all zeros, a constant, a solver
that fails — never raises: it falls back to the next simpler model and records why in
``notes``, and ``used`` names what was actually fitted. Warnings raised by statsmodels while
fitting are caught inside the wrapper and recorded in ``notes`` too, so they cannot leak.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Final, Protocol, TypeVar, runtime_checkable

import numpy as np
import pandas as pd
from scipy import stats

SERIES: Final = "series"
PERIOD: Final = "period"
MODEL: Final = "model"
MEAN: Final = "mean"
LEVELS: Final[tuple[int, ...]] = (80, 95)

PANDAS_FREQ: Final[dict[str, str]] = {"M": "MS", "W": "W-MON"}
SEASON_LENGTH: Final[dict[str, int]] = {"MS": 12, "W-MON": 52}


def lo(level: int) -> str:
    """Name of the lower interval column at ``level`` percent: ``lo-80``."""
    return f"lo-{level}"


def hi(level: int) -> str:
    """Name of the upper interval column at ``level`` percent: ``hi-80``."""
    return f"hi-{level}"


def forecast_columns(levels: Sequence[int] = LEVELS) -> list[str]:
    """``series, period, model, mean`` then ``lo-L, hi-L`` for every level."""
    return [SERIES, PERIOD, MODEL, MEAN, *(c for lv in levels for c in (lo(lv), hi(lv)))]


FORECAST_COLUMNS: Final = tuple(forecast_columns())
Bounds = tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]
_T = TypeVar("_T")


@runtime_checkable
class Forecaster(Protocol):
    """Fit on one series, then forecast ``h`` periods at interval ``levels``.

    ``name`` is the model asked for; after :meth:`fit`, ``used`` says what was fitted (e.g.
    ``ETS(M,Ad,M)``, or ``naive`` after a fallback), ``notes`` why, and ``residuals`` holds the
    in-sample one-step errors (NaN where the model has no one-step forecast).
    """

    name: str
    used: str
    notes: tuple[str, ...]
    residuals: np.ndarray

    def fit(self, series: pd.Series) -> Forecaster: ...

    def forecast(self, h: int, levels: Sequence[int] = LEVELS) -> pd.DataFrame: ...


@runtime_checkable
class Updatable(Protocol):
    """A fitted forecaster that can move to a longer series keeping its parameters.

    The backtest uses it to roll the forecast origin forward without refitting (Tashman 2000,
    "fixed-parameter" rolling origin); a model refits when the longer series allows a richer
    form than the one it was fitted with.
    """

    def update(self, series: pd.Series) -> Forecaster: ...


class Unsuitable(ValueError):
    """This model cannot be fitted to this series; the message says why."""


def check_series(series: pd.Series) -> pd.Series:
    """Validate a series for fitting; return it as float64.

    Raises
    ------
    ValueError
        If the index is not a ``DatetimeIndex`` with a frequency, or a value is missing or
        infinite.
    """
    if not isinstance(series, pd.Series):
        raise ValueError("A forecaster fits a pandas Series indexed by period start dates.")
    if not isinstance(series.index, pd.DatetimeIndex) or series.index.freq is None:
        raise ValueError(
            f"Series '{series.name}' needs a DatetimeIndex with a frequency "
            "(MS for months, W-MON for weeks): build it with planning.forecast.series."
        )
    values = series.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError(
            f"Series '{series.name}' has missing or infinite values: fill the "
            "periods without activity with 0."
        )
    return pd.Series(values, index=series.index, name=series.name)


def datetime_index(series: pd.Series) -> pd.DatetimeIndex:
    """The index of a series to fit, typed as the ``DatetimeIndex`` :func:`check_series` requires.

    Raises
    ------
    ValueError
        If the index is not a ``DatetimeIndex``.
    """
    index = series.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(
            f"Series '{series.name}' needs a DatetimeIndex with a frequency "
            "(MS for months, W-MON for weeks): build it with planning.forecast.series."
        )
    return index


def season_length_of(index: pd.DatetimeIndex) -> int:
    """Periods per year for the index's frequency (12 for months, 52 for weeks, else 1)."""
    freq = index.freqstr
    return 1 if freq is None else SEASON_LENGTH.get(freq, 1)


def future_periods(index: pd.DatetimeIndex, h: int) -> pd.DatetimeIndex:
    """The ``h`` period starts after the last one in ``index``.

    Raises
    ------
    ValueError
        If the index has no frequency.
    """
    freq = index.freq
    if freq is None:
        raise ValueError("Future periods need an index with a frequency (MS or W-MON).")
    return pd.date_range(index[-1] + freq, periods=h, freq=freq)


def z_value(level: int) -> float:
    """Two-sided standard normal quantile for a ``level`` percent interval."""
    return float(stats.norm.ppf(0.5 + level / 200))


def forecast_frame(
    series_name: object,
    periods: pd.DatetimeIndex,
    model: str,
    mean: np.ndarray,
    bounds: dict[int, tuple[np.ndarray, np.ndarray]],
    levels: Sequence[int],
) -> pd.DataFrame:
    """Assemble the long forecast frame from a mean path and ``{level: (lower, upper)}``."""
    frame = pd.DataFrame(
        {
            SERIES: str(series_name),
            PERIOD: periods,
            MODEL: model,
            MEAN: np.asarray(mean, dtype=np.float64),
        }
    )
    for level in levels:
        lower, upper = bounds[level]
        frame[lo(level)] = np.asarray(lower, dtype=np.float64)
        frame[hi(level)] = np.asarray(upper, dtype=np.float64)
    return frame[forecast_columns(levels)]


def normal_bounds(
    mean: np.ndarray, sigma: np.ndarray, levels: Sequence[int]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Symmetric normal intervals ``mean +- z * sigma`` per level (NaN sigma -> NaN bounds)."""
    return {lv: (mean - z_value(lv) * sigma, mean + z_value(lv) * sigma) for lv in levels}


def run_quietly(fn: Callable[[], _T], notes: list[str]) -> _T:
    """Call ``fn`` with every warning caught and its message appended to ``notes``.

    statsmodels warns about convergence, frequencies and starting values; inside a planning
    run those are facts about a fit worth recording, not messages for the console.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0][:160]}"
        if text not in notes:
            notes.append(text)
    return result


def check_horizon(h: int) -> None:
    if not isinstance(h, (int, np.integer)) or isinstance(h, bool) or h < 1:
        raise ValueError(f"The horizon must be a whole number of periods, 1 or more; got {h!r}.")


class _Base:
    """Shared state of the wrappers: the series, what was used and why."""

    name = "base"

    def __init__(self) -> None:
        self.used = self.name
        self.notes: tuple[str, ...] = ()
        self.residuals = np.zeros(0)
        self._y: pd.Series | None = None

    @property
    def y(self) -> pd.Series:
        if self._y is None:
            raise RuntimeError(f"{type(self).__name__}.fit must be called before forecast.")
        return self._y

    def forecast(self, h: int, levels: Sequence[int] = LEVELS) -> pd.DataFrame:
        """The long forecast frame for the ``h`` periods after the fitted series."""
        mean, bounds = self.forecast_arrays(h, levels)
        return forecast_frame(
            self.y.name, future_periods(datetime_index(self.y), h), self.name, mean, bounds, levels
        )

    def forecast_arrays(self, h: int, levels: Sequence[int] = LEVELS) -> Bounds:
        """``(mean, {level: (lower, upper)})`` as arrays: what the backtest loops over."""
        raise NotImplementedError


class Naive(_Base):
    """Last value carried forward; intervals from the series' own ``h``-step changes.

    The ``h``-step interval uses the root mean square of the observed changes over ``h``
    periods when at least :data:`MIN_ERRORS` exist, else the one-step RMS times ``sqrt(h)``
    (a random walk); with fewer than two values the interval is unknown (NaN). A constant
    series gets a zero-width interval.
    """

    name = "naive"

    def fit(self, series: pd.Series) -> Naive:
        y = check_series(series)
        if y.empty:
            raise ValueError(f"Series '{series.name}' is empty: nothing to forecast.")
        self._y, self.used = y, "naive"
        values = y.to_numpy()
        self.residuals = np.r_[np.nan, np.diff(values)]
        if len(y) < 2:
            self.notes = (*self.notes, "one value only: the interval cannot be estimated")
        return self

    def forecast_arrays(self, h: int, levels: Sequence[int] = LEVELS) -> Bounds:
        check_horizon(h)
        values = self.y.to_numpy()
        mean = np.full(h, values[-1])
        sigma = np.array(
            [
                _lag_rms(values, step, fallback_lag=1, fallback_scale=math.sqrt(step))
                for step in range(1, h + 1)
            ]
        )
        return mean, normal_bounds(mean, sigma, levels)


class SeasonalNaive(_Base):
    """The value one season earlier; falls back to :class:`Naive` within the first season.

    Step ``j`` repeats the value ``m * (k + 1)`` periods back (``k = (j - 1) // m``). Its
    interval uses the RMS of the series' own changes over that lag when at least
    :data:`MIN_ERRORS` exist, else the one-season RMS times ``sqrt(k + 1)`` (FPP3 table 5.2).
    RMS rather than standard deviation keeps a trend's systematic error inside the interval.
    """

    name = "seasonal_naive"

    def __init__(self, season_length: int | None = None) -> None:
        super().__init__()
        self.season_length = season_length
        self._fallback: Naive | None = None

    def fit(self, series: pd.Series) -> SeasonalNaive:
        y = check_series(series)
        m = self.season_length or season_length_of(datetime_index(y))
        self._y, self._m, self._fallback = y, m, None
        if len(y) < m + 1 or m < 2:
            reason = (
                f"{len(y)} periods: seasonal naive needs more than one season ({m})"
                if m >= 2
                else "no seasonal period for this frequency"
            )
            self._fallback = Naive().fit(y)
            self.used, self.notes = "naive", (reason, *self._fallback.notes)
            self.residuals = self._fallback.residuals
            return self
        values = y.to_numpy()
        self.used, self.notes = f"seasonal naive (m={m})", ()
        self.residuals = np.r_[np.full(m, np.nan), values[m:] - values[:-m]]
        return self

    def forecast_arrays(self, h: int, levels: Sequence[int] = LEVELS) -> Bounds:
        check_horizon(h)
        if self._fallback is not None:
            return self._fallback.forecast_arrays(h, levels)
        values, m = self.y.to_numpy(), self._m
        steps = np.arange(1, h + 1)
        k = (steps - 1) // m
        mean = values[len(values) - m + (steps - 1) % m]
        sigma = np.array(
            [
                _lag_rms(
                    values, int(m * (kk + 1)), fallback_lag=m, fallback_scale=math.sqrt(kk + 1)
                )
                for kk in k
            ]
        )
        return mean, normal_bounds(mean, sigma, levels)


MIN_ERRORS: Final = 8  # changes at a lag needed to estimate that lag's error spread directly


def _lag_rms(values: np.ndarray, lag: int, *, fallback_lag: int, fallback_scale: float) -> float:
    """RMS of ``values[t] - values[t - lag]``; else scaled RMS at ``fallback_lag``; else NaN."""
    if len(values) - lag >= MIN_ERRORS:
        return _rms(values[lag:] - values[:-lag])
    if len(values) > fallback_lag:
        return _rms(values[fallback_lag:] - values[:-fallback_lag]) * fallback_scale
    return math.nan


def _rms(errors: np.ndarray) -> float:
    return float(np.sqrt(np.mean(errors**2)))


def fallback_forecaster(series: pd.Series, reason: str, notes: Sequence[str] = ()) -> _Base:
    """Seasonal naive (or naive within the first season) with ``reason`` recorded first."""
    fitted = SeasonalNaive().fit(series)
    fitted.notes = (reason, *notes, *fitted.notes)
    return fitted


def trivial_reason(y: pd.Series) -> str | None:
    """Why a series is too poor for any estimated model, or None if it is fine."""
    values = y.to_numpy()
    if len(values) and not values.any():
        return "all values are zero"
    if len(values) and np.ptp(values) == 0:
        return "the series is constant"
    return None
