"""Customer P&L from the store, on SQLite and PostgreSQL: exact numbers worked out by hand
(see little_company.py), any period, the documented defaults, and the demo company's segment
P&L adding up to its total to the cent."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from little_company import ASSUMPTIONS, END, load

from planning.core import columns as C
from planning.ingest.demo import generate_company, load_company
from planning.profit.costing import unrated_activities
from planning.profit.profitability import (
    CONTRIBUTION,
    ProfitAssumptions,
    company_pnl,
    customer_monthly_pnl,
    customer_pnl,
    loss_makers,
    segment_pnl,
    whale_curve,
)
from planning.segments.lenses import assign_segments, window_start
from tests.actors import ADMIN

MONEY = [
    "revenue",
    "cogs",
    "gross_margin",
    "cts_order",
    "cts_delivery",
    "cts_sales_visit",
    "cost_to_serve",
    "financing_cost",
    "contribution",
]


def _rows(pnl: pd.DataFrame) -> dict[str, dict[str, float]]:
    return pnl.set_index(C.CUSTOMER_ID)[[*MONEY, "orders"]].to_dict("index")


def test_all_history_pnl_matches_the_hand_worked_numbers(engine):
    pnl = customer_pnl(load(engine), start=None, end=END, assumptions=ASSUMPTIONS)

    assert list(pnl.columns) == [
        "customer_id",
        "revenue",
        "cogs",
        "gross_margin",
        "cts_order",
        "cts_delivery",
        "cts_sales_visit",
        "cost_to_serve",
        "financing_cost",
        "contribution",
        "orders",
        "payment_terms_days",
    ]
    assert _rows(pnl) == {
        "A": dict(
            revenue=3500,
            cogs=2250,
            gross_margin=1250,
            cts_order=34,
            cts_delivery=80,
            cts_sales_visit=300,
            cost_to_serve=414,
            financing_cost=57.53,
            contribution=778.47,
            orders=3,
        ),
        "B": dict(
            revenue=200,
            cogs=140,
            gross_margin=60,
            cts_order=10,
            cts_delivery=40,
            cts_sales_visit=0,
            cost_to_serve=50,
            financing_cost=1.64,
            contribution=8.36,
            orders=2,
        ),
        "C": dict(
            revenue=50,
            cogs=35,
            gross_margin=15,
            cts_order=12,
            cts_delivery=0,
            cts_sales_visit=300,
            cost_to_serve=312,
            financing_cost=0.19,
            contribution=-297.19,
            orders=1,
        ),
        "D": dict(
            revenue=0,
            cogs=0,
            gross_margin=0,
            cts_order=0,
            cts_delivery=0,
            cts_sales_visit=0,
            cost_to_serve=0,
            financing_cost=0,
            contribution=0,
            orders=0,
        ),
    }
    assert pnl["payment_terms_days"].tolist() == [60, 30, 14, 30]
    total = company_pnl(pnl)
    assert (
        total["revenue"],
        total["cost_to_serve"],
        total["financing_cost"],
        total["contribution"],
    ) == (3750, 776, 59.36, 489.64)


def test_a_period_with_part_months_at_both_ends_uses_only_its_own_days(engine):
    # 1 Feb .. 15 Mar: February from the cube, 1-15 March from the transactions. D is
    # acquired on 20 March, so is not a customer yet; C is known from December's visit.
    pnl = customer_pnl(
        load(engine), start=dt.date(2024, 2, 1), end=dt.date(2024, 3, 15), assumptions=ASSUMPTIONS
    )

    rows = _rows(pnl)
    assert list(rows) == ["A", "B", "C"]
    assert rows["A"] == dict(
        revenue=2500,
        cogs=1650,
        gross_margin=850,
        cts_order=24,
        cts_delivery=0,
        cts_sales_visit=300,
        cost_to_serve=324,
        financing_cost=41.10,
        contribution=484.90,
        orders=2,
    )
    # B's refund: negative revenue earns back financing; its return has no rate.
    assert rows["B"] == dict(
        revenue=-100,
        cogs=-60,
        gross_margin=-40,
        cts_order=0,
        cts_delivery=0,
        cts_sales_visit=0,
        cost_to_serve=0,
        financing_cost=-0.82,
        contribution=-39.18,
        orders=1,
    )
    assert rows["C"]["contribution"] == 0


@pytest.mark.parametrize(
    "start, end, b_revenue",
    [
        (dt.date(2024, 1, 15), dt.date(2024, 1, 25), 300),  # inside one month
        (dt.date(2024, 1, 15), dt.date(2024, 2, 29), 200),  # a head part-month, then February
        (dt.date(2024, 1, 1), dt.date(2024, 2, 1), 300),  # January whole, 1 February alone
        (dt.date(2024, 2, 2), dt.date(2024, 2, 2), -100),  # a single day
    ],
    ids=["within-a-month", "mid-month-to-month-end", "month-plus-one-day", "one-day"],
)
def test_any_period_counts_each_transaction_once(engine, start, end, b_revenue):
    pnl = customer_pnl(load(engine), start=start, end=end, assumptions=ASSUMPTIONS)
    assert pnl.set_index(C.CUSTOMER_ID).loc["B", "revenue"] == b_revenue


def test_rates_apply_from_their_effective_date(engine):
    load(engine)
    jan = customer_pnl(engine, start=dt.date(2024, 1, 1), end=dt.date(2024, 1, 31))
    feb = customer_pnl(engine, start=dt.date(2024, 2, 1), end=dt.date(2024, 2, 29))
    assert jan.set_index(C.CUSTOMER_ID).loc["A", "cts_order"] == 10
    assert feb.set_index(C.CUSTOMER_ID).loc["A", "cts_order"] == 12


def test_terms_override_replaces_the_stored_terms_of_the_customers_it_names(engine):
    pnl = customer_pnl(
        load(engine),
        start=None,
        end=END,
        assumptions=ASSUMPTIONS,
        terms_override=pd.Series({"A": 0, "B": 90}),
    )
    rows = pnl.set_index(C.CUSTOMER_ID)
    assert rows.loc["A", "financing_cost"] == 0
    assert rows.loc["B", "financing_cost"] == round(200 * 90 / 365 * 0.10, 2)
    assert rows.loc["C", "financing_cost"] == 0.19  # not named: keeps its 14 days


def test_without_any_activity_each_transaction_costs_the_default(engine):
    load(engine, activities=False)
    pnl = customer_pnl(
        engine, start=None, end=END, assumptions=ProfitAssumptions(cost_per_order=5.0)
    )
    rows = pnl.set_index(C.CUSTOMER_ID)
    assert rows["cts_order"].to_dict() == {"A": 15, "B": 10, "C": 5, "D": 0}
    assert rows.loc["A", "cogs"] == 600 + 1300 + 350


def test_a_different_default_margin_costs_only_the_sales_without_a_cost(engine):
    pnl = customer_pnl(
        load(engine), start=None, end=END, assumptions=ProfitAssumptions(default_margin=0.5)
    )
    assert pnl.set_index(C.CUSTOMER_ID)["cogs"].to_dict() == {
        "A": 600 + 1300 + 250,
        "B": 140,
        "C": 25,
        "D": 0,
    }


def test_unrated_activities_are_named(engine):
    report = unrated_activities(load(engine))
    assert report.to_dict("list") == {"activity": ["return"], "quantity": [1.0]}


def test_one_customers_months_add_up_to_the_period_within_cents(engine):
    months = customer_monthly_pnl(load(engine), "A", start=None, end=END, assumptions=ASSUMPTIONS)
    assert months["month"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-02", "2024-03"]
    assert months["contribution"].tolist() == [293.56, 355.12, 129.78]
    assert months["cost_to_serve"].tolist() == [90, 312, 12]
    assert months["contribution"].sum() == pytest.approx(778.47, abs=0.02)


def test_a_customer_without_business_has_no_months(engine):
    months = customer_monthly_pnl(load(engine), "D", start=None, end=END)
    assert months.empty and "contribution" in months.columns


def test_whale_curve_and_loss_makers_of_the_little_company(engine):
    pnl = customer_pnl(load(engine), start=None, end=END, assumptions=ASSUMPTIONS)
    curve = whale_curve(pnl)
    assert curve.customers == 3  # D did no business
    assert (curve.peak_customers, curve.peak_contribution) == (2, 786.83)
    assert curve.peak_share == pytest.approx(786.83 / 489.64)
    assert (curve.loss_makers, curve.loss_makers_contribution) == (1, -297.19)
    losers = loss_makers(pnl)
    assert losers[[C.CUSTOMER_ID, "top_activity", "driver"]].values.tolist() == [
        ["C", "sales_visit", "Cost-to-serve above margin"]
    ]


def test_a_period_that_ends_before_it_starts_is_refused(engine):
    with pytest.raises(ValueError, match="starts on 2024-03-01, after its end 2024-02-01"):
        customer_pnl(engine, start=dt.date(2024, 3, 1), end=dt.date(2024, 2, 1))


def test_an_empty_store_gives_an_empty_pnl(engine):
    pnl = customer_pnl(engine, start=None, end=END)
    assert pnl.empty and list(pnl.columns)[:2] == [C.CUSTOMER_ID, "revenue"]
    assert whale_curve(pnl).customers == 0


@pytest.fixture(scope="module")
def demo_company():
    return generate_company(customers=400, seed=3, months=24, end=dt.date(2025, 6, 30))


@pytest.mark.slow
@pytest.mark.parametrize(
    "lens, options",
    [
        ("value", {}),
        ("attribute", {"attribute": "size"}),
        ("attribute", {"attribute": "region"}),
        ("rfm", {}),
    ],
    ids=["value", "size", "region", "rfm"],
)
def test_demo_segment_pnl_reconciles_to_the_company_to_the_cent(
    engine, demo_company, lens, options
):
    load_company(engine, demo_company, actor=ADMIN)
    as_of = dt.date(2025, 6, 30)
    pnl = customer_pnl(engine, start=window_start(as_of, 12), end=as_of)
    table = segment_pnl(pnl, assign_segments(engine, lens, as_of, pnl=pnl, **options), total=True)

    segments, total = table.iloc[:-1], table.iloc[-1]
    assert total["segment"] == "Total"
    for col in [c for c in table.columns if c not in ("segment", "contribution_per_customer")]:
        cents = np.round(
            segments[col].to_numpy() * (100 if col not in ("customers", "orders") else 1)
        ).astype(np.int64)
        expected = round(total[col] * (100 if col not in ("customers", "orders") else 1))
        assert cents.sum() == expected, col
    assert total["customers"] == len(pnl)
    # The company total is the same whether or not a customer is split off.
    assert total[CONTRIBUTION] == company_pnl(pnl)[CONTRIBUTION]
    # and equals the transactions and activities priced directly in pandas
    assert total["revenue"] == pytest.approx(_direct_revenue(demo_company, as_of), abs=0.005)


def _direct_revenue(company, as_of: dt.date) -> float:
    tx = company.transactions
    dates = pd.to_datetime(tx[C.DATE])
    inside = (dates >= pd.Timestamp(window_start(as_of, 12))) & (dates <= pd.Timestamp(as_of))
    return round(float(tx.loc[inside, C.AMOUNT].sum()), 2)


@pytest.mark.slow
def test_demo_high_maintenance_customers_are_the_loss_makers(engine, demo_company):
    load_company(engine, demo_company, actor=ADMIN)
    as_of = dt.date(2025, 6, 30)
    pnl = customer_pnl(engine, start=window_start(as_of, 12), end=as_of)
    curve = whale_curve(pnl)
    losers = set(loss_makers(pnl, n=10_000)[C.CUSTOMER_ID])
    hm = demo_company.truth.high_maintenance
    # The generator's high-maintenance customers lose money far more often than the rest.
    active = set(pnl.loc[pnl["revenue"] != 0, C.CUSTOMER_ID])
    hm_rate = len(losers & hm & active) / max(len(hm & active), 1)
    rest_rate = len((losers & active) - hm) / max(len(active - hm), 1)
    assert hm_rate > 2 * rest_rate
    assert curve.peak_share > 1.0 and 0 < curve.peak_customer_share < 1
