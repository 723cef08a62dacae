"""Economics of allocation: what one unit of each program's outcome is worth, in money.

Outcomes are priced with the customer-value model (planning.value.scoring, which prices
expected purchases with each customer's own margin, financing and cost-to-serve, discounted
over the horizon):

- a **saved** customer (retention, a better service tier) is worth the value at risk of an
  active customer of the segment: the segment's CLV given alive, ``sum CLV / sum P(alive)``;
- a **won-back** customer is valued like an active customer of the segment (an assumption:
  the demo's returning customers behave like the rest);
- a **new** customer is worth what the segment's own BG/NBD fit expects of a customer just
  acquired (Fader, Hardie & Lee 2005, eq. 7): the first purchase plus the expected repeat
  purchases over the horizon, discounted monthly, each worth the segment's margin on its mean
  spend per purchase less its cost-to-serve per order. A segment with too few repeat buyers
  for its own fit uses the company-wide purchase model with the segment's spend and economics;
- a dollar of **cross-sell** revenue is worth the segment's gross margin net of financing.

The segment's flows (active base, monthly churn, contribution per customer-month) come from
its last closed months (planning.profit.segment_history). Treatments change the price: a scenario's
new
payment terms or credit limit re-price every customer of the segment (profitability's terms
override, receivables capped by the credit limit); a different tier or contact cadence adds
its cost per account-month over the expected discounted months a customer stays, and a tier's
churn reduction lengthens that stay (geometric survival at the segment's churn). The value of
an outcome is uncertain: the coefficients of variation come from the value models' parameter
covariance (the delta method for active customers, a parametric bootstrap of the purchase
model for new ones); the mean spend and the margins are taken as measured.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from planning import value
from planning.allocation.strategy import Treatment
from planning.core import columns as C
from planning.core.options import AttributeLens
from planning.profit import profitability as pl
from planning.profit import segment_history as pf
from planning.profit.segment_rates import segment_rates
from planning.segments.lenses import assign_segments
from planning.value import scoring as cvm

VALUE_ACTIVE: Final = "value_active"
VALUE_ACTIVE_CV: Final = "value_active_cv"
VALUE_NEW: Final = "value_new"
VALUE_NEW_CV: Final = "value_new_cv"
NEW_BASIS: Final = "new_basis"
ACTIVE: Final = C.ACTIVE_CUSTOMERS
CHURN_RATE: Final = "churn_rate"
MARGIN_RATE: Final = C.MARGIN_RATE
FINANCING_RATE: Final = "financing_rate"
REVENUE_PER_MONTH: Final = "revenue_per_customer_month"
CONTRIBUTION_PER_MONTH: Final = "contribution_per_customer_month"
VALUE_PER_UNIT: Final = C.VALUE_PER_UNIT
VALUE_CV: Final = "value_cv"
FLOW_PER_UNIT: Final = "flow_per_unit"
BASIS: Final = "basis"

_MIN_CUSTOMERS_FOR_OWN_FIT: Final = 40
_MIN_REPEATERS_FOR_OWN_FIT: Final = 15
_BOOTSTRAP_DRAWS: Final = 100


@dataclass(frozen=True)
class EconomicsSettings:
    """Horizon and discounting of outcome values, the segment lens, profit assumptions."""

    horizon_months: int = 36
    annual_discount_rate: float = 0.10
    lens: AttributeLens = "size"
    economics_months: int = 12
    assumptions: pl.ProfitAssumptions = pl.ProfitAssumptions()

    def __post_init__(self) -> None:
        if not (isinstance(self.horizon_months, int) and 1 <= self.horizon_months <= 120):
            raise ValueError(f"horizon_months must be 1 to 120, got {self.horizon_months!r}.")
        if not 0 <= self.annual_discount_rate < 1:
            raise ValueError(
                f"annual_discount_rate must be in [0, 1), got {self.annual_discount_rate}."
            )

    @property
    def monthly_discount(self) -> float:
        return (1 + self.annual_discount_rate) ** (1 / 12) - 1


def segment_economics(
    engine: Engine,
    *,
    as_of: dt.date,
    settings: EconomicsSettings = EconomicsSettings(),
    treatments: Mapping[str, Treatment] | None = None,
    base_treatments: Mapping[str, Treatment] | None = None,
) -> pd.DataFrame:
    """Each segment's flows and the value of a saved and of a new customer.

    Parameters
    ----------
    engine
        An open store.
    as_of
        Only data on or before this day.
    settings
        Horizon, discounting, lens and profit assumptions.
    treatments, base_treatments
        A scenario's policies and the stored ones they change; segments whose policy differs
        are re-priced (see module notes). None: as measured.

    Returns
    -------
    DataFrame
        Indexed by segment: ``customers, active_customers, churn_rate`` (monthly),
        ``margin_rate`` (net of financing), ``financing_rate``,
        ``revenue_per_customer_month``, ``contribution_per_customer_month``,
        ``value_active, value_active_cv, value_new, value_new_cv, new_basis``.

    Raises
    ------
    ValueError
        If the store holds too little history on ``as_of`` to fit the value models.
    """
    last = pf.last_closed_month(as_of)
    history = pf.load_history(
        engine,
        lens=settings.lens,
        end_month=last,
        cost_of_capital=settings.assumptions.cost_of_capital,
        default_terms_days=settings.assumptions.default_terms_days,
    )
    if history.empty:
        raise ValueError(
            f"No closed month of history on or before {as_of}: import "
            "transactions, or pick a later as-of date."
        )
    flows = segment_rates(history, months=settings.economics_months)
    assignment = assign_segments(engine, "attribute", as_of, attribute=settings.lens)
    changed = _changed(treatments or {}, base_treatments or {})
    override = _terms_override(engine, as_of, assignment, changed, settings) if changed else None
    cv = cvm.score_customers(
        engine,
        as_of,
        assumptions=settings.assumptions,
        terms_override=override,
        settings=cvm.ValueSettings(
            horizon=settings.horizon_months,
            time_unit="M",
            annual_discount_rate=settings.annual_discount_rate,
            economics_months=settings.economics_months,
        ),
    )
    by_segment = cvm.segment_value(cv, assignment).set_index(C.SEGMENT)
    scores = cv.scores.merge(assignment, on=C.CUSTOMER_ID, how="left")
    recent = history[
        history[C.MONTH] > history[C.MONTH].max() - pd.DateOffset(months=settings.economics_months)
    ]
    rows = {}
    for segment in flows.index:
        seg_scores = scores[scores[C.SEGMENT] == segment]
        if segment not in by_segment.index or seg_scores.empty:
            continue
        s = by_segment.loc[segment]
        g = recent[recent[C.SEGMENT] == segment]
        months = float(g[pf.CLOSING].sum())
        contribution = float(
            (g[pf.GROSS_MARGIN] - g[pf.COST_TO_SERVE] - g[pf.FINANCING_COST]).sum()
        )
        alive = float(seg_scores[value.P_ALIVE].sum())
        active_value = float(s[value.CLV]) / alive if alive > 0 else 0.0
        z = 1.6448536269514722  # segment_value's 90% interval
        active_cv = (
            (
                float(s[value.CLV + cvm.HI] - s[value.CLV + cvm.LO])
                / (2 * z)
                / abs(float(s[value.CLV]))
            )
            if s[value.CLV]
            else 0.0
        )
        new_value, new_cv, basis = _new_customer_value(seg_scores, cv, settings)
        rows[segment] = {
            cvm.CUSTOMERS: int(s[cvm.CUSTOMERS]),
            ACTIVE: float(flows.loc[segment, "closing"]),
            CHURN_RATE: float(flows.loc[segment, "churn_rate"]),
            MARGIN_RATE: float(
                flows.loc[segment, "margin_rate"] - flows.loc[segment, "financing_rate"]
            ),
            FINANCING_RATE: float(flows.loc[segment, "financing_rate"]),
            REVENUE_PER_MONTH: float(flows.loc[segment, "revenue_per_customer"]),
            CONTRIBUTION_PER_MONTH: contribution / months if months > 0 else 0.0,
            VALUE_ACTIVE: active_value,
            VALUE_ACTIVE_CV: active_cv,
            VALUE_NEW: new_value,
            VALUE_NEW_CV: new_cv,
            NEW_BASIS: basis,
        }
    out = pd.DataFrame.from_dict(rows, orient="index").rename_axis(C.SEGMENT)
    return _apply_policies(out, changed, base_treatments or {}, settings)


def _changed(
    treatments: Mapping[str, Treatment], base: Mapping[str, Treatment]
) -> dict[str, Treatment]:
    fields = ("service_tier", "payment_terms_days", "credit_limit", "contact_cadence_days")
    return {
        seg: tr
        for seg, tr in treatments.items()
        if seg in base and any(getattr(tr, f) != getattr(base[seg], f) for f in fields)
    }


def _terms_override(
    engine: Engine,
    as_of: dt.date,
    assignment: pd.DataFrame,
    changed: Mapping[str, Treatment],
    settings: EconomicsSettings,
) -> pd.Series | None:
    """Payment terms per customer of a segment whose terms or credit limit changed: the
    policy's terms, shortened where a year's revenue would exceed the credit limit."""
    start = (pd.Timestamp(as_of) - pd.DateOffset(years=1) + pd.Timedelta(days=1)).date()
    pnl = pl.customer_pnl(engine, start=start, end=as_of, assumptions=settings.assumptions)
    frame = assignment.merge(pnl[[C.CUSTOMER_ID, pl.REVENUE]], on=C.CUSTOMER_ID, how="left")
    frame = frame[frame[C.SEGMENT].isin(list(changed))]
    if frame.empty:
        return None
    daily = frame[pl.REVENUE].fillna(0.0).clip(lower=0.0).to_numpy() / 365.0
    segment = frame[C.SEGMENT].astype(str)
    terms = segment.map({s: t.payment_terms_days for s, t in changed.items()}).to_numpy(float)
    limit = segment.map({s: t.credit_limit for s, t in changed.items()}).to_numpy(float)
    capped = np.where(daily > 0, np.minimum(terms, limit / np.where(daily > 0, daily, 1.0)), terms)
    return pd.Series(np.floor(capped).astype(int), index=frame[C.CUSTOMER_ID].to_numpy())


def _annuity(churn: float, months: int, discount: float) -> float:
    """Expected discounted months a customer stays: sum_t ((1 - churn) / (1 + d))^t."""
    q = (1.0 - min(max(churn, 0.0), 1.0)) / (1.0 + discount)
    return q * (1 - q**months) / (1 - q) if q != 1 else float(months)


def _number(frame: pd.DataFrame, segment: str, column: str) -> float:
    """One numeric cell of a per-segment table. ``frame.loc[row, col]`` is typed as any scalar
    a frame can hold; the column's Series, indexed by the segment, gives the stored number."""
    return float(frame[column].loc[segment])


