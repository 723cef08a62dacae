"""Customer value from the store: what each customer is worth now, could be worth, and risks.

:func:`score_customers` runs the value models of planning.value on the store as of a date:
each customer's purchase history is summarised in SQL (purchase days, first and last, spend on
repeat days), BG/NBD and Gamma-Gamma are fitted on it, and the expected purchases and spend of
the next ``horizon`` are priced with the customer's own economics from the P&L of the trailing
year (planning.profit.profitability): gross margin net of financing cost as a share of revenue, and
cost-to-serve per order. CLV is that discounted expected contribution.

**Potential value** follows Perlich et al. (2007): a customer's wallet is a high quantile
(default 0.8) of yearly spend among peers with the same attributes, estimated by quantile
regression (statsmodels QuantReg) of log spend on the customer attributes — quantiles commute
with the log, so the fit gives the quantile of spend itself. Potential is the CLV the customer
would have if they spent their wallet; headroom is potential minus CLV.

**Uncertainty.** Segment totals carry the parameter uncertainty of both fits by the delta
method: each customer's CLV and potential are differentiated numerically with respect to the
seven log-parameters, and a segment total's variance is ``g' Σ g`` with ``g`` the summed
gradient and ``Σ`` the fits' covariance (inverse Hessian). The gradients are per customer, so
any segment lens aggregates them without refitting.

References
----------
Perlich, C., Rosset, S., Lawrence, R. D. & Zadrozny, B. (2007). High-quantile modeling for
    customer wallet estimation and other applications. KDD '07, 977-985.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats
from sqlalchemy.engine import Engine

from planning import value
from planning.core import columns as C
from planning.profit import profitability as pl
from planning.store import schema
from planning.value import (
    BGNBDFit,
    GammaGammaFit,
    TimeUnit,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
)

# Columns of the scores frame, beyond planning.value.summary's.
MARGIN_RATE: Final = C.MARGIN_RATE
COST_PER_ORDER: Final = "cost_per_order"
YEARLY_SPEND: Final = "yearly_spend"
WALLET: Final = "wallet"
POTENTIAL: Final = "potential"
HEADROOM: Final = "headroom"
VALUE_AT_RISK: Final = "value_at_risk"
CUSTOMERS: Final = C.CUSTOMERS
LO: Final = "_lo"
HI: Final = "_hi"

ATTRIBUTES: Final = (C.REGION, C.INDUSTRY, C.SIZE, C.CHANNEL)
_GROSS: Final = "_discounted_spend"
_GRADIENT_STEP: Final = 1e-4  # in log-parameter space
_WALLET_SAMPLE: Final = 20_000  # customers the quantile regression is fitted on at most
_MIN_REVENUE_FOR_OWN_RATES: Final = 1.0  # below this a customer is priced at company rates


@dataclass(frozen=True)
class ValueSettings:
    """How value is measured.

    Attributes
    ----------
    horizon
        Time units ahead that CLV counts (52 weeks by default).
    time_unit
        ``"W"`` weeks or ``"M"`` months (also the discounting step).
    annual_discount_rate
        Yearly discount rate of future contribution (0.10 = 10 %).
    economics_months
        Months of trailing P&L that set each customer's margin and cost-to-serve rates.
    wallet_quantile
        Quantile of peers' yearly spend taken as a customer's wallet (0.5 < q < 1).
    """

    horizon: int = 52
    time_unit: TimeUnit = "W"
    annual_discount_rate: float = 0.10
    economics_months: int = 12
    wallet_quantile: float = 0.8

    def __post_init__(self) -> None:
        if self.time_unit not in ("W", "M"):
            raise ValueError(f"time_unit must be 'W' or 'M', got {self.time_unit!r}.")
        if not (isinstance(self.horizon, int) and self.horizon >= 1):
            raise ValueError(
                f"horizon must be a whole number of {self.time_unit} units, 1 or "
                f"more; got {self.horizon!r}."
            )
        if not 0 <= self.annual_discount_rate < 1:
            raise ValueError(
                "annual_discount_rate must be in [0, 1), e.g. 0.10 for 10 %; got "
                f"{self.annual_discount_rate}."
            )
        if not 1 <= self.economics_months <= 60:
            raise ValueError(f"economics_months must be 1 to 60, got {self.economics_months}.")
        if not 0.5 < self.wallet_quantile < 1:
            raise ValueError(
                f"wallet_quantile must be between 0.5 and 1, got {self.wallet_quantile}."
            )

    @property
    def discount_per_unit(self) -> float:
        units_per_year = 52.0 if self.time_unit == "W" else 12.0
        return (1 + self.annual_discount_rate) ** (1 / units_per_year) - 1

    @property
    def horizon_label(self) -> str:
        return f"{self.horizon} {'weeks' if self.time_unit == 'W' else 'months'}"


@dataclass(frozen=True, eq=False)
class CustomerValue:
    """Fitted value models and every customer's scores as of a date.

    ``scores`` has one row per customer with a purchase on or before ``as_of``: ``customer_id,
    frequency, recency, T, monetary, p_alive, expected_transactions, expected_spend,
    margin_rate, cost_per_order, yearly_spend, wallet, clv, potential, headroom,
    value_at_risk``. ``clv_gradient`` and ``potential_gradient`` (customers x 7) are the
    derivatives used for segment intervals; ``covariance`` (7 x 7) is that of the
    log-parameters (r, alpha, a, b, p, q, gamma).
    """

    as_of: dt.date
    settings: ValueSettings
    bgnbd: BGNBDFit
    gamma_gamma: GammaGammaFit
    scores: pd.DataFrame
    clv_gradient: np.ndarray = field(repr=False)
    potential_gradient: np.ndarray = field(repr=False)
    covariance: np.ndarray = field(repr=False)
    wallet_model: str = ""


def purchase_summary(engine: Engine, as_of: dt.date, *, time_unit: TimeUnit = "W") -> pd.DataFrame:
    """frequency / recency / T / monetary per customer, computed in the store.

    The same summary as :func:`planning.value.summary.summarize_purchases` with same-day purchases
    merged and refunds (negative amounts) left out, but aggregated by SQL: one row per customer
    crosses the wire instead of every transaction.

    Returns
    -------
    DataFrame
        ``customer_id, frequency, recency, T, monetary``, sorted by ``customer_id``.
    """
    tx = schema.Transaction.__table__
    purchases = [tx.c.date <= as_of, tx.c.amount >= 0]
    # SQLite would walk the (customer_id, date) index to group without sorting, then look up
    # every row for its amount: three times slower than scanning the rows and sorting. Grouping
    # by an expression of the key keeps the index out of that choice.
    key = tx.c.customer_id.concat("") if engine.dialect.name == "sqlite" else tx.c.customer_id
    per = (
        sa.select(
            key.label(C.CUSTOMER_ID),
            sa.func.min(tx.c.date).label("first"),
            sa.func.max(tx.c.date).label("last"),
            sa.func.count(sa.distinct(tx.c.date)).label("days"),
            sa.func.sum(tx.c.amount).label("total"),
        )
        .where(*purchases)
        .group_by(key)
        .subquery("per")
    )
    # The spend on each customer's first day, looked up through the index.
    first_day = tx.alias("first_day")
    query = (
        sa.select(
            per.c.customer_id,
            per.c.first,
            per.c.last,
            per.c.days,
            per.c.total,
            sa.func.sum(first_day.c.amount).label("first_amount"),
        )
        .join(
            first_day,
            sa.and_(first_day.c.customer_id == per.c.customer_id, first_day.c.date == per.c.first),
        )
        .where(first_day.c.amount >= 0)
        .group_by(per.c.customer_id, per.c.first, per.c.last, per.c.days, per.c.total)
        .order_by(per.c.customer_id)
    )
    with engine.connect() as conn:
        rows = pd.read_sql(query, conn)
    unit = value.DAYS_PER_UNIT[time_unit]
    first = pd.to_datetime(rows["first"]).to_numpy().astype("datetime64[D]")
    last = pd.to_datetime(rows["last"]).to_numpy().astype("datetime64[D]")
    end = np.datetime64(as_of, "D")
    frequency = rows["days"].to_numpy(dtype=np.int64) - 1
    repeat_total = (rows["total"] - rows["first_amount"]).to_numpy(dtype=np.float64)
    monetary = np.divide(repeat_total, frequency, out=np.zeros(len(rows)), where=frequency > 0)
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: rows[C.CUSTOMER_ID].astype(str),
            value.FREQUENCY: frequency,
            value.RECENCY: (last - first).astype(np.int64) / unit,
            value.T: (end - first).astype(np.int64) / unit,
            value.MONETARY: np.maximum(monetary, 0.0),
        }
    )


def score_customers(
    engine: Engine,
    as_of: dt.date,
    *,
    settings: ValueSettings = ValueSettings(),
    assumptions: pl.ProfitAssumptions = pl.ProfitAssumptions(),
    terms_override: pd.Series | None = None,
) -> CustomerValue:
    """Fit the value models on the store as of ``as_of`` and score every customer.

    Parameters
    ----------
    engine
        An open store.
    as_of
        Only data dated on or before this day is used.
    settings
        Horizon, time unit, discount rate, economics window and wallet quantile.
    assumptions, terms_override
        Passed to :func:`planning.profit.profitability.customer_pnl` for the customers' economics.

    Returns
    -------
    CustomerValue

    Raises
    ------
    ValueError
        If the store holds too little history on ``as_of`` to fit the models (no customer with a
        repeat purchase, or fewer than two with repeat spend).
    """
    summary = purchase_summary(engine, as_of, time_unit=settings.time_unit)
    pnl = pl.customer_pnl(
        engine,
        start=_months_before(as_of, settings.economics_months),
        end=as_of,
        assumptions=assumptions,
        terms_override=terms_override,
    )
    return value_customers(
        summary, pnl, read_attributes(engine), as_of, settings=settings, assumptions=assumptions
    )


def read_attributes(engine: Engine) -> pd.DataFrame:
    """``customer_id`` and the attributes the wallet model uses, for every stored customer."""
    cu = schema.Customer.__table__
    with engine.connect() as conn:
        return pd.read_sql(sa.select(cu.c.customer_id, *[cu.c[a] for a in ATTRIBUTES]), conn)


def value_customers(
    summary: pd.DataFrame,
    pnl: pd.DataFrame,
    attributes: pd.DataFrame,
    as_of: dt.date,
    *,
    settings: ValueSettings = ValueSettings(),
    assumptions: pl.ProfitAssumptions = pl.ProfitAssumptions(),
    uncertainty: bool = True,
) -> CustomerValue:
    """:func:`score_customers` on frames already read: the pure core the planner memoises.

    Parameters
    ----------
    summary
        From :func:`purchase_summary` as of ``as_of``.
    pnl
        :func:`planning.profit.profitability.customer_pnl` over the ``economics_months`` to
        ``as_of``.
    attributes
        ``customer_id`` and the columns of :data:`ATTRIBUTES` (from :func:`read_attributes`).
    uncertainty
        Compute the per-customer gradients behind segment intervals (seven more pricing
        passes); without them the intervals collapse to the point values.
    """
    if summary.empty:
        raise ValueError(
            f"No purchases on or before {as_of}: import transactions, or pick a later as-of date."
        )
    if int((summary[value.FREQUENCY] > 0).sum()) < 2:
        raise ValueError(
            f"Only {int((summary[value.FREQUENCY] > 0).sum())} customer(s) bought "
            f"again on or before {as_of}: the value models need repeat purchases "
            "from at least two customers."
        )
    bgnbd, gg = fit_bgnbd(summary), fit_gamma_gamma(summary)
    economics = _economics(pnl, summary[C.CUSTOMER_ID], assumptions)
    wallet, wallet_model = _wallets(attributes, economics[YEARLY_SPEND], settings)

    theta = np.log([bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b, gg.p, gg.q, gg.gamma])
    base = _price(theta, summary, economics, settings)
    ratio = _wallet_ratio(base, wallet, settings)
    if uncertainty:
        clv_grad, gross_grad = _gradients(theta, summary, economics, settings, base)
    else:
        clv_grad = gross_grad = np.zeros((len(summary), theta.size))
    uplift = economics[MARGIN_RATE].to_numpy() * (ratio - 1)
    base[POTENTIAL] = base[value.CLV] + base[_GROSS] * uplift
    pot_grad = clv_grad + gross_grad * uplift[:, None]
    scores = summary.copy()
    for col in (value.P_ALIVE, value.EXPECTED_TRANSACTIONS, value.EXPECTED_SPEND):
        scores[col] = base[col].to_numpy()
    scores[MARGIN_RATE] = economics[MARGIN_RATE].to_numpy()
    scores[COST_PER_ORDER] = economics[COST_PER_ORDER].to_numpy()
    scores[YEARLY_SPEND] = economics[YEARLY_SPEND].to_numpy()
    scores[WALLET] = wallet.to_numpy()
    scores[value.CLV] = base[value.CLV].to_numpy()
    scores[POTENTIAL] = base[POTENTIAL].to_numpy()
    scores[HEADROOM] = scores[POTENTIAL] - scores[value.CLV]
    alive = scores[value.P_ALIVE].to_numpy()
    if_alive = np.divide(
        scores[value.CLV].to_numpy(), alive, out=np.zeros(len(scores)), where=alive > 0
    )
    scores[VALUE_AT_RISK] = np.maximum(if_alive, 0.0) * (1 - alive)
    return CustomerValue(
        as_of,
        settings,
        bgnbd,
        gg,
        scores,
        clv_grad,
        pot_grad,
        _log_covariance(bgnbd, gg),
        wallet_model,
    )


def segment_value(
    cv: CustomerValue, assignment: pd.DataFrame, *, level: float = 0.9
) -> pd.DataFrame:
    """CLV, potential and headroom per segment, with intervals for the totals.

    Parameters
    ----------
    cv
        From :func:`score_customers`.
    assignment
        ``customer_id, segment`` (as from planning.segments.lenses.assign_segments); scored
        customers
        it does not name fall in "Unassigned".
    level
        Coverage of the intervals (0.9: 5th to 95th percentile of the normal approximation).

    Returns
    -------
    DataFrame
        ``segment, customers, clv, clv_lo, clv_hi, potential, potential_lo, potential_hi,
        headroom, clv_per_customer, p_alive, value_at_risk``; ``p_alive`` is the mean. Sorted
        by CLV, largest first. The segments' CLVs add up to the company's.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    scores = cv.scores
    segment = (
        assignment.drop_duplicates(C.CUSTOMER_ID)
        .set_index(C.CUSTOMER_ID)[C.SEGMENT]
        .astype(str)
        .reindex(scores[C.CUSTOMER_ID])
        .fillna(pl.UNASSIGNED)
        .to_numpy()
    )
    codes, names = pd.factorize(segment, sort=True)
    z = stats.norm.ppf(0.5 + level / 2)
    onehot = np.zeros((names.size, codes.size))
    onehot[codes, np.arange(codes.size)] = 1.0
    out = pd.DataFrame({C.SEGMENT: names, CUSTOMERS: onehot.sum(axis=1).astype(np.int64)})
    for col, grad in ((value.CLV, cv.clv_gradient), (POTENTIAL, cv.potential_gradient)):
        total = onehot @ scores[col].to_numpy()
        g = onehot @ grad
        sd = np.sqrt(np.maximum(np.einsum("si,ij,sj->s", g, cv.covariance, g), 0.0))
        out[col], out[col + LO], out[col + HI] = total, total - z * sd, total + z * sd
    out[HEADROOM] = out[POTENTIAL] - out[value.CLV]
    out["clv_per_customer"] = out[value.CLV] / out[CUSTOMERS]
    out[value.P_ALIVE] = (onehot @ scores[value.P_ALIVE].to_numpy()) / out[CUSTOMERS]
    out[VALUE_AT_RISK] = onehot @ scores[VALUE_AT_RISK].to_numpy()
    return out.sort_values(value.CLV, ascending=False, ignore_index=True)


