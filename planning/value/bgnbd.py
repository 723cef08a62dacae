"""The BG/NBD model (Fader, Hardie & Lee 2005a): Poisson purchasing at a Gamma-distributed rate
that stops, after each repeat purchase, with a Beta-distributed probability. Fitted by maximum
likelihood; given a summary it yields the probability a customer is still active and the
purchases to expect in the next ``t`` time units.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005a). "Counting Your Customers" the Easy Way: An
    Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) Using the BG/NBD Model.
    http://brucehardie.com/notes/021/
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import integrate, special

from planning.core.columns import CUSTOMER_ID
from planning.value._likelihood import LogLikelihood, _distinct_rows, _maximise_warm
from planning.value.summary import EXPECTED_TRANSACTIONS, P_ALIVE, _rfm

_A_NEAR_ONE: Final = 1e-4  # eq. 10 has a removable 0/0 at a = 1; interpolate across it


@dataclass(frozen=True, eq=False)  # eq=False: the covariance array has no truth value
class BGNBDFit:
    """Maximum-likelihood BG/NBD parameters, in the time unit of the summary they were fit on.

    ``covariance`` is the 4 x 4 covariance of ``(r, alpha, a, b)``: the inverse Hessian of the
    negative log-likelihood in log-parameter space, carried to the natural parameters by the
    delta method (NaN if the Hessian is not positive definite).
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    covariance: np.ndarray
    converged: bool

    @property
    def standard_errors(self) -> dict[str, float]:
        """Standard error of each parameter, from the diagonal of ``covariance``."""
        return dict(
            zip(("r", "alpha", "a", "b"), np.sqrt(np.diag(self.covariance)).tolist(), strict=True)
        )


def bgnbd_log_likelihood(
    log_params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer BG/NBD log-likelihood and its gradient in log-parameter space.

    Fader, Hardie & Lee (2005a), eq. 6:

    .. math::
        L = \\frac{B(a, b+x)}{B(a, b)} \\frac{\\Gamma(r+x)\\,\\alpha^r}{\\Gamma(r)(\\alpha+T)^{r+x}}
            + \\delta_{x>0} \\frac{B(a+1, b+x-1)}{B(a, b)}
              \\frac{\\Gamma(r+x)\\,\\alpha^r}{\\Gamma(r)(\\alpha+t_x)^{r+x}}

    evaluated as ``gammaln(r+x) - gammaln(r) + r log(alpha) + logaddexp(A1, A2)``, so a large
    ``x`` does not overflow (the "#NUM!" problem of Fader & Hardie's spreadsheet note).

    Parameters
    ----------
    log_params
        ``log(r), log(alpha), log(a), log(b)``.
    frequency, recency, age
        ``x``, ``t_x`` and ``T`` per customer.

    Returns
    -------
    tuple of ndarray
        The log-likelihood per customer (n,) and its gradient with respect to ``log_params``
        (n, 4).
    """
    levels, index = np.unique(frequency, return_inverse=True)
    return _bgnbd_log_likelihood(log_params, levels, index.ravel(), recency, age)


def _bgnbd_log_likelihood(
    log_params: np.ndarray,
    levels: np.ndarray,
    index: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bgnbd_log_likelihood` with frequency given as ``levels[index]``.

    Every Gamma-function term depends on the customer only through ``x``, which takes few
    distinct values, so those terms are evaluated once per level and gathered.
    """
    r, alpha, a, b = np.exp(log_params)
    dg = special.digamma
    x, tx = levels[index], recency
    repeat = x > 0
    bx1 = np.where(repeat, b + x - 1, 1.0)  # keeps the unused x = 0 branch of A2 finite
    log_age, log_recency = np.log(alpha + age), np.log(alpha + tx)
    beta_ratio = (special.betaln(a, b + levels) - special.betaln(a, b))[index]
    la1 = beta_ratio - (r + x) * log_age
    # B(a+1, b+x-1) = B(a, b+x) a / (b+x-1)
    la2 = np.where(repeat, beta_ratio + np.log(a) - np.log(bx1) - (r + x) * log_recency, -np.inf)
    lse = np.logaddexp(la1, la2)
    w2 = np.exp(la2 - lse)
    w1 = 1.0 - w2
    ll = (special.gammaln(r + levels) - special.gammaln(r))[index] + r * np.log(alpha) + lse

    d_r = (dg(r + levels) - dg(r))[index] + np.log(alpha) - w1 * log_age - w2 * log_recency
    d_alpha = r / alpha - (r + x) * (w1 / (alpha + age) + w2 / (alpha + tx))
    common = (dg(a + b) - dg(a + b + levels))[index]
    d_a = common + w2 / a  # digamma(a+1) - digamma(a) = 1/a
    # digamma(b+x-1) = digamma(b+x) - 1/(b+x-1)
    d_b = common + (dg(b + levels) - dg(b))[index] - w2 / bx1
    grad = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b], axis=1)
    return ll, grad


