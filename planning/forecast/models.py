"""The statsmodels forecasters behind :class:`planning.forecast.base.Forecaster`: ETS, SARIMAX,
Theta.

Each wrapper chooses its own form on the data it is given and nothing else:

- :class:`ETS` fits every admissible exponential-smoothing form (additive or multiplicative
  error and seasonality, none / additive / damped trend; multiplicative only for strictly
  positive data, and never additive error with multiplicative seasonality, whose forecast
  variance is infinite — Hyndman et al. 2008, section 15.1) with statsmodels ``ETSModel`` and
  keeps the lowest AICc. Initial states use the heuristic of Hyndman et al. (2008, section
  2.6.1), so AICc counts only the smoothing parameters; seasonal forms need two full seasons.
- :class:`ARIMA` picks the differencing first — a seasonal difference when the STL seasonal
  strength exceeds 0.64 (Wang, Smith & Hyndman 2006, the rule of ``forecast::nsdiffs``), a
  first difference when KPSS rejects level stationarity at 5% — then searches a small grid of
  SARIMAX orders with the same differencing by AICc, with a constant or drift when at most one
  difference is taken.
- :class:`Theta` is statsmodels ``ThetaModel`` (Hyndman & Billah 2003), deseasonalised
  (classical decomposition) when two full seasons exist and the STL seasonal strength exceeds
  0.64, the same rule as ARIMA's seasonal difference.

A series these cannot handle falls back to :func:`planning.forecast.base.fallback_forecaster`
with the reason recorded.

References
----------
Hyndman, R. J., Koehler, A. B., Ord, J. K. & Snyder, R. D. (2008). *Forecasting with
    Exponential Smoothing: The State Space Approach.* Springer.
Wang, X., Smith, K. A. & Hyndman, R. J. (2006). Characteristic-based clustering for time
    series data. Data Mining and Knowledge Discovery 13(3), 335-364.
Hyndman, R. J. & Billah, B. (2003). Unmasking the Theta method. International Journal of
    Forecasting 19(2), 287-290.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any, Final, Literal, Self

import numpy as np
import pandas as pd
from statsmodels.tsa.arima_process import arma2ma
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.statespace.sarimax import SARIMAX
from statsmodels.tsa.stattools import kpss

from planning.forecast.base import (
    LEVELS,
    Bounds,
    Forecaster,
    Naive,
    SeasonalNaive,
    _Base,
    check_horizon,
    check_series,
    datetime_index,
    fallback_forecaster,
    normal_bounds,
    run_quietly,
    season_length_of,
    trivial_reason,
)

ETS_MIN_POINTS: Final = 10  # the heuristic initialisation needs ten observations
ARIMA_MIN_POINTS: Final = 8
THETA_MIN_POINTS: Final = 4
MAX_SEASONAL_ARIMA: Final = 13  # a 52-week seasonal ARMA is too slow and too long to fit
SIMULATIONS: Final = 1000  # ETS forms without closed-form intervals are simulated


class _Wrapper(_Base):
    """A statsmodels model with the fallback to seasonal naive built in."""

    def __init__(self, season_length: int | None = None, *, seed: int = 0) -> None:
        super().__init__()
        self.season_length = season_length
        self.seed = seed
        self._fallback: _Base | None = None
        self._signature: tuple = ()

    def _start(self, series: pd.Series, min_points: int) -> tuple[pd.Series, int, str | None]:
        """The checked series, its season length, and why it is too poor to fit (or None)."""
        y = check_series(series)
        m = self.season_length or season_length_of(datetime_index(y))
        reason = trivial_reason(y) or (
            f"{len(y)} periods, needs {min_points}" if len(y) < min_points else None
        )
        return y, m, reason

    def _fall_back(self, y: pd.Series, reason: str, notes: Sequence[str] = ()) -> Self:
        self._y, self._fallback = y, fallback_forecaster(y, f"{self.name}: {reason}", notes)
        self.used, self.notes = self._fallback.used, self._fallback.notes
        self.residuals = self._fallback.residuals
        return self

    def forecast_arrays(self, h: int, levels: Sequence[int] = LEVELS) -> Bounds:
        check_horizon(h)
        if self._fallback is not None:
            return self._fallback.forecast_arrays(h, levels)
        return self._model_arrays(h, levels)

    def _model_arrays(self, h: int, levels: Sequence[int]) -> Bounds:
        raise NotImplementedError


# --------------------------------------------------------------------------- ETS


def _ets_form(
    error: str, trend: str | None, damped: bool, season: str | None, m: int
) -> dict[str, Any]:
    return dict(
        error=error,
        trend=trend,
        damped_trend=damped,
        seasonal=season,
        seasonal_periods=m if season else None,
    )


def _ets_seasons(y: np.ndarray, m: int) -> list[str | None]:
    positive = bool((y > 0).all())
    if m < 2 or len(y) < 2 * m:
        return [None]
    return [None, "add"] + (["mul"] if positive else [])


def _ets_errors(y: np.ndarray, season: str | None) -> list[str]:
    if season == "mul":
        return ["mul"]  # additive error with multiplicative seasonality is excluded
    return ["add"] + (["mul"] if (y > 0).all() else [])


_TRENDS: Final = ((None, False), ("add", False), ("add", True))


def _ets_label(form: dict[str, Any]) -> str:
    trend = "N" if form["trend"] is None else "Ad" if form["damped_trend"] else "A"
    season = {None: "N", "add": "A", "mul": "M"}[form["seasonal"]]
    return f"ETS({form['error'][0].upper()},{trend},{season})"


class ETS(_Wrapper):
    """Exponential smoothing with the form chosen by AICc (see the module notes).

    The search is stepwise, as ``auto.arima``'s is: the seasonal component first (``ANN``,
    ``ANA``, ``MNM``), then every admissible error and trend with that seasonality — at most 8
    fits instead of 15, which matters when dozens of series are backtested. Every form is
    estimated on ``y / max|y|``: the optimiser converges faster near unit scale,
    and rescaling shifts every form's log-likelihood by the same constant, so AICc still ranks
    them the same. Only the winner's results object is built.
    """

    name = "ets"

    def __init__(
        self,
        season_length: int | None = None,
        *,
        seed: int = 0,
        form: tuple[str, str | None, bool] | None = None,
    ) -> None:
        """``form`` ``(error, trend, damped)`` fits that one non-seasonal form instead of
        choosing by AICc, e.g. ``("add", "add", True)`` for ETS(A,Ad,N)."""
        super().__init__(season_length, seed=seed)
        self.form = form

    def fit(self, series: pd.Series) -> ETS:
        y, m, reason = self._start(series, ETS_MIN_POINTS)
        if reason:
            return self._fall_back(y, reason)
        scale = float(np.abs(y).max())
        # A RangeIndex: statsmodels' prediction needs a pandas index, dates only cost time.
        x = pd.Series(y.to_numpy() / scale)
        values = x.to_numpy()
        tried: dict[str, tuple[float, dict[str, Any], Any, np.ndarray, list[str]]] = {}
        failures = 0

        def attempt(form: dict[str, Any]) -> float:
            nonlocal failures
            label = _ets_label(form)
            if label not in tried:
                notes: list[str] = []
                try:
                    model = ETSModel(x, initialization_method="heuristic", **form)
                    params = run_quietly(lambda: model.fit(disp=False, return_params=True), notes)
                    aicc = _aicc(float(model.loglike(params)), len(params) + 1, len(x))
                except (ValueError, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
                    failures += 1
                    aicc, model, params = np.inf, None, np.zeros(0)
                tried[label] = (aicc, form, model, params, notes)
            return tried[label][0]

        if self.form is not None:
            attempt(_ets_form(*self.form, None, m))
        else:
            seasons = _ets_seasons(values, m)
            season = min(
                seasons,
                key=lambda se: attempt(
                    _ets_form("mul" if se == "mul" else "add", None, False, se, m)
                ),
            )
            for error in _ets_errors(values, season):
                for trend, damped in _TRENDS:
                    attempt(_ets_form(error, trend, damped, season, m))
        aicc, form, model, params, best_notes = min(tried.values(), key=lambda t: t[0])
        if not np.isfinite(aicc):
            return self._fall_back(y, f"none of {len(tried)} forms could be fitted")
        try:
            res = run_quietly(lambda: model.smooth(params), best_notes)
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError) as exc:
            return self._fall_back(y, f"{_ets_label(form)} could not be filtered ({exc})")
        self._adopt(y, form, res, params, scale, _ets_signature(y, m))
        self.notes = tuple(best_notes) + (
            (f"{failures} of {len(tried)} forms failed",) if failures else ()
        )
        return self

    def _adopt(
        self,
        y: pd.Series,
        form: dict[str, Any],
        res: Any,
        params: np.ndarray,
        scale: float,
        signature: tuple,
    ) -> None:
        self._y, self._fallback, self._form, self._res = y, None, form, res
        self._params, self._scale, self._signature = params, scale, signature
        self.used = _ets_label(form)
        self.residuals = y.to_numpy() - np.asarray(res.fittedvalues) * scale

    def update(self, series: pd.Series) -> ETS:
        """Filter a longer series with the fitted parameters (refit if the form class changed)."""
        y = check_series(series)
        m = self.season_length or season_length_of(datetime_index(y))
        if self._fallback is not None or _ets_signature(y, m) != self._signature:
            return ETS(self.season_length, seed=self.seed, form=self.form).fit(y)
        notes: list[str] = []
        try:
            model = ETSModel(
                pd.Series(y.to_numpy() / self._scale),
                initialization_method="heuristic",
                **self._form,
            )
            res = run_quietly(lambda: model.smooth(self._params), notes)
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
            return ETS(self.season_length, seed=self.seed, form=self.form).fit(y)
        out = ETS(self.season_length, seed=self.seed, form=self.form)
        out._adopt(y, self._form, res, self._params, self._scale, self._signature)
        out.notes = tuple(notes)
        return out

    def _model_arrays(self, h: int, levels: Sequence[int]) -> Bounds:
        n, notes = len(self.y), list(self.notes)
        pred = run_quietly(
            lambda: self._res.get_prediction(
                start=n,
                end=n + h - 1,
                simulate_repetitions=SIMULATIONS,
                rng=np.random.default_rng(self.seed),
            ),
            notes,
        )
        bounds: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for level in levels:
            summary = run_quietly(
                functools.partial(pred.summary_frame, alpha=1 - level / 100), notes
            )
            bounds[level] = (
                summary["pi_lower"].to_numpy() * self._scale,
                summary["pi_upper"].to_numpy() * self._scale,
            )
        return np.asarray(pred.predicted_mean) * self._scale, bounds


def _aicc(llf: float, k: int, n: int) -> float:
    """Akaike's criterion corrected for small samples; inf when ``n <= k + 1``."""
    if not np.isfinite(llf) or n <= k + 1:
        return np.inf
    return -2 * llf + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def _ets_signature(y: pd.Series, m: int) -> tuple:
    """What decides the admissible forms: positivity and whether two seasons exist."""
    return (bool((y > 0).all()), m >= 2 and len(y) >= 2 * m)


