"""Plan vs actual that explains itself: a contribution variance split into its causes, and alerts.

For a closed month, with ``N`` active customers, segment shares ``m_s``, revenue per customer
``r_s`` and gross-margin rate ``g_s`` (plan ``p``, actual ``a``), contribution is
``sum_s N m_s r_s g_s - cost-to-serve - program spend - financing``. Its variance splits
exactly (the parts add up to the total, to the cent) into

- **volume**: ``(N_a - N_p) sum_s m_ps r_ps g_ps`` — more or fewer customers,
- **mix**: ``N_a sum_s (m_as - m_ps) r_ps g_ps`` — customers in richer or poorer segments,
- **price**: ``N_a sum_s m_as (r_as - r_ps) g_ps`` — spend per customer,
- **margin rate**: ``sum_s R_as (g_as - g_ps)`` — what the goods earned,
- **cost-to-serve**, **program spend**, **financing**: the cost lines' own differences,

the classic volume-mix-price analysis of management accounting (e.g. Horngren, Datar & Rajan,
*Cost Accounting*, ch. 14, sales-mix and sales-quantity variances) applied to customers as the
units. The revenue-side effects (volume + mix + price) are the plan's revenue **forecast
error**; :func:`forecast_misses` adds whether each segment's actual left the forecast's 95%
interval. Alerts are raised for large variances and interval misses, each with a suggested
action.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from planning.core import columns as C

# Columns of the plan and actual frames (one row per month x segment).
REVENUE: Final = C.REVENUE
GROSS_MARGIN: Final = C.GROSS_MARGIN
COST_TO_SERVE: Final = C.COST_TO_SERVE
PROGRAM_SPEND: Final = C.PROGRAM_SPEND
FINANCING_COST: Final = C.FINANCING_COST
CONTRIBUTION: Final = C.CONTRIBUTION
CUSTOMERS: Final = C.CUSTOMERS
REVENUE_LO95: Final = C.REVENUE_LO95
REVENUE_HI95: Final = C.REVENUE_HI95
DRIVERS: Final = (REVENUE, GROSS_MARGIN, COST_TO_SERVE, PROGRAM_SPEND, FINANCING_COST, CUSTOMERS)

# Effects of the decomposition, in the order a waterfall shows them.
EFFECTS: Final = (
    "volume",
    "mix",
    "price",
    "margin_rate",
    "cost_to_serve",
    "program_spend",
    "financing",
)
EFFECT_LABELS: Final = {
    "volume": "Volume (customers)",
    "mix": "Mix (segments)",
    "price": "Spend per customer",
    "margin_rate": "Margin rate",
    "cost_to_serve": "Cost-to-serve",
    "program_spend": "Program spend",
    "financing": "Financing",
}
PLAN_CONTRIBUTION: Final = "plan_contribution"
ACTUAL_CONTRIBUTION: Final = "actual_contribution"
TOTAL_VARIANCE: Final = "variance"


@dataclass(frozen=True)
class AlertRules:
    """When a variance is worth an alert.

    Attributes
    ----------
    share
        Contribution variance as a share of the plan's (absolute) contribution, e.g. 0.10.
    minimum
        And at least this much money, so tiny segments do not cry wolf.
    """

    share: float = 0.10
    minimum: float = 1_000.0

    def __post_init__(self) -> None:
        if not 0 < self.share <= 10:
            raise ValueError(f"share must be above 0, e.g. 0.10 for 10 %; got {self.share}.")
        if self.minimum < 0:
            raise ValueError(f"minimum must be 0 or more, got {self.minimum}.")


def contribution(frame: pd.DataFrame) -> pd.Series:
    """Gross margin minus cost-to-serve, program spend and financing cost, per row."""
    return frame[GROSS_MARGIN] - frame[COST_TO_SERVE] - frame[PROGRAM_SPEND] - frame[FINANCING_COST]


def decompose(plan: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Split each month's contribution variance into the effects of the module notes.

    Parameters
    ----------
    plan, actual
        ``month, segment`` and the :data:`DRIVERS` columns; a segment missing on one side
        counts as zeros there.

    Returns
    -------
    DataFrame
        One row per month: ``month, plan_contribution, actual_contribution, variance`` and one
        column per effect of :data:`EFFECTS`; the effects add up to ``variance``.
    """
    for frame, what in ((plan, "plan"), (actual, "actual")):
        missing = [c for c in (C.MONTH, C.SEGMENT, *DRIVERS) if c not in frame]
        if missing:
            raise ValueError(f"Required column {missing[0]} missing from the {what}.")
    keys = [C.MONTH, C.SEGMENT]
    both = (
        plan[[*keys, *DRIVERS]]
        .merge(actual[[*keys, *DRIVERS]], on=keys, how="outer", suffixes=("_p", "_a"))
        .fillna({f"{d}_{s}": 0.0 for d in DRIVERS for s in "pa"})
    )
    rows = [_month_effects(month, group) for month, group in both.groupby(C.MONTH, sort=True)]
    columns = [C.MONTH, PLAN_CONTRIBUTION, ACTUAL_CONTRIBUTION, TOTAL_VARIANCE, *EFFECTS]
    return pd.DataFrame(rows, columns=columns)


