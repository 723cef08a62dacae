"""Customer lifetime value: the BG/NBD purchases to expect, each worth the Gamma-Gamma spend at
the customer's margin, discounted over the horizon (Fader, Hardie & Lee 2005b).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from planning.core.columns import CUSTOMER_ID
from planning.value._likelihood import _distinct_rows
from planning.value.bgnbd import BGNBDFit, _expected_if_alive, _p_alive
from planning.value.gamma_gamma import GammaGammaFit, expected_spend
from planning.value.summary import CLV, EXPECTED_SPEND, EXPECTED_TRANSACTIONS, P_ALIVE, _rfm


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