# --------------------------------------------------------------------------- ARIMA

SEASONAL_STRENGTH_THRESHOLD: Final = 0.64
_ORDERS: Final = ((0, 0), (1, 0), (0, 1), (1, 1))
ARMA11_MIN_POINTS: Final = 30  # ARMA(1,1) is slow to fit and poorly identified on less


def seasonal_strength(y: np.ndarray, m: int) -> float:
    """STL seasonal strength ``max(0, 1 - Var(R) / Var(S + R))`` (Wang, Smith & Hyndman 2006)."""
    fit = STL(y, period=m, robust=False).fit()
    total = np.var(fit.seasonal + fit.resid)
    return 0.0 if total == 0 else max(0.0, 1.0 - float(np.var(fit.resid)) / float(total))


def _differences(y: np.ndarray, m: int, seasonal: bool) -> tuple[int, int]:
    ignored: list[str] = []  # KPSS warns when its p-value is clipped to the table: expected
    big_d = int(
        seasonal
        and run_quietly(lambda: seasonal_strength(y, m), ignored) > SEASONAL_STRENGTH_THRESHOLD
    )
    z = y[m:] - y[:-m] if big_d else y
    if len(z) < 4 or np.ptp(z) == 0:
        return 0, big_d
    test = run_quietly(lambda: kpss(z, regression="c", nlags="auto", result_object=True), ignored)
    return int(test.pvalue < 0.05), big_d


