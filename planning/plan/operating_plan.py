"""The operating plan: the next months per segment, from forecasts, programs and unit economics.

:func:`planning.profit.segment_rates.segment_rates` measures the rates each segment's plan
runs on from its recent months: gross-margin and financing rates, revenue per customer, churn
and win-back rates, new customers a month, activities per order and per customer.
:func:`build_plan` then plans every month of the horizon for every segment:

- **Customers.** The base rolls forward: ``closing = opening + acquired - churned + won back``,
  with business-as-usual flows at the recent rates plus what the planned programs add over
  their business-as-usual spend (extra acquisitions, churn prevented, win-backs).
- **Revenue.** The segment's revenue forecast (which already carries business-as-usual
  programs), plus the extra customers the programs bring times revenue per customer, plus the
  cross-sell uplift. The forecast's 95% interval is kept for the variance alerts.
- **Costs.** Gross margin at the segment's margin rate; cost-to-serve from the activities the
  plan implies (orders and deliveries scale with revenue, tickets and visits with customers)
  priced at the current activity rates; financing at the segment's rate; program spend from
  the allocation.
- **The back office.** Orders, deliveries and service hours (activity counts times the hours
  each takes). With a capacity limit on service hours, capacity goes to segments in order of
  customer value; the hours a segment does not get, and the contribution that puts at risk
  (its share of unserved hours times its contribution), are plan lines too.

Every line is a row ``month, segment, metric, value`` (planning.plan.versions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from planning.core import columns as C
from planning.plan.versions import ALERT_COLUMNS, METRIC, VALUE, PlanContent

# Plan metrics (the ``metric`` of a plan line).
REVENUE: Final = C.REVENUE
REVENUE_LO95: Final = C.REVENUE_LO95
REVENUE_HI95: Final = C.REVENUE_HI95
GROSS_MARGIN: Final = C.GROSS_MARGIN
COST_TO_SERVE: Final = C.COST_TO_SERVE
FINANCING_COST: Final = C.FINANCING_COST
PROGRAM_SPEND: Final = C.PROGRAM_SPEND
CONTRIBUTION: Final = C.CONTRIBUTION
CUSTOMERS: Final = C.CUSTOMERS  # the closing customer base, as in variance
OPENING, ACQUIRED, CHURNED, WON_BACK, CLOSING = (
    "customers_opening",
    "customers_acquired",
    "customers_churned",
    "customers_won_back",
    "customers_closing",
)
ORDERS: Final = C.ORDERS
DELIVERIES: Final = "deliveries"
SERVICE_HOURS: Final = "service_hours"
SERVED_HOURS: Final = "service_hours_served"
UNSERVED_HOURS: Final = "service_hours_unserved"
UNSERVED_COST: Final = "unserved_contribution_at_risk"
SPEND_PREFIX: Final = C.SPEND_PREFIX

# Programs and the outcome unit each moves.
ACQUISITION, RETENTION, CROSS_SELL, WIN_BACK = "acquisition", "retention", "cross_sell", "win_back"

# Hours the back office spends per activity (documented defaults, overridable in settings).
DEFAULT_HOURS: Final[dict[str, float]] = {
    "order": 0.1,
    "delivery": 0.75,
    "support_ticket": 0.5,
    "return": 0.5,
    "sales_visit": 3.0,
}


@dataclass(frozen=True)
class PlanSettings:
    """What the planner assumes.

    Attributes
    ----------
    horizon_months
        Months planned ahead of the last closed month (12 by default).
    economics_months
        Recent months the rates are measured over.
    capacity_hours
        Service hours the back office can deliver a month (None: no limit).
    hours_per_activity
        Hours one activity of each type takes.
    """

    horizon_months: int = 12
    economics_months: int = 12
    capacity_hours: float | None = None
    hours_per_activity: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_HOURS))

    def __post_init__(self) -> None:
        if not 1 <= self.horizon_months <= 36:
            raise ValueError(f"horizon_months must be 1 to 36, got {self.horizon_months}.")
        if not 1 <= self.economics_months <= 36:
            raise ValueError(f"economics_months must be 1 to 36, got {self.economics_months}.")
        if self.capacity_hours is not None and self.capacity_hours < 0:
            raise ValueError(f"capacity_hours must be 0 or more, got {self.capacity_hours}.")
        bad = {k: v for k, v in self.hours_per_activity.items() if v < 0}
        if bad:
            raise ValueError(f"Hours per activity cannot be negative: {bad}.")


def build_plan(
    *,
    history: pd.DataFrame,
    forecasts: pd.DataFrame,
    programs: pd.DataFrame,
    economics: pd.DataFrame,
    rates: Mapping[str, float],
    settings: PlanSettings,
    alerts: pd.DataFrame | None = None,
) -> PlanContent:
    """The operating plan for the months after the last closed month.

    Parameters
    ----------
    history
        From :func:`planning.profit.segment_history.load_history` (its last month is the last
        closed one).
    forecasts
        ``segment, metric, month, mean, lo95, hi95`` for metrics ``revenue`` and ``orders``
        over at least ``settings.horizon_months`` months after the last closed month.
    programs
        ``month, segment, program, spend, extra`` per planned month: the spend planned and
        the outcome it adds over business-as-usual spend (customers for acquisition,
        retention and win-back, revenue for cross-sell).
    economics
        From :func:`planning.profit.segment_rates.segment_rates`.
    rates
        The current rate of each activity type.
    alerts
        Alerts to store with the plan (from planning.plan.variance).
    """
    last_closed = pd.Timestamp(history[C.MONTH].max())
    months = pd.date_range(
        last_closed + pd.DateOffset(months=1), periods=settings.horizon_months, freq="MS"
    )
    fc = {
        (str(sg), str(mt), pd.Timestamp(mo)): (float(a), float(lo), float(hi))
        for sg, mt, mo, a, lo, hi in forecasts[
            [C.SEGMENT, METRIC, C.MONTH, "mean", "lo95", "hi95"]
        ].itertuples(index=False)
    }
    prog = {
        (pd.Timestamp(mo), str(sg), str(pr)): (float(sp), float(ex))
        for mo, sg, pr, sp, ex in programs[
            [C.MONTH, C.SEGMENT, C.PROGRAM, C.SPEND, "extra"]
        ].itertuples(index=False)
    }
    lines: list[tuple[pd.Timestamp, str, str, float]] = []
    demand: dict[tuple[pd.Timestamp, str], float] = {}
    contribution: dict[tuple[pd.Timestamp, str], float] = {}
    for segment, e in economics.to_dict(orient="index").items():
        base = float(e["closing"])
        extra_customers = 0.0
        for month in months:

            def extra(
                program: str, month: pd.Timestamp = month, segment: Hashable = segment
            ) -> float:
                return prog.get((month, str(segment), program), (0.0, 0.0))[1]

            def spend(
                program: str, month: pd.Timestamp = month, segment: Hashable = segment
            ) -> float:
                return prog.get((month, str(segment), program), (0.0, 0.0))[0]

            churned_base = base * e["churn_rate"]
            acquired = e["new_per_month"] + extra(ACQUISITION)
            churned = max(churned_base - extra(RETENTION), 0.0)
            won = e["won_back_per_month"] + extra(WIN_BACK)
            closing = base + acquired - churned + won
            added = (
                acquired
                - e["new_per_month"]
                + (churned_base - churned)
                + won
                - e["won_back_per_month"]
            )
            extra_customers = extra_customers * (1 - e["churn_rate"]) + added
            revenue_fc = fc.get((str(segment), REVENUE, month), (0.0, 0.0, 0.0))
            revenue = max(
                revenue_fc[0] + extra_customers * e["revenue_per_customer"] + extra(CROSS_SELL), 0.0
            )
            scale = revenue / revenue_fc[0] if revenue_fc[0] > 0 else 1.0
            orders_fc = fc.get((str(segment), ORDERS, month), (0.0, 0.0, 0.0))[0]
            orders = (orders_fc if orders_fc > 0 else revenue * e["orders_per_revenue"]) * scale
            activities = {a: orders * k for a, k in e["per_order"].items()}
            activities.update({a: closing * k for a, k in e["per_customer"].items()})
            cts = sum(q * float(rates.get(a, 0.0)) for a, q in activities.items())
            hours = sum(
                q * float(settings.hours_per_activity.get(a, 0.0)) for a, q in activities.items()
            )
            gross = revenue * e["margin_rate"]
            financing = revenue * e["financing_rate"]
            spends = {
                p: spend(p) for p in (ACQUISITION, RETENTION, CROSS_SELL, WIN_BACK, "service_tier")
            }
            total_spend = sum(spends.values())
            contrib = gross - cts - financing - total_spend
            values = {
                REVENUE: revenue,
                REVENUE_LO95: max(revenue_fc[1] + revenue - revenue_fc[0], 0.0),
                REVENUE_HI95: revenue_fc[2] + revenue - revenue_fc[0],
                GROSS_MARGIN: gross,
                COST_TO_SERVE: cts,
                FINANCING_COST: financing,
                PROGRAM_SPEND: total_spend,
                CONTRIBUTION: contrib,
                OPENING: base,
                ACQUIRED: acquired,
                CHURNED: churned,
                WON_BACK: won,
                CLOSING: closing,
                CUSTOMERS: closing,
                ORDERS: orders,
                DELIVERIES: activities.get("delivery", 0.0),
                SERVICE_HOURS: hours,
                **{SPEND_PREFIX + p: v for p, v in spends.items() if v},
            }
            lines.extend((month, str(segment), k, float(v)) for k, v in values.items())
            demand[(month, str(segment))] = hours
            contribution[(month, str(segment))] = contrib
            base = closing
    lines.extend(_capacity_lines(demand, contribution, economics, settings))
    frame = pd.DataFrame(lines, columns=[C.MONTH, C.SEGMENT, METRIC, VALUE])
    empty_alerts = pd.DataFrame(columns=list(ALERT_COLUMNS))
    return PlanContent(
        frame,
        alerts if alerts is not None else empty_alerts,
        last_closed.date(),
        months[0].date(),
        settings.horizon_months,
    )


def _capacity_lines(
    demand: dict[tuple[pd.Timestamp, str], float],
    contribution: dict[tuple[pd.Timestamp, str], float],
    economics: pd.DataFrame,
    settings: PlanSettings,
) -> list[tuple[pd.Timestamp, str, str, float]]:
    """Served and unserved hours per segment when demand exceeds the capacity limit.

    Capacity goes to segments in order of customer value (CLV per customer, highest first):
    the best accounts are served in full before the next segment gets any hour.
    """
    out = []
    order = list(economics.sort_values("clv_per_customer", ascending=False).index)
    for month in sorted({m for m, _ in demand}):
        left = settings.capacity_hours if settings.capacity_hours is not None else np.inf
        for segment in order:
            need = demand.get((month, str(segment)), 0.0)
            served = min(need, left)
            left -= served
            unserved = need - served
            share = unserved / need if need > 0 else 0.0
            at_risk = max(contribution.get((month, str(segment)), 0.0), 0.0) * share
            out += [
                (month, str(segment), SERVED_HOURS, served),
                (month, str(segment), UNSERVED_HOURS, unserved),
                (month, str(segment), UNSERVED_COST, at_risk),
            ]
    return out


def plan_table(lines: pd.DataFrame) -> pd.DataFrame:
    """Plan lines as a wide table: one row per month and segment, one column per metric."""
    wide = lines.pivot_table(
        index=[C.MONTH, C.SEGMENT], columns=METRIC, values=VALUE, aggfunc="sum"
    ).reset_index()
    wide.columns.name = None
    return wide


def horizon_months(last_closed: dt.date, months: int) -> pd.DatetimeIndex:
    """The planned months after ``last_closed``."""
    return pd.date_range(
        pd.Timestamp(last_closed) + pd.DateOffset(months=1), periods=months, freq="MS"
    )
