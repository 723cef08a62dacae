"""Pooled seasonality: a segment's forecast with the seasonal pattern of the whole company.

Two or three years of one segment's history hold two or three observations of each month:
a seasonal index estimated from them carries most of a month's noise into every forecast of
that month, which is why per-segment seasonal models gain little over repeating last year.
Segments of one company usually share its calendar (the holiday peak, the summer dip), and the
company total, summed over every segment, estimates that pattern with far less noise. The
*group seasonal indices* method (Withycombe 1989; Dekker, van Donselaar & Ouwehand 2004;
Chen & Boylan 2007) takes the indices from the group and the level from the series itself:

1. the reference series (the company total), up to the same last period as the segment and
   never later, is decomposed multiplicatively by classical decomposition (a centred moving
   average of one season, statsmodels ``seasonal_decompose``), which needs two full seasons
   of strictly positive values;
2. the segment is divided by those indices, and its seasonally adjusted series is forecast
   without seasonality;
3. that forecast and its interval bounds are multiplied back by the indices of the forecast
   periods.

Three candidates differ only in step 2, because an adjusted segment can drift (customers won
and lost, prices rising) as well as wander:

- ``pooled_seasonal`` (:class:`PooledSeasonal`): a flat level by simple exponential smoothing,
  ETS(A,N,N), its weight chosen on a grid by the in-sample one-step squared error (Gardner
  1985); intervals ``sigma^2 (1 + (h - 1) alpha^2)`` on the adjusted scale (Hyndman et al.
  2008, table 6.1), ``sigma`` the RMS of the adjusted one-step errors;
- ``pooled_theta``: the Theta method, SES with drift (:class:`planning.forecast.models.Theta`,
  non-seasonal);
- ``pooled_damped``: exponential smoothing with a damped trend, ETS(A,Ad,N)
  (:class:`planning.forecast.models.ETS` with that form; Gardner & McKenzie 1985), a trend
  that flattens out rather than running on.

Whether a segment shares the company's pattern is not assumed: the candidates enter the
rolling-origin backtest beside the segment's own models
(:func:`planning.forecast.backtest.add_candidate`), and are used only when their held-out error
earns it.

References
----------
Withycombe, R. (1989). Forecasting with combined seasonal indices. International Journal of
    Forecasting 5(4), 547-552.
Dekker, M., van Donselaar, K. & Ouwehand, P. (2004). How to use aggregation and combined
    seasonal indices to improve forecasts of seasonal items. International Journal of
    Production Economics 90(2), 151-167.
Chen, H. & Boylan, J. E. (2007). Use of individual and group seasonal indices in subaggregate
    demand forecasting. Journal of the Operational Research Society 58(12), 1660-1671.
Gardner, E. S. (1985). Exponential smoothing: the state of the art. Journal of Forecasting
    4(1), 1-28.
Gardner, E. S. & McKenzie, E. (1985). Forecasting trends in time series. Management Science
    31(10), 1237-1246.
Hyndman, R. J., Koehler, A. B., Ord, J. K. & Snyder, R. D. (2008). *Forecasting with
    Exponential Smoothing: The State Space Approach.* Springer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import seasonal_decompose

from planning.forecast.base import (
    LEVELS,
    Bounds,
    _Base,
    check_horizon,
    check_series,
    datetime_index,
    fallback_forecaster,
    future_periods,
    normal_bounds,
    run_quietly,
    season_length_of,
)
from planning.forecast.models import ETS, Theta

NAME: Final = "pooled_seasonal"
POOLED_MODELS: Final = (NAME, "pooled_theta", "pooled_damped")  # in the order they are added
ALPHAS: Final = np.round(np.arange(0.05, 1.0001, 0.05), 2)  # SES smoothing weights tried
INIT_PERIODS: Final = 6  # the initial level: mean of the first adjusted periods


class NoProfile(ValueError):
    """The reference cannot give a seasonal profile for this series; the message says why."""


def seasonal_profile(reference: pd.Series, season: int) -> np.ndarray:
    """The ``season`` multiplicative indices of ``reference``, first period's position first.

    Index ``k`` belongs to every period ``k + j * season`` periods after the reference's first.
    The indices are normalised to average 1, so dividing by them keeps a year's level.

    Raises
    ------
    NoProfile
        Fewer than two full seasons, or a value that is not strictly positive.
    """
    values = reference.to_numpy(dtype=np.float64)
    if season < 2:
        raise NoProfile("this frequency has no seasonal period")
    if len(values) < 2 * season:
        raise NoProfile(
            f"the company total has {len(values)} periods; pooled seasonal "
            f"indices need two full seasons ({2 * season})"
        )
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise NoProfile(
            "the company total has periods without revenue, so multiplicative "
            "seasonal indices cannot be estimated"
        )
    decomposed = run_quietly(
        lambda: seasonal_decompose(values, model="multiplicative", period=season), []
    )
    indices = np.asarray(decomposed.seasonal[:season], dtype=np.float64)
    return indices / indices.mean()


def steps_between(start: pd.Timestamp, later: pd.DatetimeIndex, freq: str | None) -> np.ndarray:
    """Whole periods from ``start`` to each of ``later``: months for ``MS``, else weeks."""
    if freq == "MS":
        return np.asarray((later.year - start.year) * 12 + (later.month - start.month))
    return np.asarray((later - start).days // 7)


def ses_grid(adjusted: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Simple exponential smoothing with the weight of least in-sample one-step squared error.

    Returns
    -------
    (alpha, level, errors)
        The chosen weight, the level after the last value, and the one-step errors
        (the first ``INIT_PERIODS`` are NaN: they set the initial level).
    """
    n = len(adjusted)
    init = float(adjusted[: min(INIT_PERIODS, n)].mean())
    levels = np.full(len(ALPHAS), init)
    errors = np.full((len(ALPHAS), n), np.nan)
    for t in range(n):
        e = adjusted[t] - levels
        if t >= min(INIT_PERIODS, n - 1):
            errors[:, t] = e
        levels = levels + ALPHAS * e
    sse = np.nansum(errors**2, axis=1)
    best = int(np.argmin(sse))
    return float(ALPHAS[best]), float(levels[best]), errors[best]