def company_value(cv: CustomerValue, *, level: float = 0.9) -> pd.Series:
    """The whole company's row of :func:`segment_value` (segment "Total")."""
    everyone = pd.DataFrame({C.CUSTOMER_ID: cv.scores[C.CUSTOMER_ID], C.SEGMENT: pl.TOTAL_LABEL})
    return segment_value(cv, everyone, level=level).iloc[0]


def at_risk_customers(
    cv: CustomerValue, n: int = 25, *, min_risk: float = 0.3, max_risk: float = 0.9
) -> pd.DataFrame:
    """Customers worth saving: the most value at risk among those slipping away.

    Value at risk is the CLV a customer would have if still active, times the probability that
    they are not (``(1 - p_alive) x CLV / p_alive``). Customers with a risk between
    ``min_risk`` and ``max_risk`` (slipping, not yet gone: beyond that they are win-back
    prospects) and a positive value are listed, largest value at risk first.
    """
    s = cv.scores
    risk = 1 - s[value.P_ALIVE]
    risky = s[(risk >= min_risk) & (risk <= max_risk) & (s[VALUE_AT_RISK] > 0)]
    cols = [
        C.CUSTOMER_ID,
        value.P_ALIVE,
        value.FREQUENCY,
        value.RECENCY,
        value.T,
        YEARLY_SPEND,
        value.CLV,
        VALUE_AT_RISK,
    ]
    return risky.nlargest(n, VALUE_AT_RISK)[cols].reset_index(drop=True)