def _fit_sarimax(y: np.ndarray, scale: float, spec: dict[str, Any]) -> Any:
    """statsmodels' SARIMAX results for the form ``spec`` fitted on ``y / scale``."""
    return SARIMAX(y / scale, **spec).fit(disp=False)


def _difference_polynomial(d: int, big_d: int, m: int) -> np.ndarray:
    """Coefficients (increasing powers of B) of ``(1 - B)^d (1 - B^m)^D``."""
    poly = np.array([1.0])
    for _ in range(d):
        poly = np.convolve(poly, [1.0, -1.0])
    for _ in range(big_d):
        poly = np.convolve(poly, np.r_[1.0, np.zeros(m - 1), -1.0])
    return poly


class ARIMA(_Wrapper):
    """SARIMAX over a small order search by AICc (see the module notes).

    The differences are taken before estimation (``simple_differencing``), which makes each
    fit an order of magnitude faster than carrying them in the state; forecasts and their
    variances are integrated back with the psi-weights of the full model
    ``phi(B) (1 - B)^d (1 - B^m)^D y_t = theta(B) e_t`` (Box & Jenkins, eq. 5.1.16).
    """

    name = "arima"

    def fit(self, series: pd.Series) -> ARIMA:
        y, m, reason = self._start(series, ARIMA_MIN_POINTS)
        if reason:
            return self._fall_back(y, reason)
        seasonal = 2 <= m <= MAX_SEASONAL_ARIMA and len(y) >= 2 * m + 2
        try:
            d, big_d = _differences(y.to_numpy(), m, seasonal)
        except (ValueError, np.linalg.LinAlgError) as exc:
            return self._fall_back(y, f"differencing test failed ({exc})")
        if len(y) - d - big_d * m < ARIMA_MIN_POINTS:
            return self._fall_back(y, f"{len(y)} periods leave too few after differencing")
        seasonal_orders = [(0, 0)]
        if seasonal and len(y) - d - big_d * m >= 3 * m:
            seasonal_orders.append((0, 1) if big_d else (1, 0))
        # Fitted on y / scale: the optimiser is much faster and steadier near unit scale.
        scale = float(np.abs(y).max())
        best: tuple[dict[str, Any], Any] | None = None
        best_notes: list[str] = []
        n_w = len(y) - d - big_d * m
        orders = [o for o in _ORDERS if o != (1, 1) or n_w >= ARMA11_MIN_POINTS]
        for (p, q), (sp, sq) in itertools.product(orders, seasonal_orders):
            spec: dict[str, Any] = dict(
                order=(p, d, q),
                trend="c" if d + big_d <= 1 else "n",
                seasonal_order=(sp, big_d, sq, m) if seasonal else (0, 0, 0, 0),
                simple_differencing=True,
                concentrate_scale=True,
            )
            fit_notes: list[str] = []
            try:
                res = run_quietly(
                    functools.partial(_fit_sarimax, y.to_numpy(), scale, spec), fit_notes
                )
            except (ValueError, np.linalg.LinAlgError):
                continue
            if np.isfinite(res.aicc) and (best is None or res.aicc < best[1].aicc):
                best, best_notes = (spec, res), fit_notes
        if best is None:
            return self._fall_back(y, "no order could be fitted")
        self._adopt(y, best[0], best[1], best_notes, (seasonal,), scale)
        order, s_order = self._spec["order"], self._spec["seasonal_order"]
        drift = {0: " with constant", 1: " with drift"}.get(d + big_d, "")
        self.used = (
            f"ARIMA({order[0]},{order[1]},{order[2]})"
            + (f"({s_order[0]},{s_order[1]},{s_order[2]})[{m}]" if seasonal else "")
            + drift
        )
        return self

    def _adopt(
        self,
        y: pd.Series,
        spec: dict,
        res: Any,
        notes: Sequence[str],
        signature: tuple,
        scale: float,
    ) -> None:
        self._y, self._fallback, self._spec, self._res = y, None, spec, res
        self._scale = scale
        self._signature, self.notes = signature, tuple(notes)
        order, s_order = spec["order"], spec["seasonal_order"]
        self._delta = _difference_polynomial(order[1], s_order[1], max(s_order[3], 1))
        burn = len(self._delta) - 1
        self.residuals = np.r_[
            np.full(burn, np.nan), np.asarray(res.resid, dtype=np.float64) * scale
        ]

    def update(self, series: pd.Series) -> ARIMA:
        """Apply the fitted parameters to a longer series (refit if seasonality became possible)."""
        y = check_series(series)
        m = self.season_length or season_length_of(datetime_index(y))
        seasonal = 2 <= m <= MAX_SEASONAL_ARIMA and len(y) >= 2 * m + 2
        if self._fallback is not None or (seasonal,) != self._signature or trivial_reason(y):
            return ARIMA(self.season_length, seed=self.seed).fit(y)
        notes: list[str] = []
        try:
            res = run_quietly(lambda: self._res.apply(y.to_numpy() / self._scale), notes)
        except (ValueError, np.linalg.LinAlgError):
            return ARIMA(self.season_length, seed=self.seed).fit(y)
        out = ARIMA(self.season_length, seed=self.seed)
        out._adopt(y, self._spec, res, notes, self._signature, self._scale)
        out.used = self.used
        return out

    def _model_arrays(self, h: int, levels: Sequence[int]) -> Bounds:
        notes = list(self.notes)
        w_hat = (
            np.asarray(run_quietly(lambda: self._res.forecast(h), notes), dtype=np.float64)
            * self._scale
        )
        delta = self._delta
        history = self.y.to_numpy()
        path = np.r_[history, np.zeros(h)]
        n = len(history)
        for t in range(n, n + h):  # y_t = w_t + sum_k delta_k y_{t-k}
            path[t] = w_hat[t - n] - np.dot(delta[1:], path[t - 1 :: -1][: len(delta) - 1])
        mean = path[n:]
        ar = np.convolve(np.asarray(self._res.polynomial_ar, dtype=np.float64), delta)
        psi = arma2ma(ar, np.asarray(self._res.polynomial_ma, dtype=np.float64), lags=h)
        sigma = self._scale * np.sqrt(float(self._res.scale) * np.cumsum(psi**2))
        return mean, normal_bounds(mean, sigma, levels)


