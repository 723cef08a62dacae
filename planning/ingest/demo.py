"""Demo company: a seeded B2B distributor simulated from documented parameters.

The generator plays a few years of a wholesale distributor month by month: a base of customers
that existed before the window (some already dormant), new customers brought in by acquisition
spend, churn that falls with customer size and is partly prevented by retention spend, dormant
customers returning through win-back spend, and cross-sell spend that lifts order values. Each
active customer places a Poisson number of orders per month (rate by size, Gamma-heterogeneous
across customers) with a trend of ``TREND_PER_YEAR`` and the monthly ``SEASONALITY``; order
values are Gamma around a per-customer mean, each order lands in a product category with its own
margin, and about ``REFUND_RATE`` of orders are partly or fully refunded later. Cost-to-serve
drivers (orders, deliveries, tickets, returns, visits) are counted per customer-month and priced
with ``ACTIVITY_RATES``; ``HIGH_MAINTENANCE_SHARE_BY_SIZE`` of customers order often in small
lots, need split deliveries, visits and tickets and buy low-margin goods, so many of them lose
money. Monthly program spend per size segment is LogUniform over ``SPEND_RANGE`` times each
curve's spend scale (``PAUSED_MONTH_SHARE`` of months at zero), and outcomes follow the true
response curves in ``PROGRAM_CURVES`` (given for the reference company of 5,000 customers over
36 months; ``beta`` and the spend scale are multiplied by ``customers / 5000 * min(1, 36 /
months)``; units in ``PROGRAM_UNITS``) with Poisson noise on counts and Gamma noise (mean 1, CV
``CROSS_SELL_NOISE_CV``) on cross-sell revenue. The outcomes drive the simulation: acquired
customers appear, won-back ones return, prevented churners stay (counts are capped by the
dormant pool or the month's churners, which only binds in the smallest cells), and cross-sell
revenue lifts that segment's order values. Every parameter used is returned in
:class:`DemoTruth`, so calibration tests can check that the engine recovers it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from planning.core.access import Actor
from planning.core.columns import (
    ACQUISITION_DATE,
    ACTIVITIES,
    ACTIVITY,
    AMOUNT,
    CATEGORY,
    CHANNEL,
    CONTRACT,
    COST,
    CUSTOMER_ID,
    DATE,
    EFFECTIVE_FROM,
    INDUSTRY,
    MONTH,
    NAME,
    OUTCOME,
    PAYMENT_TERMS_DAYS,
    PRODUCT,
    PROGRAM,
    PROGRAMS,
    QUANTITY,
    RATE,
    REGION,
    SEGMENT,
    SIZE,
    SPEND,
    TRANSACTION_ID,
)

REFERENCE_CUSTOMERS: Final = 5000
REFERENCE_MONTHS: Final = 36

SIZES: Final = ("Small", "Mid-market", "Large", "Key account")
SIZE_SHARES: Final = (0.60, 0.28, 0.10, 0.02)
REGIONS: Final = ("North", "South", "East", "West", "Central")
REGION_SHARES: Final = (0.22, 0.20, 0.20, 0.18, 0.20)
INDUSTRIES: Final = (
    "Retail",
    "Hospitality",
    "Healthcare",
    "Construction",
    "Manufacturing",
    "Education",
)
INDUSTRY_SHARES: Final = (0.24, 0.18, 0.14, 0.18, 0.16, 0.10)
CHANNELS: Final = ("Field sales", "Inside sales", "Online", "Partner")
CHANNEL_MIX_BY_SIZE: Final = (
    (0.10, 0.30, 0.45, 0.15),
    (0.25, 0.40, 0.20, 0.15),
    (0.60, 0.25, 0.00, 0.15),
    (0.90, 0.00, 0.00, 0.10),
)
OWN_CHANNEL_SHARE: Final = 0.85  # orders through the customer's own channel; the rest random
PAYMENT_TERMS: Final = (14, 30, 45, 60, 90)
PAYMENT_TERMS_MIX_BY_SIZE: Final = (
    (0.35, 0.50, 0.10, 0.05, 0.00),
    (0.10, 0.45, 0.25, 0.15, 0.05),
    (0.00, 0.20, 0.30, 0.35, 0.15),
    (0.00, 0.05, 0.20, 0.40, 0.35),
)

# Customer base at the window start (the rest is acquired month by month).
DORMANT_SHARE_OF_INITIAL: Final = 0.12  # churned before the window, can be won back
# Bigger customers churn less, so the standing base holds more of them than the intake does;
# with acquisitions replacing churn the active mix stays stable and the whole customer list
# (initial + acquired) comes out at SIZE_SHARES.
INITIAL_SIZE_SHARES: Final = (0.552, 0.299, 0.122, 0.027)
INITIAL_TENURE_MEAN_DAYS: Final = 3 * 365

# Monthly gross churn hazard (before the retention program), orders and order values.
CHURN_MONTHLY_BY_SIZE: Final = {
    "Small": 0.026,
    "Mid-market": 0.016,
    "Large": 0.009,
    "Key account": 0.005,
}
ORDERS_PER_MONTH_BY_SIZE: Final = {
    "Small": 0.38,
    "Mid-market": 0.8,
    "Large": 1.8,
    "Key account": 3.4,
}
ORDER_VALUE_BY_SIZE: Final = {
    "Small": 380.0,
    "Mid-market": 1100.0,
    "Large": 4500.0,
    "Key account": 11_000.0,
}
ORDER_RATE_GAMMA_SHAPE: Final = 2.0  # customer order-rate multiplier ~ Gamma(2, 1/2), mean 1
CUSTOMER_VALUE_GAMMA_SHAPE: Final = 4.0  # customer mean-value multiplier ~ Gamma(4, 1/4)
ORDER_VALUE_GAMMA_SHAPE: Final = 2.5  # one order's value ~ Gamma(2.5) around the customer mean
TREND_PER_YEAR: Final = 0.04  # order values grow 4% a year
SEASONALITY: Final = (0.95, 0.96, 1.02, 1.00, 1.02, 0.95, 0.85, 0.82, 1.03, 1.09, 1.15, 1.16)

CATEGORIES: Final = ("Consumables", "Packaging", "Equipment", "Spare parts", "Services")
CATEGORY_MARGINS: Final = (0.34, 0.24, 0.20, 0.42, 0.55)
CATEGORY_UNIT_PRICES: Final = (18.0, 6.0, 450.0, 65.0, 120.0)
CATEGORY_MIX: Final = (0.35, 0.20, 0.20, 0.15, 0.10)
CATEGORY_MIX_CONCENTRATION: Final = 20.0  # per-customer mix ~ Dirichlet(20 * mix)
PRODUCTS_PER_CATEGORY: Final = 20
COST_NOISE_SD: Final = 0.05  # cost = amount * (1 - margin) * LogNormal(0, 0.05), kept in +-15%
REFUND_RATE: Final = 0.03
REFUND_DELAY_DAYS: Final = (1, 21)

ACTIVITY_RATES: Final = {
    "order": 12.0,
    "delivery": 45.0,
    "support_ticket": 25.0,
    "return": 60.0,
    "sales_visit": 350.0,
}
DELIVERIES_PER_ORDER: Final = 1.1
TICKETS_PER_MONTH_BY_SIZE: Final = {
    "Small": 0.08,
    "Mid-market": 0.25,
    "Large": 0.6,
    "Key account": 1.5,
}
VISITS_PER_MONTH_BY_SIZE: Final = {
    "Small": 0.02,
    "Mid-market": 0.25,
    "Large": 1.0,
    "Key account": 2.5,
}

# High-maintenance customers: many small low-margin orders, split deliveries, visits, tickets.
HIGH_MAINTENANCE_SHARE_BY_SIZE: Final = {
    "Small": 0.02,
    "Mid-market": 0.05,
    "Large": 0.15,
    "Key account": 0.20,
}
HIGH_MAINTENANCE: Final = {
    "order_rate": 3.0,
    "order_value": 0.12,
    "deliveries_per_order": 2.6,
    "tickets": 5.0,
    "visits": 3.0,
    "refund_rate": 0.08,
}
HIGH_MAINTENANCE_CATEGORY_MIX: Final = (0.25, 0.38, 0.30, 0.05, 0.02)

# True response curves at the reference size, per (segment, program).
#   exponential: beta * (1 - exp(-spend / kappa))
#   hill:        beta * spend^shape / (spend^shape + half_saturation^shape)
PROGRAM_UNITS: Final = {
    "acquisition": "new customers per month",
    "retention": "churn events prevented per month",
    "cross_sell": "incremental revenue per month",
    "win_back": "dormant customers returning per month",
}
PROGRAM_CURVES: Final[dict[tuple[str, str], tuple[str, dict[str, float]]]] = {
    ("Small", "acquisition"): ("exponential", {"beta": 64.0, "kappa": 14_000.0}),
    ("Mid-market", "acquisition"): ("exponential", {"beta": 22.0, "kappa": 17_000.0}),
    ("Large", "acquisition"): ("exponential", {"beta": 4.9, "kappa": 14_500.0}),
    ("Key account", "acquisition"): ("exponential", {"beta": 0.64, "kappa": 8_000.0}),
    ("Small", "retention"): ("hill", {"beta": 22.0, "half_saturation": 8_000.0, "shape": 1.5}),
    ("Mid-market", "retention"): ("hill", {"beta": 6.0, "half_saturation": 6_000.0, "shape": 1.5}),
    ("Large", "retention"): ("hill", {"beta": 1.4, "half_saturation": 4_000.0, "shape": 1.5}),
    ("Key account", "retention"): (
        "hill",
        {"beta": 0.18, "half_saturation": 3_000.0, "shape": 1.5},
    ),
    ("Small", "cross_sell"): ("exponential", {"beta": 11_000.0, "kappa": 4_000.0}),
    ("Mid-market", "cross_sell"): ("exponential", {"beta": 38_000.0, "kappa": 12_000.0}),
    ("Large", "cross_sell"): ("exponential", {"beta": 140_000.0, "kappa": 35_000.0}),
    ("Key account", "cross_sell"): ("exponential", {"beta": 140_000.0, "kappa": 35_000.0}),
    ("Small", "win_back"): ("hill", {"beta": 9.4, "half_saturation": 3_000.0, "shape": 1.2}),
    ("Mid-market", "win_back"): ("hill", {"beta": 3.5, "half_saturation": 3_500.0, "shape": 1.2}),
    ("Large", "win_back"): ("hill", {"beta": 0.9, "half_saturation": 4_000.0, "shape": 1.2}),
    ("Key account", "win_back"): ("hill", {"beta": 0.18, "half_saturation": 5_000.0, "shape": 1.2}),
}
# Monthly spend ~ LogUniform(0.2, 2.5) * kappa (or half_saturation): wide enough that both
# the level and the curvature of every curve can be recovered from 36 months.
SPEND_RANGE: Final = (0.2, 2.5)
PAUSED_MONTH_SHARE: Final = 0.04  # months with the program switched off (spend 0)
CROSS_SELL_NOISE_CV: Final = 0.10

_ACQ, _RET, _XS, _WB = (
    PROGRAMS.index(p) for p in ("acquisition", "retention", "cross_sell", "win_back")
)
_ORDER, _DELIVERY, _TICKET, _RETURN, _VISIT = (
    ACTIVITIES.index(a) for a in ("order", "delivery", "support_ticket", "return", "sales_visit")
)
_NOT_YET, _ACTIVE, _DORMANT = 0, 1, 2
_NAME_WORDS_1: Final = (
    "Apex",
    "Blue",
    "Cedar",
    "Delta",
    "Eagle",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Kestrel",
    "Lakeside",
    "Maple",
    "Northgate",
    "Oak",
    "Pine",
    "Quarry",
    "Riverside",
    "Summit",
    "Titan",
    "Union",
    "Valley",
    "Westbrook",
    "Yardley",
)
_NAME_WORDS_2: Final = (
    "Supply",
    "Trading",
    "Foods",
    "Builders",
    "Health",
    "Logistics",
    "Works",
    "Partners",
    "Services",
    "Industries",
    "Hospitality",
    "Learning",
    "Retail",
    "Engineering",
    "Care",
    "Holdings",
)
_NAME_SUFFIXES: Final = ("Ltd", "Ltd", "Ltd", "Group", "& Co")


@dataclass(frozen=True)
class ResponseCurve:
    """The true response of one segment x program cell to monthly spend (units: PROGRAM_UNITS)."""

    segment: str
    program: str
    family: Literal["exponential", "hill"]
    params: dict[str, float]

    def outcome(self, spend: np.ndarray) -> np.ndarray:
        """Expected outcome for each monthly ``spend`` (noise-free)."""
        s = np.asarray(spend, dtype=float)
        p = self.params
        if self.family == "exponential":
            return p["beta"] * (1.0 - np.exp(-s / p["kappa"]))
        ratio = (np.maximum(s, 0.0) / p["half_saturation"]) ** p["shape"]
        return p["beta"] * ratio / (1.0 + ratio)


@dataclass(frozen=True)
class DemoTruth:
    """Every parameter the generator used, and a few realized totals, for recovery tests."""

    curves: tuple[ResponseCurve, ...]
    churn_monthly_by_size: dict[str, float]
    realized_churn_monthly_by_size: dict[str, float]
    size_shares: dict[str, float]
    orders_per_month_by_size: dict[str, float]
    order_value_by_size: dict[str, float]
    trend_per_year: float
    seasonality: tuple[float, ...]
    category_margins: dict[str, float]
    refund_rate: float
    activity_rates: dict[str, float]
    high_maintenance: frozenset[str]
    high_maintenance_share_by_size: dict[str, float]
    initial_size_shares: dict[str, float]
    spend_range: tuple[float, float]
    program_units: dict[str, str]
    scale: float
    initial_customers: int
    acquired_customers: int
    won_back: int

    def curve(self, segment: str, program: str) -> ResponseCurve:
        """The true response curve of one segment x program cell."""
        return next(c for c in self.curves if c.segment == segment and c.program == program)


@dataclass(frozen=True, eq=False)  # eq=False: frames have no truth value, compare them directly
class DemoCompany:
    """The generated data, one frame per kind of file (columns as in ``CONTRACT``), and truth."""

    customers: pd.DataFrame
    transactions: pd.DataFrame
    activities: pd.DataFrame
    rates: pd.DataFrame
    spend: pd.DataFrame
    truth: DemoTruth


def generate_company(
    customers: int = 5000, *, seed: int = 7, months: int = 36, end: dt.date | None = None
) -> DemoCompany:
    """Simulate the demo distributor.

    Parameters
    ----------
    customers
        Number of customers in the customers frame (those before the window plus those acquired
        in it); at least 50. 5,000 gives about 100k transactions, 100,000 about 2 million.
    seed
        Seed of ``np.random.default_rng``; equal arguments give identical frames.
    months
        Months of history.
    end
        Last day of the final month of history; default the last day of the previous month.

    Returns
    -------
    DemoCompany
        Frames with the columns of ``CONTRACT``: customers; transactions (refunds negative,
        dated after their purchase); activities per customer x month (dated the first of the
        month, nonzero only); rates (effective from the first month); spend per month x segment
        x program with its outcome; and the :class:`DemoTruth`.

    Raises
    ------
    ValueError
        If ``customers`` is below 50 or ``months`` below 1.
    """
    if customers < 50:
        raise ValueError(f"customers must be at least 50, got {customers}.")
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}.")
    if end is None:
        end = dt.date.today().replace(day=1) - dt.timedelta(days=1)
    first = (pd.Timestamp(end).to_period("M") - (months - 1)).to_timestamp()
    starts = pd.date_range(first, periods=months + 1, freq="MS").values.astype("datetime64[D]")
    starts = starts.astype(np.int64)
    end_day = int(np.datetime64(end, "D").astype(np.int64))
    rng = np.random.default_rng(seed)
    scale = customers / REFERENCE_CUSTOMERS * min(1.0, REFERENCE_MONTHS / months)
    curves = _scaled_curves(scale)
    spend = _draw_spend(rng, curves, months)
    flat_spend = spend.reshape(months, len(curves))  # curves run size-major, then program
    expected = np.stack([c.outcome(flat_spend[:, i]) for i, c in enumerate(curves)], axis=1)
    expected = expected.reshape(spend.shape)
    outcome = np.zeros_like(spend)
    outcome[:, :, _ACQ] = rng.poisson(expected[:, :, _ACQ])
    xs_noise = 1.0 / CROSS_SELL_NOISE_CV**2
    outcome[:, :, _XS] = np.round(
        expected[:, :, _XS] * rng.gamma(xs_noise, 1 / xs_noise, (months, len(SIZES))), 2
    )
    cust = _draw_customers(rng, customers, outcome[:, :, _ACQ].astype(np.int64), starts)
    sim = _simulate(rng, cust, starts, end_day, expected, outcome)
    size_names = np.array(SIZES)
    ids = np.strings.add(
        "C", np.strings.zfill(np.arange(1, customers + 1).astype(str), max(6, len(str(customers))))
    )
    truth = DemoTruth(
        curves=curves,
        churn_monthly_by_size=dict(CHURN_MONTHLY_BY_SIZE),
        realized_churn_monthly_by_size={
            s: float(sim["churned"][i] / max(sim["exposure"][i], 1)) for i, s in enumerate(SIZES)
        },
        size_shares=dict(zip(SIZES, SIZE_SHARES, strict=True)),
        orders_per_month_by_size=dict(ORDERS_PER_MONTH_BY_SIZE),
        order_value_by_size=dict(ORDER_VALUE_BY_SIZE),
        trend_per_year=TREND_PER_YEAR,
        seasonality=SEASONALITY,
        category_margins=dict(zip(CATEGORIES, CATEGORY_MARGINS, strict=True)),
        refund_rate=REFUND_RATE,
        activity_rates=dict(ACTIVITY_RATES),
        high_maintenance=frozenset(ids[cust["hm"]].tolist()),
        high_maintenance_share_by_size=dict(HIGH_MAINTENANCE_SHARE_BY_SIZE),
        initial_size_shares=dict(zip(SIZES, INITIAL_SIZE_SHARES, strict=True)),
        spend_range=SPEND_RANGE,
        program_units=dict(PROGRAM_UNITS),
        scale=scale,
        initial_customers=int((cust["acq_month"] < 0).sum()),
        acquired_customers=int((cust["acq_month"] >= 0).sum()),
        won_back=int(outcome[:, :, _WB].sum()),
    )
    customers_frame = pd.DataFrame(
        {
            CUSTOMER_ID: ids,
            NAME: _draw_names(rng, customers),
            REGION: _text(REGIONS, cust["region_code"]),
            INDUSTRY: _text(INDUSTRIES, cust["industry_code"]),
            SIZE: _text(SIZES, cust["size_code"]),
            CHANNEL: _text(CHANNELS, cust["channel_code"]),
            ACQUISITION_DATE: _dates(cust["acq_day"]),
            PAYMENT_TERMS_DAYS: np.array(PAYMENT_TERMS, dtype=np.int64)[cust["terms"]],
        }
    )
    month_dates = _dates(starts[:-1])
    spend_frame = pd.DataFrame(
        {
            MONTH: np.repeat(month_dates, len(SIZES) * len(PROGRAMS)),
            SEGMENT: np.tile(np.repeat(size_names, len(PROGRAMS)), months),
            PROGRAM: np.tile(np.array(PROGRAMS), months * len(SIZES)),
            SPEND: spend.ravel(),
            OUTCOME: outcome.ravel(),
        }
    )
    rates = pd.DataFrame(
        {
            ACTIVITY: list(ACTIVITIES),
            RATE: [ACTIVITY_RATES[a] for a in ACTIVITIES],
            EFFECTIVE_FROM: np.repeat(month_dates[:1], len(ACTIVITIES)),
        }
    )
    return DemoCompany(
        customers=customers_frame,
        transactions=_transactions_frame(sim["tx"], ids),
        activities=_activities_frame(sim["activity_counts"], ids, month_dates),
        rates=rates,
        spend=spend_frame,
        truth=truth,
    )


def write_company_csv(company: DemoCompany, out_dir: Path) -> dict[str, Path]:
    """Write one CSV per kind of file into ``out_dir`` (created if missing).

    Parameters
    ----------
    company
        A generated company.
    out_dir
        Target folder; files are ``<kind>.csv`` with a header of ``CONTRACT`` column names,
        ISO dates, and whole-number columns written without a decimal point.

    Returns
    -------
    dict[str, Path]
        Path of the written file per kind.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {
        "transactions": company.transactions,
        "customers": company.customers,
        "activities": company.activities,
        "rates": company.rates,
        "spend": company.spend,
    }
    paths: dict[str, Path] = {}
    for kind, frame in frames.items():
        out = frame[[name for name, _, _ in CONTRACT[kind]]].copy()
        for col in out.columns:
            values = out[col]
            if values.dtype.kind == "f" and bool((values % 1 == 0).all()):
                out[col] = values.astype(np.int64)
        path = out_dir / f"{kind}.csv"
        out.to_csv(path, index=False, date_format="%Y-%m-%d")
        paths[kind] = path
    return paths


