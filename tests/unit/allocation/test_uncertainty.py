"""Simulated outcomes: distributions, common random numbers and P(A beats B)."""

from __future__ import annotations

import numpy as np
import pytest

from planning.allocation.response import ExponentialCurve, HillCurve, ResponseModel
from planning.allocation.solver import AllocationProblem, Cell, allocate
from planning.allocation.uncertainty import (
    compare_outcomes,
    contribution_quantiles,
    simulate_allocation,
)


def _problem(
    cov_scale: float = 0.0, value_cv: float = 0.0, extra: bool = False
) -> AllocationProblem:
    specs = [
        ("Small", "acquisition", ExponentialCurve(64.0, 14_000.0), 480.0),
        ("Small", "retention", HillCurve(22.0, 8_000.0, 1.5), 520.0),
        ("Key account", "cross_sell", ExponentialCurve(140_000.0, 35_000.0), 0.33),
    ]
    if extra:
        specs.append(("Large", "win_back", HillCurve(0.9, 4_000.0, 1.2), 60_000.0))
    cells = []
    for segment, program, curve, value in specs:
        k = len(curve.PARAMS)
        model = ResponseModel(segment, program, curve, "test", np.eye(k) * cov_scale)
        cells.append(Cell(segment, program, model, value, value_cv=value_cv))
    return AllocationProblem(tuple(cells), 60_000.0)


def test_without_uncertainty_every_draw_is_the_deterministic_profit():
    problem = _problem()
    result = allocate(problem)
    dist = simulate_allocation(problem, result, draws=50)
    np.testing.assert_allclose(dist.net_profit, result.net_profit, rtol=1e-12)
    assert dist.quantiles()["p10"] == pytest.approx(result.net_profit, rel=1e-12)


def test_value_uncertainty_alone_keeps_the_mean_and_spreads_the_draws():
    problem = _problem(value_cv=0.3)
    result = allocate(problem)
    dist = simulate_allocation(problem, result, draws=20_000, seed=3)
    assert dist.net_profit.mean() == pytest.approx(result.net_profit, rel=0.02)
    q = dist.quantiles()
    assert q["p10"] < result.net_profit < q["p90"]


def test_curve_uncertainty_gives_a_band_around_the_expected_profit():
    problem = _problem(cov_scale=0.02, value_cv=0.1)
    result = allocate(problem)
    dist = simulate_allocation(problem, result, draws=2000, seed=1)
    q = dist.quantiles()
    assert q["p10"] < q["p50"] < q["p90"]
    assert q["p50"] == pytest.approx(result.net_profit, rel=0.1)
    table = contribution_quantiles(dist, result)
    assert (table["contribution_p10"] <= table["contribution_p90"]).all()
    assert len(table) == len(result.cells)


def test_the_same_seed_gives_the_same_draws_and_another_seed_other_draws():
    problem = _problem(cov_scale=0.02, value_cv=0.1)
    result = allocate(problem)
    a = simulate_allocation(problem, result, draws=200, seed=5)
    b = simulate_allocation(problem, result, draws=200, seed=5)
    c = simulate_allocation(problem, result, draws=200, seed=6)
    np.testing.assert_array_equal(a.net_profit, b.net_profit)
    assert not np.allclose(a.net_profit, c.net_profit)


def test_a_cell_shared_by_two_scenarios_has_the_same_luck_in_both():
    small, large = _problem(0.02, 0.1), _problem(0.02, 0.1, extra=True)
    spend = {
        ("Small", "acquisition"): 20_000.0,
        ("Small", "retention"): 9_000.0,
        ("Key account", "cross_sell"): 10_000.0,
        ("Large", "win_back"): 3_000.0,
    }
    a = simulate_allocation(small, spend, draws=300, seed=2)
    b = simulate_allocation(large, spend, draws=300, seed=2)
    np.testing.assert_allclose(a.contribution, b.contribution[:, :3], rtol=1e-12)


def test_comparing_an_allocation_with_itself_finds_no_difference():
    problem = _problem(0.02, 0.1)
    result = allocate(problem)
    same = compare_outcomes(
        simulate_allocation(problem, result, seed=4), simulate_allocation(problem, result, seed=4)
    )
    assert np.all(same.difference == 0) and same.p_a_beats_b == 0.0


def test_the_optimum_beats_a_half_hearted_plan_in_almost_every_draw():
    problem = _problem(0.01, 0.1)
    best = allocate(problem)
    half = {(r.segment, r.program): r.spend / 3 for r in best.cells.itertuples()}
    comparison = compare_outcomes(
        simulate_allocation(problem, best, seed=7), simulate_allocation(problem, half, seed=7)
    )
    assert comparison.p_a_beats_b > 0.95
    assert comparison.quantiles()["p50"] > 0


def test_unpaired_draws_are_refused():
    problem = _problem(0.01)
    result = allocate(problem)
    with pytest.raises(ValueError, match="same seed and number of draws"):
        compare_outcomes(
            simulate_allocation(problem, result, seed=1, draws=10),
            simulate_allocation(problem, result, seed=2, draws=10),
        )
    with pytest.raises(ValueError, match="draws must be 1 or more"):
        simulate_allocation(problem, result, draws=0)
