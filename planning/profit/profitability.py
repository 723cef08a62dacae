"""Customer profitability: what each customer contributes once everything they cost is counted.

For a period (``start..end``, or all history up to ``end``) every customer known on ``end``
gets a P&L::

    revenue
    - cost of goods      the given cost, else revenue x (1 - default margin)
    = gross margin
    - cost-to-serve      activities x the activity rate in force on their date (activity-based
                         costing), one line per activity type; when the store holds no activity
                         at all in the period, a flat cost per transaction instead
    - financing cost     revenue x payment terms days / 365 x cost of capital (customers
                         without terms get the default terms)
    = contribution

The sums per customer run in the store (see planning.profit.costing); this module prices them with
:class:`ProfitAssumptions`. Each customer's lines are rounded to the cent and carried as
integer cents, so any grouping of customers (segments, tiers, the whole company) adds up to
the company total exactly, to the cent. Financing cost is computed on the rounded revenue.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from planning.core import columns as C
from planning.core.defaults import DEFAULT_GROSS_MARGIN
from planning.profit import costing

# Columns of the P&L frames.
REVENUE: Final = C.REVENUE
COGS: Final = "cogs"
GROSS_MARGIN: Final = C.GROSS_MARGIN
CTS_PREFIX: Final = "cts_"
COST_TO_SERVE: Final = C.COST_TO_SERVE
FINANCING_COST: Final = C.FINANCING_COST
CONTRIBUTION: Final = C.CONTRIBUTION
ORDERS: Final = C.ORDERS
TERMS_DAYS: Final = C.PAYMENT_TERMS_DAYS
CUSTOMERS: Final = C.CUSTOMERS
CONTRIBUTION_PER_CUSTOMER: Final = "contribution_per_customer"
TOTAL_LABEL: Final = "Total"
UNASSIGNED: Final = "Unassigned"

DEFAULT_COST_PER_ORDER: Final = 12.0  # the demo's order-handling rate: one order, one pick
DEFAULT_COST_OF_CAPITAL: Final = 0.08  # a year, a typical mid-size company's borrowing cost
DEFAULT_TERMS_DAYS: Final = 30  # net 30, the most common B2B terms
DAYS_PER_YEAR: Final = 365


@dataclass(frozen=True)
class ProfitAssumptions:
    """The documented defaults that fill gaps in a company's data.

    Attributes
    ----------
    default_margin
        Gross margin assumed for a sale without a cost of goods (0 <= m < 1).
    cost_per_order
        Cost-to-serve per transaction when the store holds no activity in the period (>= 0).
    cost_of_capital
        Yearly cost of the money tied up in receivables, e.g. 0.08 for 8 % (0 <= c <= 1).
    default_terms_days
        Payment terms of customers without their own (0 <= d <= 365).
    """

    default_margin: float = DEFAULT_GROSS_MARGIN
    cost_per_order: float = DEFAULT_COST_PER_ORDER
    cost_of_capital: float = DEFAULT_COST_OF_CAPITAL
    default_terms_days: int = DEFAULT_TERMS_DAYS

    def __post_init__(self) -> None:
        checks = (
            (
                "default_margin",
                lambda v: 0.0 <= v < 1.0,
                "a share from 0 up to (not including) 1, e.g. 0.3 for 30%",
            ),
            ("cost_per_order", lambda v: v >= 0.0, "an amount of 0 or more"),
            (
                "cost_of_capital",
                lambda v: 0.0 <= v <= 1.0,
                "a yearly rate from 0 to 1, e.g. 0.08 for 8%",
            ),
            (
                "default_terms_days",
                lambda v: isinstance(v, int) and 0 <= v <= DAYS_PER_YEAR,
                "whole days from 0 to 365",
            ),
        )
        for name, ok, expected in checks:
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or math.isnan(value) or not ok(value):
                raise ValueError(f"ProfitAssumptions.{name} must be {expected}, got {value!r}.")


def cts_column(activity: str) -> str:
    """The P&L column holding the cost of one activity type: ``cts_<activity>``."""
    return f"{CTS_PREFIX}{activity}"


def cts_columns(pnl: pd.DataFrame) -> list[str]:
    """The cost-to-serve-by-activity columns of a P&L frame, in order."""
    return [c for c in pnl.columns if c.startswith(CTS_PREFIX)]


def activity_of(column: str) -> str:
    """The activity type of a ``cts_<activity>`` column."""
    return column.removeprefix(CTS_PREFIX)


def customer_pnl(
    engine: Engine,
    *,
    start: dt.date | None,
    end: dt.date,
    assumptions: ProfitAssumptions = ProfitAssumptions(),
    terms_override: pd.Series | None = None,
) -> pd.DataFrame:
    """The P&L of every customer known on ``end`` for the period ``start..end``.

    Parameters
    ----------
    engine
        An open store.
    start, end
        First and last day of the period, inclusive; ``start`` None means all history.
    assumptions
        Defaults for missing costs of goods, activities and payment terms.
    terms_override
        Payment terms days indexed by ``customer_id``, used instead of the stored terms for the
        customers it names (e.g. a per-segment terms policy); others keep theirs.

    Returns
    -------
    DataFrame
        One row per customer, sorted by ``customer_id`` (customers without business in the
        period have zeros): ``customer_id, revenue, cogs, gross_margin, cts_<activity>...,
        cost_to_serve, financing_cost, contribution, orders, payment_terms_days``. Money is in
        currency units rounded to the cent; ``orders`` counts transactions (refunds included).
        There is one ``cts_`` column per rated activity type (``cts_order`` always).

    Raises
    ------
    ValueError
        If ``start`` is after ``end`` or ``terms_override`` holds a negative or missing value.
    """
    _check_period(start, end)
    rates = costing.read_rates(engine)
    with engine.connect() as conn:
        known = pd.read_sql(costing.known_customers_query(end), conn)
        sales = costing.read_sales(conn, engine, start, end)
        costs = pd.read_sql(costing.activity_cost_query(engine, rates, start, end), conn)
    base = known.set_index(C.CUSTOMER_ID)
    return _priced(
        base.index,
        base[TERMS_DAYS],
        sales.set_index(C.CUSTOMER_ID),
        costs.set_index(C.CUSTOMER_ID),
        rates,
        assumptions,
        terms_override,
        C.CUSTOMER_ID,
    )


def customer_monthly_pnl(
    engine: Engine,
    customer_id: str,
    *,
    start: dt.date | None,
    end: dt.date,
    assumptions: ProfitAssumptions = ProfitAssumptions(),
    terms_override: pd.Series | None = None,
) -> pd.DataFrame:
    """One customer's P&L month by month over ``start..end`` (as in :func:`customer_pnl`).

    Returns
    -------
    DataFrame
        ``month`` (first day, datetime64) and the money columns of :func:`customer_pnl`, one
        row per month with a sale or an activity, in date order. Each month is rounded to the
        cent on its own, so the months can differ from the period's P&L by a few cents.
    """
    _check_period(start, end)
    rates = costing.read_rates(engine)
    with engine.connect() as conn:
        known = pd.read_sql(costing.known_customers_query(end), conn)
        sales = costing.read_sales(conn, engine, start, end, customer_id=customer_id, by_month=True)
        costs = pd.read_sql(
            costing.activity_cost_query(
                engine, rates, start, end, customer_id=customer_id, by_month=True
            ),
            conn,
        )
    terms = known.loc[known[C.CUSTOMER_ID] == customer_id, TERMS_DAYS]
    costs[C.MONTH] = pd.to_datetime(costs[C.MONTH])
    months = pd.DatetimeIndex(sorted(set(sales[C.MONTH]) | set(costs[C.MONTH])), name=C.MONTH)
    company_has_activity = costing.any_activity(engine, start, end)
    pnl = _priced(
        months,
        pd.Series(terms.iloc[0] if len(terms) else None, index=months),
        sales.set_index(C.MONTH),
        costs.set_index(C.MONTH),
        rates,
        assumptions,
        _override_for(terms_override, customer_id, months),
        C.MONTH,
        default_cts=not company_has_activity,
    )
    return pnl.drop(columns=[TERMS_DAYS])


def _override_for(
    terms_override: pd.Series | None, customer_id: str, months: pd.DatetimeIndex
) -> pd.Series | None:
    if terms_override is None or customer_id not in terms_override.index:
        return None
    return pd.Series(terms_override[customer_id], index=months)


def _zero_filled(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing sums are zero; text columns (a customer id carried along) keep their gaps.

    Only string-typed columns are left alone: an empty period's sums come back as object
    columns of NaN, and those are sums too.
    """
    sums = [c for c in frame.columns if not isinstance(frame[c].dtype, pd.StringDtype)]
    return frame.fillna(dict.fromkeys(sums, 0.0))


