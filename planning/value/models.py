"""Customer value: the purchases a customer will still make, what they will spend, and what that
is worth. A purchase history is reduced to frequency, recency, age ``T`` and the mean value of
repeat purchases by :func:`summarize_purchases`. The BG/NBD model of Fader, Hardie & Lee (2005a)
explains frequency and recency as Poisson purchasing at a Gamma-distributed rate that stops,
after each repeat purchase, with a Beta-distributed probability; given a summary it yields the
probability a customer is still active and the purchases to expect in the next ``t`` time units.
The Gamma-Gamma model (Fader, Hardie & Lee 2005b; Fader & Hardie 2013) shrinks each customer's
observed mean spend towards the population mean, more so for customers with few purchases, and
:func:`customer_lifetime_value` combines the two into discounted margin. Both models are fitted
by maximum likelihood in log-parameter space with analytic gradients, vectorised over customers.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005a). "Counting Your Customers" the Easy Way: An
    Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: Using Iso-Value Curves for
    Customer Base Analysis. Journal of Marketing Research 42(4), 415-430.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) Using the BG/NBD Model.
    http://brucehardie.com/notes/021/
Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
    http://brucehardie.com/notes/025/
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special
from threadpoolctl import threadpool_limits

from planning.core import columns as C
from planning.core.columns import AMOUNT, CUSTOMER_ID, DATE

# Columns of the customer summary and of the value frame.
FREQUENCY: Final = C.FREQUENCY
RECENCY: Final = "recency"
T: Final = "T"
MONETARY: Final = "monetary"
P_ALIVE: Final = "p_alive"
EXPECTED_TRANSACTIONS: Final = "expected_transactions"
EXPECTED_SPEND: Final = "expected_spend"
CLV: Final = "clv"

TimeUnit = Literal["W", "D", "M"]
DAYS_PER_UNIT: Final[dict[str, float]] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}

_LOG_BOUND: Final = 20.0  # optimise log-parameters in [-20, 20]: 2e-9 .. 5e8
_WARM_SAMPLE: Final = 10_000  # customers in the subsample a large fit starts from
_NEWTON_GTOL: Final = 1e-10  # mean-gradient size at which Newton polishing stops
_A_NEAR_ONE: Final = 1e-4  # eq. 10 has a removable 0/0 at a = 1; interpolate across it


# --------------------------------------------------------------------------- summaries


def summarize_purchases(
    transactions: pd.DataFrame,
    *,
    calibration_end: dt.date,
    time_unit: TimeUnit = "W",
    merge_same_day: bool = True,
    observation_start: dt.date | None = None,
) -> pd.DataFrame:
    """Reduce a transaction log to one frequency/recency/T/monetary row per customer.

    A purchase is a transaction with an amount of 0 or more (zero-value orders count: CDNOW has
    eight). Negative amounts are refunds or credits, not purchases, and are left out; net them
    onto their purchase beforehand if spend should be net. With ``merge_same_day`` a customer's
    purchases on one day are summed into one transaction. Times are whole days divided by the
    days in ``time_unit`` (a month is 365.25 / 12 days).

    Parameters
    ----------
    transactions
        Long frame with ``customer_id, date, amount``; other columns are ignored.
    calibration_end
        Last day of the calibration period (inclusive); later transactions are ignored.
    time_unit
        ``"W"`` weeks, ``"D"`` days or ``"M"`` months.
    merge_same_day
        Count a customer's purchases on one day as one transaction (as Fader, Hardie & Lee 2005a
        do for CDNOW).
    observation_start
        First day of data to use; earlier transactions are ignored, so a customer's first
        purchase is their first on or after this day. Default: all history.

    Returns
    -------
    DataFrame
        ``customer_id, frequency, recency, T, monetary``, one row per customer with a purchase
        in the window, sorted by ``customer_id``: ``frequency`` repeat purchases (purchases after
        the first), ``recency`` time from the first to the last purchase, ``T`` time from the
        first purchase to ``calibration_end``, and ``monetary`` the mean amount of the repeat
        purchases (0 when ``frequency`` is 0), as in Fader, Hardie & Lee (2005b).

    Raises
    ------
    ValueError
        If a required column is missing, a row has no customer, date or amount, or
        ``time_unit`` or ``observation_start`` is invalid.
    """
    _require(transactions, (CUSTOMER_ID, DATE, AMOUNT), "transactions")
    if time_unit not in DAYS_PER_UNIT:
        raise ValueError(f"Unknown time_unit '{time_unit}': use one of W, D, M.")
    if observation_start is not None and observation_start > calibration_end:
        raise ValueError(
            f"observation_start {observation_start} is after calibration_end {calibration_end}."
        )
    for col in (CUSTOMER_ID, DATE, AMOUNT):
        missing = int(transactions[col].isna().sum())
        if missing:
            raise ValueError(
                f"transactions has {missing} rows without {col}: drop or fix them "
                "before summarizing."
            )
    day = _day_numbers(transactions[DATE])
    amount = transactions[AMOUNT].to_numpy(dtype=np.float64)
    keep = (day <= _day_number(calibration_end)) & (amount >= 0)
    if observation_start is not None:
        keep &= day >= _day_number(observation_start)
    codes, ids = _sorted_codes(transactions[CUSTOMER_ID][keep])
    day, amount = day[keep], amount[keep]
    # One int64 key per (customer, day): a single argsort instead of a two-key lexsort.
    first_day = int(day.min()) if day.size else 0
    span = int(day.max()) - first_day + 1 if day.size else 1
    order = np.argsort(codes.astype(np.int64) * span + (day - first_day))
    code, day, amount = codes[order], day[order], amount[order]
    if merge_same_day and code.size:
        starts = np.flatnonzero(np.r_[True, (code[1:] != code[:-1]) | (day[1:] != day[:-1])])
        code, day, amount = code[starts], day[starts], np.add.reduceat(amount, starts)
    if not code.size:
        return _summary_frame(ids[:0], *(np.zeros(0),) * 4)
    first = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    last = np.r_[first[1:], code.size] - 1
    frequency = last - first
    repeat_amount = amount.copy()
    repeat_amount[first] = 0.0
    repeat_total = np.add.reduceat(repeat_amount, first)
    monetary = np.divide(repeat_total, frequency, out=np.zeros(first.size), where=frequency > 0)
    unit = DAYS_PER_UNIT[time_unit]
    return _summary_frame(
        ids.take(code[first]),
        frequency,
        (day[last] - day[first]) / unit,
        (_day_number(calibration_end) - day[first]) / unit,
        monetary,
    )


def _summary_frame(
    ids: pd.Index, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray, monetary: np.ndarray
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            CUSTOMER_ID: ids,
            FREQUENCY: frequency.astype(np.int64),
            RECENCY: recency.astype(np.float64),
            T: age.astype(np.float64),
            MONETARY: monetary.astype(np.float64),
        }
    )


def _sorted_codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(ids, sort=True)``, by hashing first and sorting only the distinct ids."""
    codes, uniques = pd.factorize(ids, sort=False)
    order = uniques.argsort()
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size)
    return rank[codes], uniques.take(order)


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of a date column (datetimes, ``date`` objects or ISO strings)."""
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = pd.to_datetime(dates)
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)  # the customer's calendar day, not UTC's
    values = dates.to_numpy()
    unit, count = np.datetime_data(values.dtype)
    # One day in the column's ticks (datetime_data's unit is a plain str to the type checker).
    per_day = np.timedelta64(1, "D").astype(f"m8[{count}{unit}]").astype(np.int64)
    # Floor division of the integer ticks: exact, and cheaper than astype("datetime64[D]").
    return values.view(np.int64) // per_day


def _day_number(day: dt.date) -> int:
    return int(np.datetime64(pd.Timestamp(day).date(), "D").astype(np.int64))


def _require(frame: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    for col in cols:
        if col not in frame.columns:
            raise ValueError(
                f"Required column {col} missing from {what}: it needs {', '.join(cols)}."
            )


def _rfm(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated frequency, recency and T of a summary as float arrays."""
    _require(summary, (CUSTOMER_ID, FREQUENCY, RECENCY, T), "the summary")
    x = summary[FREQUENCY].to_numpy(dtype=np.float64)
    tx = summary[RECENCY].to_numpy(dtype=np.float64)
    age = summary[T].to_numpy(dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(tx).all() and np.isfinite(age).all()):
        raise ValueError("The summary has missing or infinite frequency, recency or T.")
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("frequency must be a whole number of repeat purchases, 0 or more.")
    if (tx < 0).any() or (tx > age).any():
        raise ValueError("recency must lie between 0 and T for every customer.")
    if (tx[x == 0] != 0).any():
        raise ValueError("recency must be 0 for customers with frequency 0.")
    return x, tx, age


