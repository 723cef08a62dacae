"""Response curves: what one more dollar of a program buys in one segment.

A cell (segment x program) turns monthly spend into an outcome in the program's unit (new
customers, churn events prevented, incremental revenue, customers won back, churn prevented by
a better service tier). Two saturating families describe it: exponential saturation
``beta * (1 - exp(-s / kappa))``, concave from the first dollar, and the Hill curve
``beta * s^n / (s^n + K^n)``, concave for ``n <= 1`` and S-shaped for ``n > 1`` (a threshold
of spend before the program bites). Each curve gives its value, first and second derivative
and the inverse of its derivative (the spend at which one more dollar returns a given amount),
which is what the equal-marginal-return optimizer needs; parameters may be numpy arrays, so one
curve object evaluates a whole batch of cells or of uncertainty draws at once. A
:class:`ResponseModel` is a curve with its provenance ("calibrated on 24 months", "planner
assumption, 2026-11-03") and the covariance of its log-parameters, from which
:func:`draw_curves` samples for the uncertainty simulation. Calibration from spend history
lives in :mod:`planning.allocation.calibration`.

References
----------
Jin, Y., Wang, Y., Sun, Y., Chan, D. & Koehler, J. (2017). Bayesian Methods for Media Mix
    Modeling with Carryover and Shape Effects. Google Inc. (Hill and exponential shape effects.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal

import numpy as np
import pandas as pd
from scipy import special

Family = Literal["exponential", "hill"]
FAMILIES: Final[tuple[Family, ...]] = ("exponential", "hill")
ArrayLike = float | np.ndarray

_NEWTON_STEPS: Final = 60
# A drawn log-parameter strays at most this far from the estimate (a factor of ~1,100): a
# parameter the data barely identify still gives finite curves.
_MAX_LOG_DEVIATION: Final = 7.0
_TANGENT_STEPS: Final = 200


def _positive(name: str, value: ArrayLike) -> None:
    arr = np.asarray(value, dtype=float)
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        shown = arr if arr.ndim == 0 else f"{int(bad.sum())} values such as {arr[bad].flat[0]}"
        raise ValueError(f"{name} must be a positive finite number, got {shown}.")


@dataclass(frozen=True, eq=False)
class ExponentialCurve:
    """``beta * (1 - exp(-s / kappa))``: ``beta`` the ceiling, ``kappa`` the spend for 63%."""

    beta: ArrayLike
    kappa: ArrayLike
    family: ClassVar[Family] = "exponential"
    PARAMS: ClassVar[tuple[str, ...]] = ("beta", "kappa")

    def __post_init__(self) -> None:
        _positive("beta", self.beta)
        _positive("kappa", self.kappa)

    def value(self, spend: ArrayLike) -> np.ndarray:
        """Expected outcome at ``spend`` (0 or more)."""
        return self.beta * -np.expm1(-np.asarray(spend, dtype=float) / self.kappa)

    def derivative(self, spend: ArrayLike) -> np.ndarray:
        """Outcome per extra dollar at ``spend``."""
        return self.beta / self.kappa * np.exp(-np.asarray(spend, dtype=float) / self.kappa)

    def second_derivative(self, spend: ArrayLike) -> np.ndarray:
        return -self.derivative(spend) / self.kappa

    def inflection(self) -> np.ndarray:
        """Spend where the curve turns concave: 0 for this family."""
        return np.zeros(np.shape(self.beta))

    def inverse_derivative(self, slope: ArrayLike) -> np.ndarray:
        """Spend at which :meth:`derivative` equals ``slope``; 0 if the first dollar returns
        less, infinite if ``slope`` is 0 or less."""
        slope = np.asarray(slope, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = self.kappa * (np.log(self.beta) - np.log(self.kappa) - np.log(slope))
        return np.where(slope <= 0, np.inf, np.maximum(s, 0.0))

    def params(self) -> dict[str, float]:
        return {"beta": float(self.beta), "kappa": float(self.kappa)}

    def with_log_params(self, log_params: np.ndarray) -> ExponentialCurve:
        """The curve at ``exp(log_params)`` (last axis: beta, kappa)."""
        p = np.exp(log_params)
        return ExponentialCurve(p[..., 0], p[..., 1])

    def log_params(self) -> np.ndarray:
        return np.log(np.stack(np.broadcast_arrays(self.beta, self.kappa), axis=-1))


@dataclass(frozen=True, eq=False)
class HillCurve:
    """``beta * s^shape / (s^shape + half_saturation^shape)``; S-shaped when ``shape > 1``."""

    beta: ArrayLike
    half_saturation: ArrayLike
    shape: ArrayLike
    family: ClassVar[Family] = "hill"
    PARAMS: ClassVar[tuple[str, ...]] = ("beta", "half_saturation", "shape")

    def __post_init__(self) -> None:
        _positive("beta", self.beta)
        _positive("half_saturation", self.half_saturation)
        _positive("shape", self.shape)

    def _log_x(self, spend: ArrayLike) -> np.ndarray:
        """``log((s / K)^n)``: the curve is ``beta * expit(log_x)``, stable at any spend."""
        s = np.maximum(np.asarray(spend, dtype=float), 0.0)
        with np.errstate(divide="ignore"):
            return self.shape * (np.log(s) - np.log(self.half_saturation))

    def value(self, spend: ArrayLike) -> np.ndarray:
        return self.beta * special.expit(self._log_x(spend))

    def derivative(self, spend: ArrayLike) -> np.ndarray:
        s = np.maximum(np.asarray(spend, dtype=float), 0.0)
        log_x = self._log_x(s)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = self.beta * self.shape / s * special.expit(log_x) * special.expit(-log_x)
        # At s = 0 the slope is 0 (shape > 1), beta / K (shape = 1) or unbounded (shape < 1).
        at_zero = np.where(
            np.asarray(self.shape) > 1,
            0.0,
            np.where(np.asarray(self.shape) == 1, self.beta / self.half_saturation, np.inf),
        )
        return np.where(s > 0, d, at_zero)

    def second_derivative(self, spend: ArrayLike) -> np.ndarray:
        s = np.maximum(np.asarray(spend, dtype=float), 1e-12)
        n = self.shape
        share = special.expit(self._log_x(s))
        with np.errstate(over="ignore"):  # shape < 1 near 0: as steeply curved as it gets
            return self.derivative(s) / s * ((n - 1.0) - 2.0 * n * share)

    def inflection(self) -> np.ndarray:
        """Spend where the curve turns from convex to concave (0 when ``shape <= 1``)."""
        n = np.asarray(self.shape, dtype=float)
        x = np.maximum(n - 1.0, 0.0) / (n + 1.0)
        return self.half_saturation * x ** (1.0 / n)

    def inverse_derivative(self, slope: ArrayLike) -> np.ndarray:
        """Spend on the concave branch at which :meth:`derivative` equals ``slope``.

        Where no spend beyond the inflection has that slope (``slope`` above the steepest
        slope) the inflection point is returned; where ``slope <= 0``, infinity. Newton's
        method on ``log f'`` against ``log s``, which is concave and decreasing there, started
        right of the root from the power-law bound ``f'(s) <= beta n K^n / s^(n+1)``, so the
        iterates decrease monotonically to the root.
        """
        slope = np.asarray(slope, dtype=float)
        b, k, n = (
            np.asarray(v, dtype=float) for v in (self.beta, self.half_saturation, self.shape)
        )
        b, k, n, slope = np.broadcast_arrays(b, k, n, slope)
        infl = self.inflection() * np.ones_like(slope)
        peak = self.derivative(infl)
        solve = (slope > 0) & (slope < peak)
        out = np.where(slope <= 0, np.inf, infl)
        if not solve.any():
            return out
        b, k, n, m = b[solve], k[solve], n[solve], slope[solve]
        log_m = np.log(m)
        u = (np.log(b * n) + n * np.log(k) - log_m) / (n + 1.0)
        u = np.maximum(u, np.log(np.maximum(infl[solve], 1e-300)))
        log_bn, log_k = np.log(b * n), np.log(k)
        for _ in range(_NEWTON_STEPS):
            log_x = n * (u - log_k)  # in logs throughout: x under- and overflows far out
            h = log_bn - u + log_x - 2.0 * np.logaddexp(0.0, log_x) - log_m
            step = h / ((n - 1.0) - 2.0 * n * special.expit(log_x))
            u = u - step
            if np.max(np.abs(step)) < 1e-11:  # spend to 1e-11 relative
                break
        out[solve] = np.exp(u)
        return out

    def params(self) -> dict[str, float]:
        return {
            "beta": float(self.beta),
            "half_saturation": float(self.half_saturation),
            "shape": float(self.shape),
        }

    def with_log_params(self, log_params: np.ndarray) -> HillCurve:
        p = np.exp(log_params)
        return HillCurve(p[..., 0], p[..., 1], p[..., 2])

    def log_params(self) -> np.ndarray:
        return np.log(
            np.stack(np.broadcast_arrays(self.beta, self.half_saturation, self.shape), axis=-1)
        )


Curve = ExponentialCurve | HillCurve


def make_curve(family: str, params: dict[str, float]) -> Curve:
    """A curve of ``family`` from its parameters by name (as :meth:`params` returns them).

    Raises
    ------
    ValueError
        If the family is unknown, a parameter is missing or extra, or not positive.
    """
    classes: dict[str, type[Curve]] = {"exponential": ExponentialCurve, "hill": HillCurve}
    if family not in classes:
        raise ValueError(f"Unknown curve family '{family}': use one of {', '.join(FAMILIES)}.")
    cls = classes[family]
    names = set(cls.PARAMS)
    if set(params) != names:
        raise ValueError(
            f"A {family} curve takes parameters {', '.join(cls.PARAMS)}; got "
            f"{', '.join(sorted(params)) or 'none'}."
        )
    return cls(**{k: float(params[k]) for k in cls.PARAMS})


def tangent_from(curve: Curve, start: ArrayLike) -> np.ndarray:
    """Where a line from ``(start, f(start))`` touches the curve's concave branch.

    The concave envelope of an S-shaped curve on ``[start, inf)`` is this line up to the
    returned point and the curve beyond it; for a curve already concave at ``start`` the point
    is ``start`` itself. Solved by bisection on ``log s`` (the tangency gap is increasing
    there).
    """
    start = np.asarray(start, dtype=float)
    infl = curve.inflection() * np.ones_like(start)
    out = np.array(start, dtype=float, copy=True)
    todo = start < infl
    if not todo.any():
        return out
    params = [
        np.broadcast_to(np.asarray(getattr(curve, p), dtype=float), start.shape)[todo]
        for p in curve.PARAMS
    ]
    sub = type(curve)(*params)
    s0 = start[todo]
    lo = infl[todo]
    hi = lo * 2.0
    f0 = sub.value(s0)

    def gap(t: np.ndarray) -> np.ndarray:
        return sub.value(t) - f0 - sub.derivative(t) * (t - s0)

    for _ in range(200):  # grow hi until the gap is positive (the tangent point is below)
        short = gap(hi) <= 0
        if not short.any():
            break
        hi = np.where(short, hi * 4.0, hi)
    for _ in range(_TANGENT_STEPS):
        mid = np.sqrt(lo * hi)
        below = gap(mid) <= 0
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        if np.all(hi / lo - 1.0 < 1e-14):
            break
    out[todo] = hi
    return out


@dataclass(frozen=True, eq=False)  # eq=False: the covariance array has no truth value
class ResponseModel:
    """A cell's response curve with where it came from and how sure we are of it.

    ``log_covariance`` is the covariance of the log-parameters (order ``curve.PARAMS``); all
    zeros means no stated uncertainty. ``months`` is the spend history behind a calibrated
    curve (0 for a planner's).
    """

    segment: str
    program: str
    curve: Curve
    source: str
    log_covariance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    months: int = 0
    unit: str = ""

    def __post_init__(self) -> None:
        k = len(self.curve.PARAMS)
        cov = np.asarray(self.log_covariance, dtype=float)
        if cov.size == 0:
            cov = np.zeros((k, k))
        if cov.shape != (k, k) or not np.all(np.isfinite(cov)):
            raise ValueError(
                f"log_covariance of {self.segment} x {self.program} must be a "
                f"finite {k} x {k} matrix."
            )
        cov = (cov + cov.T) / 2
        cov.setflags(write=False)
        object.__setattr__(self, "log_covariance", cov)

    @property
    def family(self) -> Family:
        return self.curve.family

    @property
    def params(self) -> dict[str, float]:
        return self.curve.params()

    def standard_errors(self) -> dict[str, float]:
        """Delta-method standard error of each natural parameter."""
        se_log = np.sqrt(np.clip(np.diag(self.log_covariance), 0.0, None))
        return {
            name: float(value * se)
            for (name, value), se in zip(self.params.items(), se_log, strict=True)
        }

    def intervals(self, level: float = 0.9) -> dict[str, tuple[float, float]]:
        """Equal-tailed intervals of each parameter, normal in log-parameter space."""
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + level / 2))
        # Clipped at e^700 so a parameter the data say nothing about reads (0, inf).
        half = np.minimum(z * np.sqrt(np.clip(np.diag(self.log_covariance), 0.0, None)), 700.0)
        return {
            name: (float(np.exp(np.log(value) - h)), float(np.exp(min(np.log(value) + h, 709.0))))
            for (name, value), h in zip(self.params.items(), half, strict=True)
        }


def planner_curve(
    segment: str,
    program: str,
    family: str,
    params: dict[str, float],
    *,
    on: dt.date,
    note: str = "",
    level_cv: float = 0.25,
    unit: str = "",
) -> ResponseModel:
    """A curve set by a planner, with its source kept ("planner assumption, 2026-11-03").

    Parameters
    ----------
    segment, program
        The cell.
    family, params
        See :func:`make_curve`.
    on
        When the planner stated it.
    note
        Why, shown after the date.
    level_cv
        Uncertainty of the ceiling ``beta`` as a coefficient of variation (0 for none); the
        other parameters are taken as given.

    Raises
    ------
    ValueError
        If the curve is invalid or ``level_cv`` is negative.
    """
    if not (np.isfinite(level_cv) and level_cv >= 0):
        raise ValueError(f"level_cv must be 0 or more, got {level_cv}.")
    curve = make_curve(family, params)
    cov = np.zeros((len(curve.PARAMS),) * 2)
    cov[0, 0] = np.log1p(level_cv**2)
    source = f"planner assumption, {on:%Y-%m-%d}" + (f": {note}" if note else "")
    return ResponseModel(segment, program, curve, source, cov, 0, unit)


def draw_curves(model: ResponseModel, z: np.ndarray) -> Curve:
    """The model's curve at ``len(z)`` parameter draws (one curve with array parameters).

    ``z`` holds standard normal rows (draws x parameters); log-parameters are
    ``log theta + L z`` with ``L`` a square root of ``log_covariance``, so the same ``z``
    gives the same quantiles of every model (common random numbers).
    """
    cov = model.log_covariance
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    deviation = np.asarray(z, dtype=float) @ root.T
    # Shrink a draw as a whole (keeping the parameters' correlation) when any part strays
    # beyond the limit.
    largest = np.max(np.abs(deviation), axis=-1, keepdims=True)
    deviation = deviation * np.minimum(1.0, _MAX_LOG_DEVIATION / np.maximum(largest, 1e-300))
    log_params = model.curve.log_params() + deviation
    return model.curve.with_log_params(log_params)


def response_band(
    model: ResponseModel, spend: ArrayLike, *, level: float = 0.9, draws: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise equal-tailed band of the expected outcome at ``spend`` over parameter draws.

    Returns
    -------
    (low, high)
        Arrays shaped like ``spend``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    z = np.random.default_rng(seed).standard_normal((draws, 1, len(model.curve.PARAMS)))
    curves = draw_curves(model, z)  # parameters shaped (draws, 1)
    s = np.asarray(spend, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.reshape(curves.value(s.reshape(1, -1)), (draws, *s.shape))
    low, high = np.nanquantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return low, high


def curve_table(
    model: ResponseModel, top: float, *, points: int = 121, level: float = 0.8
) -> pd.DataFrame:
    """The curve from 0 to ``top`` with its uncertainty band, for charts.

    Returns
    -------
    DataFrame
        ``spend, outcome, low, high`` (``points`` rows; the band covers ``level``).
    """
    spend = np.linspace(0.0, max(float(top), 1.0), points)
    low, high = response_band(model, spend, level=level, draws=500)
    return pd.DataFrame(
        {"spend": spend, "outcome": model.curve.value(spend), "low": low, "high": high}
    )