def _apply_policies(
    out: pd.DataFrame,
    changed: Mapping[str, Treatment],
    base: Mapping[str, Treatment],
    settings: EconomicsSettings,
) -> pd.DataFrame:
    """Per-account policy costs, tier churn reductions and new terms of changed treatments."""
    out = out.copy()
    for segment, tr in changed.items():
        if segment not in out.index:
            continue
        old = base[segment]
        churn = _number(out, segment, CHURN_RATE)
        reduction = (1 - tr.tier.churn_reduction) / (1 - old.tier.churn_reduction)
        before = _annuity(churn, settings.horizon_months, settings.monthly_discount)
        after = _annuity(churn * reduction, settings.horizon_months, settings.monthly_discount)
        extra = tr.cost_per_account_month() - old.cost_per_account_month()
        if (tr.payment_terms_days, tr.credit_limit) != (old.payment_terms_days, old.credit_limit):
            # Financing was re-priced per customer in the values; the segment's rates follow.
            revenue = _number(out, segment, REVENUE_PER_MONTH)
            terms = float(tr.payment_terms_days)
            if revenue > 0:
                terms = min(terms, tr.credit_limit / (revenue * 12 / 365))
            rate = terms * settings.assumptions.cost_of_capital / 365
            change = rate - _number(out, segment, FINANCING_RATE)
            out.loc[segment, FINANCING_RATE] = rate
            out.loc[segment, MARGIN_RATE] = _number(out, segment, MARGIN_RATE) - change
            out.loc[segment, CONTRIBUTION_PER_MONTH] = (
                _number(out, segment, CONTRIBUTION_PER_MONTH) - change * revenue
            )
        for col in (VALUE_ACTIVE, VALUE_NEW):
            out.loc[segment, col] = _number(out, segment, col) * after / before - extra * after
        out.loc[segment, CHURN_RATE] = churn * reduction
        out.loc[segment, CONTRIBUTION_PER_MONTH] = (
            _number(out, segment, CONTRIBUTION_PER_MONTH) - extra
        )
    return out


