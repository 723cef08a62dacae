"""Calibration: response curves fitted to a company's own program spend history.

Each segment x program cell's monthly (spend, outcome) pairs are fitted with both curve
families by nonlinear least squares in log-parameter space (scipy's trust-region reflective
``least_squares`` with analytic Jacobians), the family with the lower AIC is kept, and its
parameter covariance comes from the Gauss-Newton information matrix. Outcomes are noisy in
proportion to their size, so the fit is quasi-likelihood: iteratively reweighted least squares
with variance ``phi * mu^p``, ``p = 1`` for counts (customers, churn events: Poisson-like) and
``p = 2`` for money (incremental revenue: constant coefficient of variation), ``phi``
estimated from the residuals (McCullagh & Nelder 1989, ch. 9). The AIC is that of the Gaussian
likelihood with this variance. A cell needs ``min_months`` months with an outcome and some
variation in spend; others are reported with the reason and left to a planner's assumption.

References
----------
McCullagh, P. & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import optimize, special
from sqlalchemy.engine import Engine

from planning.allocation.response import FAMILIES, Curve, ExponentialCurve, HillCurve, ResponseModel
from planning.core import columns as C
from planning.store import schema

PROGRAM_UNITS: Final = {
    "acquisition": "new customers per month",
    "retention": "churn events prevented per month",
    "cross_sell": "incremental revenue per month",
    "win_back": "dormant customers returning per month",
    "service_tier": "churn events prevented per month",
}
# Outcome variance grows like mean^p: counts are Poisson-like, money has a constant CV.
VARIANCE_POWER: Final = {"cross_sell": 2.0}
DEFAULT_VARIANCE_POWER: Final = 1.0
MIN_MONTHS: Final = 8
MIN_MONTHS_WITH_OUTCOME: Final = 5
_IRLS_ROUNDS: Final = 4
_HILL_SHAPES: Final = (0.8, 1.5, 2.5)
_SHAPE_BOUNDS: Final = (0.3, 6.0)


@dataclass(frozen=True, eq=False)
class CurveFit:
    """One family fitted to one cell: the curve, log-parameter covariance, AIC, months."""

    curve: Curve
    log_covariance: np.ndarray
    aic: float
    months: int
    dispersion: float


@dataclass(frozen=True)
class SkippedCell:
    """A cell that could not be calibrated, and why (shown to the planner)."""

    segment: str
    program: str
    reason: str


@dataclass(frozen=True)
class Calibration:
    """Calibrated models per cell, and the cells left for a planner's assumption."""

    models: tuple[ResponseModel, ...]
    skipped: tuple[SkippedCell, ...]

    def model(self, segment: str, program: str) -> ResponseModel | None:
        return next((m for m in self.models if m.segment == segment and m.program == program), None)