def _scaled_curves(scale: float) -> tuple[ResponseCurve, ...]:
    curves = []
    for size in SIZES:
        for program in PROGRAMS:
            family, params = PROGRAM_CURVES[(size, program)]
            scaled = {k: (v if k == "shape" else v * scale) for k, v in params.items()}
            curves.append(ResponseCurve(size, program, family, scaled))  # type: ignore[arg-type]
    return tuple(curves)


def _draw_spend(
    rng: np.random.Generator, curves: tuple[ResponseCurve, ...], months: int
) -> np.ndarray:
    base = np.array([c.params.get("kappa", c.params.get("half_saturation")) for c in curves])
    low, high = np.log(SPEND_RANGE)
    level = np.exp(rng.uniform(low, high, size=(months, base.size)))
    level[rng.random((months, base.size)) < PAUSED_MONTH_SHARE] = 0.0
    return np.round(level * base, 2).reshape(months, len(SIZES), len(PROGRAMS))


def _draw_customers(
    rng: np.random.Generator, n: int, acquired: np.ndarray, starts: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-customer attributes and latent traits, sorted by acquisition date."""
    months = acquired.shape[0]
    n_new = int(acquired.sum())
    if n_new > n - 10:
        raise ValueError(f"{n} customers is too few for {months} months of acquisitions.")
    n_init = n - n_new
    size_init = rng.choice(len(SIZES), n_init, p=INITIAL_SIZE_SHARES)
    dormant = rng.random(n_init) < DORMANT_SHARE_OF_INITIAL
    tenure = rng.exponential(INITIAL_TENURE_MEAN_DAYS, n_init) % (15 * 365)  # at most 15 years
    init_day = starts[0] - 1 - (tenure + np.where(dormant, 365, 0)).astype(np.int64)
    flat = acquired.ravel()  # month-major, then size
    month_new = np.repeat(np.repeat(np.arange(months), len(SIZES)), flat)
    size_new = np.repeat(np.tile(np.arange(len(SIZES)), months), flat)
    month_len = np.diff(starts)
    new_day = starts[month_new] + (rng.random(n_new) * month_len[month_new]).astype(np.int64)
    size = np.concatenate([size_init, size_new])
    c: dict[str, np.ndarray] = {
        "size_code": size,
        "acq_day": np.concatenate([init_day, new_day]),
        "acq_month": np.concatenate([np.full(n_init, -1), month_new]),
        "dormant": np.concatenate([dormant, np.zeros(n_new, dtype=bool)]),
        "region_code": rng.choice(len(REGIONS), n, p=REGION_SHARES),
        "industry_code": rng.choice(len(INDUSTRIES), n, p=INDUSTRY_SHARES),
        "channel_code": _choose_by_row(rng, np.array(CHANNEL_MIX_BY_SIZE)[size]),
        "terms": _choose_by_row(rng, np.array(PAYMENT_TERMS_MIX_BY_SIZE)[size]),
        "hm": rng.random(n) < np.array([HIGH_MAINTENANCE_SHARE_BY_SIZE[s] for s in SIZES])[size],
    }
    hm = c["hm"]
    c["order_rate"] = (
        np.array([ORDERS_PER_MONTH_BY_SIZE[s] for s in SIZES])[size]
        * rng.gamma(ORDER_RATE_GAMMA_SHAPE, 1 / ORDER_RATE_GAMMA_SHAPE, n)
        * np.where(hm, HIGH_MAINTENANCE["order_rate"], 1.0)
    )
    c["value_mean"] = (
        np.array([ORDER_VALUE_BY_SIZE[s] for s in SIZES])[size]
        * rng.gamma(CUSTOMER_VALUE_GAMMA_SHAPE, 1 / CUSTOMER_VALUE_GAMMA_SHAPE, n)
        * np.where(hm, HIGH_MAINTENANCE["order_value"], 1.0)
    )
    mix = np.where(hm[:, None], HIGH_MAINTENANCE_CATEGORY_MIX, CATEGORY_MIX)
    # Dirichlet rows via normalised Gammas (vectorised over customers).
    g = rng.gamma(CATEGORY_MIX_CONCENTRATION * mix)
    cum = np.cumsum(g / g.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    c["category_cum"] = cum
    c["refund_rate"] = np.where(hm, HIGH_MAINTENANCE["refund_rate"], REFUND_RATE)
    c["deliveries_per_order"] = np.where(
        hm, HIGH_MAINTENANCE["deliveries_per_order"], DELIVERIES_PER_ORDER
    )
    c["ticket_rate"] = np.array([TICKETS_PER_MONTH_BY_SIZE[s] for s in SIZES])[size] * np.where(
        hm, HIGH_MAINTENANCE["tickets"], 1.0
    )
    c["visit_rate"] = np.array([VISITS_PER_MONTH_BY_SIZE[s] for s in SIZES])[size] * np.where(
        hm, HIGH_MAINTENANCE["visits"], 1.0
    )
    order = np.argsort(c["acq_day"], kind="stable")  # ids increase with acquisition date
    return {k: v[order] for k, v in c.items()}


def _choose_by_row(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row of a (rows x categories) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    return (rng.random(len(probs))[:, None] >= cum).sum(axis=1)


def _simulate(
    rng: np.random.Generator,
    c: dict[str, np.ndarray],
    starts: np.ndarray,
    end_day: int,
    expected: np.ndarray,
    outcome: np.ndarray,
) -> dict[str, Any]:
    """Play the months: win-backs, orders, refunds, activities, churn; fills outcome in place."""
    n, months = c["size_code"].size, starts.size - 1
    size = c["size_code"]
    status = np.where(c["acq_month"] >= 0, _NOT_YET, np.where(c["dormant"], _DORMANT, _ACTIVE))
    churn_p = np.array([CHURN_MONTHLY_BY_SIZE[s] for s in SIZES])
    counts = np.zeros((len(ACTIVITIES), months, n), dtype=np.int32)
    churned, exposure = np.zeros(len(SIZES), np.int64), np.zeros(len(SIZES), np.int64)
    parts: list[dict[str, np.ndarray]] = []
    for t in range(months):
        start, length = starts[t], starts[t + 1] - starts[t]
        new = c["acq_month"] == t
        status[new] = _ACTIVE
        for s in range(len(SIZES)):
            pool = np.flatnonzero((status == _DORMANT) & (size == s))
            k = min(int(rng.poisson(expected[t, s, _WB])), pool.size)
            status[rng.choice(pool, size=k, replace=False)] = _ACTIVE
            outcome[t, s, _WB] = k
        active = np.flatnonzero(status == _ACTIVE)
        offset = np.where(new[active], c["acq_day"][active] - start, 0)
        frac = (length - offset) / length
        season = SEASONALITY[int(pd.Timestamp(np.datetime64(int(start), "D")).month) - 1]
        lam = c["order_rate"][active] * season * frac
        trend = (1 + TREND_PER_YEAR) ** (t / 12)
        base_rev = np.bincount(size[active], lam * c["value_mean"][active] * trend, len(SIZES))
        lift = 1.0 + outcome[t, :, _XS] / np.maximum(base_rev, 1.0)
        n_orders = rng.poisson(lam)
        parts.append(
            _orders(
                rng,
                c,
                active,
                n_orders,
                offset,
                start,
                length,
                c["value_mean"][active] * trend * lift[size[active]],
            )
        )
        counts[_ORDER, t, active] = n_orders
        extra = rng.poisson(n_orders * (c["deliveries_per_order"][active] - 1.0))
        counts[_DELIVERY, t, active] = n_orders + extra
        counts[_TICKET, t, active] = rng.poisson(c["ticket_rate"][active] * frac)
        counts[_VISIT, t, active] = rng.poisson(c["visit_rate"][active] * frac)
        exposure += np.bincount(size[active], minlength=len(SIZES))
        gross = active[rng.random(active.size) < churn_p[size[active]]]
        for s in range(len(SIZES)):
            candidates = gross[size[gross] == s]
            k = min(int(rng.poisson(expected[t, s, _RET])), candidates.size)
            saved = rng.choice(candidates.size, size=k, replace=False)
            lost = np.delete(candidates, saved)
            status[lost] = _DORMANT
            outcome[t, s, _RET] = k
            churned[s] += lost.size
    tx = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    tx = {k: v[tx["day"] <= end_day] for k, v in tx.items()}  # refunds after the window
    refunds = tx["value"] < 0
    refund_month = np.searchsorted(starts, tx["day"][refunds], side="right") - 1
    np.add.at(counts[_RETURN], (refund_month, tx["cust"][refunds]), 1)
    return {"tx": tx, "activity_counts": counts, "churned": churned, "exposure": exposure}


def _orders(
    rng: np.random.Generator,
    c: dict[str, np.ndarray],
    active: np.ndarray,
    n_orders: np.ndarray,
    offset: np.ndarray,
    start: int,
    length: int,
    value_mean: np.ndarray,
) -> dict[str, np.ndarray]:
    """One month's purchases and the refunds they cause, as parallel arrays."""
    pos = np.repeat(np.arange(active.size), n_orders)
    cust = active[pos]
    m = cust.size
    lo = offset[pos]
    day = start + lo + (rng.random(m) * (length - lo)).astype(np.int64)
    amount = np.maximum(
        np.round(
            rng.gamma(ORDER_VALUE_GAMMA_SHAPE, 1.0, m) * value_mean[pos] / ORDER_VALUE_GAMMA_SHAPE,
            2,
        ),
        1.0,
    )
    cat = (rng.random(m)[:, None] >= c["category_cum"][cust]).sum(axis=1)
    margin = np.array(CATEGORY_MARGINS)[cat]
    noise = np.clip(rng.lognormal(0.0, COST_NOISE_SD, m), 0.85, 1.15)
    cost = np.round(amount * (1 - margin) * noise, 2)
    unit = np.array(CATEGORY_UNIT_PRICES)[cat] * rng.lognormal(0.0, 0.2, m)
    qty = np.maximum(np.round(amount / unit), 1.0)
    product = cat * PRODUCTS_PER_CATEGORY + rng.integers(0, PRODUCTS_PER_CATEGORY, m)
    own = rng.random(m) < OWN_CHANNEL_SHARE
    channel = np.where(own, c["channel_code"][cust], rng.integers(0, len(CHANNELS), m))
    r = rng.random(m) < c["refund_rate"][cust]
    share = np.where(rng.random(r.sum()) < 0.5, 1.0, rng.uniform(0.2, 1.0, r.sum()))
    refund = {
        "cust": cust[r],
        "day": day[r] + rng.integers(REFUND_DELAY_DAYS[0], REFUND_DELAY_DAYS[1] + 1, r.sum()),
        "value": -np.round(amount[r] * share, 2),
        "cogs": -np.round(cost[r] * share, 2),
        "units": -np.maximum(np.round(qty[r] * share), 1.0),
        "product_code": product[r],
        "channel_code": channel[r],
    }
    purchase = {
        "cust": cust,
        "day": day,
        "value": amount,
        "cogs": cost,
        "units": qty,
        "product_code": product,
        "channel_code": channel,
    }
    return {k: np.concatenate([purchase[k], refund[k]]) for k in purchase}


def _transactions_frame(tx: dict[str, np.ndarray], ids: np.ndarray) -> pd.DataFrame:
    order = np.lexsort((tx["cust"], tx["day"]))
    tx = {k: v[order] for k, v in tx.items()}
    width = max(8, len(str(order.size)))
    tx_ids = np.strings.add("T", np.strings.zfill(np.arange(1, order.size + 1).astype(str), width))
    products = np.array(
        [
            f"{cat[:4].upper()}-{k + 1:03d}"
            for cat in CATEGORIES
            for k in range(PRODUCTS_PER_CATEGORY)
        ]
    )
    return pd.DataFrame(
        {
            CUSTOMER_ID: _text(ids, tx["cust"]),
            DATE: _dates(tx["day"]),
            AMOUNT: tx["value"],
            COST: tx["cogs"],
            QUANTITY: tx["units"],
            PRODUCT: _text(products, tx["product_code"]),
            CATEGORY: _text(CATEGORIES, tx["product_code"] // PRODUCTS_PER_CATEGORY),
            CHANNEL: _text(CHANNELS, tx["channel_code"]),
            TRANSACTION_ID: tx_ids.astype(object),
        }
    )


def _activities_frame(
    counts: np.ndarray, ids: np.ndarray, month_dates: pd.DatetimeIndex
) -> pd.DataFrame:
    """Long frame of the nonzero (activity, month, customer) counts, by date then customer."""
    a, t, cust = np.nonzero(counts)
    order = np.lexsort((a, cust, t))
    a, t, cust = a[order], t[order], cust[order]
    return pd.DataFrame(
        {
            CUSTOMER_ID: _text(ids, cust),
            DATE: month_dates[t],
            ACTIVITY: _text(ACTIVITIES, a),
            QUANTITY: counts[a, t, cust].astype(np.float64),
        }
    )


def _draw_names(rng: np.random.Generator, n: int) -> np.ndarray:
    first = np.array(_NAME_WORDS_1)[rng.integers(0, len(_NAME_WORDS_1), n)]
    second = np.array(_NAME_WORDS_2)[rng.integers(0, len(_NAME_WORDS_2), n)]
    suffix = np.array(_NAME_SUFFIXES)[rng.integers(0, len(_NAME_SUFFIXES), n)]
    return np.strings.add(
        np.strings.add(np.strings.add(first, " "), np.strings.add(second, " ")), suffix
    )


def _text(labels: tuple[str, ...] | np.ndarray, codes: np.ndarray) -> pd.Index:
    """``labels[codes]`` as a string column; taking from a small string Index is fast."""
    return pd.Index(np.asarray(labels), dtype="str").take(codes)


def _dates(days: np.ndarray) -> pd.DatetimeIndex:
    """Day numbers (days since 1970-01-01) as a datetime64[us] index (no time part)."""
    return pd.DatetimeIndex(
        np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[us]")
    )


def load_company(engine, company: DemoCompany, *, actor: Actor) -> tuple:
    """Store the demo company through the ordinary all-or-nothing import path.

    Returns the import reports (customers, transactions, rates, activities, spend).
    """
    from planning.ingest.importing import ImportRequest, import_files

    frames = {
        "customers": company.customers,
        "transactions": company.transactions,
        "rates": company.rates,
        "activities": company.activities,
        "spend": company.spend,
    }
    requests = [ImportRequest(kind, frame, f"demo-{kind}") for kind, frame in frames.items()]
    return import_files(engine, requests, actor=actor)