def policy_effects(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """What changed treatments do to the existing base each month, in program-outcome terms.

    Churn the new policy prevents among the segment's active accounts is worth the value at
    risk of a saved customer (as a retention outcome is); the policy's added cost per account
    (tier, contacts, financing of new terms) is charged on every active account.

    Returns
    -------
    DataFrame
        ``segment, accounts, churn_prevented, value_saved, policy_cost, net_effect`` (a
        month), one row per segment whose economics changed.
    """
    rows = []
    for segment in after.index.intersection(before.index):
        b, a = before.loc[segment], after.loc[segment]
        if np.isclose(b[CHURN_RATE], a[CHURN_RATE]) and np.isclose(
            b[CONTRIBUTION_PER_MONTH], a[CONTRIBUTION_PER_MONTH]
        ):
            continue
        accounts = float(b[ACTIVE])
        prevented = accounts * (float(b[CHURN_RATE]) - float(a[CHURN_RATE]))
        saved = prevented * float(a[VALUE_ACTIVE])
        cost = accounts * (float(b[CONTRIBUTION_PER_MONTH]) - float(a[CONTRIBUTION_PER_MONTH]))
        rows.append(
            {
                C.SEGMENT: segment,
                "accounts": accounts,
                "churn_prevented": prevented,
                "value_saved": saved,
                "policy_cost": cost,
                "net_effect": saved - cost,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            C.SEGMENT,
            "accounts",
            "churn_prevented",
            "value_saved",
            "policy_cost",
            "net_effect",
        ],
    )


def _new_customer_value(
    scores: pd.DataFrame, cv: cvm.CustomerValue, settings: EconomicsSettings
) -> tuple[float, float, str]:
    """Value of a customer acquired now, its coefficient of variation, and the basis."""
    repeaters = int((scores[value.FREQUENCY] > 0).sum())
    bgnbd, basis = cv.bgnbd, "the company-wide purchase model"
    if len(scores) >= _MIN_CUSTOMERS_FOR_OWN_FIT and repeaters >= _MIN_REPEATERS_FOR_OWN_FIT:
        try:
            own_b = value.fit_bgnbd(scores)
        except ValueError:
            own_b = None
        if own_b is not None and own_b.converged:
            bgnbd, basis = own_b, "the segment's own purchase model"
    spend_weight = scores[cvm.YEARLY_SPEND].clip(lower=0).to_numpy()
    margin = (
        float(np.average(scores[cvm.MARGIN_RATE], weights=spend_weight))
        if spend_weight.sum() > 0
        else float(scores[cvm.MARGIN_RATE].mean())
    )
    order_weight = scores[value.EXPECTED_TRANSACTIONS].clip(lower=0).to_numpy()
    per_order = (
        float(np.average(scores[cvm.COST_PER_ORDER], weights=order_weight))
        if order_weight.sum() > 0
        else float(scores[cvm.COST_PER_ORDER].mean())
    )
    observed_spend = (
        float(scores.loc[scores[value.FREQUENCY] > 0, value.MONETARY].mean())
        if repeaters
        else float(scores[value.MONETARY].mean())
    )
    ends = np.arange(1, settings.horizon_months + 1, dtype=float)
    discount = (1 + settings.monthly_discount) ** -ends

    def worth(b: value.BGNBDFit) -> float:
        # The segment's mean spend per purchase: a Gamma-Gamma population mean p g / (q - 1)
        # explodes as q nears 1, which a segment of a few hundred customers easily fits.
        repeat = np.diff(np.concatenate([[0.0], value.expected_transactions_new(b, ends)]))
        return (margin * observed_spend - per_order) * (1.0 + float(discount @ repeat))

    point = worth(bgnbd)
    draws = _bootstrap(worth, bgnbd)
    spread = float(np.std(draws)) / abs(point) if draws.size > 1 and point else 0.0
    return point, spread, basis


def _bootstrap(worth, bgnbd: value.BGNBDFit) -> np.ndarray:
    """``worth`` at parameter draws from the fit's asymptotic normal (positive draws only)."""
    if not np.isfinite(bgnbd.covariance).all():
        return np.array([])
    rng = np.random.default_rng(0)
    b = rng.multivariate_normal(
        [bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b],
        bgnbd.covariance,
        _BOOTSTRAP_DRAWS,
        check_valid="ignore",
    )
    ok = (b > 0).all(axis=1)
    return np.array(
        [
            worth(dataclasses.replace(bgnbd, r=r, alpha=alpha, a=a, b=b_))
            for r, alpha, a, b_ in b[ok]
        ]
    )


def lever_values(economics: pd.DataFrame) -> pd.DataFrame:
    """The money one unit of each lever's outcome is worth, per segment.

    Returns
    -------
    DataFrame
        ``segment, program, value_per_unit, value_cv, flow_per_unit, basis``; ``flow_per_unit``
        is the contribution per month one unit brings (for payback).
    """
    rows = []
    for segment, e in economics.iterrows():
        saved = (e[VALUE_ACTIVE], e[VALUE_ACTIVE_CV], e[CONTRIBUTION_PER_MONTH])
        for program, (worth, cv, flow), basis in (
            (
                "acquisition",
                (e[VALUE_NEW], e[VALUE_NEW_CV], e[CONTRIBUTION_PER_MONTH]),
                f"expected CLV of a new customer ({e[NEW_BASIS]})",
            ),
            ("retention", saved, "value at risk: CLV of an active customer"),
            ("win_back", saved, "valued like an active customer of the segment"),
            ("service_tier", saved, "value at risk: CLV of an active customer"),
            (
                "cross_sell",
                (e[MARGIN_RATE], 0.0, e[MARGIN_RATE]),
                "gross margin net of financing on each dollar of revenue",
            ),
        ):
            rows.append(
                {
                    C.SEGMENT: segment,
                    C.PROGRAM: program,
                    VALUE_PER_UNIT: float(worth),
                    VALUE_CV: float(cv),
                    FLOW_PER_UNIT: float(flow),
                    BASIS: basis,
                }
            )
    return pd.DataFrame(
        rows, columns=[C.SEGMENT, C.PROGRAM, VALUE_PER_UNIT, VALUE_CV, FLOW_PER_UNIT, BASIS]
    )