def load_spend_history(engine: Engine, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """Program spend history from the store, months up to ``as_of``.

    Returns
    -------
    DataFrame
        ``month, segment, program, spend, outcome`` ordered by segment, program, month.
    """
    t = schema.ProgramSpend.__table__
    query = sa.select(t.c.month, t.c.segment, t.c.program, t.c.spend, t.c.outcome)
    if as_of is not None:
        query = query.where(t.c.month <= as_of)
    query = query.order_by(t.c.segment, t.c.program, t.c.month)
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    frame[C.MONTH] = pd.to_datetime(frame[C.MONTH])
    frame[C.SPEND] = frame[C.SPEND].astype(float)
    frame[C.OUTCOME] = frame[C.OUTCOME].astype(float)
    return frame


def _jacobian(curve: Curve, spend: np.ndarray) -> np.ndarray:
    """d mean / d log-parameters, rows per observation."""
    mu = curve.value(spend)
    if isinstance(curve, ExponentialCurve):
        decay = np.exp(-spend / curve.kappa)
        return np.stack([mu, -curve.beta * decay * spend / curve.kappa], axis=1)
    log_x = curve._log_x(spend)
    # d mu / d log x = beta x / (1 + x)^2; log x moves by -n per log K and by log x per log n.
    slope = np.where(spend > 0, curve.beta * special.expit(log_x) * special.expit(-log_x), 0.0)
    finite_log_x = np.where(spend > 0, log_x, 0.0)
    return np.stack([mu, -curve.shape * slope, finite_log_x * slope], axis=1)


def _make(family: str, theta: np.ndarray) -> Curve:
    p = np.exp(theta)
    return ExponentialCurve(*p) if family == "exponential" else HillCurve(*p)


def fit_curve(
    spend: np.ndarray,
    outcome: np.ndarray,
    family: str,
    *,
    variance_power: float = DEFAULT_VARIANCE_POWER,
) -> CurveFit:
    """Fit one family to (spend, outcome) pairs by iteratively reweighted least squares.

    Parameters
    ----------
    spend, outcome
        Monthly spend (0 or more) and outcome, same length.
    family
        ``"exponential"`` or ``"hill"``.
    variance_power
        ``p`` in ``Var(outcome) = phi * mean^p``.

    Returns
    -------
    CurveFit
        The curve, the covariance of its log-parameters (``phi (J' W J)^-1``), its AIC, the
        number of months and the dispersion ``phi``.

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, negative or not finite.
    """
    x, y = np.asarray(spend, dtype=float), np.asarray(outcome, dtype=float)
    if x.shape != y.shape or x.size == 0:
        raise ValueError("spend and outcome must be non-empty and of the same length.")
    if not (np.isfinite(x).all() and np.isfinite(y).all()) or (x < 0).any():
        raise ValueError("spend must be finite and 0 or more, outcome finite.")
    if family not in FAMILIES:
        raise ValueError(f"Unknown curve family '{family}': use one of {', '.join(FAMILIES)}.")
    positive = x[x > 0]
    scale = float(np.median(positive)) if positive.size else 1.0
    top = float(max(np.max(np.abs(y)), 1e-9))
    floor = max(0.05 * float(np.mean(np.abs(y))), 1e-9)
    lo = [np.log(top * 1e-4), np.log(scale * 1e-3)]
    hi = [np.log(top * 1e4), np.log(max(float(x.max()), scale) * 1e3)]
    starts = [np.log([top * 1.5, scale])]
    if family == "hill":
        lo.append(np.log(_SHAPE_BOUNDS[0]))
        hi.append(np.log(_SHAPE_BOUNDS[1]))
        starts = [np.append(starts[0], np.log(n)) for n in _HILL_SHAPES]
    bounds = (np.array(lo), np.array(hi))

    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for start in starts:
        theta = np.clip(start, bounds[0] + 1e-9, bounds[1] - 1e-9)
        weight = np.ones_like(y)
        for _ in range(_IRLS_ROUNDS):
            root_w = np.sqrt(weight)

            def residuals(th: np.ndarray, root_w=root_w) -> np.ndarray:
                return root_w * (y - _make(family, th).value(x))

            def jac(th: np.ndarray, root_w=root_w) -> np.ndarray:
                return -root_w[:, None] * _jacobian(_make(family, th), x)

            theta = optimize.least_squares(
                residuals, theta, jac=jac, bounds=bounds, method="trf", x_scale="jac"
            ).x
            weight = 1.0 / np.maximum(_make(family, theta).value(x), floor) ** variance_power
        rss = float(np.sum(weight * (y - _make(family, theta).value(x)) ** 2))
        if best is None or rss < best[0]:
            best = (rss, theta, weight)
    assert best is not None
    rss, theta, weight = best
    curve = _make(family, theta)
    n, k = y.size, theta.size
    variance = np.maximum(curve.value(x), floor) ** variance_power
    phi_ml = max(rss / n, 1e-300)
    aic = float(n * np.log(2 * np.pi * phi_ml) + np.sum(np.log(variance)) + n + 2 * (k + 1))
    jw = np.sqrt(weight)[:, None] * _jacobian(curve, x)
    dispersion = rss / max(n - k, 1)
    information = jw.T @ jw
    cov = dispersion * np.linalg.pinv(information)
    if np.linalg.matrix_rank(information) < k:
        # A direction the data say nothing about: report it as very uncertain, not certain.
        cov = cov + np.eye(k) * 1e2
    return CurveFit(curve, cov, aic, n, dispersion)


def calibrate_cell(
    segment: str, program: str, history: pd.DataFrame, *, min_months: int = MIN_MONTHS
) -> ResponseModel | SkippedCell:
    """Fit both families to one cell's history and keep the one with the lower AIC.

    ``history`` has ``spend, outcome`` rows for this cell (months without an outcome are
    ignored). Returns a :class:`SkippedCell` saying why when it cannot be calibrated.
    """
    rows = history.dropna(subset=[C.OUTCOME])
    x = rows[C.SPEND].to_numpy(dtype=float)
    y = rows[C.OUTCOME].to_numpy(dtype=float)
    if x.size < min_months:
        return SkippedCell(
            segment,
            program,
            f"only {_months(x.size)} with an outcome (calibration needs {min_months})",
        )
    if np.unique(x[x > 0]).size < 3:
        return SkippedCell(
            segment,
            program,
            "spend never varied, so its effect cannot be separated from the baseline",
        )
    if (y > 0).sum() < MIN_MONTHS_WITH_OUTCOME:
        return SkippedCell(
            segment,
            program,
            f"only {_months(int((y > 0).sum()))} with a "
            f"non-zero outcome (calibration needs "
            f"{MIN_MONTHS_WITH_OUTCOME})",
        )
    power = VARIANCE_POWER.get(program, DEFAULT_VARIANCE_POWER)
    fits = [fit_curve(x, y, family, variance_power=power) for family in FAMILIES]
    best = min(fits, key=lambda f: f.aic)
    lowest, highest = float(x[x > 0].min()), float(x.max())
    if _half_saturation(best.curve) < lowest / 2:
        # The curve would be flat over every spend seen: the data show no response to spend.
        return SkippedCell(
            segment,
            program,
            f"outcomes do not rise with spend over the range "
            f"seen (${lowest:,.0f} to ${highest:,.0f} a "
            "month)",
        )
    return ResponseModel(
        segment,
        program,
        best.curve,
        f"calibrated on {best.months} months",
        best.log_covariance,
        best.months,
        PROGRAM_UNITS.get(program, ""),
    )


def _half_saturation(curve: Curve) -> float:
    """Spend at which the curve reaches half its ceiling."""
    if isinstance(curve, ExponentialCurve):
        return float(curve.kappa) * float(np.log(2.0))
    return float(curve.half_saturation)


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def calibrate_responses(history: pd.DataFrame, *, min_months: int = MIN_MONTHS) -> Calibration:
    """Calibrate every segment x program cell of a spend history.

    Parameters
    ----------
    history
        ``segment, program, spend, outcome`` (one row per month and cell), e.g. from
        :func:`load_spend_history`.
    min_months
        Months with an outcome a cell needs.

    Raises
    ------
    ValueError
        If a required column is missing.
    """
    missing = [c for c in (C.SEGMENT, C.PROGRAM, C.SPEND, C.OUTCOME) if c not in history]
    if missing:
        raise ValueError(f"Required column {missing[0]} missing from the spend history.")
    models: list[ResponseModel] = []
    skipped: list[SkippedCell] = []
    for (segment, program), rows in history.groupby([C.SEGMENT, C.PROGRAM], sort=True):
        result = calibrate_cell(str(segment), str(program), rows, min_months=min_months)
        if isinstance(result, ResponseModel):
            models.append(result)
        else:
            skipped.append(result)
    return Calibration(tuple(models), tuple(skipped))
