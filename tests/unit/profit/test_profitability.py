"""The pure parts of profitability: assumptions, segment P&L, whale curve, loss-makers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.core import columns as C
from planning.profit.profitability import (
    ProfitAssumptions,
    company_pnl,
    loss_makers,
    segment_pnl,
    whale_curve,
)

MONEY = [
    "revenue",
    "cogs",
    "gross_margin",
    "cts_order",
    "cts_sales_visit",
    "cost_to_serve",
    "financing_cost",
    "contribution",
]


def _pnl(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, revenue, cogs, cts_order, cts_sales_visit, financing, orders)."""
    frame = pd.DataFrame(
        rows,
        columns=[
            C.CUSTOMER_ID,
            "revenue",
            "cogs",
            "cts_order",
            "cts_sales_visit",
            "financing_cost",
            "orders",
        ],
    )
    frame["gross_margin"] = (frame["revenue"] - frame["cogs"]).round(2)
    frame["cost_to_serve"] = frame["cts_order"] + frame["cts_sales_visit"]
    frame["contribution"] = (
        frame["gross_margin"] - frame["cost_to_serve"] - frame["financing_cost"]
    ).round(2)
    return frame[[C.CUSTOMER_ID, *MONEY, "orders"]]


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("default_margin", 1.0, "from 0 up to (not including) 1"),
        ("default_margin", -0.1, "from 0 up to"),
        ("default_margin", float("nan"), "default_margin"),
        ("cost_per_order", -1.0, "an amount of 0 or more"),
        ("cost_of_capital", 1.5, "a yearly rate from 0 to 1"),
        ("default_terms_days", 400, "whole days from 0 to 365"),
        ("default_terms_days", "30", "default_terms_days"),
    ],
    ids=[
        "margin-one",
        "margin-negative",
        "margin-nan",
        "order-cost-negative",
        "capital-above-one",
        "terms-too-long",
        "terms-text",
    ],
)
def test_bad_assumptions_are_refused_with_the_field_named(field, value, words):
    with pytest.raises(ValueError, match="ProfitAssumptions." + field) as info:
        ProfitAssumptions(**{field: value})
    assert words in str(info.value)


def test_the_default_assumptions_are_documented_values():
    a = ProfitAssumptions()
    assert (a.default_margin, a.cost_per_order, a.cost_of_capital, a.default_terms_days) == (
        0.30,
        12.0,
        0.08,
        30,
    )


def test_segment_pnl_adds_up_customers_and_keeps_the_category_order():
    pnl = _pnl(
        [
            ("A", 100.0, 60.0, 5.0, 0.0, 1.0, 2),
            ("B", 50.0, 40.0, 5.0, 300.0, 0.5, 1),
            ("C", 10.0, 7.0, 0.0, 0.0, 0.1, 1),
            ("D", 0.0, 0.0, 0.0, 0.0, 0.0, 0),
        ]
    )
    assignment = pd.DataFrame(
        {
            C.CUSTOMER_ID: ["A", "B", "C", "X"],
            C.SEGMENT: pd.Categorical(
                ["Gold", "Bronze", "Gold", "Gold"],
                categories=["Gold", "Silver", "Bronze"],
                ordered=True,
            ),
        }
    )

    table = segment_pnl(pnl, assignment, total=True)

    assert table["segment"].tolist() == ["Gold", "Bronze", "Unassigned", "Total"]
    assert table["customers"].tolist() == [2, 1, 1, 4]
    gold = table.iloc[0]
    assert (gold["revenue"], gold["cost_to_serve"], gold["contribution"]) == (110.0, 5.0, 36.9)
    assert gold["contribution_per_customer"] == pytest.approx(18.45)
    assert table.iloc[-1]["contribution"] == pytest.approx(36.9 - 295.5)
    assert table["orders"].tolist() == [3, 1, 0, 4]


def test_segment_pnl_refuses_a_customer_in_two_segments():
    pnl = _pnl([("A", 1.0, 0.5, 0.0, 0.0, 0.0, 1)])
    twice = pd.DataFrame({C.CUSTOMER_ID: ["A", "A"], C.SEGMENT: ["x", "y"]})
    with pytest.raises(ValueError, match="customer 'A' in more than one segment"):
        segment_pnl(pnl, twice)