def headroom_ranking(cv: CustomerValue, n: int = 25) -> pd.DataFrame:
    """Customers with the most headroom (potential minus CLV), largest first."""
    cols = [C.CUSTOMER_ID, YEARLY_SPEND, WALLET, value.P_ALIVE, value.CLV, POTENTIAL, HEADROOM]
    return cv.scores.nlargest(n, HEADROOM)[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- economics


def _months_before(day: dt.date, months: int) -> dt.date:
    """The day after the same day ``months`` earlier: a window of exactly ``months``."""
    return (pd.Timestamp(day) - pd.DateOffset(months=months) + pd.Timedelta(days=1)).date()


def _economics(
    pnl: pd.DataFrame, ids: pd.Series, assumptions: pl.ProfitAssumptions
) -> pd.DataFrame:
    """Per customer: net margin rate, cost-to-serve per order and yearly spend.

    A customer with (almost) no revenue in the window, or none at all, is priced at the
    company's rates: their own ratios would be noise.
    """
    frame = pnl.set_index(C.CUSTOMER_ID).reindex(ids)
    revenue = frame[pl.REVENUE].fillna(0.0).to_numpy()
    net_margin = (frame[pl.GROSS_MARGIN] - frame[pl.FINANCING_COST]).fillna(0.0).to_numpy()
    cts = frame[pl.COST_TO_SERVE].fillna(0.0).to_numpy()
    orders = frame[pl.ORDERS].fillna(0).to_numpy(dtype=np.float64)
    total_revenue = float(np.clip(revenue, 0, None).sum())
    company_margin = (
        float(net_margin[revenue > 0].sum()) / total_revenue
        if total_revenue > 0
        else assumptions.default_margin
    )
    company_cpo = (
        float(cts.sum()) / float(orders.sum()) if orders.sum() > 0 else assumptions.cost_per_order
    )
    own = revenue >= _MIN_REVENUE_FOR_OWN_RATES
    margin = np.where(
        own, np.divide(net_margin, revenue, out=np.zeros_like(revenue), where=own), company_margin
    )
    cpo = np.where(
        own & (orders > 0),
        np.divide(cts, orders, out=np.zeros_like(cts), where=orders > 0),
        company_cpo,
    )
    return pd.DataFrame(
        {
            MARGIN_RATE: np.clip(margin, -1.0, 1.0),
            COST_PER_ORDER: cpo,
            YEARLY_SPEND: np.clip(revenue, 0, None),
        },
        index=pd.Index(ids.to_numpy(), name=C.CUSTOMER_ID),
    )


def _wallets(
    attributes: pd.DataFrame, spend: pd.Series, settings: ValueSettings
) -> tuple[pd.Series, str]:
    """Each customer's wallet: the ``wallet_quantile`` of peers' yearly spend, at least their own.

    Quantile regression of log spend on one-hot customer attributes (statsmodels QuantReg) over
    customers who spent in the window; customers without attributes share the intercept, so a
    file with no attributes gets the plain quantile of spend.
    """
    from statsmodels.regression.quantile_regression import QuantReg

    attrs = attributes.set_index(C.CUSTOMER_ID).reindex(spend.index)
    used = [a for a in ATTRIBUTES if attrs[a].notna().any()]
    design = pd.DataFrame({"const": 1.0}, index=spend.index)
    if used:
        design = design.join(
            pd.get_dummies(attrs[used].fillna(pl.UNASSIGNED), drop_first=True, dtype=np.float64)
        )
    buyers = np.flatnonzero(spend.to_numpy() > 0)
    q = settings.wallet_quantile
    if buyers.size < max(20, 2 * design.shape[1]):
        level = float(np.quantile(spend.to_numpy()[buyers], q)) if buyers.size else 0.0
        return pd.Series(np.maximum(level, spend.to_numpy()), index=spend.index), (
            f"{q:.0%} quantile of yearly spend (too few buyers to use attributes)"
        )
    if buyers.size > _WALLET_SAMPLE:
        buyers = np.sort(np.random.default_rng(0).choice(buyers, _WALLET_SAMPLE, replace=False))
    x = design.to_numpy()
    y = np.log(spend.to_numpy()[buyers])
    with warnings.catch_warnings():
        # QuantReg warns when its IRLS stops at max_iter; the fit is still the best found.
        warnings.simplefilter("ignore")
        fit = QuantReg(y, x[buyers]).fit(q=q, max_iter=2000)
    predicted = np.exp(x @ np.asarray(fit.params))
    model = (
        f"{q:.0%} quantile of yearly spend among peers with the same "
        f"{', '.join(used) if used else 'history'} (quantile regression on "
        f"{buyers.size:,} buyers)"
    )
    return pd.Series(np.maximum(predicted, spend.to_numpy()), index=spend.index), model


def _wallet_ratio(priced: pd.DataFrame, wallet: pd.Series, settings: ValueSettings) -> np.ndarray:
    """How many times its expected spend a customer would spend at their wallet (at least 1).

    The denominator is the yearly spend the model expects while the customer is active
    (expected purchases if alive over the horizon, per year, times expected spend per
    purchase), not last year's revenue: a customer who bought little lately but is expected
    to come back is not credited with a wallet hundreds of times what they spend.
    """
    alive = np.maximum(priced[value.P_ALIVE].to_numpy(), 1e-12)
    years = settings.horizon * value.DAYS_PER_UNIT[settings.time_unit] / 365.25
    expected = (
        priced[value.EXPECTED_TRANSACTIONS].to_numpy()
        / alive
        / years
        * priced[value.EXPECTED_SPEND].to_numpy()
    )
    w = wallet.to_numpy()
    ratio = np.divide(w, expected, out=np.ones_like(w), where=expected > 0)
    return np.maximum(ratio, 1.0)


# --------------------------------------------------------------------------- pricing


def _fits_at(theta: np.ndarray) -> tuple[BGNBDFit, GammaGammaFit]:
    r, alpha, a, b, p, q, gamma = np.exp(theta)
    nan = np.full((1, 1), np.nan)
    return (
        BGNBDFit(
            r=r,
            alpha=alpha,
            a=a,
            b=b,
            log_likelihood=np.nan,
            n_customers=0,
            covariance=nan,
            converged=True,
        ),
        GammaGammaFit(
            p=p,
            q=q,
            gamma=gamma,
            log_likelihood=np.nan,
            n_customers=0,
            covariance=nan,
            converged=True,
        ),
    )


def _price(
    theta: np.ndarray, summary: pd.DataFrame, economics: pd.DataFrame, settings: ValueSettings
) -> pd.DataFrame:
    """p_alive, expected purchases and spend, discounted spend ``G`` and CLV at ``theta``.

    One CLV pass with margin 1 and no cost gives the discounted expected spend ``G`` of each
    customer; with ``E[M]`` the expected spend per purchase, ``G / E[M]`` is the discounted
    expected purchases, so ``CLV = G m - (G / E[M]) c`` for margin rate ``m`` and cost per
    order ``c``. At ``w`` times the spend per purchase, ``potential = CLV + G m (w - 1)``.
    """
    bgnbd, gg = _fits_at(theta)
    gross = customer_lifetime_value(
        bgnbd,
        gg,
        summary,
        horizon=settings.horizon,
        margin=1.0,
        discount_rate_per_unit=settings.discount_per_unit,
    )
    spend = gross[value.EXPECTED_SPEND].to_numpy()
    g = gross[value.CLV].to_numpy()
    purchases = np.divide(g, spend, out=np.zeros_like(g), where=spend > 0)
    m, c = economics[MARGIN_RATE].to_numpy(), economics[COST_PER_ORDER].to_numpy()
    gross[_GROSS] = g
    gross[value.CLV] = g * m - purchases * c
    return gross


def _gradients(
    theta: np.ndarray,
    summary: pd.DataFrame,
    economics: pd.DataFrame,
    settings: ValueSettings,
    base: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray]:
    """Forward-difference derivatives of each customer's CLV and ``G`` (customers x 7)."""
    clv = np.empty((len(summary), theta.size))
    gross = np.empty_like(clv)
    for j in range(theta.size):
        shifted = theta.copy()
        shifted[j] += _GRADIENT_STEP
        moved = _price(shifted, summary, economics, settings)
        clv[:, j] = (moved[value.CLV].to_numpy() - base[value.CLV].to_numpy()) / _GRADIENT_STEP
        gross[:, j] = (moved[_GROSS].to_numpy() - base[_GROSS].to_numpy()) / _GRADIENT_STEP
    return clv, gross


def _log_covariance(bgnbd: BGNBDFit, gg: GammaGammaFit) -> np.ndarray:
    """Block-diagonal covariance of the seven log-parameters (the fits are independent)."""
    cov = np.zeros((7, 7))
    for block, fit, params in (
        (slice(0, 4), bgnbd, (bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b)),
        (slice(4, 7), gg, (gg.p, gg.q, gg.gamma)),
    ):
        natural = np.asarray(params)
        cov[block, block] = np.nan_to_num(fit.covariance / np.outer(natural, natural))
    return cov