def fit_bgnbd(summary: pd.DataFrame) -> BGNBDFit:
    """Fit the BG/NBD model (Fader, Hardie & Lee 2005a) by maximum likelihood.

    The negative log-likelihood (eq. 6) is minimised over the log-parameters with L-BFGS-B
    and the analytic gradient, from ``r = a = b = 1`` and ``alpha`` set so that the prior mean
    purchase rate ``r / alpha`` equals the observed repeat purchases per unit of time.
    Customers with identical ``(frequency, recency, T)`` are evaluated once, weighted by count.

    Parameters
    ----------
    summary
        ``customer_id, frequency, recency, T`` (as from :func:`summarize_purchases`).

    Returns
    -------
    BGNBDFit
        Parameters in the summary's time unit, log-likelihood, covariance and whether the
        optimiser converged (gradient at zero, away from the parameter bounds).

    Raises
    ------
    ValueError
        If the summary is empty, lacks a column or holds impossible values.
    """
    x, tx, age = _rfm(summary)
    if not x.size:
        raise ValueError("The summary has no customers to fit.")
    rate = max(float(x.sum()), 1.0) / max(float(age.sum()), 1e-9)
    start = np.log([1.0, 1.0 / rate, 1.0, 1.0])

    def make(rows: np.ndarray | None) -> tuple[LogLikelihood, np.ndarray]:
        cols = (x, tx, age) if rows is None else (x[rows], tx[rows], age[rows])
        (xs, txs, ages), weight, _ = _distinct_rows(*cols)
        levels, index = np.unique(xs, return_inverse=True)
        index = index.ravel()
        return (lambda theta: _bgnbd_log_likelihood(theta, levels, index, txs, ages)), weight

    theta, ll, cov, converged = _maximise_warm(make, x.size, start)
    r, alpha, a, b = np.exp(theta)
    return BGNBDFit(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        log_likelihood=ll,
        n_customers=int(x.size),
        covariance=cov,
        converged=converged,
    )


def probability_alive(fit: BGNBDFit, summary: pd.DataFrame) -> pd.Series:
    """Probability that each customer is still active at the end of calibration.

    Fader, Hardie & Lee (2008), the denominator of eq. 10 of Fader, Hardie & Lee (2005a):

    .. math::
        P(\\text{alive} \\mid x, t_x, T) = 1 \\Big/ \\left(1 + \\delta_{x>0}\\,\\frac{a}{b+x-1}
        \\left(\\frac{\\alpha+T}{\\alpha+t_x}\\right)^{r+x}\\right)

    A customer without repeat purchases is alive with probability 1: in the BG/NBD model a
    customer can only drop out right after a repeat purchase.

    Returns
    -------
    Series
        ``p_alive`` indexed by ``customer_id``, in summary order.
    """
    x, tx, age = _rfm(summary)
    return pd.Series(_p_alive(fit, x, tx, age), index=pd.Index(summary[CUSTOMER_ID]), name=P_ALIVE)