def test_segment_pnl_names_a_missing_column():
    with pytest.raises(ValueError, match="Required column segment missing"):
        segment_pnl(_pnl([("A", 1.0, 0.5, 0.0, 0.0, 0.0, 1)]), pd.DataFrame({C.CUSTOMER_ID: ["A"]}))


cents = st.integers(min_value=-(10**9), max_value=10**9).map(lambda c: c / 100)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(cents, cents, cents, cents, cents, st.integers(0, 50)), min_size=1, max_size=60
    ),
    st.lists(
        st.sampled_from(["Gold", "Silver", "Bronze", "Loss-making"]), min_size=60, max_size=60
    ),
)
def test_segments_add_up_to_the_company_exactly_to_the_cent(rows, labels):
    pnl = _pnl([(f"C{k}", *row) for k, row in enumerate(rows)])
    assignment = pd.DataFrame({C.CUSTOMER_ID: pnl[C.CUSTOMER_ID], C.SEGMENT: labels[: len(pnl)]})
    table = segment_pnl(pnl, assignment)
    total = company_pnl(pnl)
    for col in MONEY:
        assert np.round(table[col] * 100).astype(np.int64).sum() == round(total[col] * 100), col
    assert table["customers"].sum() == len(pnl)


def test_whale_curve_rises_to_its_peak_then_falls_to_the_total():
    pnl = _pnl(
        [
            ("A", 200.0, 100.0, 0.0, 0.0, 0.0, 1),  # +100
            ("B", 100.0, 50.0, 0.0, 0.0, 0.0, 1),  # +50
            ("C", 0.0, 0.0, 0.0, 0.0, 0.0, 0),  # no business: left out
            ("D", 10.0, 0.0, 0.0, 30.0, 0.0, 1),  # -20
            ("E", 10.0, 10.0, 0.0, 30.0, 0.0, 1),
        ]
    )  # -30

    curve = whale_curve(pnl)

    assert curve.customers == 4
    assert curve.curve["cumulative_contribution"].tolist() == [0, 100, 150, 130, 100]
    assert curve.curve["customer_share"].tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert (curve.peak_customers, curve.peak_customer_share) == (2, 0.5)
    assert (curve.peak_contribution, curve.peak_share) == (150.0, 1.5)
    assert (curve.total_contribution, curve.loss_makers, curve.loss_makers_contribution) == (
        100.0,
        2,
        -50.0,
    )
    assert whale_curve(pnl, active_only=False).customers == 5


def test_a_company_losing_money_overall_has_no_share_but_still_a_peak():
    pnl = _pnl([("A", 20.0, 0.0, 0.0, 0.0, 0.0, 1), ("B", 0.0, 0.0, 0.0, 50.0, 0.0, 0)])
    curve = whale_curve(pnl)
    assert curve.total_contribution == -30.0
    assert np.isnan(curve.peak_share) and curve.curve["cumulative_share"].isna().all()
    assert (curve.peak_customers, curve.peak_contribution) == (1, 20.0)


def test_loss_makers_name_their_costliest_activity_and_what_makes_them_lose():
    pnl = _pnl(
        [
            ("A", 100.0, 120.0, 5.0, 0.0, 0.0, 1),  # sells below cost
            ("B", 100.0, 50.0, 10.0, 350.0, 1.0, 2),  # visits eat the margin
            ("C", 100.0, 50.0, 0.0, 0.0, 60.0, 1),  # long terms
            ("D", 100.0, 50.0, 0.0, 0.0, 1.0, 1),
        ]
    )  # profitable: not listed

    losers = loss_makers(pnl)

    assert losers[C.CUSTOMER_ID].tolist() == ["B", "A", "C"]
    assert losers["top_activity"].tolist()[:2] == ["sales_visit", "order"]
    assert pd.isna(losers["top_activity"].iloc[2])  # no activity cost at all
    assert losers["top_activity_cost"].tolist() == [350.0, 5.0, 0.0]
    assert losers["driver"].tolist() == [
        "Cost-to-serve above margin",
        "Negative gross margin",
        "Financing cost",
    ]
    assert loss_makers(pnl, n=1)[C.CUSTOMER_ID].tolist() == ["B"]
    with pytest.raises(ValueError, match="n must be 0 or more"):
        loss_makers(pnl, n=-1)