def _priced(
    index: pd.Index,
    stored_terms: pd.Series,
    sales: pd.DataFrame,
    costs: pd.DataFrame,
    rates: costing.RateCard,
    a: ProfitAssumptions,
    terms_override: pd.Series | None,
    key: str,
    default_cts: bool | None = None,
) -> pd.DataFrame:
    """Price per-row sums as P&L lines in integer cents, then back to currency units."""
    sales = _zero_filled(sales.reindex(index))
    costs = _zero_filled(costs.reindex(index))
    revenue = _cents(sales[costing.REVENUE])
    cogs = _cents(sales[costing.COST] + sales[costing.UNCOSTED_REVENUE] * (1 - a.default_margin))
    orders = sales[costing.ORDERS].to_numpy(dtype=np.int64)
    if default_cts is None:
        default_cts = float(costs[costing.ACTIVITY_ROWS].sum()) == 0
    cts: dict[str, np.ndarray] = {}
    for k, activity in enumerate(rates.activities):
        cts[cts_column(activity)] = _cents(costs[f"a{k}"])
    if default_cts:
        cts = {name: np.zeros(len(index), np.int64) for name in cts}
        cts[cts_column("order")] = _cents(pd.Series(orders * a.cost_per_order))
    cts.setdefault(cts_column("order"), np.zeros(len(index), np.int64))
    terms = _terms(stored_terms, terms_override, a)
    financing = np.round(revenue * terms / DAYS_PER_YEAR * a.cost_of_capital).astype(np.int64)
    cost_to_serve = (
        np.sum(list(cts.values()), axis=0, dtype=np.int64) if len(index) else np.zeros(0, np.int64)
    )
    cents = {
        REVENUE: revenue,
        COGS: cogs,
        GROSS_MARGIN: revenue - cogs,
        **cts,
        COST_TO_SERVE: cost_to_serve,
        FINANCING_COST: financing,
        CONTRIBUTION: revenue - cogs - cost_to_serve - financing,
    }
    frame = pd.DataFrame({name: values / 100 for name, values in cents.items()}, index=index)
    frame[ORDERS] = orders
    frame[TERMS_DAYS] = terms.astype(np.int64)
    return frame.rename_axis(key).reset_index()