def expected_transactions(fit: BGNBDFit, summary: pd.DataFrame, t: float) -> pd.Series:
    """Expected purchases of each customer in the next ``t`` time units.

    Fader, Hardie & Lee (2005a), eq. 10:

    .. math::
        E[Y(t) \\mid x, t_x, T] = \\frac{\\frac{a+b+x-1}{a-1}\\left[1 - \\left(
        \\frac{\\alpha+T}{\\alpha+T+t}\\right)^{r+x} {}_2F_1\\!\\left(r+x, b+x; a+b+x-1;
        \\frac{t}{\\alpha+T+t}\\right)\\right]}{1 + \\delta_{x>0}\\,\\frac{a}{b+x-1}
        \\left(\\frac{\\alpha+T}{\\alpha+t_x}\\right)^{r+x}}

    The Gauss function is evaluated after Euler's transformation (see
    :func:`_expected_if_alive`), which keeps its parameters bounded as ``x`` grows.

    Returns
    -------
    Series
        ``expected_transactions`` indexed by ``customer_id``, in summary order.
    """
    if t < 0:
        raise ValueError(f"t must be 0 or more time units, got {t}.")
    x, tx, age = _rfm(summary)
    value = _p_alive(fit, x, tx, age) * _expected_if_alive(fit, x, age, np.asarray(float(t)))
    return pd.Series(value, index=pd.Index(summary[CUSTOMER_ID]), name=EXPECTED_TRANSACTIONS)


def expected_transactions_new(fit: BGNBDFit, t: float | np.ndarray) -> np.ndarray:
    """Expected repeat purchases of a new customer in their first ``t`` time units.

    Fader, Hardie & Lee (2005a), eq. 7:

    .. math::
        E[X(t)] = \\frac{a+b-1}{a-1}\\left[1 - \\left(\\frac{\\alpha}{\\alpha+t}\\right)^r
        {}_2F_1\\!\\left(r, b; a+b-1; \\frac{t}{\\alpha+t}\\right)\\right]

    which is eq. 10 for a customer with ``x = t_x = T = 0``.

    Returns
    -------
    ndarray
        One expectation per element of ``t`` (a 0-d array for a scalar).
    """
    t = np.asarray(t, dtype=np.float64)
    if (t < 0).any():
        raise ValueError("t must be 0 or more time units.")
    return _expected_if_alive(fit, np.zeros(1), np.zeros(1), t[..., None])[..., 0]


def _p_alive(fit: BGNBDFit, x: np.ndarray, tx: np.ndarray, age: np.ndarray) -> np.ndarray:
    xs = np.maximum(x, 1.0)
    log_odds_dead = (
        np.log(fit.a)
        - np.log(fit.b + xs - 1)
        + (fit.r + x) * (np.log(fit.alpha + age) - np.log(fit.alpha + tx))
    )
    return np.where(x > 0, special.expit(-log_odds_dead), 1.0)