# --------------------------------------------------------------------------- Theta


class Theta(_Wrapper):
    """statsmodels ``ThetaModel`` (see the module notes).

    Intervals use the variance of the Theta model's integrated-MA form: SES with drift is
    ARIMA(0,1,1) with drift and MA coefficient ``alpha - 1`` (Hyndman & Billah 2003), whose
    h-step error ``e_h + alpha (e_(h-1) + ... + e_1)`` has variance
    ``sigma^2 (1 + (h - 1) alpha^2)`` (Hyndman et al. 2008, table 6.1, ETS(A,N,N)), with
    ``sigma^2`` the mean square of the in-sample one-step errors. statsmodels'
    ``prediction_intervals`` uses ``sigma^2 (1 + (h - 1)(1 + (alpha - 1)^2))`` — one plus the
    MA coefficient squared per step, the variance of the *differenced* series — which for a
    smoothing weight of 0.2 makes the 12-step interval about 3.6 times too wide.
    """

    name = "theta"

    def fit(self, series: pd.Series) -> Theta:
        y, m, reason = self._start(series, THETA_MIN_POINTS)
        if reason:
            return self._fall_back(y, reason)
        notes: list[str] = []
        try:
            # Seasonal when STL finds strong seasonality (the rule ARIMA's seasonal difference
            # uses): statsmodels' own lag-m autocorrelation test rarely fires on two or three
            # noisy seasons, and a non-seasonal Theta misses every seasonal swing.
            deseasonalize = (
                m >= 2
                and len(y) >= 2 * m
                and run_quietly(lambda: seasonal_strength(y.to_numpy(), m), [])
                > SEASONAL_STRENGTH_THRESHOLD
            )
            model = ThetaModel(
                y.to_numpy(), period=max(m, 1), deseasonalize=deseasonalize, use_test=False
            )
            res = run_quietly(model.fit, notes)
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError) as exc:
            return self._fall_back(y, f"fit failed ({exc})")
        self._y, self._fallback, self._res = y, None, res
        # The seasonal indices of the first season (empty when the test found no seasonality);
        # statsmodels keeps them on the results object only.
        season = np.asarray(getattr(res, "_seasonal", np.empty(0)), dtype=np.float64)
        multiplicative = model.method.startswith("mul")
        self.used = "Theta" + (
            f" (deseasonalised, {'multiplicative' if multiplicative else 'additive'})"
            if season.size
            else ""
        )
        self.notes = tuple(notes)
        self.residuals = _theta_residuals(y.to_numpy(), res, season, multiplicative)
        # The one-step error variance from those residuals; statsmodels' own estimate refits an
        # ARIMA(0,1,1) to the raw series, seasonality included, on every results object.
        errors = self.residuals[np.isfinite(self.residuals)]
        self._sigma2 = float(np.mean(errors**2)) if errors.size else np.nan
        return self

    def _model_arrays(self, h: int, levels: Sequence[int]) -> Bounds:
        mean = np.asarray(
            run_quietly(lambda: self._res.forecast(h), list(self.notes)), dtype=np.float64
        )
        alpha = float(self._res.params.iloc[1])
        sigma = np.sqrt((1 + np.arange(h) * alpha**2) * self._sigma2)
        return mean, normal_bounds(mean, sigma, levels)