def _cents(values: pd.Series) -> np.ndarray:
    return np.round(values.to_numpy(dtype=np.float64) * 100).astype(np.int64)


def _terms(stored: pd.Series, override: pd.Series | None, a: ProfitAssumptions) -> np.ndarray:
    terms = pd.to_numeric(stored, errors="coerce").astype("float64")
    if override is not None:
        override = pd.to_numeric(override, errors="coerce")
        if override.isna().any() or (override < 0).any():
            raise ValueError(
                "terms_override must hold payment terms of 0 days or more for "
                "every customer it names."
            )
        named = override.reindex(terms.index)
        terms = named.where(named.notna(), terms)
    return terms.fillna(a.default_terms_days).to_numpy(dtype=np.float64)


def _check_period(start: dt.date | None, end: dt.date) -> None:
    if start is not None and start > end:
        raise ValueError(f"The period starts on {start}, after its end {end}: swap the dates.")


def segment_pnl(
    pnl: pd.DataFrame, assignment: pd.DataFrame, *, total: bool = False
) -> pd.DataFrame:
    """Add customer P&Ls up by segment; the segments add up to the company to the cent.

    Parameters
    ----------
    pnl
        A frame from :func:`customer_pnl`.
    assignment
        ``customer_id, segment`` with each customer at most once (as from
        planning.segments.lenses.assign_segments). Customers of ``pnl`` it does not name fall in
        "Unassigned"; customers it names that are not in ``pnl`` are ignored. A categorical
        ``segment`` keeps its category order; otherwise segments are sorted by name.
    total
        Append a last row, segment "Total", for the whole company (:func:`company_pnl`).

    Returns
    -------
    DataFrame
        ``segment, customers, revenue, cogs, gross_margin, cts_<activity>..., cost_to_serve,
        financing_cost, contribution, contribution_per_customer, orders``; one row per segment
        with at least one customer.

    Raises
    ------
    ValueError
        If a column is missing or the assignment names a customer twice.
    """
    _require(pnl, (C.CUSTOMER_ID, REVENUE, CONTRIBUTION), "the customer P&L")
    _require(assignment, (C.CUSTOMER_ID, C.SEGMENT), "the segment assignment")
    twice = assignment[C.CUSTOMER_ID][assignment[C.CUSTOMER_ID].duplicated()]
    if len(twice):
        raise ValueError(
            f"The assignment puts customer {twice.iloc[0]!r} in more than one "
            "segment: a customer belongs to exactly one."
        )
    segment = assignment.set_index(C.CUSTOMER_ID)[C.SEGMENT]
    if isinstance(segment.dtype, pd.CategoricalDtype):
        categories = list(segment.cat.categories)
        segment = segment.astype(
            pd.CategoricalDtype(
                categories + ([] if UNASSIGNED in categories else [UNASSIGNED]), ordered=True
            )
        )
    keys = segment.reindex(pnl[C.CUSTOMER_ID]).fillna(UNASSIGNED)
    money = _money_columns(pnl)
    cents = pd.DataFrame({m: _cents(pnl[m]) for m in money})
    cents[ORDERS] = pnl[ORDERS].to_numpy() if ORDERS in pnl else 0
    cents[CUSTOMERS] = 1
    sums = cents.groupby(
        keys.reset_index(drop=True).rename(C.SEGMENT), observed=True, sort=True
    ).sum()
    out = pd.DataFrame({C.SEGMENT: sums.index.astype(str), CUSTOMERS: sums[CUSTOMERS].to_numpy()})
    for m in money:
        out[m] = sums[m].to_numpy() / 100
    out[CONTRIBUTION_PER_CUSTOMER] = out[CONTRIBUTION] / out[CUSTOMERS]
    out[ORDERS] = sums[ORDERS].to_numpy()
    if total:
        out = pd.concat([out, pd.DataFrame([company_pnl(pnl)])], ignore_index=True)
    return out.astype(
        {
            CUSTOMERS: "int64",
            ORDERS: "int64",
            **dict.fromkeys((*money, CONTRIBUTION_PER_CUSTOMER), "float64"),
        }
    )


