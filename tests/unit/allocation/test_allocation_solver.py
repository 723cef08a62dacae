"""The exact allocator against brute force and SLSQP, its properties, and its diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import optimize

from planning.allocation.response import ExponentialCurve, HillCurve, ResponseModel
from planning.allocation.solver import (
    AllocationProblem,
    Cell,
    InfeasibleProblem,
    allocate,
    contribution_objective,
    diagnose,
    efficient_frontier,
    evaluate,
    net_profit_objective,
)

PROGRAMS = ("acquisition", "retention", "cross_sell", "win_back", "service_tier")


def _cell(segment: str, program: str, curve, value: float, **rules) -> Cell:
    return Cell(segment, program, ResponseModel(segment, program, curve, "test"), value, **rules)


def _random_problem(
    rng: np.random.Generator, n: int, *, s_shaped: bool = False, caps: bool = False, locks: int = 1
) -> AllocationProblem:
    cells = []
    for i in range(n):
        segment, program = f"S{i % 3}", PROGRAMS[i % 4]
        if rng.random() < 0.4:
            shape = rng.uniform(1.2, 2.5) if s_shaped else rng.uniform(0.5, 1.0)
            curve = HillCurve(rng.uniform(1, 50), rng.uniform(1e3, 2e4), shape)
        else:
            curve = ExponentialCurve(rng.uniform(1, 50), rng.uniform(1e3, 2e4))
        top = float(rng.choice([np.inf, rng.uniform(8e3, 5e4)]))
        low = float(rng.choice([0.0, rng.uniform(0, 1e3)]))
        locked = float(rng.uniform(low, low + 2e3)) if i < locks else None
        cells.append(
            _cell(
                f"{segment}-{i}" if not caps else segment,
                program,
                curve,
                rng.uniform(200, 3000),
                min_spend=low,
                max_spend=top,
                locked=locked,
                capacity_per_dollar=1 / 500 if program == "win_back" else 0.0,
            )
        )
    budget = n * 1e4 * rng.uniform(0.2, 1.0)
    if not caps:
        return AllocationProblem(tuple(cells), budget)
    return AllocationProblem(
        tuple(cells),
        budget,
        program_caps={"acquisition": 0.15 * budget},
        segment_caps={"S1": 0.25 * budget},
        capacity=8.0,
    )


def _profit(problem: AllocationProblem, spend: np.ndarray) -> np.ndarray:
    """Net profit of each row of ``spend`` (rows x cells)."""
    total = -spend.sum(axis=-1)
    for k, cell in enumerate(problem.cells):
        total = total + cell.response.curve.value(spend[..., k]) * cell.value_per_unit
    return total


def _slsqp(problem: AllocationProblem, start: np.ndarray) -> float:
    cells = problem.cells
    lo = np.array([c.lower for c in cells])
    hi = np.array([min(c.upper, problem.budget) for c in cells])
    constraints = [{"type": "ineq", "fun": lambda s: problem.budget - s.sum()}]
    for name, cap in problem.program_caps.items():
        member = np.array([c.program == name for c in cells], dtype=float)
        constraints.append({"type": "ineq", "fun": lambda s, m=member, c=cap: c - m @ s})
    for name, cap in problem.segment_caps.items():
        member = np.array([c.segment == name for c in cells], dtype=float)
        constraints.append({"type": "ineq", "fun": lambda s, m=member, c=cap: c - m @ s})
    if problem.capacity is not None:
        weight = np.array([c.capacity_per_dollar for c in cells])
        constraints.append({"type": "ineq", "fun": lambda s, w=weight: problem.capacity - w @ s})

    def negative(s: np.ndarray) -> float:
        return -float(_profit(problem, s))

    result = optimize.minimize(
        negative,
        start,
        method="SLSQP",
        bounds=list(zip(lo, hi, strict=True)),
        constraints=constraints,
        options={"maxiter": 1000, "ftol": 1e-12},
    )
    s = np.clip(result.x, lo, hi)
    feasible = s.sum() <= problem.budget * (1 + 1e-7) and all(
        c["fun"](s) >= -1e-6 * problem.budget for c in constraints
    )
    return -result.fun if feasible else -np.inf


def _feasible_problems(seed: int, count: int, **kwargs) -> list[AllocationProblem]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        problem = _random_problem(rng, **kwargs)
        if not diagnose(problem):
            out.append(problem)
    return out


@pytest.mark.parametrize(
    "problem",
    [
        *_feasible_problems(11, 4, n=2),
        *_feasible_problems(12, 3, n=3),
        *_feasible_problems(13, 4, n=2, s_shaped=True),
        *_feasible_problems(14, 3, n=3, s_shaped=True),
    ],
)
def test_the_allocation_is_at_least_as_good_as_the_best_point_of_a_fine_grid(problem):
    result = allocate(problem)
    points = 401 if len(problem.cells) == 2 else 61
    axes = [np.linspace(c.lower, min(c.upper, problem.budget), points) for c in problem.cells]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
    grid = grid[grid.sum(axis=1) <= problem.budget]
    best = float(_profit(problem, grid).max())
    assert result.net_profit >= best - 1e-9 * abs(best)
    assert result.spend <= problem.budget * (1 + 1e-9)


@pytest.mark.parametrize(
    "problem",
    [
        *_feasible_problems(21, 10, n=10),
        *_feasible_problems(22, 6, n=12, caps=True),
    ],
)
def test_the_exact_solver_is_never_worse_than_slsqp_by_more_than_a_hundredth_of_a_percent(
    problem,
):
    result = allocate(problem)
    lo = np.array([c.lower for c in problem.cells])
    hi = np.array([min(c.upper, problem.budget) for c in problem.cells])
    slsqp = max(
        _slsqp(problem, lo + 0.01 * (hi - lo)), _slsqp(problem, result.cells["spend"].to_numpy())
    )  # even started at ours
    assert np.isfinite(slsqp)
    assert result.net_profit >= slsqp - 1e-4 * abs(slsqp)


def test_cells_not_held_by_a_bound_share_one_marginal_return_the_multiplier():
    (problem,) = _feasible_problems(31, 1, n=15, locks=0)
    result = allocate(problem.with_budget(50_000.0))
    free = result.cells[result.cells["binding"] == ""]
    assert len(free) >= 3 and "budget" in result.binding
    np.testing.assert_allclose(free["marginal_return"], result.multiplier, rtol=1e-7)
    assert result.multiplier > 1.0
    at_min = result.cells[result.cells["binding"] == "min"]
    assert (at_min["marginal_return"] <= result.multiplier * (1 + 1e-7)).all()


def test_with_money_to_spare_the_next_dollar_returns_exactly_what_it_costs():
    (problem,) = _feasible_problems(32, 1, n=8, locks=0)
    result = allocate(problem.with_budget(1e9))
    assert result.spend < 1e9 and result.binding == ()
    free = result.cells[result.cells["binding"] == ""]
    np.testing.assert_allclose(free["marginal_return"], 1.0, rtol=1e-7)
    assert "beyond that the next dollar would return less than the $1.00 it costs" in result.note


def test_a_hurdle_rate_spends_less_and_a_contribution_objective_spends_everything():
    (problem,) = _feasible_problems(33, 1, n=8, locks=0)
    problem = problem.with_budget(1e7)
    plain = allocate(problem)
    hurdle = allocate(AllocationProblem(problem.cells, 1e7, objective=net_profit_objective(0.5)))
    everything = allocate(AllocationProblem(problem.cells, 1e7, objective=contribution_objective()))
    assert hurdle.spend < plain.spend < everything.spend
    assert everything.spend == pytest.approx(1e7, rel=1e-9)
    assert hurdle.objective == "net profit over a 50% hurdle"


def test_objective_factories_check_their_parameters():
    with pytest.raises(ValueError, match="hurdle_rate must be a finite number, 0 or more"):
        net_profit_objective(-0.2)
    objective = net_profit_objective(0.1)
    assert objective(1_000.0, 500.0) == pytest.approx(450.0)


def test_caps_and_capacity_are_respected_and_reported_when_they_bind():
    (problem,) = _feasible_problems(41, 1, n=12, caps=True)
    result = allocate(problem)
    cells = result.cells
    assert cells.loc[cells["program"] == "acquisition", "spend"].sum() <= (
        problem.program_caps["acquisition"] * (1 + 1e-9)
    )
    assert cells.loc[cells["segment"] == "S1", "spend"].sum() <= (
        problem.segment_caps["S1"] * (1 + 1e-9)
    )
    accounts = sum(
        c.capacity_per_dollar * s for c, s in zip(problem.cells, cells["spend"], strict=True)
    )
    assert accounts <= 8.0 * (1 + 1e-9)
    assert set(result.cap_prices) <= set(result.binding)
    assert all(price > 0 for price in result.cap_prices.values())


def test_infeasible_rules_are_explained_before_solving():
    curve = ExponentialCurve(10.0, 1_000.0)
    problem = AllocationProblem(
        (
            _cell("Small", "acquisition", curve, 100.0, min_spend=700_000.0),
            _cell("Small", "retention", curve, 100.0, locked=500_000.0),
            _cell("Large", "win_back", curve, 100.0, min_spend=10.0, max_spend=5.0),
        ),
        budget=1_000_000.0,
        program_caps={"acquisition": 600_000.0, "referral": 1.0},
    )
    problems = diagnose(problem)
    assert problems == ("Large x Win-back: the minimum $10 is above the maximum $5.",)
    fixed = AllocationProblem(
        problem.cells[:2], 1_000_000.0, problem.program_caps, {"Small": 900_000.0}
    )
    problems = diagnose(fixed)
    assert (
        "Minimum spends and locked cells add up to $1,200,000, above the $1,000,000 "
        "budget." in problems
    )
    assert (
        "The lever cap names 'referral', which is not a lever of this plan "
        "(acquisition, retention)." in problems
    )
    assert (
        "acquisition: minimum spends and locked cells add up to $700,000, above its "
        "lever cap of $600,000." in problems
    )
    assert (
        "Small: minimum spends and locked cells add up to $1,200,000, above its segment "
        "cap of $900,000." in problems
    )
    with pytest.raises(InfeasibleProblem) as raised:
        allocate(fixed)
    assert raised.value.problems == problems


def test_a_lock_outside_its_bounds_and_a_negative_budget_are_named():
    curve = ExponentialCurve(10.0, 1_000.0)
    cell = _cell("Mid-market", "retention", curve, 100.0, min_spend=100.0, locked=50.0)
    assert diagnose(AllocationProblem((cell,), 1_000.0)) == (
        "Mid-market x Retention is locked at $50, outside its bounds $100 to no limit.",
    )
    assert diagnose(AllocationProblem((cell,), -5.0)) == (
        "The budget must be a number of 0 or more; got -5.0.",
    )


def test_a_worthless_outcome_gets_its_minimum_and_nothing_more():
    curve = ExponentialCurve(10.0, 1_000.0)
    problem = AllocationProblem(
        (
            _cell("Small", "acquisition", curve, -50.0, min_spend=200.0),
            _cell("Large", "acquisition", curve, 500.0),
        ),
        10_000.0,
    )
    cells = allocate(problem).cells.set_index("segment")
    assert cells.loc["Small", "spend"] == 200.0
    assert cells.loc["Large", "spend"] > 0


def test_the_frontier_comes_from_the_same_solver_and_never_falls():
    (problem,) = _feasible_problems(51, 1, n=10, locks=0)
    budgets = np.linspace(0, 2e5, 9)
    frontier = efficient_frontier(problem, budgets)
    minimum = sum(c.lower for c in problem.cells)
    assert minimum > 0 and frontier["budget"].tolist() == [b for b in budgets if b >= minimum]
    assert np.all(np.diff(frontier["net_profit"]) >= -1e-6)
    middle = allocate(problem.with_budget(budgets[4]))
    row = frontier.set_index("budget").loc[budgets[4]]
    assert row["net_profit"] == pytest.approx(middle.net_profit, rel=1e-12)


def test_evaluate_reports_a_given_plan_with_the_same_columns():
    (problem,) = _feasible_problems(52, 1, n=6, locks=0)
    optimal = allocate(problem)
    spend = {(r.segment, r.program): r.spend for r in optimal.cells.itertuples()}
    same = evaluate(problem, spend)
    assert same.net_profit == pytest.approx(optimal.net_profit, rel=1e-12)
    assert list(same.cells.columns) == list(optimal.cells.columns)
    half = evaluate(problem, {k: v / 2 for k, v in spend.items()})
    assert half.net_profit < optimal.net_profit


# --------------------------------------------------------------------------- properties

_curves = st.one_of(
    st.builds(ExponentialCurve, st.floats(0.5, 100), st.floats(500, 50_000)),
    st.builds(HillCurve, st.floats(0.5, 100), st.floats(500, 50_000), st.floats(0.4, 3.0)),
)


def _dollars(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high).map(lambda x: round(x, 2))  # whole cents, as plans are


@st.composite
def _problems(draw) -> AllocationProblem:
    n = draw(st.integers(1, 8))
    cells = []
    for i in range(n):
        low = draw(st.sampled_from([0.0, draw(_dollars(0, 5_000))]))
        high = draw(st.sampled_from([np.inf, low + draw(_dollars(0, 40_000))]))
        locked = draw(st.one_of(st.none(), _dollars(low, min(high, low + 10_000))))
        cells.append(
            _cell(
                f"S{i}",
                PROGRAMS[i % 5],
                draw(_curves),
                draw(st.floats(10, 5_000)),
                min_spend=low,
                max_spend=high,
                locked=locked,
            )
        )
    lower = sum(c.lower for c in cells)
    return AllocationProblem(tuple(cells), lower + draw(_dollars(0, 200_000)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems())
def test_every_bound_and_the_budget_hold(problem):
    cells = allocate(problem).cells
    spend = cells["spend"].to_numpy()
    lower = np.array([c.lower for c in problem.cells])
    upper = np.array([c.upper for c in problem.cells])
    assert np.all(spend >= lower - 1e-9 * (1 + lower))
    assert np.all(spend <= upper + 1e-9 * (1 + spend))
    assert spend.sum() <= problem.budget * (1 + 1e-9) + 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems(), _dollars(1.0, 100_000.0))
def test_more_budget_never_lowers_the_optimum(problem, extra):
    less = allocate(problem)
    more = allocate(problem.with_budget(problem.budget + extra))
    assert more.net_profit >= less.net_profit - 1e-9 * (1 + abs(less.net_profit))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems(), _dollars(0.0, 100_000.0))
def test_locked_cells_never_move(problem, extra):
    for budget in (problem.budget, problem.budget + extra):
        cells = allocate(problem.with_budget(budget)).cells
        for cell, spend, binding in zip(
            problem.cells, cells["spend"], cells["binding"], strict=True
        ):
            if cell.locked is not None:
                assert spend == cell.locked and binding == "locked"
