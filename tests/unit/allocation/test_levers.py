"""Lever cells from curves, economics and treatments; outcome values and policy effects."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from planning.allocation import economics as ec
from planning.allocation.calibration import Calibration, SkippedCell
from planning.allocation.levers import (
    EXTRAPOLATION,
    CellRule,
    PlanningInputs,
    build_cells,
    service_tier_curve,
)
from planning.allocation.response import ExponentialCurve, ResponseModel, planner_curve
from planning.allocation.strategy import Treatment, default_treatment


def _economics() -> pd.DataFrame:
    return pd.DataFrame(
        {
            ec.ACTIVE: [100.0, 1000.0],
            ec.CHURN_RATE: [0.01, 0.05],
            ec.MARGIN_RATE: [0.3, 0.32],
            ec.CONTRIBUTION_PER_MONTH: [2_000.0, 20.0],
            ec.VALUE_ACTIVE: [60_000.0, 900.0],
            ec.VALUE_ACTIVE_CV: [0.01, 0.05],
            ec.VALUE_NEW: [50_000.0, 400.0],
            ec.VALUE_NEW_CV: [0.05, 0.1],
            ec.NEW_BASIS: ["own", "own"],
        },
        index=pd.Index(["Large", "Small"], name="segment"),
    )


def _inputs() -> PlanningInputs:
    models = tuple(
        ResponseModel(s, p, ExponentialCurve(10.0, 5_000.0), "calibrated on 36 months")
        for s in ("Large", "Small")
        for p in ("acquisition", "retention")
    )
    skipped = (SkippedCell("Large", "win_back", "only 2 months with an outcome"),)
    return PlanningInputs(
        dt.date(2025, 12, 31),
        ec.EconomicsSettings(),
        Calibration(models, skipped),
        {("Large", "acquisition"): 3_000.0},
        {("Large", "acquisition"): 6_000.0},
        {"Large": default_treatment("Large"), "Small": default_treatment("Small")},
        _economics(),
    )


def test_service_tier_upgrading_everyone_prevents_the_tiers_share_of_churn():
    large = Treatment("Large")  # standard -> priority: +$45 an account, 20% less churn
    model, max_spend, per_dollar, _note = service_tier_curve(
        "Large", large, _economics().loc["Large"]
    )
    assert max_spend == pytest.approx(100 * 45.0) and per_dollar == pytest.approx(1 / 45.0)
    assert float(model.curve.value(max_spend)) == pytest.approx(100 * 0.01 * 0.20)
    assert (
        model.source.startswith("planner assumption, ") and "standard -> priority" in model.source
    )
    top = service_tier_curve(
        "Large", Treatment("Large", service_tier="premium"), _economics().loc["Large"]
    )
    assert top[0] is None and top[3] == "Large is already on the top service tier"


def test_cells_follow_eligibility_curves_and_rules_and_say_what_is_left_out():
    inputs = _inputs()
    override = planner_curve(
        "Large",
        "cross_sell",
        "exponential",
        {"beta": 50_000.0, "kappa": 20_000.0},
        on=dt.date(2026, 1, 5),
    )
    cells, notes = build_cells(
        inputs,
        overrides={("Large", "cross_sell"): override},
        rules={("Small", "retention"): CellRule(locked=1_000.0)},
    )
    keys = {c.key: c for c in cells}
    assert set(keys) == {
        ("Large", "acquisition"),
        ("Large", "retention"),
        ("Large", "cross_sell"),
        ("Large", "service_tier"),
        ("Small", "acquisition"),
        ("Small", "retention"),
    }
    assert keys[("Large", "acquisition")].max_spend == EXTRAPOLATION * 6_000.0
    assert keys[("Large", "acquisition")].current_spend == 3_000.0
    assert keys[("Large", "acquisition")].value_per_unit == 50_000.0
    assert keys[("Large", "retention")].value_per_unit == 60_000.0
    assert keys[("Large", "cross_sell")].value_per_unit == pytest.approx(0.3)
    assert keys[("Large", "cross_sell")].response.source == "planner assumption, 2026-01-05"
    assert keys[("Small", "retention")].locked == 1_000.0
    assert (
        "Large x Win-back: no response curve, only 2 months with an outcome; set a "
        "planner curve to include it."
    ) in notes
    assert "Small x Service tier: not eligible under the segment's treatment." in notes


def test_a_better_tier_lengthens_a_customers_stay_and_charges_its_cost():
    base = {"Large": Treatment("Large")}
    better = {"Large": Treatment("Large", service_tier="premium")}
    settings = ec.EconomicsSettings()
    out = ec._apply_policies(_economics(), better, base, settings)
    before = ec._annuity(0.01, 36, settings.monthly_discount)
    after = ec._annuity(0.01 * 0.55, 36, settings.monthly_discount)
    assert out.loc["Large", ec.CHURN_RATE] == pytest.approx(0.0055)
    assert out.loc["Large", ec.VALUE_ACTIVE] == pytest.approx(
        60_000.0 * after / before - 300.0 * after
    )
    assert out.loc["Small", ec.VALUE_ACTIVE] == 900.0  # untouched


def test_the_annuity_counts_discounted_months_a_customer_stays():
    assert ec._annuity(0.0, 12, 0.0) == pytest.approx(12.0)
    q = 0.95 / 1.01
    assert ec._annuity(0.05, 3, 0.01) == pytest.approx(q + q**2 + q**3)


def test_each_lever_is_priced_from_its_own_kind_of_customer_value():
    values = ec.lever_values(_economics()).set_index(["segment", "program"])
    assert values.loc[("Small", "acquisition"), ec.VALUE_PER_UNIT] == 400.0
    assert values.loc[("Small", "win_back"), ec.VALUE_PER_UNIT] == 900.0
    assert values.loc[("Small", "cross_sell"), ec.FLOW_PER_UNIT] == pytest.approx(0.32)
    assert np.isfinite(values[ec.VALUE_CV]).all()
    with pytest.raises(ValueError, match="horizon_months must be 1 to 120"):
        ec.EconomicsSettings(horizon_months=0)


def test_the_rules_table_round_trips_and_names_bad_rows():
    from planning.allocation.levers import rules_from_table, rules_table

    cells, _ = build_cells(_inputs())
    rules = {
        ("Large", "acquisition"): CellRule(min_spend=500.0, locked=2_000.0),
        ("Small", "retention"): CellRule(max_spend=9_000.0),
    }
    table = rules_table(cells, rules)
    assert table.loc[0, "lever"] == "Acquisition"
    back, problems = rules_from_table(table, cells)
    assert back == rules and problems == []
    table.loc[1, "min_spend"] = -5.0
    _, problems = rules_from_table(table, cells)
    assert problems == ["Large x Retention: the minimum must be 0 or more, got -5."]