def company_pnl(pnl: pd.DataFrame) -> pd.Series:
    """The whole company's P&L: a row like one of :func:`segment_pnl`'s, segment "Total"."""
    money = _money_columns(pnl)
    cents = pd.DataFrame({m: _cents(pnl[m]) for m in money}).sum()
    totals = {m: int(cents[m]) / 100 for m in money}
    row: dict[str, object] = {C.SEGMENT: TOTAL_LABEL, CUSTOMERS: len(pnl), **totals}
    row[ORDERS] = int(pnl[ORDERS].sum()) if ORDERS in pnl else 0
    row[CONTRIBUTION_PER_CUSTOMER] = totals[CONTRIBUTION] / len(pnl) if len(pnl) else float("nan")
    return pd.Series(row)[[C.SEGMENT, *_segment_columns(money)]]


def _money_columns(pnl: pd.DataFrame) -> list[str]:
    return [
        REVENUE,
        COGS,
        GROSS_MARGIN,
        *cts_columns(pnl),
        COST_TO_SERVE,
        FINANCING_COST,
        CONTRIBUTION,
    ]


def _segment_columns(money: list[str]) -> list[str]:
    return [CUSTOMERS, *money, CONTRIBUTION_PER_CUSTOMER, ORDERS]


def _require(frame: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    for col in cols:
        if col not in frame.columns:
            raise ValueError(
                f"Required column {col} missing from {what}: it needs {', '.join(cols)}."
            )


# Columns of the whale curve and of the loss-makers table.
RANK: Final = "rank"
CUSTOMER_SHARE: Final = "customer_share"
CUMULATIVE_CONTRIBUTION: Final = "cumulative_contribution"
CUMULATIVE_SHARE: Final = "cumulative_share"
TOP_ACTIVITY: Final = "top_activity"
TOP_ACTIVITY_COST: Final = "top_activity_cost"
DRIVER: Final = "driver"
NEGATIVE_MARGIN: Final = "Negative gross margin"
SERVICE_OVER_MARGIN: Final = "Cost-to-serve above margin"
FINANCING_OVER_MARGIN: Final = "Financing cost"


@dataclass(frozen=True, eq=False)  # eq=False: frames have no truth value
class WhaleCurve:
    """Cumulative contribution against customers ranked from most to least profitable.

    Attributes
    ----------
    curve
        ``rank, customer_share, cumulative_contribution, cumulative_share``: one row per
        customer plus the origin (rank 0). ``cumulative_share`` is a share of the total
        contribution (NaN when the total is zero or negative).
    customers
        Customers on the curve.
    total_contribution
        Contribution of all of them: where the curve ends.
    peak_customers, peak_customer_share
        How many customers (and what share of them) produce the peak: every one of them makes
        money, and the customers after them only lose it.
    peak_contribution, peak_share
        The curve's height at the peak, in money and as a share of the total (e.g. 1.5: the
        most profitable customers earn 150 % of the company's contribution); NaN share when the
        total is zero or negative.
    loss_makers, loss_makers_contribution
        Customers with a negative contribution and their summed contribution (0 or less).
    """

    curve: pd.DataFrame
    customers: int
    total_contribution: float
    peak_customers: int
    peak_customer_share: float
    peak_contribution: float
    peak_share: float
    loss_makers: int
    loss_makers_contribution: float


def active_customers(pnl: pd.DataFrame) -> pd.DataFrame:
    """The rows of a P&L with any business in the period: a sale, a cost or a transaction."""
    money = [REVENUE, COGS, COST_TO_SERVE]
    busy = (pnl[money] != 0).any(axis=1)
    if ORDERS in pnl:
        busy |= pnl[ORDERS] != 0
    return pnl[busy]


def whale_curve(pnl: pd.DataFrame, *, active_only: bool = True) -> WhaleCurve:
    """The whale curve of a customer P&L (Kaplan & Narayanan 2001, "Measuring and Managing
    Customer Profitability", Journal of Cost Management 15(5)).

    Parameters
    ----------
    pnl
        A frame from :func:`customer_pnl` (``customer_id, contribution`` at least).
    active_only
        Leave out customers without any business in the period (all zeros): they neither make
        nor lose money, and would flatten the curve.

    Returns
    -------
    WhaleCurve
        The curve and its peak; customers are ranked by contribution, ties by ``customer_id``.
    """
    _require(pnl, (C.CUSTOMER_ID, CONTRIBUTION), "the customer P&L")
    rows = active_customers(pnl) if active_only else pnl
    ranked = rows.sort_values([CONTRIBUTION, C.CUSTOMER_ID], ascending=[False, True])
    cents = np.concatenate([[0], np.cumsum(_cents(ranked[CONTRIBUTION]))])
    n = len(ranked)
    total = int(cents[-1])
    peak = int(np.argmax(cents))  # the first of equal maxima: the fewest customers
    share = (cents / total) if total > 0 else np.full(n + 1, np.nan)
    curve = pd.DataFrame(
        {
            RANK: np.arange(n + 1),
            CUSTOMER_SHARE: np.arange(n + 1) / n if n else np.zeros(1),
            CUMULATIVE_CONTRIBUTION: cents / 100,
            CUMULATIVE_SHARE: share,
        }
    )
    losses = _cents(ranked[CONTRIBUTION])
    return WhaleCurve(
        curve=curve,
        customers=n,
        total_contribution=total / 100,
        peak_customers=peak,
        peak_customer_share=peak / n if n else 0.0,
        peak_contribution=int(cents[peak]) / 100,
        peak_share=float(share[peak]),
        loss_makers=int((losses < 0).sum()),
        loss_makers_contribution=int(losses[losses < 0].sum()) / 100,
    )


def loss_makers(pnl: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The ``n`` customers losing the most, and what makes each of them lose.

    Returns
    -------
    DataFrame
        ``customer_id, revenue, gross_margin, cost_to_serve, financing_cost, contribution,
        orders, top_activity, top_activity_cost, driver``, most negative contribution first.
        ``top_activity`` is the activity type that costs the customer most (missing without
        activity costs); ``driver`` says where the loss comes from: "Negative gross margin"
        (cost of goods above revenue, e.g. refunds), "Cost-to-serve above margin", or
        "Financing cost" (the margin covers service but not the payment terms).

    Raises
    ------
    ValueError
        If ``n`` is negative or a column is missing.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}.")
    _require(pnl, (C.CUSTOMER_ID, GROSS_MARGIN, COST_TO_SERVE, CONTRIBUTION), "the customer P&L")
    losing = (
        pnl[pnl[CONTRIBUTION] < 0]
        .sort_values([CONTRIBUTION, C.CUSTOMER_ID], ascending=[True, True])
        .head(n)
    )
    cts = cts_columns(losing)
    out = losing[
        [C.CUSTOMER_ID, REVENUE, GROSS_MARGIN, COST_TO_SERVE, FINANCING_COST, CONTRIBUTION, ORDERS]
    ].copy()
    if cts and len(losing):
        costs = losing[cts].to_numpy()
        top = costs.argmax(axis=1)
        top_cost = costs[np.arange(len(losing)), top]
        names = [activity_of(cts[k]) for k in top]
        none = np.array(None, dtype=object)  # what np.where makes of a bare None
        out[TOP_ACTIVITY] = np.where(top_cost > 0, names, none)
        out[TOP_ACTIVITY_COST] = top_cost
    else:
        out[TOP_ACTIVITY] = pd.Series([None] * len(losing), index=losing.index, dtype="str")
        out[TOP_ACTIVITY_COST] = 0.0
    out[DRIVER] = np.select(
        [losing[GROSS_MARGIN] < 0, losing[GROSS_MARGIN] < losing[COST_TO_SERVE]],
        [NEGATIVE_MARGIN, SERVICE_OVER_MARGIN],
        FINANCING_OVER_MARGIN,
    )
    return out.reset_index(drop=True)
