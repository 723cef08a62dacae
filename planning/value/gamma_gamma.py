"""The Gamma-Gamma model of monetary value (Fader, Hardie & Lee 2005b; Fader & Hardie 2013): each
customer's observed mean spend shrunk towards the population mean, more so for customers with
few purchases. Fitted by maximum likelihood on the repeat buyers.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: Using Iso-Value Curves for
    Customer Base Analysis. Journal of Marketing Research 42(4), 415-430.
Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
    http://brucehardie.com/notes/025/
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from planning.core.columns import CUSTOMER_ID
from planning.value._likelihood import LogLikelihood, _maximise_warm
from planning.value.summary import EXPECTED_SPEND, FREQUENCY, MONETARY, _require


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