def _expected_if_alive(fit: BGNBDFit, x: np.ndarray, age: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The numerator of eq. 10: expected purchases in ``(T, T+t]`` of a customer alive at T.

    Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns the
    bracket's ``((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)`` into
    ``(1-z)^(a-1) 2F1(a-1, a+b-1-r; a+b+x-1; z)``: the upper parameters no longer grow with
    ``x`` and the series converges at ``z = 1`` for ``r + x + 1 > a``. Within ``1e-4`` of the
    removable singularity at ``a = 1`` the value is interpolated between ``a = 1 ± 1e-4``.
    Any value that is not finite or breaks ``0 <= E <= (r+x) t / (alpha+T)`` (what a customer
    who never drops out would buy at the posterior mean rate) is recomputed by quadrature over
    the dropout probability (:func:`_quadrature_form`). ``t`` broadcasts against ``x`` and
    ``age``.
    """
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    x, age, t = np.broadcast_arrays(x, age, t)
    if abs(a - 1.0) < _A_NEAR_ONE:
        lo = _hyp2f1_form(r, alpha, 1.0 - _A_NEAR_ONE, b, x, age, t)
        hi = _hyp2f1_form(r, alpha, 1.0 + _A_NEAR_ONE, b, x, age, t)
        value = lo + (a - 1.0 + _A_NEAR_ONE) / (2 * _A_NEAR_ONE) * (hi - lo)
    else:
        value = _hyp2f1_form(r, alpha, a, b, x, age, t)
    upper = (r + x) * t / (alpha + age)
    slack = 1e-9 * (1.0 + upper)
    bad = ~np.isfinite(value) | (value < -slack) | (value > upper + slack)
    for i in zip(*np.nonzero(bad), strict=True):
        value[i] = _quadrature_form(r, alpha, a, b, float(x[i]), float(age[i]), float(t[i]))
    return np.clip(value, 0.0, upper)


def _hyp2f1_form(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, age: np.ndarray, t: np.ndarray
) -> np.ndarray:
    with np.errstate(all="ignore"):
        log_one_minus_z = np.log(alpha + age) - np.log(alpha + age + t)
        z = t / (alpha + age + t)
        c = a + b + x - 1
        term = np.exp((a - 1) * log_one_minus_z) * special.hyp2f1(a - 1, a + b - 1 - r, c, z)
        return c / (a - 1) * (1.0 - term)


def _quadrature_form(
    r: float, alpha: float, a: float, b: float, x: float, age: float, t: float
) -> float:
    """E[Y(t) | alive] = int_0^1 (1 - ((alpha+T)/(alpha+T+pt))^(r+x)) / p Beta(p; a, b+x) dp.

    Given alive, lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x), and a customer with rate
    lambda and dropout p makes (1 - exp(-lambda p t)) / p purchases in expectation; the lambda
    integral is closed-form and the p integral is split at 1/2, so that an algebraic
    singularity at either end (``a < 1`` or ``b + x < 1``) can be QUADPACK's QAWS weight.
    """
    k, s, lb, beta_exp = r + x, t / (alpha + age), special.betaln(a, b + x), b + x - 1
    mode = (a - 1) / (a + beta_exp - 1) if a > 1 and beta_exp > 0 else 0.5
    options: dict[str, Any] = {"limit": 400, "epsabs": 0.0, "epsrel": 1e-11}

    def per_p(p: float) -> float:
        return float(-np.expm1(-k * np.log1p(p * s)) / p) if p > 0 else k * s

    def density(p: float, left_power: bool, right_power: bool) -> float:
        log_p = (a - 1) * np.log(p) if left_power and p > 0 else 0.0
        log_q = beta_exp * np.log1p(-p) if right_power and p < 1 else 0.0
        return per_p(p) * float(np.exp(log_p + log_q - lb))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        # QAWS takes a singular power of p or 1-p as its weight; a smooth peak is left to QAGS,
        # told where the peak is.
        if a < 1:
            low, _ = integrate.quad(
                density, 0.0, 0.5, args=(False, True), weight="alg", wvar=(a - 1, 0.0), **options
            )
        else:
            low, _ = integrate.quad(
                density,
                0.0,
                0.5,
                args=(True, True),
                points=[mode] if 0 < mode < 0.5 else None,
                **options,
            )
        if beta_exp < 0:
            high, _ = integrate.quad(
                density, 0.5, 1.0, args=(True, False), weight="alg", wvar=(0.0, beta_exp), **options
            )
        else:
            high, _ = integrate.quad(
                density,
                0.5,
                1.0,
                args=(True, True),
                points=[mode] if 0.5 < mode < 1 else None,
                **options,
            )
    return float(low + high)
