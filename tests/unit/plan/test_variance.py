"""Variance decomposition: the effects add up to the variance to the cent, and each effect
answers for its own cause."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.plan import variance as va

MONTH = pd.Timestamp("2026-10-01")


def _frame(rows):
    return pd.DataFrame(
        [(MONTH, seg, rev, gm, cts, spend, fin, n) for seg, rev, gm, cts, spend, fin, n in rows],
        columns=["month", "segment", *va.DRIVERS],
    )


PLAN = _frame(
    [
        ("Small", 100_000.0, 30_000.0, 8_000.0, 2_000.0, 500.0, 500),
        ("Large", 400_000.0, 100_000.0, 20_000.0, 5_000.0, 3_000.0, 100),
    ]
)


def _effects(actual):
    row = va.decompose(PLAN, actual).iloc[0]
    return {e: round(row[e], 6) for e in va.EFFECTS}, row


def test_the_same_month_as_planned_has_no_variance():
    effects, row = _effects(PLAN)
    assert row[va.TOTAL_VARIANCE] == 0 and all(v == 0 for v in effects.values())


def test_ten_percent_more_customers_everywhere_is_pure_volume():
    actual = _frame(
        [
            ("Small", 110_000.0, 33_000.0, 8_000.0, 2_000.0, 500.0, 550),
            ("Large", 440_000.0, 110_000.0, 20_000.0, 5_000.0, 3_000.0, 110),
        ]
    )
    effects, _row = _effects(actual)
    assert effects["volume"] == pytest.approx(13_000.0)
    assert {k: v for k, v in effects.items() if k != "volume"} == dict.fromkeys(
        ["mix", "price", "margin_rate", "cost_to_serve", "program_spend", "financing"], 0.0
    )


def test_customers_moving_to_the_richer_segment_is_mix():
    actual = _frame(
        [
            ("Small", 90_000.0, 27_000.0, 8_000.0, 2_000.0, 500.0, 450),
            ("Large", 600_000.0, 150_000.0, 20_000.0, 5_000.0, 3_000.0, 150),
        ]
    )
    effects, _ = _effects(actual)
    assert effects["volume"] == 0 and effects["price"] == 0 and effects["margin_rate"] == 0
    assert effects["mix"] == pytest.approx(-50 * 60.0 + 50 * 1000.0)


def test_higher_spend_per_customer_is_price_and_a_richer_margin_is_margin_rate():
    actual = _frame(
        [
            ("Small", 120_000.0, 40_000.0, 8_000.0, 2_000.0, 500.0, 500),
            ("Large", 400_000.0, 100_000.0, 20_000.0, 5_000.0, 3_000.0, 100),
        ]
    )
    effects, _ = _effects(actual)
    assert effects["price"] == pytest.approx(20_000.0 * 0.3)
    assert effects["margin_rate"] == pytest.approx(120_000.0 * (40 / 120 - 0.3))
    assert effects["volume"] == effects["mix"] == 0


def test_cost_lines_are_their_own_effects_with_the_sign_of_their_profit_impact():
    actual = _frame(
        [
            ("Small", 100_000.0, 30_000.0, 9_000.0, 1_000.0, 800.0, 500),
            ("Large", 400_000.0, 100_000.0, 20_000.0, 5_000.0, 3_000.0, 100),
        ]
    )
    effects, row = _effects(actual)
    assert effects["cost_to_serve"] == -1_000.0
    assert effects["program_spend"] == 1_000.0
    assert effects["financing"] == -300.0
    assert row[va.TOTAL_VARIANCE] == pytest.approx(-300.0)


money = st.floats(min_value=0, max_value=5e6, allow_nan=False).map(lambda v: round(v, 2))
counts = st.integers(min_value=0, max_value=5000)
segment_rows = st.lists(
    st.tuples(money, money, money, money, money, counts), min_size=1, max_size=5
)


@settings(max_examples=200)
@given(segment_rows, segment_rows)
def test_the_effects_always_add_up_to_the_variance_to_the_cent(plan_rows, actual_rows):
    def frame(rows):
        return _frame(
            [
                (f"S{i}", rev, min(gm, rev), cts, sp, fin, n)
                for i, (rev, gm, cts, sp, fin, n) in enumerate(rows)
            ]
        )

    row = va.decompose(frame(plan_rows), frame(actual_rows)).iloc[0]
    total = sum(row[e] for e in va.EFFECTS)
    assert round(total, 2) == round(row[va.TOTAL_VARIANCE], 2)
    assert row[va.TOTAL_VARIANCE] == pytest.approx(
        row[va.ACTUAL_CONTRIBUTION] - row[va.PLAN_CONTRIBUTION]
    )


def test_alerts_name_the_segment_the_month_and_the_size_and_carry_a_suggestion():
    plan = PLAN.assign(revenue_lo95=[90_000.0, 380_000.0], revenue_hi95=[110_000.0, 420_000.0])
    actual = _frame(
        [
            ("Small", 70_000.0, 21_000.0, 8_000.0, 2_000.0, 500.0, 400),
            ("Large", 405_000.0, 101_000.0, 20_000.0, 5_000.0, 3_000.0, 100),
        ]
    )
    alerts = va.variance_alerts(plan, actual, suggestions={"Small": "Move $5,000 to retention"})
    assert alerts["kind"].tolist() == ["interval", "variance"]
    variance = alerts[alerts["kind"] == "variance"].iloc[0]
    assert variance["message"] == "Small: contribution $9,000 below plan in Oct 2026 (-46%)"
    assert variance["suggestion"] == "Move $5,000 to retention"
    assert "outside the forecast's 95% interval ($90,000 to $110,000)" in alerts["message"][0]