def _month_effects(month: object, g: pd.DataFrame) -> dict[str, object]:
    def col(name: str, side: str) -> np.ndarray:
        return g[f"{name}_{side}"].to_numpy(dtype=np.float64)

    n_p, n_a = col(CUSTOMERS, "p"), col(CUSTOMERS, "a")
    rev_p, rev_a = col(REVENUE, "p"), col(REVENUE, "a")
    gm_p, gm_a = col(GROSS_MARGIN, "p"), col(GROSS_MARGIN, "a")
    total_p, total_a = n_p.sum(), n_a.sum()
    share_p = n_p / total_p if total_p > 0 else np.zeros_like(n_p)
    share_a = n_a / total_a if total_a > 0 else np.zeros_like(n_a)
    # Per-customer revenue and margin rate; where the plan has none, the actual stands in, so
    # the segment's effect shows as volume and mix rather than price or margin rate.
    r_a = _ratio(rev_a, n_a, 0.0)
    r_p = _ratio(rev_p, n_p, r_a)
    g_a = _ratio(gm_a, rev_a, 0.0)
    g_p = _ratio(gm_p, rev_p, g_a)
    unit_p = r_p * g_p
    # Whatever the customer counts cannot explain (revenue without customers, or the
    # reverse) is spend per customer and margin rate on the segment's own totals.
    volume = (total_a - total_p) * float(share_p @ unit_p)
    mix = total_a * float((share_a - share_p) @ unit_p)
    price = total_a * float(share_a @ ((r_a - r_p) * g_p))
    margin_rate = float(rev_a @ (g_a - g_p))
    explained_gm = volume + mix + price + margin_rate
    residual = (gm_a.sum() - gm_p.sum()) - explained_gm
    price += residual  # zero unless a segment has revenue but no customers on a side
    costs = {
        name: -(col(driver, "a").sum() - col(driver, "p").sum())
        for name, driver in (
            ("cost_to_serve", COST_TO_SERVE),
            ("program_spend", PROGRAM_SPEND),
            ("financing", FINANCING_COST),
        )
    }
    plan_c = gm_p.sum() - sum(
        col(d, "p").sum() for d in (COST_TO_SERVE, PROGRAM_SPEND, FINANCING_COST)
    )
    actual_c = gm_a.sum() - sum(
        col(d, "a").sum() for d in (COST_TO_SERVE, PROGRAM_SPEND, FINANCING_COST)
    )
    return {
        C.MONTH: month,
        PLAN_CONTRIBUTION: plan_c,
        ACTUAL_CONTRIBUTION: actual_c,
        TOTAL_VARIANCE: actual_c - plan_c,
        "volume": volume,
        "mix": mix,
        "price": price,
        "margin_rate": margin_rate,
        **costs,
    }


def _ratio(num: np.ndarray, den: np.ndarray, fallback: np.ndarray | float) -> np.ndarray:
    fallback = np.broadcast_to(np.asarray(fallback, dtype=np.float64), num.shape)
    return np.where(den != 0, np.divide(num, np.where(den != 0, den, 1.0)), fallback)


