"""Coherent forecasts: segment forecasts that add up to the company forecast.

Each series (the company total and every segment) gets its own best model, so the base
forecasts of the segments rarely add up to the total's. Reconciliation maps the base forecasts
``y_hat`` (total first, then the segments) onto coherent ones ``S G y_hat``, where ``S`` stacks a
row of ones (the total) on the identity (the segments):

- bottom-up: ``G = [0 | I]`` — the segments' own forecasts, the total their sum;
- MinT with a shrunk covariance (Wickramasuriya, Athanasopoulos & Hyndman 2019, eq. 9):
  ``G = (S' W^-1 S)^-1 S' W^-1``, the minimum-variance unbiased combination, with ``W`` the
  covariance of the base models' in-sample one-step errors shrunk towards its diagonal by the
  Schäfer & Strimmer (2005) estimator of the shrinkage intensity (their "target D").

A reconciled segment below zero is set to zero and the total re-added, which keeps the result
coherent (the heuristic Wickramasuriya, Turlach & Hyndman 2020 compare against). Interval
bounds keep each series' base width, centred on its reconciled mean: they show each series'
own uncertainty and are not themselves meant to add up.

References
----------
Wickramasuriya, S. L., Athanasopoulos, G. & Hyndman, R. J. (2019). Optimal forecast
    reconciliation for hierarchical and grouped time series through trace minimization.
    Journal of the American Statistical Association 114(526), 804-819.
Schäfer, J. & Strimmer, K. (2005). A shrinkage approach to large-scale covariance matrix
    estimation and implications for functional genomics. Statistical Applications in Genetics
    and Molecular Biology 4(1), article 32.
Wickramasuriya, S. L., Turlach, B. A. & Hyndman, R. J. (2020). Optimal non-negative forecast
    reconciliation. Statistics and Computing 30, 1167-1182.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Literal, cast

import numpy as np
import pandas as pd

from planning.forecast.base import LEVELS, MEAN, PERIOD, SERIES, hi, lo

Method = Literal["bottom_up", "mint_shrink"]
METHODS: Final[tuple[Method, ...]] = ("bottom_up", "mint_shrink")
METHOD_LABELS: Final[dict[str, str]] = {
    "base": "Base (not reconciled)",
    "bottom_up": "Bottom-up",
    "mint_shrink": "MinT (shrunk covariance)",
}
METHOD: Final = "method"
_VARIANCE_FLOOR: Final = 1e-9  # ridge relative to the mean variance: keeps W invertible


def summing_matrix(n_segments: int) -> np.ndarray:
    """``S``: a row of ones (the total) on top of the ``n_segments`` identity."""
    return np.vstack([np.ones((1, n_segments)), np.eye(n_segments)])


def shrunk_covariance(residuals: np.ndarray) -> tuple[np.ndarray, float]:
    """Schäfer–Strimmer shrinkage of the residual covariance towards its diagonal.

    Parameters
    ----------
    residuals
        ``T x n`` one-step in-sample errors (rows with a NaN are dropped).

    Returns
    -------
    (ndarray, float)
        The shrunk ``n x n`` covariance ``lambda D + (1 - lambda) W1`` (``W1`` the uncentred
        sample covariance, ``D`` its diagonal) and the intensity ``lambda`` in [0, 1]:
        ``sum_{i != j} Var(r_ij) / sum_{i != j} r_ij^2`` over the correlations ``r_ij`` of the
        standardised errors. With fewer than three complete rows the diagonal of the available
        mean squares is returned (``lambda`` 1; variance 1 for a series without residuals).
    """
    e = np.asarray(residuals, dtype=np.float64)
    e = e[~np.isnan(e).any(axis=1)]
    t, n = e.shape
    if t < 3:
        raw = np.asarray(residuals, dtype=np.float64).reshape(-1, n)
        count = (~np.isnan(raw)).sum(axis=0)
        squares = np.nansum(raw**2, axis=0)
        # Without any residual a series' variance is unknown: weigh the series equally.
        var = np.divide(squares, count, out=np.ones(n), where=count > 0)
        return np.diag(var), 1.0
    w1 = e.T @ e / t
    sd = np.sqrt(np.diag(w1))
    safe = np.where(sd > 0, sd, 1.0)
    z = e / safe
    w = z[:, :, None] * z[:, None, :]  # T x n x n products of standardised errors
    r = w.mean(axis=0)
    var_r = t / (t - 1) ** 3 * ((w - r) ** 2).sum(axis=0)
    off = ~np.eye(n, dtype=bool) & np.outer(sd > 0, sd > 0)
    denom = float((r[off] ** 2).sum())
    lam = 1.0 if denom == 0 else float(np.clip(var_r[off].sum() / denom, 0.0, 1.0))
    target = np.diag(np.diag(w1))
    return lam * target + (1 - lam) * w1, lam


def reconciliation_matrix(
    method: Method, n_segments: int, covariance: np.ndarray | None = None
) -> np.ndarray:
    """``G`` (``n_segments x (n_segments + 1)``): base forecasts to coherent segment forecasts."""
    if method == "bottom_up":
        return np.hstack([np.zeros((n_segments, 1)), np.eye(n_segments)])
    if method != "mint_shrink":
        raise ValueError(f"Unknown reconciliation '{method}': use one of {', '.join(METHODS)}.")
    if covariance is None:
        raise ValueError("MinT needs the covariance of the base forecast errors.")
    s = summing_matrix(n_segments)
    w = np.array(covariance, dtype=np.float64)
    # A ridge far below any real variance keeps W invertible when errors are perfectly
    # correlated or a series never erred (an all-zero segment).
    ridge = max(float(np.diag(w).mean()), 1.0) * _VARIANCE_FLOOR
    w[np.diag_indices_from(w)] += ridge
    w_inv_s = np.linalg.solve(w, s)  # W^-1 S
    return np.linalg.solve(s.T @ w_inv_s, w_inv_s.T)  # (S' W^-1 S)^-1 S' W^-1


def reconcile(
    base: pd.DataFrame,
    total: str,
    segments: Sequence[str],
    method: Method,
    residuals: Mapping[str, np.ndarray] | None = None,
    levels: Sequence[int] = LEVELS,
    nonnegative: bool = True,
    extra_keys: Sequence[str] = (),
) -> tuple[pd.DataFrame, float | None]:
    """Reconcile a long forecast frame so the segments add up to the total, period by period.

    Parameters
    ----------
    base
        Long forecast frame (``series, period, mean, lo-L, hi-L`` and any ``extra_keys``) with
        one row per series in ``[total, *segments]`` and period.
    total, segments
        The name of the total series and of the segment series.
    method
        ``"bottom_up"`` or ``"mint_shrink"``.
    residuals
        For MinT: each series' in-sample one-step errors, aligned on the same periods.
    nonnegative
        Set reconciled segments below zero to zero (then re-add the total).
    extra_keys
        Further key columns (e.g. a backtest origin) that group the rows to reconcile.

    Returns
    -------
    (DataFrame, float or None)
        The frame with reconciled ``mean`` and shifted bounds, and MinT's shrinkage intensity.
    """
    names = [total, *segments]
    lam = None
    if method == "mint_shrink":
        if residuals is None:
            raise ValueError("MinT needs each series' residuals.")
        matrix = np.column_stack([np.asarray(residuals[s], dtype=np.float64) for s in names])
        cov, lam = shrunk_covariance(matrix)
        g = reconciliation_matrix(method, len(segments), cov)
    else:
        g = reconciliation_matrix(method, len(segments))
    s = summing_matrix(len(segments))
    keys = [*extra_keys, PERIOD]
    wide = base.pivot_table(index=keys, columns=SERIES, values=MEAN, aggfunc="first")
    missing = [n for n in names if n not in wide.columns]
    if missing:
        raise ValueError(f"No base forecast for series {missing}.")
    y_hat = wide[names].to_numpy(dtype=np.float64)  # periods x n
    bottom = y_hat @ g.T
    if nonnegative:
        bottom = np.maximum(bottom, 0.0)
    coherent = pd.DataFrame(bottom @ s.T, index=wide.index, columns=pd.Index(names, name=SERIES))
    # One level of columns: stack gives a Series (the stubs cannot tell it from a frame).
    stacked = cast(pd.Series, coherent.stack())
    new_mean = stacked.rename("_new").reset_index()
    out = base.merge(new_mean, on=[*keys, SERIES], how="left")
    shift = out["_new"] - out[MEAN]
    for level in levels:
        out[lo(level)] = out[lo(level)] + shift
        out[hi(level)] = out[hi(level)] + shift
        if nonnegative:
            out[lo(level)] = out[lo(level)].clip(lower=0.0)
    out[MEAN] = out["_new"]
    return out.drop(columns="_new"), lam


def coherence_gap(frame: pd.DataFrame, total: str, segments: Sequence[str]) -> float:
    """Largest absolute difference between the total and the sum of the segments' means."""
    wide = frame.pivot_table(index=PERIOD, columns=SERIES, values=MEAN, aggfunc="first")
    return float((wide[total] - wide[list(segments)].sum(axis=1)).abs().max())