# --------------------------------------------------------------------------- BG/NBD


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


# --------------------------------------------------------------------------- Gamma-Gamma


@dataclass(frozen=True, eq=False)
class GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma spend parameters.

    Each transaction's value is Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, so the
    population mean transaction value is ``p * gamma / (q - 1)`` (for ``q > 1``).
    ``covariance`` is that of ``(p, q, gamma)``, computed as for :class:`BGNBDFit`.
    """

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int
    covariance: np.ndarray
    converged: bool

    @property
    def standard_errors(self) -> dict[str, float]:
        """Standard error of each parameter, from the diagonal of ``covariance``."""
        return dict(
            zip(("p", "q", "gamma"), np.sqrt(np.diag(self.covariance)).tolist(), strict=True)
        )


def gamma_gamma_log_likelihood(
    log_params: np.ndarray, frequency: np.ndarray, monetary: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer Gamma-Gamma log-likelihood of mean spend and its log-parameter gradient.

    The density of a customer's mean ``m`` of ``x`` transaction values (Fader & Hardie 2013;
    Fader, Hardie & Lee 2005b, appendix):

    .. math::
        f(m \\mid p, q, \\gamma, x) = \\frac{\\Gamma(px+q)}{\\Gamma(px)\\Gamma(q)}
        \\frac{\\gamma^q\\, m^{px-1} x^{px}}{(\\gamma + m x)^{px+q}}

    Returns
    -------
    tuple of ndarray
        The log-likelihood per customer (n,) and its gradient with respect to
        ``log(p), log(q), log(gamma)`` (n, 3).
    """
    levels, index = np.unique(frequency, return_inverse=True)
    return _gamma_gamma_log_likelihood(
        log_params, levels, index.ravel(), np.log(monetary), np.log(frequency * monetary)
    )