def _theta_residuals(
    y: np.ndarray, res: Any, season: np.ndarray, multiplicative: bool
) -> np.ndarray:
    """In-sample one-step errors of the Theta forecast (Hyndman & Billah 2003).

    The one-step forecast of period ``t`` is the SES level after ``t - 1`` values plus half
    the trend slope times ``1 / alpha - (1 - alpha)^(t-1) / alpha``, re-seasonalised.
    """
    b0, alpha = float(res.params.iloc[0]), float(res.params.iloc[1])
    if season.size:
        index = np.resize(season, len(y))
        x = y / index if multiplicative else y - index
    else:
        index, x = None, y
    level = np.empty(len(x))
    level[0] = x[0]
    for t in range(1, len(x)):
        level[t] = alpha * x[t] + (1 - alpha) * level[t - 1]
    steps = np.arange(1, len(x))
    drift = 0.5 * b0 * (1 - (1 - alpha) ** steps) / alpha if alpha > 0 else 0.5 * b0 * steps
    one_step = level[:-1] + drift
    if index is not None:
        one_step = one_step * index[1:] if multiplicative else one_step + index[1:]
    return np.r_[np.nan, y[1:] - one_step]


MODELS: Final[dict[str, type]] = {
    "seasonal_naive": SeasonalNaive,
    "naive": Naive,
    "ets": ETS,
    "arima": ARIMA,
    "theta": Theta,
}
ModelName = Literal["seasonal_naive", "naive", "ets", "arima", "theta"]
MODEL_NAMES: Final[tuple[str, ...]] = tuple(MODELS)


def make_forecaster(name: str, season_length: int | None = None, *, seed: int = 0) -> Forecaster:
    """A fresh, unfitted forecaster by model name (one of :data:`MODEL_NAMES`)."""
    if name not in MODELS:
        raise ValueError(f"Unknown model '{name}': use one of {', '.join(MODEL_NAMES)}.")
    if name == "naive":
        return Naive()
    if name == "seasonal_naive":
        return SeasonalNaive(season_length)
    return MODELS[name](season_length, seed=seed)