class PooledSeasonal(_Base):
    """Group seasonal indices from a reference series, level by SES (see the module notes).

    ``reference`` is the company total (or any series on the same calendar); :meth:`fit` uses
    it only up to the fitted series' last period, so a backtest origin never sees later data.
    A series the method cannot serve falls back to seasonal naive with the reason recorded.
    """

    name = NAME

    def __init__(
        self,
        reference: pd.Series,
        season_length: int | None = None,
        *,
        profiles: dict | None = None,
    ) -> None:
        super().__init__()
        self.reference = reference
        self.season_length = season_length
        self._profiles = profiles  # shared by the segments of one run: one estimate per origin
        self._fallback: _Base | None = None

    @property
    def fell_back(self) -> bool:
        """True when :meth:`fit` could not estimate company indices and used seasonal naive."""
        return self._fallback is not None

    def fit(self, series: pd.Series) -> PooledSeasonal:
        y = check_series(series)
        if y.empty:
            raise ValueError(f"Series '{series.name}' is empty: nothing to forecast.")
        periods = datetime_index(y)
        m = self.season_length or season_length_of(periods)
        self._y, self._m, self._fallback = y, m, None
        reference = self.reference[self.reference.index <= periods[-1]]
        try:
            if (
                not len(reference)
                or not isinstance(reference.index, pd.DatetimeIndex)
                or reference.index.freqstr != periods.freqstr
            ):
                raise NoProfile("the company total is not on the same calendar")
            profile = self._profile_of(reference, m)
        except NoProfile as exc:
            self._fallback = fallback_forecaster(y, f"pooled seasonal indices: {exc}")
            self.used, self.notes = self._fallback.used, self._fallback.notes
            self.residuals = self._fallback.residuals
            return self
        self._start, self._profile = reference.index[0], profile
        index = self._indices(periods)
        errors = self._fit_level(pd.Series(y.to_numpy() / index, index=periods, name=y.name))
        self.residuals = errors * index
        return self

    def _fit_level(self, adjusted: pd.Series) -> np.ndarray:
        """Fit the seasonally adjusted series; set ``used`` and ``notes``; its one-step errors."""
        self._alpha, self._level, errors = ses_grid(adjusted.to_numpy())
        finite = errors[np.isfinite(errors)]
        self._sigma = float(np.sqrt(np.mean(finite**2))) if finite.size else float("nan")
        self.used = f"pooled seasonal (company indices, SES alpha={self._alpha:.2f})"
        self.notes = ()
        return errors

    def _level_arrays(self, h: int, levels: Sequence[int]) -> Bounds:
        """The adjusted series' forecast and bounds, ``h`` periods on."""
        mean = np.full(h, self._level)
        sigma = self._sigma * np.sqrt(1 + np.arange(h) * self._alpha**2)
        return mean, normal_bounds(mean, sigma, levels)

    def _profile_of(self, reference: pd.Series, m: int) -> np.ndarray:
        """The reference's indices, from ``profiles`` when another segment already had them."""
        if self._profiles is None:
            return seasonal_profile(reference, m)
        key = (id(self.reference), len(reference), m)
        if key not in self._profiles:
            try:
                self._profiles[key] = seasonal_profile(reference, m)
            except NoProfile as exc:
                self._profiles[key] = exc
        found = self._profiles[key]
        if isinstance(found, NoProfile):
            raise found
        return found

    def _indices(self, periods: pd.DatetimeIndex) -> np.ndarray:
        steps = steps_between(self._start, periods, datetime_index(self.y).freqstr)
        return self._profile[np.mod(steps, self._m)]

    def forecast_arrays(self, h: int, levels: Sequence[int] = LEVELS) -> Bounds:
        check_horizon(h)
        if self._fallback is not None:
            return self._fallback.forecast_arrays(h, levels)
        index = self._indices(future_periods(datetime_index(self.y), h))
        mean, bounds = self._level_arrays(h, levels)
        return mean * index, {lv: (low * index, high * index) for lv, (low, high) in bounds.items()}