def _gamma_gamma_log_likelihood(
    log_params: np.ndarray,
    levels: np.ndarray,
    index: np.ndarray,
    log_m: np.ndarray,
    log_total: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gamma_gamma_log_likelihood` with frequency as ``levels[index]``, ``log(m)`` and
    ``log(x m)`` given; Gamma-function terms are evaluated once per distinct frequency."""
    p, q, gamma = np.exp(log_params)
    x = levels[index]
    px = p * x
    # log(gamma + m x), stable for any ratio of the two
    log_scale = np.logaddexp(np.log(gamma), log_total)
    ll = (
        (special.gammaln(p * levels + q) - special.gammaln(p * levels))[index]
        - special.gammaln(q)
        + q * np.log(gamma)
        + px * log_total
        - log_m
        - (px + q) * log_scale
    )
    dg_sum = special.digamma(p * levels + q)
    d_p = x * ((dg_sum - special.digamma(p * levels))[index] + log_total - log_scale)
    d_q = dg_sum[index] - special.digamma(q) + np.log(gamma) - log_scale
    d_gamma = q / gamma - (px + q) * np.exp(-log_scale)
    return ll, np.stack([d_p * p, d_q * q, d_gamma * gamma], axis=1)


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGammaFit:
    """Fit the Gamma-Gamma spend model to the customers with repeat purchases.

    Only customers with ``frequency > 0`` carry information on spend (``monetary`` is the mean
    of their repeat purchases); those whose repeat purchases were all free (``monetary`` 0) are
    left out too, as a Gamma density has no mass at 0 (``n_customers`` counts those fitted).
    The model assumes spend is independent of frequency, which is worth checking (their
    correlation) before trusting it. The negative log-likelihood is
    minimised over the log-parameters with L-BFGS-B and the analytic gradient, from ``p = 1,
    q = 2`` and ``gamma`` matching the mean spend.

    Parameters
    ----------
    summary
        ``customer_id, frequency, monetary`` (as from :func:`summarize_purchases`).

    Returns
    -------
    GammaGammaFit

    Raises
    ------
    ValueError
        If a column is missing, ``monetary`` is negative, or fewer than two customers have
        repeat purchases of positive value.
    """
    x, m = _spend_inputs(summary)
    if (m < 0).any():
        raise ValueError("monetary must be 0 or more: summarize purchases, not refunds.")
    fitted = (x > 0) & (m > 0)
    x, m = x[fitted], m[fitted]
    if x.size < 2:
        raise ValueError(
            "Fitting spend needs at least two customers with repeat purchases of positive value."
        )
    start = np.log([1.0, 2.0, float(np.mean(m))])

    def make(rows: np.ndarray | None) -> tuple[LogLikelihood, np.ndarray]:
        xs, ms = (x, m) if rows is None else (x[rows], m[rows])
        levels, index = np.unique(xs, return_inverse=True)
        index, log_m, log_total = index.ravel(), np.log(ms), np.log(xs * ms)
        return (
            (lambda theta: _gamma_gamma_log_likelihood(theta, levels, index, log_m, log_total)),
            np.ones(xs.size),
        )

    theta, ll, cov, converged = _maximise_warm(make, x.size, start)
    p, q, gamma = np.exp(theta)
    return GammaGammaFit(
        p=float(p),
        q=float(q),
        gamma=float(gamma),
        log_likelihood=ll,
        n_customers=int(x.size),
        covariance=cov,
        converged=converged,
    )


def expected_spend(fit: GammaGammaFit, summary: pd.DataFrame) -> pd.Series:
    """Expected value of each customer's future transactions given their past ones.

    Fader & Hardie (2013), eq. 5: a weighted mean of the population mean and the customer's
    own mean,

    .. math::
        E[M \\mid p, q, \\gamma, m_x, x] = \\frac{q-1}{px+q-1}\\frac{p\\gamma}{q-1}
        + \\frac{px}{px+q-1} m_x = \\frac{p(\\gamma + m_x x)}{px+q-1}

    so a customer without repeat purchases gets the population mean ``p gamma / (q - 1)``.

    Returns
    -------
    Series
        ``expected_spend`` indexed by ``customer_id``, in summary order; NaN for customers
        without repeat purchases if ``q <= 1`` (the population mean does not exist).
    """
    x, m = _spend_inputs(summary)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = fit.p * (fit.gamma + m * x) / (fit.p * x + fit.q - 1)
    value = np.where(fit.p * x + fit.q > 1, value, np.nan)
    return pd.Series(value, index=pd.Index(summary[CUSTOMER_ID]), name=EXPECTED_SPEND)


def _spend_inputs(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    _require(summary, (CUSTOMER_ID, FREQUENCY, MONETARY), "the summary")
    x = summary[FREQUENCY].to_numpy(dtype=np.float64)
    m = summary[MONETARY].to_numpy(dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(m).all()) or (x < 0).any():
        raise ValueError("frequency and monetary must be finite, and frequency 0 or more.")
    return x, np.where(x > 0, m, 0.0)


# --------------------------------------------------------------------------- lifetime value


def customer_lifetime_value(
    bgnbd: BGNBDFit,
    gg: GammaGammaFit,
    summary: pd.DataFrame,
    *,
    horizon: int,
    margin: float | pd.Series,
    discount_rate_per_unit: float,
    cost_to_serve_per_transaction: float | pd.Series = 0.0,
    step: int = 1,
) -> pd.DataFrame:
    """Discounted margin each customer is expected to bring over the next ``horizon`` units.

    With step ends ``t_k = min(k * step, horizon)``, ``k = 1 .. ceil(horizon / step)``, and
    ``E(t)`` the conditional expected purchases of eq. 10 of Fader, Hardie & Lee (2005a),

    .. math::
        CLV = \\sum_k \\frac{E(t_k) - E(t_{k-1})}{(1 + d)^{t_k}}
              \\left(\\text{margin} \\cdot E[M] - c\\right), \\qquad E(t_0) = 0

    where ``E[M]`` is the Gamma-Gamma expected spend, ``d`` the discount rate per time unit and
    ``c`` the cost to serve one transaction. Purchases in a step are discounted from its end: a
    finite-horizon, discrete-time version of the discounted expected residual transactions of
    Fader, Hardie & Lee (2005b). A customer whose expected margin per purchase is below the cost
    to serve has a negative CLV.

    Parameters
    ----------
    bgnbd, gg
        Fitted models; ``horizon`` and ``step`` are in ``bgnbd``'s time unit.
    summary
        ``customer_id, frequency, recency, T, monetary``.
    horizon
        Time units ahead, 0 or more (0 gives zeros).
    margin
        Gross margin as a share of spend; one number or a Series indexed by ``customer_id``.
    discount_rate_per_unit
        Discount rate per time unit, above -1 (0.01 a week is about 68% a year).
    cost_to_serve_per_transaction
        Cost of serving one purchase; one number or a Series indexed by ``customer_id``.
    step
        Time units per discounting step, 1 or more.

    Returns
    -------
    DataFrame
        ``customer_id, p_alive, expected_transactions, expected_spend, clv`` in summary order;
        ``expected_transactions`` is undiscounted over the whole horizon.

    Raises
    ------
    ValueError
        If an argument is out of range or a per-customer Series lacks a customer.
    """
    if horizon < 0 or int(horizon) != horizon:
        raise ValueError(f"horizon must be a whole number of time units, 0 or more; got {horizon}.")
    if step < 1 or int(step) != step:
        raise ValueError(f"step must be a whole number of time units, 1 or more; got {step}.")
    if not discount_rate_per_unit > -1:
        raise ValueError(f"discount_rate_per_unit must be above -1, got {discount_rate_per_unit}.")
    x, tx, age = _rfm(summary)
    ids = pd.Index(summary[CUSTOMER_ID])
    unit_margin = _per_customer(margin, ids, "margin")
    unit_cost = _per_customer(cost_to_serve_per_transaction, ids, "cost_to_serve_per_transaction")
    spend = expected_spend(gg, summary).to_numpy()
    alive = _p_alive(bgnbd, x, tx, age)

    ends = np.minimum(np.arange(1, -(-int(horizon) // int(step)) + 1) * float(step), float(horizon))
    # E(t) = P(alive) x bracket(x, T, t): evaluate the bracket once per distinct (x, T).
    (ux, uage), _, where = _distinct_rows(x, age)
    if_alive = np.zeros((ends.size + 1, ux.size))
    if ends.size:
        if_alive[1:] = _expected_if_alive(bgnbd, ux, uage, ends[:, None])
    discount = (1.0 + discount_rate_per_unit) ** -ends
    with threadpool_limits(limits=1, user_api="blas"):  # see _maximise_warm
        discounted = (discount @ np.diff(if_alive, axis=0))[where] * alive
    return pd.DataFrame(
        {
            CUSTOMER_ID: ids,
            P_ALIVE: alive,
            EXPECTED_TRANSACTIONS: if_alive[-1][where] * alive,
            EXPECTED_SPEND: spend,
            CLV: discounted * (spend * unit_margin - unit_cost),
        }
    )


def _per_customer(value: float | pd.Series, ids: pd.Index, name: str) -> np.ndarray:
    if isinstance(value, pd.Series):
        aligned = value.reindex(ids)
        missing = aligned.isna()
        if missing.any():
            raise ValueError(
                f"{name} has no value for {int(missing.sum())} customers (e.g. "
                f"{ids[missing.to_numpy()][0]}): give one per customer_id."
            )
        return aligned.to_numpy(dtype=np.float64)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}.")
    return np.full(ids.size, float(value))


# --------------------------------------------------------------------------- fitting


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