def segment_variance(plan: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Plan vs actual per month and segment: each driver's plan, actual and difference.

    Returns
    -------
    DataFrame
        ``month, segment`` then ``<driver>_plan, <driver>_actual, <driver>_variance`` for
        revenue, gross margin, costs, customers and contribution.
    """
    keys = [C.MONTH, C.SEGMENT]
    p = plan[[*keys, *DRIVERS]].assign(**{CONTRIBUTION: contribution(plan)})
    a = actual[[*keys, *DRIVERS]].assign(**{CONTRIBUTION: contribution(actual)})
    both = p.merge(a, on=keys, how="outer", suffixes=("_plan", "_actual")).fillna(0.0)
    for d in (*DRIVERS, CONTRIBUTION):
        both[f"{d}_variance"] = both[f"{d}_actual"] - both[f"{d}_plan"]
    return both.sort_values(keys, ignore_index=True)


def forecast_misses(plan: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Segment-months whose actual revenue fell outside the plan's 95% forecast interval.

    ``plan`` needs ``revenue_lo95`` and ``revenue_hi95``; rows without them are skipped.
    Returns ``month, segment, revenue, revenue_lo95, revenue_hi95, error`` (actual minus the
    planned mean).
    """
    keys = [C.MONTH, C.SEGMENT]
    if REVENUE_LO95 not in plan or REVENUE_HI95 not in plan:
        return pd.DataFrame(columns=[*keys, REVENUE, REVENUE_LO95, REVENUE_HI95, "error"])
    both = plan[[*keys, REVENUE, REVENUE_LO95, REVENUE_HI95]].merge(
        actual[[*keys, REVENUE]], on=keys, suffixes=("_plan", "")
    )
    both = both.dropna(subset=[REVENUE_LO95, REVENUE_HI95])
    outside = (both[REVENUE] < both[REVENUE_LO95]) | (both[REVENUE] > both[REVENUE_HI95])
    out = both[outside].assign(error=lambda f: f[REVENUE] - f[f"{REVENUE}_plan"])
    return out[[*keys, REVENUE, REVENUE_LO95, REVENUE_HI95, "error"]].reset_index(drop=True)


def _rows(frame: pd.DataFrame) -> Iterator[dict[Hashable, Any]]:
    """The frame's rows as ``{column: value}``, the values ``itertuples`` gives."""
    for values in frame.itertuples(index=False, name=None):
        yield dict(zip(frame.columns, values, strict=True))


def variance_alerts(
    plan: pd.DataFrame,
    actual: pd.DataFrame,
    *,
    rules: AlertRules = AlertRules(),
    suggestions: Mapping[str, str] | None = None,
    money: Callable[[float], str] = lambda v: f"${v:,.0f}",
) -> pd.DataFrame:
    """Alerts for large contribution variances and forecast-interval misses.

    Parameters
    ----------
    suggestions
        A suggested action per segment (e.g. the re-optimised allocation); "*" applies to all.

    Returns
    -------
    DataFrame
        ``month, segment, kind, severity, message, suggestion`` (kind "variance" or
        "interval"), largest variance first.
    """
    suggestions = dict(suggestions or {})
    default = suggestions.get("*", "Review the segment's programs on the allocation page.")
    table = segment_variance(plan, actual)
    rows = []
    for row in _rows(table):
        var, base = row[f"{CONTRIBUTION}_variance"], abs(row[f"{CONTRIBUTION}_plan"])
        if abs(var) >= rules.minimum and abs(var) >= rules.share * base:
            pct = f" ({var / base:+.0%})" if base > 0 else ""
            direction = "above" if var > 0 else "below"
            month = pd.Timestamp(row[C.MONTH])
            rows.append(
                (
                    month,
                    row[C.SEGMENT],
                    "variance",
                    "info" if var > 0 else "warning",
                    f"{row[C.SEGMENT]}: contribution {money(abs(var))} {direction} plan "
                    f"in {month:%b %Y}{pct}",
                    suggestions.get(row[C.SEGMENT], default),
                    abs(var),
                )
            )
    for row in _rows(forecast_misses(plan, actual)):
        month = pd.Timestamp(row[C.MONTH])
        rows.append(
            (
                month,
                row[C.SEGMENT],
                "interval",
                "warning",
                f"{row[C.SEGMENT]}: revenue {money(row[REVENUE])} in {month:%b %Y} is "
                f"outside the forecast's 95% interval ({money(row[REVENUE_LO95])} to "
                f"{money(row[REVENUE_HI95])})",
                "Check that month's imports; if the data is right, the forecast has "
                "been refit on it in this plan version.",
                abs(row["error"]),
            )
        )
    frame = pd.DataFrame(
        rows, columns=[C.MONTH, C.SEGMENT, "kind", "severity", "message", "suggestion", "_size"]
    )
    return (
        frame.sort_values(["_size", C.MONTH], ascending=[False, True])
        .drop(columns="_size")
        .reset_index(drop=True)
    )