class PooledModel(PooledSeasonal):
    """Company seasonal indices with one of the project's own models, non-seasonal, on the
    adjusted series: ``theta`` (SES with drift) or ``damped`` (ETS(A,Ad,N)).

    When that model cannot be fitted on the adjusted series it falls back, and so does this
    candidate (:attr:`fell_back`), with the reason recorded.
    """

    LABELS: Final = {"theta": "Theta", "damped": "ETS(A,Ad,N)"}

    def __init__(
        self,
        reference: pd.Series,
        inner: str,
        season_length: int | None = None,
        *,
        profiles: dict | None = None,
    ) -> None:
        if inner not in self.LABELS:
            raise ValueError(f"Unknown level model '{inner}': use one of {', '.join(self.LABELS)}.")
        super().__init__(reference, season_length, profiles=profiles)
        self.inner = inner
        self.name = f"pooled_{inner}"
        self._model: Theta | ETS | None = None

    @property
    def fell_back(self) -> bool:
        return super().fell_back or getattr(self._model, "_fallback", None) is not None

    def _fit_level(self, adjusted: pd.Series) -> np.ndarray:
        model = (
            Theta(season_length=1)
            if self.inner == "theta"
            else ETS(season_length=1, form=("add", "add", True))
        )
        fitted = model.fit(adjusted)
        self._model = fitted
        self.used = f"pooled seasonal (company indices, {fitted.used})"
        self.notes = tuple(fitted.notes)
        return np.asarray(fitted.residuals, dtype=np.float64)

    def _level_arrays(self, h: int, levels: Sequence[int]) -> Bounds:
        if self._model is None:
            raise RuntimeError(f"{type(self).__name__}.fit must be called before forecast.")
        return self._model.forecast_arrays(h, levels)


def make_pooled(name: str, reference: pd.Series, *, profiles: dict | None = None) -> PooledSeasonal:
    """The pooled candidate called ``name`` (one of :data:`POOLED_MODELS`) on ``reference``."""
    if name == NAME:
        return PooledSeasonal(reference, profiles=profiles)
    if name not in POOLED_MODELS:
        raise ValueError(f"Unknown pooled model '{name}': use one of {', '.join(POOLED_MODELS)}.")
    return PooledModel(reference, name.removeprefix("pooled_"), profiles=profiles)
