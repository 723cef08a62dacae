"""The maximum-likelihood toolkit the value models share (private to planning.value): fits in
log-parameter space with analytic gradients, vectorised over distinct customer rows, warm
started on a subsample for large bases, polished by Newton steps, with a numeric Hessian for
the standard errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

_LOG_BOUND: Final = 20.0  # optimise log-parameters in [-20, 20]: 2e-9 .. 5e8
_WARM_SAMPLE: Final = 10_000  # customers in the subsample a large fit starts from
_NEWTON_GTOL: Final = 1e-10  # mean-gradient size at which Newton polishing stops


def _distinct_rows(*cols: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Distinct rows of the given columns, how often each occurs, and each row's distinct row.

    A lexsort and a neighbour comparison: several times faster than ``np.unique(axis=0)``,
    which sorts a structured view of the rows.
    """
    order = np.lexsort(cols[::-1])
    if order.size == 0:
        return tuple(c[:0] for c in cols), np.zeros(0), np.zeros(0, dtype=np.intp)
    change = np.zeros(order.size, dtype=bool)
    change[0] = True
    for col in cols:
        ranked = col[order]
        change[1:] |= ranked[1:] != ranked[:-1]
    starts = np.flatnonzero(change)
    group = np.cumsum(change) - 1
    inverse = np.empty(order.size, dtype=np.intp)
    inverse[order] = group
    counts = np.diff(np.r_[starts, order.size]).astype(np.float64)
    return tuple(c[order[starts]] for c in cols), counts, inverse


LogLikelihood = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _maximise_warm(
    make: Callable[[np.ndarray | None], tuple[LogLikelihood, np.ndarray]], n: int, start: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray, bool]:
    # The likelihood's products are thin (customers x 4): BLAS threads only contend, with each
    # other and with whatever else the machine runs (a fit took 2.3 times as long beside
    # another busy process).
    with threadpool_limits(limits=1, user_api="blas"):
        return _maximise_warm_unlimited(make, n, start)


def _maximise_warm_unlimited(
    make: Callable[[np.ndarray | None], tuple[LogLikelihood, np.ndarray]], n: int, start: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray, bool]:
    """:func:`_maximise` on all ``n`` customers, started from a fit on a fixed subsample.

    Most L-BFGS-B iterations are spent getting near the optimum; on a subsample of
    ``_WARM_SAMPLE`` customers they cost a fraction as much, and the full-data fit then needs
    only a few iterations to the same convergence test. The answer is the full-data maximum;
    the subsample (drawn with a fixed seed) only moves the starting point.
    """
    if n > 2 * _WARM_SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(n, _WARM_SAMPLE, replace=False))
        loglik, weight = make(rows)
        warm = _optimise(loglik, weight, start)
        if np.isfinite(warm).all() and (np.abs(warm) < _LOG_BOUND - 1e-6).all():
            start = warm
    loglik, weight = make(None)
    return _maximise(loglik, weight, start, polish=n > 2 * _WARM_SAMPLE)


def _newton(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray, steps: int = 6
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray] | None:
    """Newton's method from a start near the optimum, or None where it does not converge.

    Returns the log-parameters, the objective, its gradient and its Hessian there. A step must
    lower the objective and the Hessian must be positive definite; otherwise None.
    """
    value, gradient = objective(theta)
    for _ in range(steps):
        hessian = _numeric_hessian(lambda th: objective(th)[1], theta, forward=gradient)
        try:
            if not np.all(np.linalg.eigvalsh(hessian) > 0):
                return None
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return None
        if np.abs(gradient).max() < _NEWTON_GTOL or np.abs(step).max() < 1e-12:
            return theta, value, gradient, hessian
        candidate = theta - step
        if (np.abs(candidate) >= _LOG_BOUND).any():
            return None
        new_value, new_gradient = objective(candidate)
        if not new_value <= value + 1e-15 * abs(value):
            return None
        theta, value, gradient = candidate, new_value, new_gradient
    return None


def _optimise(loglik: LogLikelihood, weight: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The log-parameters that maximise a weighted log-likelihood (L-BFGS-B)."""
    objective = _objective(loglik, weight)
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.size
    return optimize.minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8},
    ).x


def _objective(
    loglik: LogLikelihood, weight: np.ndarray
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """The mean negative log-likelihood and its gradient; infinite where it cannot be had."""
    total = float(weight.sum())

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            ll, grad = loglik(theta)
        value, gradient = -float(weight @ ll) / total, -(weight @ grad) / total
        if not np.isfinite(value) or not np.isfinite(gradient).all():
            return np.inf, np.zeros_like(theta)
        return value, gradient

    return objective


def _maximise(
    loglik: LogLikelihood, weight: np.ndarray, start: np.ndarray, polish: bool = False
) -> tuple[np.ndarray, float, np.ndarray, bool]:
    """Maximise a weighted log-likelihood over log-parameters.

    With ``polish`` (a start already near the optimum) Newton steps on the numeric Hessian of
    the analytic gradient are tried first: a few steps converge quadratically and leave the
    Hessian the covariance needs. If a step fails to improve, L-BFGS-B takes over.

    Returns the log-parameters, the log-likelihood, the covariance of the natural parameters
    and whether the optimiser converged.
    """
    total = float(weight.sum())
    objective = _objective(loglik, weight)
    polished = _newton(objective, start) if polish else None
    if polished is None:
        theta = _optimise(loglik, weight, start)
        value, gradient = objective(theta)
        hessian = _numeric_hessian(lambda th: objective(th)[1], theta) * total
    else:
        theta, value, gradient, hessian = polished
        hessian = hessian * total
    interior = bool((np.abs(theta) < _LOG_BOUND - 1e-6).all())
    converged = bool(interior and np.isfinite(value) and np.abs(gradient).max() < 1e-5)
    try:
        cov_log = np.linalg.inv(hessian)
        ok = bool(np.all(np.linalg.eigvalsh(hessian) > 0))
    except np.linalg.LinAlgError:
        ok = False
    natural = np.exp(theta)
    cov = (cov_log * np.outer(natural, natural)) if ok else np.full(hessian.shape, np.nan)
    cov.setflags(write=False)
    return theta, -value * total, cov, converged


def _numeric_hessian(
    gradient: Callable[[np.ndarray], np.ndarray],
    theta: np.ndarray,
    h: float = 1e-5,
    forward: np.ndarray | None = None,
) -> np.ndarray:
    """Differences of an analytic gradient, symmetrised: central, or forward from the
    gradient at ``theta`` when it is given (half the evaluations)."""
    cols = []
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        if forward is None:
            cols.append((gradient(theta + e) - gradient(theta - e)) / (2 * h))
        else:
            cols.append((gradient(theta + e) - forward) / h)
    hessian = np.stack(cols, axis=1)
    return (hessian + hessian.T) / 2
